#include "driver/domain/HelperLauncher.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dirent.h>

#include <cerrno>
#include <thread>

#include "common/File.h"
#include "common/Strings.h"
#include "driver/monitor/MonitorClient.h"

namespace xvirt::driver {

std::string logTail(const std::string& path, uint64_t since, size_t maxLines) {
  auto text = readFile(path, 64u << 20);
  if (!text.ok() || since >= text->size()) return "";
  auto lines = split(text->substr(since), '\n');
  constexpr std::string_view kOwn = "xvirt-helper: ";
  for (auto it = lines.rbegin(); it != lines.rend(); ++it)
    if (startsWith(*it, kOwn)) return std::string(trim(it->substr(kOwn.size())));
  while (!lines.empty() && trim(lines.back()).empty()) lines.pop_back();
  size_t start = lines.size() > maxLines ? lines.size() - maxLines : 0;
  std::vector<std::string> tail(lines.begin() + static_cast<long>(start), lines.end());
  return join(tail, "\n");
}

bool helperAlive(pid_t pid) {
  if (pid <= 0 || ::kill(pid, 0) < 0) return false;
  auto cmdline = readFile("/proc/" + std::to_string(pid) + "/cmdline", 1 << 16);
  if (!cmdline.ok()) return false;
  std::string argv0 = cmdline->substr(0, cmdline->find('\0'));
  if (endsWith(argv0, "xvirt-helper")) return true;
  // A zombie has an empty cmdline; it is gone as far as we are concerned.
  return false;
}

std::map<pid_t, std::string> findHelpers(const std::string& runDir) {
  std::map<pid_t, std::string> found;
  DIR* proc = ::opendir("/proc");
  if (!proc) return found;
  while (dirent* e = ::readdir(proc)) {
    auto pid = parseInt(e->d_name);
    if (!pid || *pid <= 0) continue;
    auto cmdline = readFile("/proc/" + std::string(e->d_name) + "/cmdline", 1 << 16);
    if (!cmdline.ok()) continue;  // gone meanwhile
    auto argv = split(*cmdline, '\0');
    if (argv.empty() || !endsWith(argv[0], "xvirt-helper")) continue;
    for (size_t i = 0; i + 1 < argv.size(); ++i) {
      if (argv[i] != "-pidfile" || dirName(argv[i + 1]) != runDir) continue;
      std::string file = baseName(argv[i + 1]);
      if (endsWith(file, ".pid")) found[static_cast<pid_t>(*pid)] = file.substr(0, file.size() - 4);
    }
  }
  ::closedir(proc);
  return found;
}

static int pidfdOpen(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

bool waitForExit(pid_t pid, std::chrono::milliseconds timeout) {
  UniqueFd pidfd(pidfdOpen(pid));
  if (!pidfd) return errno == ESRCH;
  pollfd p{pidfd.get(), POLLIN, 0};
  int rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
  // Reap it if it happens to be our child (after a daemon restart it never is).
  ::waitpid(pid, nullptr, WNOHANG);
  return rc > 0;
}

Status stopHelper(pid_t pid, std::chrono::milliseconds grace) {
  if (pid <= 0) return okStatus();
  if (::kill(pid, SIGTERM) < 0) return errno == ESRCH ? okStatus() : Error::system("Cannot signal the helper", errno);
  if (waitForExit(pid, grace)) return okStatus();
  ::kill(pid, SIGKILL);
  if (waitForExit(pid, std::chrono::seconds(5))) return okStatus();
  return makeError(ErrorCode::OperationFailed, "The helper process " + std::to_string(pid) + " did not exit.");
}

namespace {
// The pid a daemonized helper wrote, if the file holds one.
std::optional<pid_t> readPidfile(const std::string& path) {
  auto text = readFile(path, 64);
  if (!text) return std::nullopt;
  auto pid = parseInt(trim(*text));
  if (!pid || *pid <= 0) return std::nullopt;
  return static_cast<pid_t>(*pid);
}
}  // namespace

Result<LaunchedHelper> launchHelper(const HelperLaunch& l, std::chrono::milliseconds timeout) {
  std::vector<std::string> args = {l.helperBinary};
  // With --restore, --config is the definition the restored guest gets (compatible changes only).
  if (!l.restoreFile.empty()) args.insert(args.end(), {"--restore", l.restoreFile});
  if (!l.guestConfigPath.empty()) args.insert(args.end(), {"--config", l.guestConfigPath});
  args.insert(args.end(), {"-qmp", "unix:" + l.monitorPath + ",server,nowait", "-pidfile", l.pidfile,
                           "--hypervisor", l.hypervisor, "-daemonize"});
  if (!l.simDir.empty()) args.insert(args.end(), {"--sim-dir", l.simDir});
  if (l.paused) args.push_back("-S");

  ::unlink(l.pidfile.c_str());
  UniqueFd log(::open(l.logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!log) return Error::system("Cannot open the log " + l.logPath, errno);
  std::string header = "starting: " + join(args, " ") + "\n";
  (void)!::write(log.get(), header.data(), header.size());
  off_t since = ::lseek(log.get(), 0, SEEK_END);  // what this launch writes starts here
  uint64_t logFrom = since < 0 ? 0 : static_cast<uint64_t>(since);

  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t launcher = ::getpid();
  pid_t child = ::fork();
  if (child < 0) return Error::system("Cannot fork the helper", errno);
  if (child == 0) {
    // If xvirtd dies before the helper reported ready, the waiting first process dies too, and the
    // helper then destroys its guest (helper/main.cc): no restarted daemon could know of it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != launcher) _exit(127);
    // The helper must outlive xvirtd (a hypervisor outlives its toolstack): own session, no
    // terminal, stdout/stderr into the guest's log.
    ::setsid();
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, STDIN_FILENO);
    ::dup2(log.get(), STDOUT_FILENO);
    ::dup2(log.get(), STDERR_FILENO);
    ::closefrom(3);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  // -daemonize: the first helper process exits once the guest is built and the monitor listens.
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    // The first process may have been killed after its child was up: that child is nobody's now.
    if (auto orphan = readPidfile(l.pidfile); orphan && helperAlive(*orphan))
      (void)stopHelper(*orphan, std::chrono::seconds(10));
    std::string tail = logTail(l.logPath, logFrom);
    std::string why = WIFEXITED(status) && WEXITSTATUS(status) == 127 ? "cannot execute " + l.helperBinary
                                                                       : "the helper exited with an error";
    return makeError(ErrorCode::OperationFailed,
                     "Failed to start domain '" + l.name + "': " + (tail.empty() ? why : tail));
  }
  auto pid = readPidfile(l.pidfile);
  if (!pid)
    return makeError(ErrorCode::OperationFailed, "Failed to start domain '" + l.name + "': the helper wrote no pidfile.");
  LaunchedHelper out;
  out.pid = *pid;
  auto monitor = MonitorClient::connect(l.monitorPath, timeout, [pid = out.pid] { return helperAlive(pid); });
  if (!monitor.ok()) {
    std::string tail = logTail(l.logPath, logFrom);
    ::kill(out.pid, SIGKILL);
    return makeError(ErrorCode::OperationFailed, "Failed to start domain '" + l.name + "': " +
                                                     monitor.error().message + (tail.empty() ? "" : " " + tail));
  }
  out.monitor = std::move(monitor).value();
  return out;
}

}  // namespace xvirt::driver
