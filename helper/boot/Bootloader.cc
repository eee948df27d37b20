// Running pygrub the way libxl's bootloader.c does (argument order, simple0 answer, a pty of its own
// relayed to the console), without libxl. docs/boot.md has the user-facing description.
#include "helper/boot/Bootloader.h"

#include <dirent.h>
#include <fcntl.h>
#include <glib.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "common/File.h"
#include "common/Log.h"
#include "common/Strings.h"
#include "common/UniqueFd.h"
#include "helper/boot/ChildProcess.h"
#include "helper/console/ConsoleServer.h"

extern char** environ;

namespace xvirt::helper {

namespace {

constexpr size_t kTailBytes = 8192;  // what we keep of the bootloader's screen for error messages

std::string resolveProgram(const std::string& program) {
  if (program.empty() || program.find('/') != std::string::npos) return program;
  std::string inPrivate = std::string(kXenPrivateBinDir) + "/" + program;
  return ::access(inPrivate.c_str(), X_OK) == 0 ? inPrivate : program;
}

// The last line of what the bootloader printed, without terminal escapes or a Python exception
// class ("RuntimeError: Unable to find partition containing kernel" -> the message alone).
std::string lastMessage(const std::string& screen) {
  std::string plain;
  for (size_t i = 0; i < screen.size(); ++i) {
    char c = screen[i];
    if (c == '\x1b') {
      size_t j = i + 1;
      if (j < screen.size() && (screen[j] == '[' || screen[j] == '(' || screen[j] == ')')) ++j;
      while (j < screen.size() && !std::isalpha(static_cast<unsigned char>(screen[j]))) ++j;
      i = j;
      continue;
    }
    if (c == '\r') c = '\n';
    if (c == '\n' || std::isprint(static_cast<unsigned char>(c))) plain += c;
  }
  std::string last;
  for (const auto& line : split(plain, '\n')) {
    std::string_view t = trim(line);
    if (!t.empty()) last = std::string(t);
  }
  auto colon = last.find(": ");
  if (colon != std::string::npos && colon > 5 && last.compare(colon - 5, 5, "Error") == 0 &&
      last.find(' ') > colon)
    last = last.substr(colon + 2);
  return last;
}

bool terminationPending() {
  sigset_t pending;
  if (::sigpending(&pending) < 0) return false;
  for (int sig : {SIGTERM, SIGINT, SIGQUIT, SIGHUP})
    if (sigismember(&pending, sig)) return true;
  return false;
}

void removeTree(const std::string& dir) {
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") ::unlink((dir + "/" + name).c_str());
    }
    ::closedir(d);
  }
  if (::rmdir(dir.c_str()) < 0 && errno != ENOENT) logWarning("Cannot remove " + dir + ": " + std::strerror(errno));
}

struct PtyRunResult {
  int status = 0;
  bool interrupted = false;
  std::string tail;
};

// Runs argv on a fresh pty (TERM=vt100, 80x25) and copies its screen to the console and the user's
// keys to it, until it exits. The helper's main loop is not running here: the copy is our own poll.
Result<PtyRunResult> runOnPty(const std::vector<std::string>& argv, ConsoleServer* console) {
  UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) return Error::system("Cannot open a pseudo-terminal for the bootloader", errno);
  char name[128];
  if (::grantpt(master.get()) < 0 || ::unlockpt(master.get()) < 0 || ::ptsname_r(master.get(), name, sizeof name) != 0)
    return Error::system("Cannot set up the bootloader's pseudo-terminal", errno);
  UniqueFd slave(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave) return Error::system("Cannot open " + std::string(name), errno);
  struct winsize ws {};
  ws.ws_row = 25;
  ws.ws_col = 80;
  ::ioctl(slave.get(), TIOCSWINSZ, &ws);
  struct termios tio;
  if (::tcgetattr(master.get(), &tio) == 0) {
    ::cfmakeraw(&tio);
    ::tcsetattr(master.get(), TCSANOW, &tio);
  }

  SpawnOptions spawn;
  spawn.argv = argv;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "TERM=", 5) != 0) spawn.env.push_back(*e);
  spawn.env.push_back("TERM=vt100");  // what libxl gives pygrub's curses
  int slaveFd = slave.get();
  spawn.inChild = [slaveFd] {
    ::setsid();
    ::ioctl(slaveFd, TIOCSCTTY, 0);
    for (int fd = 0; fd < 3; ++fd) ::dup2(slaveFd, fd);  // dup2 clears close-on-exec
  };
  XVIRT_ASSIGN_OR_RETURN(pid_t pid, spawnChild(spawn));
  slave.reset();  // only the child holds the slave now: its exit gives us EIO on the master

  PtyRunResult r;
  int userFd = console ? console->userInputFd() : -1;
  for (;;) {
    pollfd fds[2] = {{master.get(), POLLIN, 0}, {userFd, POLLIN, 0}};
    int n = ::poll(fds, userFd >= 0 ? 2 : 1, 250);
    if (n < 0 && errno != EINTR) break;
    if (!r.interrupted && terminationPending()) {
      ::kill(pid, SIGTERM);  // the helper is being stopped; its signal handler runs after the build
      r.interrupted = true;
    }
    if (n <= 0) continue;
    if (fds[0].revents) {
      char buf[4096];
      ssize_t got = ::read(master.get(), buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;  // EIO: the bootloader and everything it started closed the pty
      std::string_view bytes(buf, static_cast<size_t>(got));
      if (console) console->showLocal(bytes);
      r.tail.append(bytes);
      if (r.tail.size() > kTailBytes) r.tail.erase(0, r.tail.size() - kTailBytes);
    }
    if (userFd >= 0 && (fds[1].revents & POLLIN)) {
      char buf[1024];
      ssize_t got = ::read(userFd, buf, sizeof buf);
      if (got == 0) userFd = -1;  // stdin at its end: no more keys will come
      for (ssize_t off = 0; got > 0 && off < got;) {
        ssize_t w = ::write(master.get(), buf + off, static_cast<size_t>(got - off));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        off += w;
      }
    }
  }
  while (::waitpid(pid, &r.status, 0) < 0 && errno == EINTR) {
  }
  return r;
}

}  // namespace

Result<std::vector<std::string>> bootloaderArgv(const BootloaderRequest& q) {
  std::vector<std::string> argv{resolveProgram(q.program)};
  if (!q.cmdline.empty()) argv.push_back("--args=" + q.cmdline);
  if (!q.interactive) argv.push_back("-q");
  argv.push_back("--output=" + q.outputFile);
  argv.push_back("--output-format=simple0");
  argv.push_back("--output-directory=" + q.outputDir);
  if (!trim(q.extraArgs).empty()) {
    gint argc = 0;
    gchar** extra = nullptr;
    GError* err = nullptr;
    if (!g_shell_parse_argv(q.extraArgs.c_str(), &argc, &extra, &err)) {
      std::string why = err ? err->message : "unparsable";
      g_clear_error(&err);
      return makeError(ErrorCode::ConfigUnsupported,
                       "The bootloader arguments '" + q.extraArgs + "' cannot be split into words: " + why + ".");
    }
    for (gint i = 0; i < argc; ++i) argv.emplace_back(extra[i]);
    g_strfreev(extra);
  }
  argv.push_back(q.disk);
  return argv;
}

Result<BootChoice> parseBootloaderOutput(std::string_view out) {
  BootChoice c;
  for (const auto& item : split(out, '\0')) {
    auto space = item.find(' ');
    std::string key = item.substr(0, space);
    std::string value = space == std::string::npos ? "" : std::string(trim(std::string_view(item).substr(space + 1)));
    if (key == "kernel") c.kernel = value;
    else if (key == "ramdisk") c.ramdisk = value;
    else if (key == "args") c.cmdline = value;
    else if (!item.empty()) logWarning("Unexpected bootloader output ignored: '" + item + "'.");
  }
  if (c.kernel.empty()) return makeError(ErrorCode::OperationFailed, "the bootloader named no kernel");
  return c;
}

BootloaderRun::~BootloaderRun() {
  if (!tmpDir_.empty()) removeTree(tmpDir_);
}

Result<std::unique_ptr<BootloaderRun>> BootloaderRun::run(const GuestConfig& config, ConsoleServer* console) {
  const GuestDisk* disk = nullptr;
  for (const auto& d : config.disks)
    if (!d.cdrom && !d.path.empty()) {
      disk = &d;
      break;
    }
  if (!disk)
    return makeError(ErrorCode::ConfigUnsupported,
                     "Guest '" + config.name + "' has neither a kernel nor a disk for the bootloader to boot from.");
  std::string program = config.bootloader.empty() ? "pygrub" : config.bootloader;
  std::string where = "disk " + disk->path + " (" + disk->vdev + ") of guest '" + config.name + "'";

  std::unique_ptr<BootloaderRun> run(new BootloaderRun());
  gchar* tmp = g_dir_make_tmp("xvirt-bootloader-XXXXXX", nullptr);
  if (!tmp) return Error::system("Cannot make a temporary directory for the bootloader", errno);
  run->tmpDir_ = tmp;
  g_free(tmp);

  BootloaderRequest q;
  q.program = program;
  q.extraArgs = config.bootloaderArgs;
  q.cmdline = config.cmdline;
  q.disk = disk->path;
  q.interactive = console && console->userInputFd() >= 0;
  q.outputFile = run->tmpDir_ + "/answer";
  q.outputDir = run->tmpDir_;
  UniqueFd answer(::open(q.outputFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!answer) return Error::system("Cannot create " + q.outputFile, errno);
  answer.reset();
  XVIRT_ASSIGN_OR_RETURN(auto argv, bootloaderArgv(q));
  logInfo("Running the bootloader for " + where + ": " + join(argv, " "));

  auto ran = runOnPty(argv, console);
  if (!ran.ok())
    return makeError(ErrorCode::OperationFailed,
                     "The bootloader " + argv[0] + " could not run for " + where + ": " + ran.error().message);
  if (ran->interrupted)
    return makeError(ErrorCode::OperationFailed, "The bootloader for " + where + " was stopped: the helper is shutting down.");
  if (ran->status != 0) {
    std::string msg = lastMessage(ran->tail);
    if (msg.empty()) msg = "it " + describeWaitStatus(ran->status) + " without a message";
    return makeError(ErrorCode::OperationFailed,
                     "The bootloader " + argv[0] + " found nothing to boot on " + where + ": " + msg + ".");
  }
  auto text = readFile(q.outputFile, 1 << 20);
  if (!text.ok()) return makeError(ErrorCode::OperationFailed, "The bootloader's answer for " + where + " is unreadable: " + text.error().message);
  auto choice = parseBootloaderOutput(*text);
  if (!choice.ok())
    return makeError(ErrorCode::OperationFailed, "The bootloader " + argv[0] + " for " + where + " failed: " + choice.error().message + ".");
  run->choice_ = std::move(choice).value();
  logInfo("The bootloader chose kernel " + run->choice_.kernel + (run->choice_.ramdisk.empty() ? "" : ", ramdisk " + run->choice_.ramdisk) +
          ", arguments '" + run->choice_.cmdline + "'.");
  return run;
}

}  // namespace xvirt::helper
