// ConsoleStream: a pump thread per open console polls the pty and a wake-up eventfd. Every change
// of state happens under mu_, and nothing is sent once the state is Closed, so a finish or abort
// confirmation is always the last packet of its stream.
#include "driver/ConsoleStream.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/Log.h"
#include "driver/ErrorMap.h"

namespace xvirt::driver {

namespace {
// Input a client may send ahead of a pty that does not read it; past this the stream fails.
constexpr size_t kInputMax = 1u << 20;
constexpr size_t kReadChunk = 64u << 10;
// Console output queued for a client that does not read it: past this the pty is not read (the
// guest's console backs up, as with libvirt), rather than the client being dropped for it.
constexpr size_t kOutputQueuedMax = 1u << 20;
constexpr int kBackoffMs = 50;
static_assert(kReadChunk <= kStreamChunkMax);
}  // namespace

Result<std::shared_ptr<ConsoleStream>> ConsoleStream::open(rpc::Connection& conn, int32_t proc, uint32_t serial,
                                                           const std::string& ptyPath, std::string what) {
  UniqueFd pty(::open(ptyPath.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (!pty) return Error::system("Cannot open the console " + ptyPath + " of " + what, errno);
  // Raw mode, as libvirt sets it: the guest does its own echo and line editing.
  struct termios tio;
  if (::tcgetattr(pty.get(), &tio) != 0) return Error::system("The console " + ptyPath + " of " + what + " is not a terminal", errno);
  ::cfmakeraw(&tio);
  if (::tcsetattr(pty.get(), TCSANOW, &tio) != 0)
    return Error::system("Cannot set raw mode on the console " + ptyPath + " of " + what, errno);
  UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake) return Error::system("Cannot create an eventfd for the console of " + what, errno);
  return std::shared_ptr<ConsoleStream>(
      new ConsoleStream(conn.weak_from_this(), proc, serial, std::move(pty), std::move(wake), std::move(what)));
}

ConsoleStream::~ConsoleStream() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake();
  if (pump_.joinable()) {
    if (pump_.get_id() != std::this_thread::get_id()) pump_.join();
    else pump_.detach();
  }
}

void ConsoleStream::start() {
  std::lock_guard life(lifeMu_);
  std::lock_guard lock(mu_);
  started_ = true;
  if (state_ == State::Closed) {
    if (!pendingError_.empty()) sendError(pendingError_);
    return;
  }
  pump_ = std::thread([this] { run(); });
}

void ConsoleStream::clientData(std::span<const uint8_t> bytes) {
  std::lock_guard lock(mu_);
  if (state_ != State::Open || bytes.empty()) return;
  if (input_.size() + bytes.size() > kInputMax) {
    state_ = State::Closed;
    stopping_ = true;
    sendError("The console of " + what_ + " does not take input as fast as the client sends it.");
    wake();
    return;
  }
  input_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  wake();
}

void ConsoleStream::clientFinish() {
  std::lock_guard life(lifeMu_);
  {
    std::lock_guard lock(mu_);
    if (state_ == State::Closed) return;
    (void)flushInput();  // what the pty takes now; libvirt's finish does not wait for a slow reader either
  }
  if (close()) send(rpc::MessageStatus::Ok, {});
}

void ConsoleStream::clientAbort() {
  std::lock_guard life(lifeMu_);
  if (close()) send(rpc::MessageStatus::Ok, {});
}

void ConsoleStream::takeOver(const std::string& message) {
  std::lock_guard life(lifeMu_);
  {
    std::lock_guard lock(mu_);
    if (state_ == State::Closed) return;
    if (!started_) {
      state_ = State::Closed;
      stopping_ = true;
      pendingError_ = message;
      return;
    }
  }
  if (close()) {
    std::lock_guard lock(mu_);
    sendError(message);
  }
}

void ConsoleStream::stop() {
  std::lock_guard life(lifeMu_);
  close();
}

bool ConsoleStream::active() const {
  std::lock_guard lock(mu_);
  return state_ == State::Open;
}

bool ConsoleStream::closed() const {
  std::lock_guard lock(mu_);
  return state_ == State::Closed;
}

bool ConsoleStream::close() {
  bool wasOpen;
  {
    std::lock_guard lock(mu_);
    wasOpen = state_ != State::Closed;
    state_ = State::Closed;
    stopping_ = true;
  }
  wake();
  if (pump_.joinable() && pump_.get_id() != std::this_thread::get_id()) pump_.join();
  return wasOpen;
}

void ConsoleStream::wake() {
  uint64_t one = 1;
  if (::write(wake_.get(), &one, sizeof one) < 0 && errno != EAGAIN)
    logDebug(std::string("Waking a console stream failed: ") + std::strerror(errno));
}

bool ConsoleStream::flushInput() {
  while (!input_.empty()) {
    ssize_t n = ::write(pty_.get(), input_.data(), input_.size());
    if (n > 0) {
      input_.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && errno == EAGAIN;
  }
  return true;
}

void ConsoleStream::send(rpc::MessageStatus status, std::span<const uint8_t> payload) {
  if (auto conn = conn_.lock()) conn->sendStream(proc_, serial_, status, payload);
}

void ConsoleStream::sendError(const std::string& message) {
  auto payload = remoteError(virerr::kOperationFailed, message).encode();
  send(rpc::MessageStatus::Error, payload);
}

void ConsoleStream::run() {
  std::vector<uint8_t> buf(kReadChunk);
  for (;;) {
    bool wantOut;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      wantOut = !input_.empty();
    }
    auto conn = conn_.lock();
    bool backedUp = conn && conn->queuedBytes() > kOutputQueuedMax;
    conn.reset();
    short events = static_cast<short>((backedUp ? 0 : POLLIN) | (wantOut ? POLLOUT : 0));
    pollfd fds[2] = {{pty_.get(), events, 0}, {wake_.get(), POLLIN, 0}};
    if (::poll(fds, 2, backedUp ? kBackoffMs : -1) < 0) {
      if (errno == EINTR) continue;
      std::lock_guard lock(mu_);
      if (state_ == State::Closed) return;
      state_ = State::Closed;
      sendError("Waiting on the console of " + what_ + " failed: " + std::strerror(errno) + ".");
      return;
    }
    if (fds[1].revents) {
      uint64_t n;
      (void)!::read(wake_.get(), &n, sizeof n);
    }
    std::lock_guard lock(mu_);
    if (stopping_) return;
    if ((fds[0].revents & POLLOUT) && !flushInput()) {
      state_ = State::Closed;
      sendError("Writing to the console of " + what_ + " failed: " + std::strerror(errno) + ".");
      return;
    }
    if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    ssize_t n = ::read(pty_.get(), buf.data(), buf.size());
    if (n > 0) {
      send(rpc::MessageStatus::Continue, std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n == 0 || errno == EIO) {
      // The helper closed the pty (the guest is gone): EOF, then the client finishes the stream.
      state_ = State::Eof;
      send(rpc::MessageStatus::Continue, {});
      return;
    }
    state_ = State::Closed;
    sendError("Reading the console of " + what_ + " failed: " + std::strerror(errno) + ".");
    return;
  }
}

Status ConsoleSessions::claim(const Uuid& domain, const std::string& domainName,
                              const std::shared_ptr<ConsoleStream>& stream, bool force) {
  std::shared_ptr<ConsoleStream> old;
  {
    std::lock_guard lock(mu_);
    std::erase_if(byDomain_, [](const auto& e) { return e.second.expired(); });
    if (auto it = byDomain_.find(domain); it != byDomain_.end()) {
      old = it->second.lock();
      if (old && !old->active()) old.reset();
    }
    // libvirt's own sentence: scripts and people recognise it.
    if (old && !force) return makeError(ErrorCode::OperationFailed, "Active console session exists for this domain");
    byDomain_[domain] = stream;
  }
  if (old) old->takeOver("The console of domain '" + domainName + "' was taken over by another session.");
  return okStatus();
}

}  // namespace xvirt::driver
