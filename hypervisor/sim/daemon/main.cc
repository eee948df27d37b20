// xvirt-simxen: the simulated Xen host daemon. One per runtime directory (flock on DIR/lock); serves
// xenstore on DIR/xenstored/socket and hypercalls on DIR/hypercall.sock until SIGTERM (docs/sim.md).
#include <dirent.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "common/Clock.h"
#include "common/File.h"
#include "common/Log.h"
#include "common/Strings.h"
#include "common/UniqueFd.h"
#include "hypervisor/sim/SimProtocol.h"
#include "hypervisor/sim/daemon/HypercallServer.h"
#include "hypervisor/sim/daemon/SimHostModel.h"
#include "hypervisor/sim/xenstore/XsServer.h"
#include "hypervisor/sim/xenstore/XsStore.h"

using namespace xvirt;
using namespace xvirt::hv::sim;

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: xvirt-simxen --dir DIR [--cpus N] [--log-file PATH|-] [-v]\n"
               "  Runs a simulated Xen host in DIR until SIGTERM. N host CPUs (2..64; default:\n"
               "  $XVIRT_SIM_CPUS, else the machine's). The log goes to DIR/simxen.log unless '-'.\n");
  return 2;
}

int fail(const std::string& message) {
  std::fprintf(stderr, "xvirt-simxen: %s\n", message.c_str());
  return 1;
}

gboolean onSignal(gpointer loop) {
  g_main_loop_quit(static_cast<GMainLoop*>(loop));
  return G_SOURCE_CONTINUE;
}

// A host whose runtime directory was removed (a test's temporary directory, most often) can no
// longer be found by anyone: stop rather than linger forever.
struct DirWatch {
  std::string lockPath;
  struct stat held {};
  GMainLoop* loop = nullptr;
};

// A host that boots holds no guest: RAM files of an instance that was killed belong to domains
// that died with it (docs/hardening.md "Crash consistency"). Called with the lock held.
void forgetDeadHostsMemory(const std::string& memDir) {
  DIR* d = ::opendir(memDir.c_str());
  if (!d) return;
  unsigned removed = 0;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (startsWith(name, "dom") && ::unlinkat(::dirfd(d), name.c_str(), 0) == 0) ++removed;
  }
  ::closedir(d);
  if (removed) logInfo("Removed " + std::to_string(removed) + " guest memory files of a previous host instance.");
}

gboolean checkDir(gpointer data) {
  auto* w = static_cast<DirWatch*>(data);
  struct stat now {};
  if (::stat(w->lockPath.c_str(), &now) < 0 || now.st_ino != w->held.st_ino || now.st_dev != w->held.st_dev) {
    logInfo("The runtime directory's lock file " + w->lockPath + " is gone; stopping.");
    g_main_loop_quit(w->loop);
  }
  return G_SOURCE_CONTINUE;
}

}  // namespace

int main(int argc, char** argv) {
  // Whoever started us (a helper or xvirtd, which take their signals through signalfd/sigwait)
  // may have blocked SIGTERM; a daemon that outlives its starter must not inherit that mask.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  std::string dir, logFile;
  unsigned cpus = std::max(2u, std::thread::hardware_concurrency());
  if (const char* env = std::getenv("XVIRT_SIM_CPUS"))
    if (auto n = parseUint(env)) cpus = static_cast<unsigned>(*n);
  int verbosity = 1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-v") verbosity = 2;
    else if (i + 1 < argc && a == "--dir") dir = argv[++i];
    else if (i + 1 < argc && a == "--log-file") logFile = argv[++i];
    else if (i + 1 < argc && a == "--cpus") {
      auto n = parseUint(argv[++i]);
      if (!n) return usage();
      cpus = static_cast<unsigned>(*n);
    } else return usage();
  }
  if (dir.empty()) return usage();
  cpus = std::clamp(cpus, 2u, 64u);
  setLogDomain("xvirt-simxen");
  setLogVerbosity(verbosity);

  if (Status s = makeDirs(dir + "/mem", 0700); !s.ok()) return fail(s.error().message);
  if (Status s = makeDirs(dir + "/xenstored", 0700); !s.ok()) return fail(s.error().message);
  UniqueFd lock(::open((dir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock) return fail("Cannot open " + dir + "/lock: " + std::strerror(errno));
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) < 0)
    return fail(errno == EWOULDBLOCK ? "Another xvirt-simxen already serves " + dir + "."
                                     : "Cannot lock " + dir + "/lock: " + std::strerror(errno));

  if (logFile.empty()) logFile = dir + "/simxen.log";
  if (logFile != "-") {
    int fd = ::open(logFile.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return fail("Cannot open the log " + logFile + ": " + std::strerror(errno));
    ::dup2(fd, STDERR_FILENO);
    ::close(fd);
  }

  forgetDeadHostsMemory(dir + "/mem");

  GMainLoop* loop = g_main_loop_new(nullptr, FALSE);
  {
    xvirt::sim::XsStore store;
    SimHostModel model(dir, cpus, store, SystemClock::instance());
    xvirt::sim::XsServer xs(store);
    // The toolstack may only introduce domains the host has.
    xs.setIntroduceHandler([&model](uint32_t domid, uint64_t, uint32_t) -> Status {
      if (model.hasDomain(domid)) return okStatus();
      return makeError(ErrorCode::NoDomain, "Domain " + std::to_string(domid) + " does not exist.");
    });
    auto infoTable = InfoTableWriter::create(dir);
    if (!infoTable.ok()) return fail(infoTable.error().message);
    model.publishTo(std::move(infoTable).value());
    HypercallServer hypercalls(model);
    auto previousGone = model.onDomainGone;
    model.onDomainGone = [&](hv::DomId d) {
      xs.forgetDomain(d);
      if (previousGone) previousGone(d);
    };
    if (Status s = xs.listen(xenstoreSocketPath(dir)); !s.ok()) return fail(s.error().message);
    if (Status s = hypercalls.listen(hypercallSocketPath(dir)); !s.ok()) return fail(s.error().message);
    std::string pidFile = dir + "/simxen.pid";
    if (Status s = writeFileAtomic(pidFile, std::to_string(::getpid()) + "\n"); !s.ok())
      return fail(s.error().message);
    DirWatch dirWatch{dir + "/lock", {}, loop};
    ::fstat(lock.get(), &dirWatch.held);
    guint dirTimer = g_timeout_add_seconds(2, checkDir, &dirWatch);
    g_unix_signal_add(SIGTERM, onSignal, loop);
    g_unix_signal_add(SIGINT, onSignal, loop);
    logInfo("Serving a simulated Xen host (" + std::to_string(cpus) + " CPUs) in " + dir + ".");
    g_main_loop_run(loop);
    g_source_remove(dirTimer);
    logInfo("Stopping.");
    ::unlink(pidFile.c_str());
    ::unlink(xenstoreSocketPath(dir).c_str());
  }
  g_main_loop_unref(loop);
  return 0;
}
