// xvirt-sim-dm: the device model of an HVM guest on the simulated Xen host. The helper starts it
// with the very command line it would give Debian's qemu-system-i386 (docs/device-model.md); like
// QEMU it announces itself in xenstore (/local/domain/0/device-model/DOMID/state = running), and it
// registers with xvirt-simxen over a lifeline connection, so the simulated host sees it come and go.
// It stops on SIGTERM/SIGINT, and when its domain is destroyed (the host closes the lifeline).
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/Strings.h"
#include "hypervisor/XenStore.h"
#include "hypervisor/sim/SimHypervisor.h"
#include "hypervisor/sim/SimProtocol.h"

using namespace xvirt;

namespace {

int fail(const std::string& why) {
  std::fprintf(stderr, "xvirt-sim-dm: %s\n", why.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::optional<uint64_t> domid;
  std::string name, machine;
  size_t drives = 0, nics = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    bool hasValue = i + 1 < args.size();
    if (a == "-xen-domid" && hasValue) domid = parseUint(args[++i]);
    else if (a == "-name" && hasValue) name = args[++i];
    else if ((a == "-machine" || a == "-M") && hasValue) machine = args[++i];
    else if (a == "-drive" && hasValue) ++drives, ++i;
    else if (a == "-netdev" && hasValue) ++nics, ++i;
  }
  if (!domid || *domid == 0) return fail("-xen-domid: a guest domain id is required");
  if (!startsWith(machine, "xenfv") && !startsWith(machine, "pc,accel=xen"))
    return fail("-machine: expected an HVM Xen machine (xenfv), got '" + machine + "'");
  const char* simDir = std::getenv("XVIRT_SIM_DIR");
  if (!simDir || !*simDir) return fail("XVIRT_SIM_DIR does not name the simulated Xen host");

  // Signals first, so a stop that comes while we register is not lost.
  sigset_t mask;
  sigemptyset(&mask);
  for (int sig : {SIGTERM, SIGINT, SIGQUIT, SIGHUP}) sigaddset(&mask, sig);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  int sigfd = ::signalfd(-1, &mask, SFD_CLOEXEC);

  auto conn = hv::sim::SimConnection::connect(simDir);
  if (!conn.ok()) return fail(conn.error().message);
  auto attached = conn->call("dm_attach", Json::object({{"domid", static_cast<long long>(*domid)},
                                                        {"pid", static_cast<long long>(::getpid())}}));
  if (!attached.ok()) return fail("domain " + std::to_string(*domid) + ": " + attached.error().message);
  auto xs = hv::XenStore::open(hv::sim::xenstoreSocketPath(simDir));
  if (!xs.ok()) return fail(xs.error().message);
  std::string node = "/local/domain/0/device-model/" + std::to_string(*domid);
  // Logged before the state is written: once "running" is there, the helper goes on at once.
  std::printf("xvirt-sim-dm: device model of domain %llu ('%s', machine %s, %zu drives, %zu NICs) running\n",
              static_cast<unsigned long long>(*domid), name.c_str(), machine.c_str(), drives, nics);
  std::fflush(stdout);
  Status running = (*xs)->write(node + "/state", "running");
  if (!running.ok()) return fail(running.error().message);

  pollfd fds[2] = {{conn->fd(), POLLIN, 0}, {sigfd, POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents) {
      signalfd_siginfo si;
      (void)!::read(sigfd, &si, sizeof si);
      (void)(*xs)->rm(node);
      std::printf("xvirt-sim-dm: device model of domain %llu stopped by signal %u\n",
                  static_cast<unsigned long long>(*domid), si.ssi_signo);
      return 0;
    }
    if (fds[0].revents) {
      char b;
      if (::read(conn->fd(), &b, 1) <= 0) {
        std::printf("xvirt-sim-dm: domain %llu is gone; device model exiting\n", static_cast<unsigned long long>(*domid));
        return 0;
      }
    }
  }
}
