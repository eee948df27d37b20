// MonitorClient: xvirtd's side of a helper's QMP-shaped monitor. One command outstanding at a time
// per monitor (as libvirt's qemu driver does), events delivered to a callback, EOF = helper death.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/Json.h"
#include "common/Result.h"
#include "common/UniqueFd.h"

namespace xvirt::driver {

class MonitorReactor;

class MonitorClient : public std::enable_shared_from_this<MonitorClient> {
 public:
  // Called on the reactor thread: must not block or call execute(); queue work elsewhere.
  using EventCallback = std::function<void(const std::string& event, const Json& data)>;
  using EofCallback = std::function<void()>;

  // Connects, reads the greeting and negotiates capabilities. Retries ENOENT/ECONNREFUSED until
  // `timeout` while `stillAlive()` says the helper process lives (libvirt's monitor start-up rule).
  static Result<std::shared_ptr<MonitorClient>> connect(const std::string& path, std::chrono::milliseconds timeout,
                                                        const std::function<bool()>& stillAlive = {});
  ~MonitorClient();

  // Callbacks may be set once, before the first event can matter.
  void setCallbacks(EventCallback onEvent, EofCallback onEof);

  // Runs one command. QMP errors become Error{OperationFailed or DeviceNotFound, desc}.
  Result<Json> execute(const std::string& command, const Json& arguments = Json::object(),
                       std::chrono::milliseconds timeout = std::chrono::seconds(30));

  bool closed() const;
  void close();

 private:
  friend class MonitorReactor;
  explicit MonitorClient(UniqueFd fd) : fd_(std::move(fd)) {}
  void onReadable();  // reactor thread
  void handleMessage(const Json& msg);
  void markClosed();

  UniqueFd fd_;
  std::string inbuf_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::mutex commandMu_;  // one command in flight
  uint64_t nextId_ = 1;
  std::string waitingId_;
  std::optional<Json> reply_;
  bool closed_ = false;
  bool eofUndelivered_ = false;  // EOF came before setCallbacks()
  EventCallback onEvent_;
  EofCallback onEof_;
};

}  // namespace xvirt::driver
