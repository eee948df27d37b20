// ensureSimHost: find, start (detached) and wait for xvirt-simxen (docs/sim.md, "Runtime directory").
#include "hypervisor/sim/SimHost.h"

#include <fcntl.h>
#include <glib.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <cstdlib>

#include "common/Clock.h"
#include "common/CHandle.h"
#include "common/File.h"
#include "common/UniqueFd.h"
#include "hypervisor/sim/SimProtocol.h"
#include "xvirt-config.h"

namespace xvirt::hv {

namespace {

constexpr uint64_t kStartTimeoutNs = 15ull * 1000 * 1000 * 1000;

bool accepts(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  return fd && ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

bool executable(const std::string& path) { return !path.empty() && ::access(path.c_str(), X_OK) == 0; }

std::string lastLogLine(const std::string& dir) {
  auto log = readFile(dir + "/simxen.log", 1 << 20);
  if (!log.ok()) return {};
  std::string text = *log;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  size_t nl = text.rfind('\n');
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

}  // namespace

bool simHostRunning(const std::string& dir) {
  return accepts(sim::hypercallSocketPath(dir)) && accepts(sim::xenstoreSocketPath(dir));
}

// $envVar, else NAME beside the running executable, else in the build tree, else on PATH.
static std::string findSimBinary(const char* envVar, const std::string& name, const std::string& buildSubdir) {
  if (const char* env = std::getenv(envVar); env && *env) return env;
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = '\0';
    std::string beside = dirName(self) + "/" + name;
    if (executable(beside)) return beside;
  }
  std::string built = std::string(XVIRT_BUILD_ROOT) + "/" + buildSubdir + "/" + name;
  if (executable(built)) return built;
  return takeGChar(g_find_program_in_path(name.c_str()));
}

std::string findSimxenBinary() { return findSimBinary("XVIRT_SIMXEN", "xvirt-simxen", "hypervisor/sim/daemon"); }

std::string findSimDeviceModelBinary() { return findSimBinary("XVIRT_SIM_DM", "xvirt-sim-dm", "hypervisor/sim/dm"); }

Status ensureSimHost(const std::string& dir) {
  if (simHostRunning(dir)) return okStatus();
  std::string binary = findSimxenBinary();
  if (!executable(binary))
    return makeError(ErrorCode::OperationFailed, "Cannot find xvirt-simxen to start a simulated Xen host "
                                                 "(set XVIRT_SIMXEN or put it on PATH).");
  XVIRT_TRY(makeDirs(dir, 0700));

  // exec failure comes back through a close-on-exec pipe; success closes it.
  int pipeFds[2];
  if (::pipe2(pipeFds, O_CLOEXEC) < 0) return Error::system("Creating a pipe", errno);
  UniqueFd readEnd(pipeFds[0]), writeEnd(pipeFds[1]);
  pid_t child = ::fork();
  if (child < 0) return Error::system("Forking to start xvirt-simxen", errno);
  if (child == 0) {
    // Double fork + setsid: the daemon belongs to no caller's session and is never its zombie.
    ::setsid();
    if (::fork() != 0) ::_exit(0);
    int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      ::dup2(devnull, STDIN_FILENO);
      ::dup2(devnull, STDOUT_FILENO);
    }
    int log = ::open((dir + "/simxen.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (log >= 0) ::dup2(log, STDERR_FILENO);
    for (int fd = 3; fd < 1024; ++fd)
      if (fd != writeEnd.get()) ::close(fd);
    const char* argv[] = {binary.c_str(), "--dir", dir.c_str(), nullptr};
    ::execv(binary.c_str(), const_cast<char* const*>(argv));
    int err = errno;
    (void)!::write(writeEnd.get(), &err, sizeof err);
    ::_exit(127);
  }
  writeEnd.reset();
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  int execErr = 0;
  ssize_t got;
  while ((got = ::read(readEnd.get(), &execErr, sizeof execErr)) < 0 && errno == EINTR) {
  }
  if (got == sizeof execErr) return Error::system("Starting " + binary, execErr);

  // No event tells us when the sockets are up: poll them with a short backoff.
  const Clock& clock = SystemClock::instance();
  uint64_t deadline = clock.monotonicNs() + kStartTimeoutNs;
  int delayMs = 2;
  // The pid file comes last, once both sockets listen: wait for it too, so callers can rely on it.
  while (!simHostRunning(dir) || !pathExists(dir + "/simxen.pid")) {
    if (clock.monotonicNs() > deadline) {
      std::string last = lastLogLine(dir);
      return makeError(ErrorCode::Timeout, "xvirt-simxen did not start in " + dir +
                                               (last.empty() ? std::string(".") : " (its log says: " + last + ")."));
    }
    ::poll(nullptr, 0, delayMs);
    delayMs = std::min(delayMs * 2, 100);
  }
  return okStatus();
}

}  // namespace xvirt::hv
