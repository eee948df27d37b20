// Fuzz target "xenstore": the simulated host's xenstored (XsServer over a fresh XsStore) fed one
// client connection's bytes: xs_wire.h requests of every type, transactions, watches, INTRODUCE /
// RELEASE, permissions. The target plays the client and runs the server's GLib main context, as
// xvirt-simxen does; it reads every reply, so a slow client's queue is exercised too.
//
// Input: the bytes the client sends, as they would cross the socket.
#include <glib.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/UniqueFd.h"
#include "hypervisor/sim/xenstore/XsServer.h"
#include "hypervisor/sim/xenstore/XsStore.h"

using namespace xvirt;

namespace {

struct Host {
  GMainContext* context = g_main_context_new();
  std::string socketPath;
  Host() {
    g_main_context_push_thread_default(context);  // the server's sources attach to it
    char dir[] = "/tmp/xvirt-fuzz-xenstore-XXXXXX";
    if (!::mkdtemp(dir)) std::abort();
    socketPath = std::string(dir) + "/socket";
  }
};

Host& host() {
  static Host* h = new Host();
  return *h;
}

UniqueFd connectTo(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) std::abort();
  return fd;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Host& h = host();
  sim::XsStore store;
  sim::XsServer server(store);
  if (!server.listen(h.socketPath)) std::abort();
  UniqueFd client = connectTo(h.socketPath);
  while (server.connectionCount() == 0) g_main_context_iteration(h.context, TRUE);

  // Send everything, reading replies meanwhile; the server may need its main context (INTRODUCE),
  // so it runs between polls. Done when the server has closed its side of the connection.
  size_t sent = 0;
  bool shut = false;
  for (;;) {
    if (sent == size && !shut) {
      ::shutdown(client.get(), SHUT_WR);
      shut = true;
    }
    while (g_main_context_iteration(h.context, FALSE)) {
    }
    pollfd p{client.get(), static_cast<short>(POLLIN | (shut ? 0 : POLLOUT)), 0};
    if (::poll(&p, 1, 1) < 0) {
      if (errno == EINTR) continue;  // libFuzzer's SIGALRM (its -timeout clock)
      std::abort();
    }
    if (p.revents & POLLOUT) {
      ssize_t n = ::send(client.get(), data + sent, size - sent, MSG_NOSIGNAL);
      if (n > 0) sent += static_cast<size_t>(n);
      else if (n < 0 && errno != EAGAIN) sent = size;  // the server closed on us: stop sending
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[65536];
      ssize_t n = ::recv(client.get(), buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN)) break;  // the server hung up
    }
    if (shut && server.connectionCount() == 0) break;  // it finished reading and left
  }
  return 0;
}
