#include "helper/monitor/MonitorGreeter.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace xvirt::helper {

MonitorGreeter::MonitorGreeter(int listenFd, std::string greeting)
    : listenFd_(listenFd), greeting_(std::move(greeting)), wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  // Plain syscalls only on this thread: no GLib, no logging, nothing the main thread also touches
  // except `greeted_` under the mutex. Without an eventfd the thread could not be stopped: then
  // clients simply wait in the backlog for the main loop.
  if (wake_) thread_ = std::thread([this] { run(); });
}

MonitorGreeter::~MonitorGreeter() { stop(); }

void MonitorGreeter::run() {
  for (;;) {
    pollfd fds[2] = {{listenFd_, POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    int n = ::poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    for (;;) {
      UniqueFd client(::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
      if (!client) break;
      // A fresh socket takes the greeting (a few hundred bytes) whole; anything left is sent
      // by the monitor server once it adopts the client.
      ssize_t sent = ::send(client.get(), greeting_.data(), greeting_.size(), MSG_NOSIGNAL);
      std::string unsent = sent > 0 ? greeting_.substr(static_cast<size_t>(sent)) : greeting_;
      std::lock_guard lock(mutex_);
      greeted_.push_back({std::move(client), std::move(unsent)});
    }
  }
}

std::vector<MonitorGreeter::Greeted> MonitorGreeter::stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
    thread_.join();
  }
  std::vector<Greeted> out;
  std::lock_guard lock(mutex_);
  out.swap(greeted_);
  return out;
}

}  // namespace xvirt::helper
