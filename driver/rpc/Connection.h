// Connection: one client on a UNIX socket. One reader thread frames packets, answers cheap calls
// itself (CallHandler::runsInline) and hands the others to the worker pool. Replies, events and
// keepalives are written by whichever thread produced them while the socket takes them at once;
// what the socket cannot take yet goes to a queue that a writer thread (started on first need)
// sends in order.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "common/UniqueFd.h"
#include "driver/rpc/Packet.h"
#include "driver/rpc/RemoteError.h"

namespace xvirt::rpc {

class Connection;
class WorkerPool;

struct PeerCredentials {
  pid_t pid = -1;
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
};

// What a handler returns for one CALL: a REPLY/OK payload or a REPLY/ERROR.
struct CallReply {
  std::vector<uint8_t> payload;
  std::optional<RemoteError> error;
  // Runs right after the reply is queued, so that e.g. an event registration only starts
  // delivering events once the client has seen the REGISTER reply.
  std::function<void()> afterReply;

  static CallReply ok(std::vector<uint8_t> payload = {}) { return CallReply{std::move(payload), std::nullopt, {}}; }
  static CallReply fail(RemoteError e) { return CallReply{{}, std::move(e), {}}; }
};

// The driver's side of one connection: decodes and answers REMOTE_PROGRAM calls. Called from
// worker threads, possibly several at once for one connection, and from the reader thread for
// the calls runsInline() accepts.
class CallHandler {
 public:
  virtual ~CallHandler() = default;
  virtual CallReply handleCall(Connection& conn, const Header& header, std::span<const uint8_t> payload) = 0;
  // True for a call that never waits on I/O, a helper or a long lock: the reader thread answers it
  // at once instead of handing it to the pool (two thread wake-ups less). Its reply may overtake
  // those of earlier pooled calls, which libvirt's protocol allows (replies carry the serial).
  virtual bool runsInline(const Header& /*header*/) const { return false; }
  virtual void closed(Connection& /*conn*/) {}  // after the last call finished; drop registrations here
  // A STREAM packet of REMOTE_PROGRAM (data, finish or abort of a stream a call opened). Called on
  // the reader thread in arrival order, so it must not block; packets for unknown streams are ignored.
  virtual void handleStream(Connection& /*conn*/, const Header& /*header*/, std::span<const uint8_t> /*payload*/) {}
};

struct KeepaliveConfig {
  unsigned intervalSec = 5;  // libvirtd's defaults
  unsigned count = 5;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(uint64_t id, UniqueFd fd, bool readOnlySocket, PeerCredentials peer, WorkerPool& pool,
             unsigned maxInflight);
  ~Connection();

  uint64_t id() const { return id_; }
  const PeerCredentials& peer() const { return peer_; }
  bool readOnlySocket() const { return readOnlySocket_; }

  // Queues a whole packet for the writer. False when the connection is already closing.
  bool sendPacket(std::vector<uint8_t> packet);
  // An asynchronous MESSAGE (event or keepalive): serial 0, status OK.
  bool sendMessage(uint32_t prog, int32_t proc, std::span<const uint8_t> payload);
  // A STREAM packet of REMOTE_PROGRAM on the serial of the call that opened the stream.
  bool sendStream(int32_t proc, uint32_t serial, MessageStatus status, std::span<const uint8_t> payload);
  // Bytes queued for the writer and not yet sent: stream producers back off on it.
  size_t queuedBytes() const;

  // Server-side keepalive, started when the client shows it understands it (probes feature 10).
  void enableKeepalive() { keepaliveEnabled_ = true; }
  bool keepaliveEnabled() const { return keepaliveEnabled_; }
  // Called about once a second by the server: sends a PING when idle, closes when the peer is gone.
  void keepaliveTick(uint64_t nowNs, const KeepaliveConfig& config);

  // Starts the reader and writer threads; handler answers the calls.
  void start(std::unique_ptr<CallHandler> handler, std::function<void()> onFinished);
  void close();                  // stops reading and writing; the threads wind down
  bool finished() const { return finished_; }
  void join();                   // waits for both threads (not from them)

 private:
  void readLoop();
  void writeLoop();
  bool fill();  // reads what the socket has into inBuf_; false at EOF or error
  void dispatch(const Header& header, std::span<const uint8_t> packet);
  void runCall(const Header& header, std::span<const uint8_t> packet);
  void sendReply(const Header& call, CallReply reply);
  void sendError(const Header& call, RemoteError error);
  // Writes a packet (prefix + payload) at once when nothing is queued before it, else queues it.
  bool sendParts(std::span<const uint8_t> prefix, std::span<const uint8_t> payload,
                 std::vector<uint8_t>* whole);
  void startWriterLocked();

  const uint64_t id_;
  UniqueFd fd_;
  const bool readOnlySocket_;
  const PeerCredentials peer_;
  WorkerPool& pool_;
  const unsigned maxInflight_;
  std::unique_ptr<CallHandler> handler_;
  std::function<void()> onFinished_;

  mutable std::mutex outMu_;
  std::condition_variable outCv_;
  std::deque<std::vector<uint8_t>> outQueue_;
  size_t outBytes_ = 0;
  bool closing_ = false;
  bool writerBusy_ = false;  // the writer is sending packets it took off the queue

  std::vector<uint8_t> inBuf_;  // bytes read and not yet framed: [inStart_, inEnd_)
  size_t inStart_ = 0, inEnd_ = 0;

  std::mutex callMu_;
  std::condition_variable callCv_;
  unsigned inflight_ = 0;

  std::atomic<bool> keepaliveEnabled_{false};
  std::atomic<uint64_t> lastRecvNs_{0};
  std::atomic<unsigned> pingsSent_{0};
  std::atomic<bool> finished_{false};
  std::thread reader_;
  std::thread writer_;
};

}  // namespace xvirt::rpc
