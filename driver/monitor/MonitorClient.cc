#include "driver/monitor/MonitorClient.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <thread>

#include "common/Log.h"

namespace xvirt::driver {

// One epoll thread reads every helper monitor, so a thousand guests cost one thread, not a thousand.
class MonitorReactor {
 public:
  static MonitorReactor& instance() {
    static MonitorReactor* reactor = new MonitorReactor();  // lives as long as the process
    return *reactor;
  }

  void add(const std::shared_ptr<MonitorClient>& client) {
    std::lock_guard lock(mu_);
    clients_[client->fd_.get()] = client;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = client->fd_.get();
    epoll_ctl(epfd_, EPOLL_CTL_ADD, client->fd_.get(), &ev);
  }

  void remove(int fd) {
    std::lock_guard lock(mu_);
    epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
    clients_.erase(fd);
  }

 private:
  MonitorReactor() : epfd_(epoll_create1(EPOLL_CLOEXEC)) {
    std::thread([this] { run(); }).detach();
  }

  void run() {
    epoll_event events[64];
    for (;;) {
      int n = epoll_wait(epfd_, events, 64, -1);
      for (int i = 0; i < n; ++i) {
        std::shared_ptr<MonitorClient> client;
        {
          std::lock_guard lock(mu_);
          auto it = clients_.find(events[i].data.fd);
          if (it != clients_.end()) client = it->second.lock();
        }
        if (client) client->onReadable();
      }
    }
  }

  int epfd_;
  std::mutex mu_;
  std::map<int, std::weak_ptr<MonitorClient>> clients_;
};

static Result<UniqueFd> connectOnce(const std::string& path, int* err) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path)
    return makeError(ErrorCode::InvalidArgument, "The monitor socket path " + path + " is too long.");
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
  *err = errno;
  return Error::system("Cannot connect to the monitor " + path, errno);
}

// Reads one line with a deadline, before the reactor owns the fd.
static Result<std::string> readLineBlocking(int fd, std::string& buf, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    auto nl = buf.find('\n');
    if (nl != std::string::npos) {
      std::string line = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return makeError(ErrorCode::Timeout, "The helper's monitor did not answer in time.");
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char tmp[4096];
    ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n == 0) return makeError(ErrorCode::OperationFailed, "The helper closed its monitor.");
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::system("Cannot read the helper's monitor", errno);
    }
    buf.append(tmp, static_cast<size_t>(n));
  }
}

static Status writeAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::system("Cannot write to the helper's monitor", errno);
    }
    off += static_cast<size_t>(n);
  }
  return okStatus();
}

Result<std::shared_ptr<MonitorClient>> MonitorClient::connect(const std::string& path, std::chrono::milliseconds timeout,
                                                              const std::function<bool()>& stillAlive) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  UniqueFd fd;
  auto backoff = std::chrono::milliseconds(1);
  for (;;) {
    int err = 0;
    auto r = connectOnce(path, &err);
    if (r.ok()) {
      fd = std::move(r).value();
      break;
    }
    bool retryable = err == ENOENT || err == ECONNREFUSED;
    if (!retryable || std::chrono::steady_clock::now() > deadline) return r.takeError();
    if (stillAlive && !stillAlive())
      return makeError(ErrorCode::OperationFailed, "The helper exited before its monitor came up.");
    std::this_thread::sleep_for(backoff);  // back-off while the helper starts (libvirt does the same)
    backoff = std::min(backoff * 2, std::chrono::milliseconds(50));
  }
  std::string buf;
  XVIRT_ASSIGN_OR_RETURN(std::string greetingLine, readLineBlocking(fd.get(), buf, deadline));
  auto greeting = Json::parse(greetingLine);
  if (!greeting.ok() || !greeting->get("QMP"))
    return makeError(ErrorCode::OperationFailed, "The helper's monitor sent no QMP greeting.");
  XVIRT_TRY(writeAll(fd.get(), "{\"execute\": \"qmp_capabilities\", \"id\": \"xvirtd-0\"}\n"));
  for (;;) {
    XVIRT_ASSIGN_OR_RETURN(std::string line, readLineBlocking(fd.get(), buf, deadline));
    auto msg = Json::parse(line);
    if (!msg.ok()) return makeError(ErrorCode::OperationFailed, "The helper's monitor sent invalid JSON.");
    if (msg->get("event")) continue;
    if (!msg->get("return"))
      return makeError(ErrorCode::OperationFailed, "The helper's monitor refused capabilities negotiation.");
    break;
  }
  std::shared_ptr<MonitorClient> client(new MonitorClient(std::move(fd)));
  client->inbuf_ = std::move(buf);
  MonitorReactor::instance().add(client);
  return client;
}

MonitorClient::~MonitorClient() {
  if (fd_) MonitorReactor::instance().remove(fd_.get());
}

void MonitorClient::setCallbacks(EventCallback onEvent, EofCallback onEof) {
  bool missedEof;
  {
    std::lock_guard lock(mu_);
    onEvent_ = std::move(onEvent);
    onEof_ = onEof;
    missedEof = eofUndelivered_;
    eofUndelivered_ = false;
  }
  // The helper may have exited between connect() and now: its EOF must still reach the owner.
  if (missedEof && onEof) onEof();
}

bool MonitorClient::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

void MonitorClient::close() {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    onEof_ = nullptr;  // a deliberate close is not a helper death
  }
  // The reactor sees EOF and drops the fd; the descriptor itself closes with the last reference,
  // so no thread ever reads a closed (or reused) descriptor number.
  ::shutdown(fd_.get(), SHUT_RDWR);
  cv_.notify_all();
}

void MonitorClient::markClosed() {
  EofCallback eof;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    eof = onEof_;
    eofUndelivered_ = !eof;
  }
  cv_.notify_all();
  if (eof) eof();
}

void MonitorClient::onReadable() {
  char tmp[65536];
  ssize_t n = ::recv(fd_.get(), tmp, sizeof tmp, MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    MonitorReactor::instance().remove(fd_.get());
    markClosed();
    return;
  }
  if (n < 0) return;
  inbuf_.append(tmp, static_cast<size_t>(n));
  size_t nl;
  while ((nl = inbuf_.find('\n')) != std::string::npos) {
    std::string line = inbuf_.substr(0, nl);
    inbuf_.erase(0, nl + 1);
    auto msg = Json::parse(line);
    if (msg.ok()) handleMessage(*msg);
    else logWarning("Ignoring a line the helper's monitor sent that is not JSON.");
  }
}

void MonitorClient::handleMessage(const Json& msg) {
  if (const Json* ev = msg.get("event")) {
    EventCallback cb;
    {
      std::lock_guard lock(mu_);
      cb = onEvent_;
    }
    if (cb && ev->isString()) cb(ev->asString(), msg.get("data") ? *msg.get("data") : Json::object());
    return;
  }
  std::lock_guard lock(mu_);
  if (msg.getString("id") == waitingId_ && !waitingId_.empty()) {
    reply_ = msg;
    cv_.notify_all();
  }
}

Result<Json> MonitorClient::execute(const std::string& command, const Json& arguments,
                                    std::chrono::milliseconds timeout) {
  std::lock_guard one(commandMu_);
  std::string id;
  {
    std::lock_guard lock(mu_);
    if (closed_) return makeError(ErrorCode::OperationFailed, "The helper's monitor is closed.");
    id = "xvirtd-" + std::to_string(nextId_++);
    waitingId_ = id;
    reply_.reset();
  }
  Json cmd = Json::object({{"execute", command}, {"arguments", arguments}, {"id", id}});
  XVIRT_TRY(writeAll(fd_.get(), cmd.dump() + "\n"));
  std::unique_lock lock(mu_);
  bool got = cv_.wait_for(lock, timeout, [&] { return reply_.has_value() || closed_; });
  waitingId_.clear();
  if (!got) return makeError(ErrorCode::Timeout, "The helper did not answer '" + command + "' in time.");
  if (!reply_) return makeError(ErrorCode::OperationFailed, "The helper exited while running '" + command + "'.");
  Json reply = std::move(*reply_);
  reply_.reset();
  if (const Json* err = reply.get("error")) {
    ErrorCode code = err->getString("class") == "DeviceNotFound" ? ErrorCode::DeviceNotFound : ErrorCode::OperationFailed;
    return makeError(code, err->getString("desc", "The helper refused '" + command + "'."));
  }
  const Json* ret = reply.get("return");
  return ret ? *ret : Json::object();
}

}  // namespace xvirt::driver
