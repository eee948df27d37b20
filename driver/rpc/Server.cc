// Server: poll() over the listeners plus an eventfd for stop; a housekeeping thread wakes once a
// second for keepalive and whenever a connection finishes, to join its threads outside of them.
#include "driver/rpc/Server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <malloc.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/Clock.h"
#include "common/Log.h"

namespace xvirt::rpc {

namespace {

Result<sockaddr_un> unixAddress(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    return makeError(ErrorCode::InvalidArgument, "The socket path " + path + " is longer than a UNIX socket allows.");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

// True when a live process accepts connections at path.
bool someoneListens(const sockaddr_un& addr) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  return ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
}

}  // namespace

Server::Server(ServerOptions options, HandlerFactory factory)
    : options_(options), factory_(std::move(factory)) {}

Server::~Server() { stop(); }

Status Server::listenUnix(const std::string& path, mode_t mode, bool readOnly) {
  XVIRT_ASSIGN_OR_RETURN(sockaddr_un addr, unixAddress(path));
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return makeError(ErrorCode::OperationFailed, "Cannot listen at " + path + ": a file that is not a socket is there.");
    if (someoneListens(addr))
      return makeError(ErrorCode::OperationFailed, "Cannot listen at " + path + ": another daemon is already serving it.");
    ::unlink(path.c_str());  // stale: its daemon is gone
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Error::system("Cannot create a UNIX socket for " + path, errno);
  // Bind under a tight umask so the socket never exists with looser permissions than `mode`.
  mode_t old = ::umask(0177);
  int rc = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  int err = errno;
  ::umask(old);
  if (rc != 0) return Error::system("Cannot bind the socket " + path, err);
  if (::chmod(path.c_str(), mode) != 0) return Error::system("Cannot set the mode of socket " + path, errno);
  if (::listen(fd.get(), 64) != 0) return Error::system("Cannot listen on socket " + path, errno);
  listeners_.push_back(Listener{std::move(fd), readOnly, path});
  logInfo("Listening on " + path + (readOnly ? " (read-only)." : "."));
  return okStatus();
}

Status Server::adoptListener(UniqueFd fd, bool readOnly, std::string description) {
  int flags = ::fcntl(fd.get(), F_GETFD);
  if (flags >= 0) ::fcntl(fd.get(), F_SETFD, flags | FD_CLOEXEC);
  logInfo("Listening on inherited socket " + description + (readOnly ? " (read-only)." : "."));
  listeners_.push_back(Listener{std::move(fd), readOnly, ""});
  return okStatus();
}

Status Server::start() {
  if (listeners_.empty()) return makeError(ErrorCode::InvalidArgument, "The server has no socket to listen on.");
  wakeFd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wakeFd_) return Error::system("Cannot create the server's wake-up eventfd", errno);
  pool_ = std::make_unique<WorkerPool>(options_.workers);
  started_ = true;
  acceptThread_ = std::thread([this] { acceptLoop(); });
  housekeepingThread_ = std::thread([this] { housekeepingLoop(); });
  return okStatus();
}

void Server::acceptLoop() {
  std::vector<pollfd> fds;
  for (const auto& l : listeners_) fds.push_back(pollfd{l.fd.get(), POLLIN, 0});
  fds.push_back(pollfd{wakeFd_.get(), POLLIN, 0});
  for (;;) {
    int n = ::poll(fds.data(), fds.size(), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      logError(std::string("Waiting for clients failed: ") + std::strerror(errno));
      return;
    }
    if (fds.back().revents) return;  // stop()
    for (size_t i = 0; i < listeners_.size(); ++i)
      if (fds[i].revents & POLLIN) accept(listeners_[i]);
  }
}

void Server::accept(const Listener& l) {
  UniqueFd fd(::accept4(l.fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!fd) {
    int err = errno;
    if (err != EAGAIN && err != EINTR && err != ECONNABORTED)
      logWarning(std::string("Accepting a client failed: ") + std::strerror(err));
    // Out of descriptors the listener stays readable: back off instead of spinning on it.
    if (err == EMFILE || err == ENFILE) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return;
  }
  PeerCredentials peer;
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) peer = {cred.pid, cred.uid, cred.gid};
  if (options_.onlyUid && peer.uid != *options_.onlyUid && peer.uid != 0) {
    logWarning("Refusing a client of uid " + std::to_string(peer.uid) + " (pid " + std::to_string(peer.pid) +
               "): this daemon serves uid " + std::to_string(*options_.onlyUid) + " only.");
    return;
  }
  std::lock_guard lock(mu_);
  if (stopping_) return;
  if (conns_.size() >= options_.maxClients) {
    logWarning("Refusing a client (pid " + std::to_string(peer.pid) + "): already serving " +
               std::to_string(conns_.size()) + " clients, the limit.");
    return;
  }
  uint64_t id = nextId_++;
  auto conn = std::make_shared<Connection>(id, std::move(fd), l.readOnly, peer, *pool_, options_.maxInflightPerClient);
  logInfo("Client " + std::to_string(id) + " connected: pid " + std::to_string(peer.pid) + ", uid " +
          std::to_string(peer.uid) + ", gid " + std::to_string(peer.gid) +
          (l.readOnly ? ", read-only socket." : ", read-write socket."));
  conns_[id] = conn;
  conn->start(factory_(*conn), [this] {
    {
      std::lock_guard lock(mu_);
      reapPending_ = true;
    }
    cv_.notify_all();
  });
}

void Server::housekeepingLoop() {
  bool trimDue = false;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_ || reapPending_; });
    if (stopping_) break;
    reapPending_ = false;
    std::vector<std::shared_ptr<Connection>> done, live;
    for (auto it = conns_.begin(); it != conns_.end();) {
      if (it->second->finished()) {
        done.push_back(it->second);
        it = conns_.erase(it);
      } else {
        live.push_back(it->second);
        ++it;
      }
    }
    lock.unlock();
    uint64_t now = SystemClock::instance().monotonicNs();
    for (auto& c : live) c->keepaliveTick(now, options_.keepalive);
    for (auto& c : done) {
      c->join();
      logDebug("Client " + std::to_string(c->id()) + " disconnected.");
    }
    // A burst of clients over (the last gone, or a second passed with none leaving): give back what
    // they left free in malloc's arenas (one per thread that ran calls), so an idle daemon's RSS
    // returns near its baseline (docs/hardening.md). Not on every disconnect: a trim walks every
    // arena under its lock.
    if (!done.empty()) trimDue = true;
    if (trimDue && (live.empty() || done.empty())) {
      ::malloc_trim(0);
      trimDue = false;
    }
    done.clear();
    live.clear();
    lock.lock();
  }
}

void Server::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || !started_) {
      stopping_ = true;
      return;
    }
    stopping_ = true;
  }
  cv_.notify_all();
  uint64_t one = 1;
  if (::write(wakeFd_.get(), &one, sizeof one) < 0) logDebug("Waking the accept thread failed.");
  if (acceptThread_.joinable()) acceptThread_.join();
  if (housekeepingThread_.joinable()) housekeepingThread_.join();
  std::map<uint64_t, std::shared_ptr<Connection>> conns;
  {
    std::lock_guard lock(mu_);
    conns.swap(conns_);
  }
  for (auto& [id, c] : conns) c->close();
  for (auto& [id, c] : conns) c->join();
  conns.clear();
  pool_.reset();  // runs any call still queued; their replies go nowhere
  for (auto& l : listeners_)
    if (!l.path.empty()) ::unlink(l.path.c_str());
  listeners_.clear();
}

size_t Server::connectionCount() const {
  std::lock_guard lock(mu_);
  return conns_.size();
}

}  // namespace xvirt::rpc
