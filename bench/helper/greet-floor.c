// greet-floor: the least a process can do to answer greet-bench: listen on the socket named by
// argv[1] and greet each client with a QMP greeting line, until SIGTERM. Spawned the same way as
// the helper and QEMU, its time to the greeting is what exec, the dynamic loader and the harness
// cost (the floor under any monitor). Built three ways (bench/helper/meson.build): against libc
// only, linked with GLib (one library the helper loads too), and static (no dynamic loading at all).
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#ifdef GREET_FLOOR_GLIB
#include <glib.h>
#endif

static const char kGreeting[] =
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 1, \"major\": 0}, \"package\": \"greet-floor\"}, "
    "\"capabilities\": []}}\r\n";

int main(int argc, char** argv) {
  if (argc != 2) {
    fputs("usage: greet-floor SOCKET\n", stderr);
    return 2;
  }
#ifdef GREET_FLOOR_GLIB
  // One call into GLib, so the library is loaded and relocated as it is for the helper.
  if (g_get_monotonic_time() < 0) return 1;
#endif
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", argv[1]);
  unlink(argv[1]);
  if (fd < 0 || bind(fd, (struct sockaddr*)&a, sizeof a) < 0 || listen(fd, 16) < 0) {
    perror("greet-floor");
    return 1;
  }
  for (;;) {
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) continue;
    if (write(c, kGreeting, sizeof kGreeting - 1) < 0) perror("greet-floor: write");
    close(c);
  }
}
