// Connection threads. The reader never waits for a reply to be written, and the writer is the only
// code that writes to the socket, so replies, events and keepalives never interleave mid-packet.
#include "driver/rpc/Connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>

#include "common/Clock.h"
#include "common/Log.h"
#include "driver/rpc/ProcedureNumbers.h"
#include "driver/rpc/WorkerPool.h"

namespace xvirt::rpc {

namespace {
// Events queued faster than a client reads them are not kept forever: past this the client is dropped.
constexpr size_t kMaxQueuedBytes = kMaxPacket * 3;
constexpr int32_t kErrInternal = 1, kErrRpc = 39, kFromRpc = 7;

uint64_t nowNs() { return SystemClock::instance().monotonicNs(); }
}  // namespace

Connection::Connection(uint64_t id, UniqueFd fd, bool readOnlySocket, PeerCredentials peer, WorkerPool& pool,
                       unsigned maxInflight)
    : id_(id), fd_(std::move(fd)), readOnlySocket_(readOnlySocket), peer_(peer), pool_(pool),
      maxInflight_(maxInflight ? maxInflight : 1) {}

Connection::~Connection() {
  close();
  join();
}

void Connection::start(std::unique_ptr<CallHandler> handler, std::function<void()> onFinished) {
  handler_ = std::move(handler);
  onFinished_ = std::move(onFinished);
  lastRecvNs_ = nowNs();
  writer_ = std::thread([this] { writeLoop(); });
  reader_ = std::thread([this] { readLoop(); });
}

void Connection::join() {
  if (reader_.joinable() && reader_.get_id() != std::this_thread::get_id()) reader_.join();
  if (writer_.joinable() && writer_.get_id() != std::this_thread::get_id()) writer_.join();
}

void Connection::close() {
  {
    std::lock_guard lock(outMu_);
    closing_ = true;
    outQueue_.clear();
    outBytes_ = 0;
  }
  outCv_.notify_all();
  { std::lock_guard lock(callMu_); }  // a reader waiting for a call slot sees closing_ now
  callCv_.notify_all();
  if (fd_.valid()) ::shutdown(fd_.get(), SHUT_RDWR);  // wakes a reader blocked in read()
}

bool Connection::sendPacket(std::vector<uint8_t> packet) {
  {
    std::lock_guard lock(outMu_);
    if (closing_) return false;
    if (outBytes_ + packet.size() > kMaxQueuedBytes) {
      logWarning("Client " + std::to_string(id_) + " does not read its replies; closing its connection.");
    } else {
      outBytes_ += packet.size();
      outQueue_.push_back(std::move(packet));
      outCv_.notify_one();
      return true;
    }
  }
  close();
  return false;
}

bool Connection::sendMessage(uint32_t prog, int32_t procNum, std::span<const uint8_t> payload) {
  Header h{prog, kProgramVersion, procNum, MessageType::Message, 0, MessageStatus::Ok};
  auto packet = encodePacket(h, payload);
  if (!packet) return false;
  return sendPacket(std::move(packet).value());
}

bool Connection::sendStream(int32_t procNum, uint32_t serial, MessageStatus status, std::span<const uint8_t> payload) {
  Header h{kRemoteProgram, kProgramVersion, procNum, MessageType::Stream, serial, status};
  auto packet = encodePacket(h, payload);
  if (!packet) return false;
  return sendPacket(std::move(packet).value());
}

void Connection::keepaliveTick(uint64_t now, const KeepaliveConfig& config) {
  if (!keepaliveEnabled_ || config.intervalSec == 0) return;
  uint64_t idle = now - std::min(now, lastRecvNs_.load());
  unsigned sent = pingsSent_;
  if (idle < uint64_t(config.intervalSec) * (sent + 1) * 1000000000ull) return;
  if (sent >= config.count) {
    logInfo("Client " + std::to_string(id_) + " did not answer " + std::to_string(sent) +
            " keepalive pings; closing its connection.");
    close();
    return;
  }
  pingsSent_ = sent + 1;
  sendMessage(kKeepaliveProgram, proc::kKeepalivePing, {});
}

bool Connection::readFully(uint8_t* buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = ::read(fd_.get(), buf + got, len - got);
    if (n == 0) return false;  // EOF: a normal way for a client to leave
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != ECONNRESET) logDebug("Reading from client " + std::to_string(id_) + " failed: " + std::strerror(errno));
      return false;
    }
    got += static_cast<size_t>(n);
  }
  return true;
}

void Connection::readLoop() {
  bool drain = false;
  for (;;) {
    uint8_t lenBytes[kLengthBytes];
    if (!readFully(lenBytes, sizeof lenBytes)) {
      drain = true;
      break;
    }
    auto len = decodeLength(std::span<const uint8_t, kLengthBytes>(lenBytes, kLengthBytes));
    if (!len) {
      logWarning("Closing client " + std::to_string(id_) + ": " + len.error().message);
      break;
    }
    std::vector<uint8_t> packet(len.value() - kLengthBytes);
    if (!readFully(packet.data(), packet.size())) {
      drain = true;
      break;
    }
    lastRecvNs_ = nowNs();
    pingsSent_ = 0;
    auto header = decodeHeader(packet);
    if (!header) {
      logWarning("Closing client " + std::to_string(id_) + ": " + header.error().message);
      break;
    }
    dispatch(header.value(), std::move(packet));
  }
  // Calls already running still get their replies out before the socket goes (EOF is a normal close).
  {
    std::unique_lock lock(callMu_);
    callCv_.wait(lock, [this] { return inflight_ == 0; });
  }
  if (handler_) handler_->closed(*this);
  {
    std::lock_guard lock(outMu_);
    if (!drain) outQueue_.clear();
    closing_ = true;
  }
  outCv_.notify_all();
  if (writer_.joinable()) writer_.join();
  ::shutdown(fd_.get(), SHUT_RDWR);
  finished_ = true;
  if (onFinished_) onFinished_();
}

void Connection::dispatch(const Header& h, std::vector<uint8_t> packet) {
  if (h.prog == kKeepaliveProgram) {
    // Any packet already counted as traffic above; a PING wants a PONG, everything else is ignored.
    if (h.type == MessageType::Message && h.proc == proc::kKeepalivePing)
      sendMessage(kKeepaliveProgram, proc::kKeepalivePong, {});
    return;
  }
  if (h.type == MessageType::CallWithFds) {
    sendError(h, RemoteError::make(kErrRpc, kFromRpc, "xvirtd does not accept file descriptors with calls."));
    return;
  }
  if (h.type == MessageType::Stream && h.prog == kRemoteProgram && h.vers == kProgramVersion) {
    if (handler_) handler_->handleStream(*this, h, std::span<const uint8_t>(packet).subspan(kHeaderBytes));
    return;
  }
  if (h.type != MessageType::Call) {
    logDebug("Ignoring a packet of type " + std::to_string(int(h.type)) + " from client " + std::to_string(id_) + ".");
    return;
  }
  if (h.prog != kRemoteProgram || h.vers != kProgramVersion) {
    sendError(h, RemoteError::make(kErrRpc, kFromRpc,
                             "xvirtd does not serve program " + std::to_string(h.prog) + " version " +
                                 std::to_string(h.vers) + "."));
    return;
  }
  {
    std::unique_lock lock(callMu_);
    callCv_.wait(lock, [this] {
      std::lock_guard out(outMu_);
      return inflight_ < maxInflight_ || closing_;
    });
    ++inflight_;
  }
  auto self = shared_from_this();
  pool_.submit([self, h, packet = std::move(packet)]() mutable {
    CallReply reply;
    try {
      reply = self->handler_->handleCall(*self, h, std::span<const uint8_t>(packet).subspan(kHeaderBytes));
    } catch (const std::exception& e) {
      reply = CallReply::fail(RemoteError::make(kErrInternal, kFromRpc,
                                          "Procedure " + std::to_string(h.proc) + " failed: " + e.what() + "."));
    }
    auto after = std::move(reply.afterReply);
    self->sendReply(h, std::move(reply));
    if (after) after();
    {
      std::lock_guard lock(self->callMu_);
      --self->inflight_;
    }
    self->callCv_.notify_all();
  });
}

void Connection::sendReply(const Header& call, CallReply reply) {
  if (reply.error) {
    sendError(call, std::move(*reply.error));
    return;
  }
  Header h{call.prog, call.vers, call.proc, MessageType::Reply, call.serial, MessageStatus::Ok};
  auto packet = encodePacket(h, reply.payload);
  if (!packet) {
    sendError(call, RemoteError::make(kErrInternal, kFromRpc, packet.error().message));
    return;
  }
  sendPacket(std::move(packet).value());
}

void Connection::sendError(const Header& call, RemoteError error) {
  Header h{call.prog, call.vers, call.proc, MessageType::Reply, call.serial, MessageStatus::Error};
  auto payload = error.encode();
  auto packet = encodePacket(h, payload);
  if (packet) sendPacket(std::move(packet).value());
}

void Connection::writeLoop() {
  for (;;) {
    std::vector<uint8_t> packet;
    {
      std::unique_lock lock(outMu_);
      outCv_.wait(lock, [this] { return closing_ || !outQueue_.empty(); });
      if (outQueue_.empty()) return;
      packet = std::move(outQueue_.front());
      outQueue_.pop_front();
      outBytes_ -= packet.size();
    }
    size_t sent = 0;
    while (sent < packet.size()) {
      ssize_t n = ::send(fd_.get(), packet.data() + sent, packet.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        logDebug("Writing to client " + std::to_string(id_) + " failed: " + std::strerror(errno));
        close();
        return;
      }
      sent += static_cast<size_t>(n);
    }
  }
}

}  // namespace xvirt::rpc
