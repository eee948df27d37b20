// A minimal QMP client for tests that pumps the default GLib main context while it waits, so the
// server under test runs in the same thread, deterministically.
#pragma once

#include <glib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "common/Clock.h"
#include "common/Json.h"

namespace xvirt::test {

class MonitorTestClient {
 public:
  explicit MonitorTestClient(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~MonitorTestClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  void sendRaw(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n > 0) {
        off += static_cast<size_t>(n);
      } else {
        g_main_context_iteration(nullptr, FALSE);  // let the server drain its side
      }
    }
  }

  // The next whole line from the server, pumping the main loop; "" on timeout or EOF.
  std::string readLine(int timeoutMs = 5000) {
    uint64_t deadline = SystemClock::instance().monotonicNs() + uint64_t(timeoutMs) * 1000000;
    for (;;) {
      auto nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return line;
      }
      char tmp[65536];
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n > 0) {
        buf_.append(tmp, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) return "";
      if (SystemClock::instance().monotonicNs() > deadline) return "";
      g_main_context_iteration(nullptr, FALSE);
      g_usleep(200);
    }
  }

  Json readJson(int timeoutMs = 5000) {
    auto parsed = Json::parse(readLine(timeoutMs));
    return parsed.ok() ? *parsed : Json();
  }

  // Sends one command and returns the next message that is not an event.
  Json execute(const std::string& line) {
    sendRaw(line + "\n");
    for (;;) {
      Json msg = readJson();
      if (msg.isNull() || !msg.get("event")) return msg;
      events.push_back(msg);
    }
  }

  std::vector<Json> events;

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

}  // namespace xvirt::test
