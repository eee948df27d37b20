// xs-test-server SOCKET: runs XsServer over an empty XsStore on SOCKET until SIGTERM, so the
// xenstore tests need not start the whole simulated host. Prints "ready" once it listens.
#include <glib-unix.h>
#include <glib.h>

#include <csignal>
#include <cstdio>

#include "hypervisor/sim/xenstore/XsServer.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: xs-test-server SOCKET\n");
    return 2;
  }
  xvirt::sim::XsStore store;
  xvirt::sim::XsServer server(store);
  if (auto s = server.listen(argv[1]); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.error().message.c_str());
    return 1;
  }
  GMainLoop* loop = g_main_loop_new(nullptr, FALSE);
  auto quit = [](gpointer l) -> gboolean {
    g_main_loop_quit(static_cast<GMainLoop*>(l));
    return G_SOURCE_REMOVE;
  };
  g_unix_signal_add(SIGTERM, quit, loop);
  g_unix_signal_add(SIGINT, quit, loop);
  std::printf("ready\n");
  std::fflush(stdout);
  g_main_loop_run(loop);
  g_main_loop_unref(loop);
  return 0;
}
