// greet-bench: time from spawn to the QMP greeting, for several subjects spawned in alternation
// (issue 4: xvirt-helper beside QEMU, and a trivial listen-and-greet program as the floor).
//
// Each spawn: posix_spawn (vfork + exec in glibc: no copy of this process), wait for the monitor
// socket to appear, connect, read the greeting line, stop the clock; then SIGTERM and reap, off the
// clock. Waiting does not busy-poll: a client spinning on connect() competes for the two cores with
// the very process it waits for (the Python bench's loop did). --wait inotify (the default) sleeps
// in poll() on an inotify watch of the socket's directory, which wakes on the bind (IN_CREATE) or
// on a rename onto the name (IN_MOVED_TO: the helper binds a temporary name and renames it once it
// listens), so the client is woken within a scheduler wake-up of the socket appearing and costs
// nothing before. A socket can be bound but not yet listening (QEMU binds, then listens): that
// connect gets ECONNREFUSED and is retried after a short back-off, counted in `refused`.
// --wait backoff (connect, sleep 20 us doubling to 1 ms) and --wait spin (the Python bench's loop)
// are there to compare.
//
// Usage: greet-bench [--runs N] [--warmup N] [--wait inotify|backoff|spin] [--timeout-ms N] [--json]
//                    DIR -- NAME ARGV... [-- NAME ARGV...]...
// In ARGV, @SOCK@ stands for the socket path (DIR/NAME-RUN.qmp) and @RUN@ for the run's number.
// Subjects run in turns, the first of each round rotating, so both see the same machine.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

enum WaitMode { WAIT_INOTIFY, WAIT_BACKOFF, WAIT_SPIN };

struct Subject {
  const char* name;
  char** argv;  // template, with @SOCK@ / @RUN@
  int argc;
  double* ms;
  int count;
  long refused;  // connects refused by a socket bound but not listening yet
};

static void die(const char* what) {
  perror(what);
  exit(2);
}

static double nowMs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// Replaces every `key` in `s` by `value` (a new string).
static char* substitute(const char* s, const char* key, const char* value) {
  size_t klen = strlen(key), vlen = strlen(value), n = 0;
  for (const char* p = strstr(s, key); p; p = strstr(p + klen, key)) n++;
  char* out = malloc(strlen(s) + n * vlen + 1);
  if (!out) die("malloc");
  char* o = out;
  for (const char* p; (p = strstr(s, key));) {
    memcpy(o, s, (size_t)(p - s));
    o += p - s;
    memcpy(o, value, vlen);
    o += vlen;
    s = p + klen;
  }
  strcpy(o, s);
  return out;
}

static int tryConnect(const char* path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
  if (connect(fd, (struct sockaddr*)&a, sizeof a) == 0) return fd;
  int err = errno;
  close(fd);
  errno = err;
  return -1;
}

static int childGone(pid_t pid) {
  int status;
  return waitpid(pid, &status, WNOHANG) == pid;
}

static void sleepUs(long us) {
  struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
  nanosleep(&ts, NULL);
}

// Waits for `path` to accept a connection; returns the connected socket, or -1 (child gone or
// timed out: *exited says which).
static int waitForSocket(enum WaitMode mode, int ino, int pidfd, pid_t pid, const char* path,
                         const char* base, double deadline, long* refused, int* exited) {
  long backoffUs = 20;
  *exited = 0;
  for (;;) {
    int fd = tryConnect(path);
    if (fd >= 0) return fd;
    if (errno == ECONNREFUSED) ++*refused;
    else if (errno != ENOENT) die("connect");
    if (nowMs() > deadline) return -1;
    if (mode == WAIT_SPIN) {
      if (childGone(pid)) return *exited = 1, -1;
      continue;
    }
    if (mode == WAIT_BACKOFF || errno == ECONNREFUSED) {
      // Bound but not listening: the listen() follows within microseconds.
      if (childGone(pid)) return *exited = 1, -1;
      sleepUs(backoffUs);
      if (backoffUs < 1000) backoffUs *= 2;
      continue;
    }
    // inotify: sleep until a name appears in the directory (or the child exits), then retry
    // only when it is ours.
    for (int seen = 0; !seen;) {
      struct pollfd p[2] = {{ino, POLLIN, 0}, {pidfd, POLLIN, 0}};
      int left = (int)(deadline - nowMs()) + 1;
      int n = poll(p, 2, left > 0 ? left : 0);
      if (n < 0 && errno != EINTR) die("poll");
      if (n == 0) return -1;
      if (p[1].revents) return *exited = 1, -1;
      if (!(p[0].revents & POLLIN)) continue;
      char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
      ssize_t len = read(ino, buf, sizeof buf);
      if (len < 0 && errno != EAGAIN) die("read inotify");
      for (ssize_t off = 0; off < len;) {
        struct inotify_event* ev = (struct inotify_event*)(buf + off);
        if (ev->len && strcmp(ev->name, base) == 0) seen = 1;
        off += (ssize_t)(sizeof *ev + ev->len);
      }
    }
  }
}

// Spawns one instance of `s` and returns ms from spawn to the end of the greeting line (< 0: failed).
static double greetOnce(struct Subject* s, const char* dir, int run, enum WaitMode mode, int ino, int timeoutMs) {
  char sock[108], runText[16];
  snprintf(sock, sizeof sock, "%s/%s-%d.qmp", dir, s->name, run);
  snprintf(runText, sizeof runText, "%d", run);
  unlink(sock);
  char** argv = calloc((size_t)s->argc + 1, sizeof *argv);
  if (!argv) die("calloc");
  for (int i = 0; i < s->argc; i++) {
    char* a = substitute(s->argv[i], "@SOCK@", sock);
    argv[i] = substitute(a, "@RUN@", runText);
    free(a);
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  for (int fd = 0; fd < 3; fd++)
    posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd ? O_WRONLY : O_RDONLY, 0);
  // Drain what an earlier subject left in the watch, so that only this spawn's names wake us.
  if (ino >= 0) {
    char junk[4096];
    while (read(ino, junk, sizeof junk) > 0) {
    }
  }

  pid_t pid;
  double t0 = nowMs();
  int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
  if (rc != 0) {
    errno = rc;
    die(argv[0]);
  }
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0 && mode == WAIT_INOTIFY) die("pidfd_open");
  int exited;
  int fd = waitForSocket(mode, ino, pidfd, pid, sock, strrchr(sock, '/') + 1, t0 + timeoutMs, &s->refused, &exited);
  double ms = -1;
  if (fd >= 0) {
    char buf[4096];
    size_t have = 0;
    while (have < sizeof buf) {
      ssize_t n = read(fd, buf + have, sizeof buf - have);
      if (n <= 0) break;
      if (memchr(buf + have, '\n', (size_t)n)) {
        ms = nowMs() - t0;
        have += (size_t)n;
        break;
      }
      have += (size_t)n;
    }
    if (ms < 0 || have < 7 || memcmp(buf, "{\"QMP\":", 7) != 0)
      fprintf(stderr, "greet-bench: %s: no QMP greeting (%.*s)\n", s->name, (int)have, buf), ms = -1;
    close(fd);
  } else {
    fprintf(stderr, "greet-bench: %s %s\n", s->name, exited ? "exited before its monitor came up" : "timed out");
  }
  // SIGTERM, then SIGKILL if the subject is still there 10 s later (QEMU has been seen to miss a
  // SIGTERM that arrives during its start-up).
  if (!exited) {
    kill(pid, SIGTERM);
    struct pollfd p = {pidfd, POLLIN, 0};
    if (pidfd >= 0 && poll(&p, 1, 10000) == 0) {
      fprintf(stderr, "greet-bench: %s ignored SIGTERM for 10 s; killed\n", s->name);
      kill(pid, SIGKILL);
    }
  }
  int status;
  waitpid(pid, &status, 0);
  if (pidfd >= 0) close(pidfd);
  unlink(sock);
  posix_spawn_file_actions_destroy(&fa);
  for (int i = 0; i < s->argc; i++) free(argv[i]);
  free(argv);
  return ms;
}

static int cmpDouble(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

static double median(double* v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmpDouble);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void usage(void) {
  fputs("usage: greet-bench [--runs N] [--warmup N] [--wait inotify|backoff|spin] [--timeout-ms N] [--json]\n"
        "                   DIR -- NAME ARGV... [-- NAME ARGV...]...\n"
        "  @SOCK@ in ARGV is the socket path, @RUN@ the run's number\n",
        stderr);
  exit(2);
}

int main(int argc, char** argv) {
  int runs = 30, warmup = 2, timeoutMs = 30000, json = 0;
  enum WaitMode mode = WAIT_INOTIFY;
  int i = 1;
  for (; i < argc && strncmp(argv[i], "--", 2) == 0 && argv[i][2]; i++) {
    if (!strcmp(argv[i], "--json")) json = 1;
    else if (i + 1 >= argc) usage();
    else if (!strcmp(argv[i], "--runs")) runs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--warmup")) warmup = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--timeout-ms")) timeoutMs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--wait")) {
      const char* m = argv[++i];
      if (!strcmp(m, "inotify")) mode = WAIT_INOTIFY;
      else if (!strcmp(m, "backoff")) mode = WAIT_BACKOFF;
      else if (!strcmp(m, "spin")) mode = WAIT_SPIN;
      else usage();
    } else usage();
  }
  if (i >= argc || runs < 1) usage();
  const char* dir = argv[i++];
  struct Subject subjects[8];
  int nsub = 0;
  while (i < argc && !strcmp(argv[i], "--")) {
    int start = ++i;
    while (i < argc && strcmp(argv[i], "--")) i++;
    if (i - start < 2 || nsub == 8) usage();
    subjects[nsub] = (struct Subject){argv[start], argv + start + 1, i - start - 1, NULL, 0, 0};
    subjects[nsub].ms = calloc((size_t)runs, sizeof(double));
    nsub++;
  }
  if (!nsub || i != argc) usage();

  int ino = -1;
  if (mode == WAIT_INOTIFY) {
    ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (ino < 0 || inotify_add_watch(ino, dir, IN_CREATE | IN_MOVED_TO) < 0) die("inotify");
  }
  signal(SIGPIPE, SIG_IGN);
  int failures = 0;
  for (int r = 0; r < warmup + runs; r++) {
    for (int k = 0; k < nsub; k++) {
      struct Subject* s = &subjects[(r + k) % nsub];
      double ms = greetOnce(s, dir, r, mode, ino, timeoutMs);
      if (ms < 0) failures++;
      else if (r >= warmup) s->ms[s->count++] = ms;
    }
  }

  const char* modeName = mode == WAIT_INOTIFY ? "inotify" : mode == WAIT_BACKOFF ? "backoff" : "spin";
  if (json) printf("{\"wait\": \"%s\", \"failures\": %d, \"subjects\": {", modeName, failures);
  for (int k = 0; k < nsub; k++) {
    struct Subject* s = &subjects[k];
    if (json) {
      printf("%s\"%s\": {\"ms\": [", k ? ", " : "", s->name);
      for (int j = 0; j < s->count; j++) printf("%s%.4f", j ? ", " : "", s->ms[j]);
      printf("], \"refused\": %ld}", s->refused);
    } else if (s->count) {
      double med = median(s->ms, s->count);
      printf("%-12s median %8.3f ms  min %8.3f  max %8.3f  (%d runs, wait %s, %ld refused)\n", s->name, med,
             s->ms[0], s->ms[s->count - 1], s->count, modeName, s->refused);
    }
  }
  if (json) printf("}}\n");
  return failures ? 1 : 0;
}
