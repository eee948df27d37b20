#include "helper/dm/DeviceModel.h"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "common/Log.h"
#include "common/Strings.h"
#include "helper/boot/ChildProcess.h"
#include "helper/dm/DeviceModelArgs.h"

extern char** environ;

namespace xvirt::helper {

namespace {

constexpr int kStopGraceMs = 5000;

int openPidfd(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Waits for the child to exit for up to `ms` (pidfd when the kernel has it, else short polls).
bool waitExit(pid_t pid, int pidfd, int ms, int* status) {
  int64_t deadline = nowMs() + ms;
  for (;;) {
    pid_t r = ::waitpid(pid, status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return true;
    int64_t left = deadline - nowMs();
    if (left <= 0) return false;
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(left));
    } else {
      ::poll(nullptr, 0, static_cast<int>(std::min<int64_t>(left, 20)));
    }
  }
}

}  // namespace

Result<std::unique_ptr<DeviceModel>> DeviceModel::start(const GuestConfig& config, uint32_t domid,
                                                        const hv::DeviceModelProgram& program, hv::XenStore& xs, std::function<void(const std::string&)> onDeath,
                                                        int timeoutMs) {
  DeviceModelContext ctx;
  ctx.domid = domid;
  if (program.standIn) {
    // The stand-in gets qemu's command line; only the program differs.
    ctx.emulator = program.binary;
    if (!program.found())
      return makeError(ErrorCode::OperationFailed, "No xvirt-sim-dm device model was found for HVM guest '" + config.name +
                                                       "' (set XVIRT_SIM_DM or put it on PATH).");
  }
  XVIRT_ASSIGN_OR_RETURN(DeviceModelCommand cmd, deviceModelCommand(config, ctx));
  return launch(cmd, "the device model " + cmd.argv[0] + " of guest '" + config.name + "'", domid, xs,
                std::move(onDeath), timeoutMs);
}

Result<std::unique_ptr<DeviceModel>> DeviceModel::startPvBackend(const GuestConfig& config, uint32_t domid,
                                                                 hv::XenStore& xs,
                                                                 std::function<void(const std::string&)> onDeath,
                                                                 int timeoutMs) {
  DeviceModelContext ctx;
  ctx.domid = domid;
  XVIRT_ASSIGN_OR_RETURN(DeviceModelCommand cmd, pvBackendCommand(config, ctx));
  return launch(cmd, "the disk backend " + cmd.argv[0] + " of guest '" + config.name + "'", domid, xs,
                std::move(onDeath), timeoutMs);
}

Result<std::unique_ptr<DeviceModel>> DeviceModel::launch(const DeviceModelCommand& cmd, const std::string& name,
                                                         uint32_t domid, hv::XenStore& xs,
                                                         std::function<void(const std::string&)> onDeath,
                                                         int timeoutMs) {
  std::unique_ptr<DeviceModel> dm(new DeviceModel());
  dm->name_ = name;
  dm->onDeath_ = std::move(onDeath);

  // A stale node from an earlier domain with this id would look like readiness.
  std::string statePath = "/local/domain/0/device-model/" + std::to_string(domid);
  XVIRT_TRY(xs.rm(statePath));

  SpawnOptions spawn;
  spawn.argv = cmd.argv;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    bool overridden = false;
    for (const auto& mine : cmd.env)
      if (kv.substr(0, kv.find('=') + 1) == std::string_view(mine).substr(0, mine.find('=') + 1)) overridden = true;
    if (!overridden) spawn.env.emplace_back(kv);
  }
  spawn.env.insert(spawn.env.end(), cmd.env.begin(), cmd.env.end());
  pid_t helper = ::getpid();
  spawn.inChild = [helper] {
    ::dup2(STDERR_FILENO, STDOUT_FILENO);  // both into the guest log, which is the helper's stderr
    ::setpgid(0, 0);                      // a ^C at the helper's terminal is the helper's to handle
    // It serves this helper's domain only, which is destroyed when the helper dies (by xvirtd, if
    // the helper was killed): a helper that dies without stopping it takes it along.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != helper) ::_exit(127);
  };
  logInfo("Starting " + dm->name_ + ": " + join(cmd.argv, " "));
  XVIRT_ASSIGN_OR_RETURN(dm->pid_, spawnChild(spawn));
  dm->pidfd_ = openPidfd(dm->pid_);
  Status ready = dm->waitRunning(xs, domid, timeoutMs);
  if (!ready.ok()) {
    dm->stop();
    return ready.takeError();
  }
  dm->childWatch_ = g_child_watch_add(dm->pid_, &DeviceModel::onChildExit, dm.get());
  logInfo(dm->name_ + " is running (pid " + std::to_string(dm->pid_) + ").");
  return dm;
}

Status DeviceModel::waitRunning(hv::XenStore& xs, uint32_t domid, int timeoutMs) {
  // QEMU writes "running" here once its devices are set up, and libxl waits for exactly that.
  std::string path = "/local/domain/0/device-model/" + std::to_string(domid) + "/state";
  std::string token = "xvirt-dm-" + std::to_string(domid);
  XVIRT_TRY(xs.watch(path, token));
  int64_t deadline = nowMs() + timeoutMs;
  Status result = okStatus();
  for (;;) {
    auto state = xs.tryRead(path);
    if (state.ok() && *state && **state == "running") break;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      result = makeError(ErrorCode::OperationFailed, "The " + name_.substr(4) + " " + describeWaitStatus(status) +
                                                         " during start-up; its messages are in the guest log.");
      break;
    }
    int64_t left = deadline - nowMs();
    if (left <= 0) {
      result = makeError(ErrorCode::Timeout, "The " + name_.substr(4) + " did not report running within " +
                                                 std::to_string(timeoutMs / 1000) + " s.");
      break;
    }
    pollfd fds[2] = {{xs.watchFd(), POLLIN, 0}, {pidfd_, POLLIN, 0}};
    ::poll(fds, pidfd_ >= 0 ? 2 : 1, static_cast<int>(pidfd_ >= 0 ? left : std::min<int64_t>(left, 20)));
    if (fds[0].revents & POLLIN) (void)xs.readWatches();
  }
  (void)xs.unwatch(path, token);
  return result;
}

void DeviceModel::onChildExit(GPid pid, gint status, gpointer self) {
  auto* dm = static_cast<DeviceModel*>(self);
  g_spawn_close_pid(pid);
  dm->childWatch_ = 0;
  dm->pid_ = -1;
  std::string why = dm->name_ + " " + describeWaitStatus(status) + ".";
  logError(why);
  if (dm->onDeath_) dm->onDeath_(why);
}

void DeviceModel::stop() {
  if (childWatch_) g_source_remove(childWatch_);
  childWatch_ = 0;
  if (pid_ > 0) {
    int status = 0;
    ::kill(pid_, SIGTERM);
    if (!waitExit(pid_, pidfd_, kStopGraceMs, &status)) {
      logWarning(name_ + " did not stop within " + std::to_string(kStopGraceMs / 1000) + " s of SIGTERM; killing it.");
      ::kill(pid_, SIGKILL);
      waitExit(pid_, pidfd_, kStopGraceMs, &status);
    }
    pid_ = -1;
  }
  if (pidfd_ >= 0) ::close(pidfd_);
  pidfd_ = -1;
}

DeviceModel::~DeviceModel() { stop(); }

}  // namespace xvirt::helper
