// ConsoleStream: one DOMAIN_OPEN_CONSOLE stream, carrying bytes between a guest's console pty and a
// client over libvirt's stream protocol; ConsoleSessions: at most one open console per domain (FORCE).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "common/Result.h"
#include "common/UniqueFd.h"
#include "common/Uuid.h"
#include "driver/rpc/Connection.h"

namespace xvirt::driver {

// libvirtd reads stream data in chunks of this size; no data packet we send is larger.
inline constexpr size_t kStreamChunkMax = 262120;

class ConsoleStream : public std::enable_shared_from_this<ConsoleStream> {
 public:
  // Opens the pty (raw mode, non-blocking). `what` names the console in messages ("domain 'x'").
  static Result<std::shared_ptr<ConsoleStream>> open(rpc::Connection& conn, int32_t proc, uint32_t serial,
                                                     const std::string& ptyPath, std::string what);
  ~ConsoleStream();
  ConsoleStream(const ConsoleStream&) = delete;
  ConsoleStream& operator=(const ConsoleStream&) = delete;

  uint32_t serial() const { return serial_; }

  // Starts carrying guest output, once the OPEN_CONSOLE reply is queued.
  void start();
  // Client packets, in arrival order (reader thread). Packets after the stream closed are ignored.
  void clientData(std::span<const uint8_t> bytes);
  void clientFinish();  // STREAM OK: flush input, stop, confirm with STREAM OK
  void clientAbort();   // STREAM ERROR: stop, confirm with STREAM OK (as libvirtd does)
  // Another session took the console (FORCE): STREAM ERROR with this sentence, then closed.
  void takeOver(const std::string& message);
  // The connection went away: stop without sending anything.
  void stop();

  bool active() const;  // neither closed nor at EOF: the domain's console is in use
  bool closed() const;

 private:
  enum class State { Open, Eof, Closed };
  ConsoleStream(std::weak_ptr<rpc::Connection> conn, int32_t proc, uint32_t serial, UniqueFd pty, UniqueFd wake,
                std::string what)
      : conn_(std::move(conn)), proc_(proc), serial_(serial), pty_(std::move(pty)), wake_(std::move(wake)),
        what_(std::move(what)) {}
  void run();                  // the pump thread
  void wake();
  bool flushInput();           // mu_ held; false on a write error other than EAGAIN
  void send(rpc::MessageStatus status, std::span<const uint8_t> payload);
  void sendError(const std::string& message);
  // Marks the stream closed and joins the pump; false when it was closed already.
  bool close();

  const std::weak_ptr<rpc::Connection> conn_;
  const int32_t proc_;
  const uint32_t serial_;
  const UniqueFd pty_;
  const UniqueFd wake_;  // eventfd: new input or stop
  const std::string what_;

  std::mutex lifeMu_;  // serialises close() callers (reader thread, another client's FORCE)
  mutable std::mutex mu_;
  State state_ = State::Open;
  bool started_ = false;
  bool stopping_ = false;
  std::string pendingError_;  // a takeover before start() is reported at start()
  std::string input_;         // client bytes the pty has not taken yet
  std::thread pump_;
};

// The console in use per domain: a second open fails unless it forces the first one out.
class ConsoleSessions {
 public:
  // Records `stream` as the domain's console. Without `force`, fails with libvirt's sentence while
  // another stream is active; with it, the old stream is taken over (it gets a STREAM ERROR).
  Status claim(const Uuid& domain, const std::string& domainName, const std::shared_ptr<ConsoleStream>& stream,
               bool force);

 private:
  std::mutex mu_;
  std::map<Uuid, std::weak_ptr<ConsoleStream>> byDomain_;
};

}  // namespace xvirt::driver
