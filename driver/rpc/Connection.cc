// Connection threads. The reader never waits for a reply to be written. A packet is written by the
// thread that made it, under outMu_ and without blocking, only while nothing is queued or being
// written before it; otherwise it is queued for the writer. So replies, events and keepalives go
// out in the order they were produced and never interleave mid-packet.
#include "driver/rpc/Connection.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>

#include "common/Clock.h"
#include "common/Log.h"
#include "driver/LibvirtConstants.h"
#include "driver/rpc/ProcedureNumbers.h"
#include "driver/rpc/WorkerPool.h"

namespace xvirt::rpc {

namespace {
// Events queued faster than a client reads them are not kept forever: past this the client is dropped.
constexpr size_t kMaxQueuedBytes = kMaxPacket * 3;
constexpr int32_t kErrInternal = driver::virerr::kInternalError, kErrRpc = driver::virerr::kRpc,
                  kFromRpc = driver::virfrom::kRpc;
constexpr size_t kReadChunk = 64 * 1024;  // what one read() may bring: many small calls at once
constexpr size_t kMaxBatch = 64;          // queued packets the writer sends with one sendmsg()

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
  reader_ = std::thread([this] { readLoop(); });
}

void Connection::startWriterLocked() {
  // Once started it runs until the connection closes; closing_ is set before anyone joins it.
  if (!writer_.joinable()) writer_ = std::thread([this] { writeLoop(); });
}

void Connection::join() {
  if (reader_.joinable() && reader_.get_id() != std::this_thread::get_id()) reader_.join();
  std::thread writer;
  {
    std::lock_guard lock(outMu_);
    if (writer_.joinable() && writer_.get_id() != std::this_thread::get_id()) writer = std::move(writer_);
  }
  if (writer.joinable()) writer.join();
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

bool Connection::sendPacket(std::vector<uint8_t> packet) { return sendParts(packet, {}, &packet); }

bool Connection::sendParts(std::span<const uint8_t> prefix, std::span<const uint8_t> payload,
                           std::vector<uint8_t>* whole) {
  const size_t total = prefix.size() + payload.size();
  {
    std::unique_lock lock(outMu_);
    if (closing_) return false;
    size_t sent = 0;
    if (outQueue_.empty() && !writerBusy_) {
      iovec iov[2] = {{const_cast<uint8_t*>(prefix.data()), prefix.size()},
                      {const_cast<uint8_t*>(payload.data()), payload.size()}};
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = payload.empty() ? 1 : 2;
      for (;;) {
        ssize_t n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0) {
          sent = static_cast<size_t>(n);
          break;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        logDebug("Writing to client " + std::to_string(id_) + " failed: " + std::strerror(errno));
        lock.unlock();
        close();
        return false;
      }
      if (sent == total) return true;
    }
    if (outBytes_ + (total - sent) > kMaxQueuedBytes) {
      logWarning("Client " + std::to_string(id_) + " does not read its replies; closing its connection.");
    } else {
      // The socket is full, or other packets wait before this one: the rest goes to the writer.
      std::vector<uint8_t> rest;
      if (whole && sent == 0) {
        rest = std::move(*whole);
      } else {
        rest.reserve(total - sent);
        if (sent < prefix.size()) rest.insert(rest.end(), prefix.begin() + sent, prefix.end());
        size_t skip = sent > prefix.size() ? sent - prefix.size() : 0;
        rest.insert(rest.end(), payload.begin() + skip, payload.end());
      }
      outBytes_ += rest.size();
      outQueue_.push_back(std::move(rest));
      startWriterLocked();
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

size_t Connection::queuedBytes() const {
  std::lock_guard lock(outMu_);
  return outBytes_;
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
  sendMessage(kKeepaliveProgram, proc::KEEPALIVE_PROC_PING, {});
}

bool Connection::fill() {
  for (;;) {
    ssize_t n = ::read(fd_.get(), inBuf_.data() + inEnd_, inBuf_.size() - inEnd_);
    if (n > 0) {
      inEnd_ += static_cast<size_t>(n);
      return true;
    }
    if (n == 0) return false;  // EOF: a normal way for a client to leave
    if (errno == EINTR) continue;
    if (errno != ECONNRESET) logDebug("Reading from client " + std::to_string(id_) + " failed: " + std::strerror(errno));
    return false;
  }
}

void Connection::readLoop() {
  bool drain = false;
  inBuf_.resize(kReadChunk);
  for (;;) {
    // Frame every whole packet already read; read more only when none is left.
    size_t need = kLengthBytes;
    if (inEnd_ - inStart_ >= kLengthBytes) {
      auto len = decodeLength(std::span<const uint8_t, kLengthBytes>(inBuf_.data() + inStart_, kLengthBytes));
      if (!len) {
        logWarning("Closing client " + std::to_string(id_) + ": " + len.error().message);
        break;
      }
      need = len.value();
      if (inEnd_ - inStart_ >= need) {
        std::span<const uint8_t> packet(inBuf_.data() + inStart_ + kLengthBytes, need - kLengthBytes);
        inStart_ += need;
        lastRecvNs_ = nowNs();
        pingsSent_ = 0;
        auto header = decodeHeader(packet);
        if (!header) {
          logWarning("Closing client " + std::to_string(id_) + ": " + header.error().message);
          break;
        }
        dispatch(header.value(), packet);
        continue;
      }
    }
    // Make room for the rest of this packet: what is left moves to the front, the buffer grows for
    // a large packet and shrinks back once it is empty again.
    if (inStart_ == inEnd_) {
      inStart_ = inEnd_ = 0;
      if (inBuf_.size() > kReadChunk) {
        inBuf_.resize(kReadChunk);
        inBuf_.shrink_to_fit();
      }
    } else if (inStart_ > 0 && inBuf_.size() - inStart_ < std::max(need, kReadChunk / 2)) {
      std::memmove(inBuf_.data(), inBuf_.data() + inStart_, inEnd_ - inStart_);
      inEnd_ -= inStart_;
      inStart_ = 0;
    }
    // A large packet's room doubles with the bytes that really arrive (as libvirt's buffer grows from
    // 64 KiB), so a client that announces 32 MiB and stalls holds no more memory than it sent.
    if (inBuf_.size() - inStart_ < need && inEnd_ == inBuf_.size())
      inBuf_.resize(inStart_ + std::min(need, 2 * (inEnd_ - inStart_)));
    if (!fill()) {
      drain = true;
      break;
    }
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
  std::thread writer;
  {
    std::lock_guard lock(outMu_);
    writer = std::move(writer_);
  }
  if (writer.joinable()) writer.join();
  ::shutdown(fd_.get(), SHUT_RDWR);
  finished_ = true;
  if (onFinished_) onFinished_();
}

void Connection::dispatch(const Header& h, std::span<const uint8_t> packet) {
  if (h.prog == kKeepaliveProgram) {
    // Any packet already counted as traffic above; a PING wants a PONG, everything else is ignored.
    if (h.type == MessageType::Message && h.proc == proc::KEEPALIVE_PROC_PING)
      sendMessage(kKeepaliveProgram, proc::KEEPALIVE_PROC_PONG, {});
    return;
  }
  if (h.type == MessageType::CallWithFds) {
    sendError(h, RemoteError::make(kErrRpc, kFromRpc, "xvirtd does not accept file descriptors with calls."));
    return;
  }
  if (h.type == MessageType::Stream && h.prog == kRemoteProgram && h.vers == kProgramVersion) {
    if (handler_) handler_->handleStream(*this, h, packet.subspan(kHeaderBytes));
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
  if (handler_->runsInline(h)) {
    runCall(h, packet);  // the packet lives in inBuf_ until this returns
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
  pool_.submit([self, h, copy = std::vector<uint8_t>(packet.begin(), packet.end())] {
    self->runCall(h, copy);
    {
      std::lock_guard lock(self->callMu_);
      --self->inflight_;
    }
    self->callCv_.notify_all();
  });
}

void Connection::runCall(const Header& h, std::span<const uint8_t> packet) {
  CallReply reply;
  try {
    reply = handler_->handleCall(*this, h, packet.subspan(kHeaderBytes));
  } catch (const std::exception& e) {
    reply = CallReply::fail(RemoteError::make(kErrInternal, kFromRpc,
                                              "Procedure " + std::to_string(h.proc) + " failed: " + e.what() + "."));
  }
  auto after = std::move(reply.afterReply);
  sendReply(h, std::move(reply));
  if (after) after();
}

void Connection::sendReply(const Header& call, CallReply reply) {
  if (reply.error) {
    sendError(call, std::move(*reply.error));
    return;
  }
  if (kMinPacket + reply.payload.size() > kMaxPacket) {
    sendError(call, RemoteError::make(kErrInternal, kFromRpc,
                                      "The reply of " + std::to_string(kMinPacket + reply.payload.size()) +
                                          " bytes exceeds the protocol's 32 MiB message limit."));
    return;
  }
  // The 28-byte prefix and the payload go out with one sendmsg(), without copying them together.
  Header h{call.prog, call.vers, call.proc, MessageType::Reply, call.serial, MessageStatus::Ok};
  uint8_t prefix[kMinPacket];
  encodePrefix(h, reply.payload.size(), prefix);
  sendParts(prefix, reply.payload, nullptr);
}

void Connection::sendError(const Header& call, RemoteError error) {
  Header h{call.prog, call.vers, call.proc, MessageType::Reply, call.serial, MessageStatus::Error};
  auto payload = error.encode();
  auto packet = encodePacket(h, payload);
  if (packet) sendPacket(std::move(packet).value());
}

void Connection::writeLoop() {
  std::vector<std::vector<uint8_t>> batch;
  std::vector<iovec> iov;
  for (;;) {
    {
      std::unique_lock lock(outMu_);
      writerBusy_ = false;
      outCv_.wait(lock, [this] { return closing_ || !outQueue_.empty(); });
      if (outQueue_.empty()) return;
      batch.clear();
      while (!outQueue_.empty() && batch.size() < kMaxBatch) {
        outBytes_ -= outQueue_.front().size();
        batch.push_back(std::move(outQueue_.front()));
        outQueue_.pop_front();
      }
      writerBusy_ = true;  // packets made meanwhile queue up behind these
    }
    // All taken packets with one sendmsg() per socket-full.
    size_t first = 0, offset = 0;
    while (first < batch.size()) {
      iov.clear();
      for (size_t i = first; i < batch.size(); ++i) {
        size_t skip = i == first ? offset : 0;
        iov.push_back(iovec{batch[i].data() + skip, batch[i].size() - skip});
      }
      msghdr msg{};
      msg.msg_iov = iov.data();
      msg.msg_iovlen = iov.size();
      ssize_t n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        logDebug("Writing to client " + std::to_string(id_) + " failed: " + std::strerror(errno));
        close();
        return;
      }
      size_t left = static_cast<size_t>(n);
      while (left > 0) {
        size_t here = batch[first].size() - offset;
        if (left < here) {
          offset += left;
          break;
        }
        left -= here;
        ++first;
        offset = 0;
      }
    }
  }
}

}  // namespace xvirt::rpc
