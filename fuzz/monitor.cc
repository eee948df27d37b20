// Fuzz target "monitor": the helper's QMP-shaped monitor, both ends. The bytes are sent as a client's
// lines to a MonitorServer with the built-in schema (every command registered, answering with its
// arguments, so each line gets through parsing and the schema's argument checks), and the same
// bytes are what a helper says to xvirtd's MonitorClient after the greeting: replies and events.
//
// Input: one byte of options (bit 0: negotiate capabilities before the input, as every real client
// does), then the lines.
#include <glib.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>

#include "common/UniqueFd.h"
#include "driver/monitor/MonitorClient.h"
#include "helper/monitor/MonitorSchema.h"
#include "helper/monitor/MonitorServer.h"

using namespace xvirt;

namespace {

constexpr std::string_view kNegotiate = "{\"execute\": \"qmp_capabilities\"}\n";

// Sends `bytes` to `fd` and reads everything back until the peer closes, running the default GLib
// context (the server's) between polls.
void converse(int fd, std::string_view bytes, bool runContext) {
  size_t sent = 0;
  bool shut = false;
  for (;;) {
    if (sent == bytes.size() && !shut) {
      ::shutdown(fd, SHUT_WR);
      shut = true;
    }
    if (runContext)
      while (g_main_context_iteration(nullptr, FALSE)) {
      }
    pollfd p{fd, static_cast<short>(POLLIN | (shut ? 0 : POLLOUT)), 0};
    if (::poll(&p, 1, runContext ? 1 : 1000) < 0) {
      if (errno == EINTR) continue;  // libFuzzer's SIGALRM (its -timeout clock)
      std::abort();
    }
    if (p.revents & POLLOUT) {
      ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) sent += static_cast<size_t>(n);
      else if (n < 0 && errno != EAGAIN) sent = bytes.size();
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[65536];
      ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN)) return;
    }
  }
}

// The helper's side: every schema command answers with the arguments it was given.
void fuzzServer(std::string_view lines) {
  static helper::MonitorServer* server = [] {
    auto* s = new helper::MonitorServer(helper::MonitorSchema::builtin(), Json::object({{"xvirt", "fuzz"}}));
    for (const auto& [name, spec] : helper::MonitorSchema::builtin().commands())
      if (name != "qmp_capabilities") s->addSyncCommand(name, [](const Json& args) { return helper::QmpResult(args); });
    return s;
  }();
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) < 0) std::abort();
  UniqueFd mine(fds[0]);
  server->adopt(UniqueFd(fds[1]));
  converse(mine.get(), lines, true);
  while (server->clientCount() != 0) g_main_context_iteration(nullptr, FALSE);
}

// xvirtd's side: a fake helper greets, accepts the capabilities, then says `lines`.
void fuzzClient(std::string_view lines) {
  static const std::string path = [] {
    char dir[] = "/tmp/xvirt-fuzz-monitor-XXXXXX";
    if (!::mkdtemp(dir)) std::abort();
    return std::string(dir) + "/monitor";
  }();
  static UniqueFd listener = [] {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 || ::listen(fd.get(), 4) < 0)
      std::abort();
    return fd;
  }();
  std::thread helperSide([lines] {
    UniqueFd fd(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!fd) std::abort();
    std::string script = "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n{\"return\": {}}\n";
    script.append(lines);
    converse(fd.get(), script, false);
  });
  {
    auto client = driver::MonitorClient::connect(path, std::chrono::seconds(5));
    if (client) {
      (*client)->setCallbacks([](const std::string&, const Json&) {}, [] {});
      (void)(*client)->execute("query-status", Json::object(), std::chrono::seconds(5));
    }
  }  // the last reference closes the socket: the fake helper sees EOF
  helperSide.join();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string lines((data[0] & 1) ? kNegotiate : std::string_view());
  lines.append(reinterpret_cast<const char*>(data + 1), size - 1);
  fuzzServer(lines);
  fuzzClient(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
  return 0;
}
