// xs-bench: xenstore reads per second through libxenstore (the XenStore wrapper) against XsServer,
// side by side with a raw UNIX-socket ping-pong moving the same bytes per round trip.
// Usage: xs-bench [SECONDS-PER-MEASUREMENT] (default 1). Target: reads ≥ 50 % of ping-pong.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include <xen/io/xs_wire.h>

#include "common/UniqueFd.h"
#include "hypervisor/XenStore.h"
#include "hypervisor/sim/xenstore/XsServerThread.h"

using namespace xvirt;
using Clock = std::chrono::steady_clock;

namespace {

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "xs-bench: %s\n", what.c_str());
  std::exit(1);
}

bool ioAll(int fd, char* buf, size_t n, bool writing) {
  while (n > 0) {
    ssize_t r = writing ? ::write(fd, buf, n) : ::read(fd, buf, n);
    if (r <= 0) return false;
    buf += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

UniqueFd connectTo(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) die("cannot connect to " + path);
  return fd;
}

// Round trips per second of `fn` over `seconds`, checked every 256 calls.
template <typename Fn>
double rate(double seconds, Fn&& fn) {
  auto start = Clock::now();
  auto end = start + std::chrono::duration<double>(seconds);
  uint64_t n = 0;
  for (;;) {
    for (int i = 0; i < 256; ++i) fn();
    n += 256;
    auto now = Clock::now();
    if (now >= end) return static_cast<double>(n) / std::chrono::duration<double>(now - start).count();
  }
}

// The peer: a blocking thread that answers each request of reqLen bytes with replyLen bytes.
double pingPong(const std::string& dir, size_t reqLen, size_t replyLen, double seconds) {
  std::string path = dir + "/pingpong";
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 || ::listen(listener.get(), 1) < 0)
    die("cannot listen on " + path);
  std::thread echo([&] {
    UniqueFd conn(::accept(listener.get(), nullptr, nullptr));
    std::string req(reqLen, '\0'), reply(replyLen, 'r');
    while (ioAll(conn.get(), req.data(), reqLen, false) && ioAll(conn.get(), reply.data(), replyLen, true)) {}
  });
  UniqueFd client = connectTo(path);
  std::string req(reqLen, 'q'), reply(replyLen, '\0');
  double r = rate(seconds, [&] {
    if (!ioAll(client.get(), req.data(), reqLen, true) || !ioAll(client.get(), reply.data(), replyLen, false))
      die("ping-pong peer went away");
  });
  client.reset();
  echo.join();
  ::unlink(path.c_str());
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
  if (seconds <= 0) die("usage: xs-bench [SECONDS]");
  char tmpl[] = "/tmp/xvirt-xs-bench-XXXXXX";
  if (!::mkdtemp(tmpl)) die("cannot create a temporary directory");
  std::string dir = tmpl;
  auto server = sim::XsServerThread::start(dir + "/socket");
  if (!server.ok()) die(server.error().message);
  auto xs = hv::XenStore::open(dir + "/socket");
  if (!xs.ok()) die(xs.error().message);

  struct Case {
    const char* name;
    std::string path;
    size_t valueLen;
  };
  const Case cases[] = {
      {"backend state (1 B)", "/local/domain/0/backend/vbd/1/51712/state", 1},
      {"value of 1 KiB", "/local/domain/1/data/blob", 1024},
      {"value of 3 KiB", "/local/domain/1/data/large", 3072},
  };
  std::printf("%-22s %14s %14s %14s %7s\n", "xs READ of", "bytes req/rep", "xs reads/s", "ping-pong/s", "ratio");
  bool met = true;
  for (const Case& c : cases) {
    if (!(*xs)->write(c.path, std::string(c.valueLen, 'v')).ok()) die("cannot write " + c.path);
    size_t reqLen = sizeof(xsd_sockmsg) + c.path.size() + 1;
    size_t replyLen = sizeof(xsd_sockmsg) + c.valueLen;
    double reads = rate(seconds, [&] {
      if (!(*xs)->read(c.path).ok()) die("read of " + c.path + " failed");
    });
    double pp = pingPong(dir, reqLen, replyLen, seconds);
    double ratio = reads / pp;
    met = met && ratio >= 0.5;
    std::printf("%-22s %6zu/%-7zu %14.0f %14.0f %6.0f%%\n", c.name, reqLen, replyLen, reads, pp, 100 * ratio);
  }
  std::printf("target: xs reads >= 50%% of ping-pong: %s\n", met ? "met" : "NOT met");
  xs->reset();
  server->reset();
  std::filesystem::remove_all(dir);
  return 0;
}
