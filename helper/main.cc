// xvirt-helper: one process owns one Xen guest. Start the guest by starting the process, stop it by
// killing the process, control it through the monitor (docs/design.md).
#include <fcntl.h>
#include <glib-unix.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <variant>

#include "common/CHandle.h"
#include "common/File.h"
#include "common/Log.h"
#include "helper/Guest.h"
#include "helper/GuestFromOptions.h"
#include "helper/HelperCommands.h"
#include "helper/HelperOptions.h"
#include "helper/Hotplug.h"
#include "helper/LiveTuning.h"
#include "helper/console/ConsoleServer.h"
#include "helper/monitor/MonitorServer.h"
#include "helper/save/GuestSave.h"
#include "helper/vnc/VncDisplay.h"
#include "hypervisor/Backend.h"
#include "xvirt-config.h"

using namespace xvirt;
using namespace xvirt::helper;

namespace {

// With -daemonize the first process waits here until the guest is built and the monitor listens,
// then exits 0, or prints the child's error and exits 1 (qemu's -daemonize contract).
class Daemonizer {
 public:
  void detach() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0) {
      std::perror("xvirt-helper: pipe");
      std::exit(1);
    }
    pid_t child = ::fork();
    if (child < 0) {
      std::perror("xvirt-helper: fork");
      std::exit(1);
    }
    if (child > 0) {
      ::close(fds[1]);
      std::string msg;
      char buf[512];
      ssize_t n;
      while ((n = ::read(fds[0], buf, sizeof buf)) > 0) msg.append(buf, static_cast<size_t>(n));
      if (msg == "ok") std::exit(0);
      if (msg.empty()) msg = "the helper exited during start-up";
      std::fprintf(stderr, "xvirt-helper: %s\n", msg.c_str());
      std::exit(1);
    }
    ::close(fds[0]);
    ::setsid();
    fd_ = fds[1];
  }
  // False when the waiting first process is gone (killed): whoever started the helper was told it
  // failed and will never learn its pid, so the guest must not run on unowned.
  bool ready() { return report("ok"); }
  void failed(const std::string& why) { report(why); }

 private:
  bool report(const std::string& msg) {
    if (fd_ < 0) return true;
    bool told = ::write(fd_, msg.data(), msg.size()) == static_cast<ssize_t>(msg.size());
    ::close(fd_);
    fd_ = -1;
    int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    return told;
  }
  int fd_ = -1;
};

Result<GuestConfig> readConfigFile(const std::string& path) {
  XVIRT_ASSIGN_OR_RETURN(std::string text, readFile(path));
  auto json = Json::parse(text);
  if (!json.ok()) return makeError(ErrorCode::InvalidArgument, path + ": " + json.error().message);
  auto config = GuestConfig::fromJson(*json);
  if (!config.ok()) return makeError(ErrorCode::InvalidArgument, path + ": " + config.error().message);
  return config;
}

// --restore: the image is verified completely here, before any domain exists.
Result<GuestConfig> loadGuestConfig(const HelperOptions& o, std::optional<RestoreImage>& restore) {
  if (!o.restoreFile.empty()) {
    std::optional<GuestConfig> replacement;
    if (!o.configFile.empty()) {
      XVIRT_ASSIGN_OR_RETURN(replacement, readConfigFile(o.configFile));
    }
    XVIRT_ASSIGN_OR_RETURN(RestoreImage image, openRestoreImage(o.restoreFile, std::move(replacement)));
    XVIRT_TRY(applySerialOption(o, image.config));
    GuestConfig config = image.config;
    restore = std::move(image);
    return config;
  }
  if (o.configFile.empty()) return guestConfigFromOptions(o);
  XVIRT_ASSIGN_OR_RETURN(GuestConfig config, readConfigFile(o.configFile));
  XVIRT_TRY(applySerialOption(o, config));
  return config;
}

Result<ConsoleTarget> consoleTarget(const GuestConfig& g) {
  for (const auto& c : g.chardevs) {
    if (c.kind != "console") continue;
    ConsoleTarget t;
    if (c.type == "pty") t.kind = ConsoleTarget::Kind::Pty;
    else if (c.type == "file") t = ConsoleTarget{ConsoleTarget::Kind::File, c.path};
    else if (c.type == "stdio") t.kind = ConsoleTarget::Kind::Stdio;
    else if (c.type == "null") t.kind = ConsoleTarget::Kind::Null;
    else return makeError(ErrorCode::ConfigUnsupported, "The console type '" + c.type + "' is not supported by the helper yet.");
    return t;
  }
  return ConsoleTarget{ConsoleTarget::Kind::Null, ""};
}

struct SignalState {
  Guest* guest;
  MonitorServer* monitor;
  GMainLoop* loop;
  ExitReason* exitReason;
};

gboolean onSignal(gint fd, GIOCondition, gpointer data) {
  auto* s = static_cast<SignalState*>(data);
  signalfd_siginfo si;
  if (::read(fd, &si, sizeof si) != sizeof si) return G_SOURCE_CONTINUE;
  logInfo("Received signal " + std::to_string(si.ssi_signo) + "; destroying the guest.");
  s->guest->destroy();
  if (s->monitor) s->monitor->emitEvent("SHUTDOWN", Json::object({{"guest", false}, {"reason", "host-signal"}}));
  *s->exitReason = ExitReason::Destroyed;
  g_main_loop_quit(s->loop);
  return G_SOURCE_CONTINUE;
}

}  // namespace

// A helper needs only stdin/stdout/stderr from whoever started it: descriptors leaked by a caller
// (an open image, a socket) are closed, nothing it runs (pygrub, the device model, hotplug scripts)
// may gain privileges through setuid or file capabilities — Xen's tools need none — and what it
// creates is its owner's alone unless a mode says otherwise (docs/hardening.md "Permissions").
static void dropWhatAHelperDoesNotNeed() {
  ::closefrom(3);
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) logWarning("Cannot set no_new_privs; the helper runs without it.");
  ::umask(077);
}


namespace {

// Phase 1: the command line. Returns the options, or the exit status when there is nothing more to do
// (--help, --version, a bad option).
std::variant<HelperOptions, int> parseCommandLine(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = parseHelperOptions(args);
  if (!parsed.ok()) {
    std::fprintf(stderr, "xvirt-helper: %s\n", parsed.error().message.c_str());
    return 1;
  }
  HelperOptions o = std::move(parsed).value();
  if (o.help) {
    std::fputs(helperUsage(), stdout);
    return 0;
  }
  if (o.version) {
    std::printf("xvirt-helper %s\n", XVIRT_VERSION);
    return 0;
  }
  return o;
}

// Phase 2: logging, into -D FILE when given.
bool openLog(const HelperOptions& o) {
  setLogVerbosity(std::max(o.verbosity, 1));
  if (o.logFile.empty()) return true;
  int fd = ::open(o.logFile.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::fprintf(stderr, "xvirt-helper: cannot open the log %s\n", o.logFile.c_str());
    return false;
  }
  ::dup2(fd, STDERR_FILENO);
  ::close(fd);
  return true;
}

// The termination signals arrive on a descriptor the main loop watches (onSignal).
int blockTerminationSignals() {
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  for (int sig : {SIGTERM, SIGINT, SIGQUIT, SIGHUP}) sigaddset(&mask, sig);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  return ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
}

// Phase 3: the monitor listens and greets before anything slow happens (opening the hypervisor, the
// build): clients get the greeting at once and their commands run once the guest is built.
Result<std::unique_ptr<MonitorServer>> listenMonitor(const HelperOptions& o) {
  if (o.qmpPath.empty()) return std::unique_ptr<MonitorServer>();
  // The schema (13 KB of JSON) is parsed once the greeter runs, not before.
  auto monitor = std::make_unique<MonitorServer>(
      &MonitorSchema::builtin, Json::object({{"qemu", Json::object({{"major", 0}, {"minor", 1}, {"micro", 0}})},
                                              {"package", std::string("xvirt-helper ") + XVIRT_VERSION}}));
  XVIRT_TRY(monitor->listenEarly(o.qmpPath));
  return monitor;
}

// Phase 4: the backend. Children (the simulated device model) find the host through the environment;
// a helper never follows a restarted host (its domain id would name another host's domain).
Result<hv::Backend> openHelperBackend(const HelperOptions& o, hv::BackendChoice choice) {
  hv::BackendOptions options;
  options.choice = choice;
  options.simDir = o.simDir;
  options.exportToChildren = true;
  return hv::openBackend(options);
}

// Phase 5: the console, and the VNC display that mirrors it.
struct GuestIo {
  std::unique_ptr<ConsoleServer> console;
  std::unique_ptr<VncDisplay> vnc;
};

Result<GuestIo> openGuestIo(const GuestConfig& config, const hv::Backend& backend) {
  GuestIo io;
  XVIRT_ASSIGN_OR_RETURN(ConsoleTarget target, consoleTarget(config));
  // Even a null console is drained, so the guest never blocks on a full ring.
  XVIRT_ASSIGN_OR_RETURN(io.console, ConsoleServer::create(target, "console0"));
  if (!io.console->ptyPath().empty())
    std::fprintf(stderr, "char device redirected to %s (label console0)\n", io.console->ptyPath().c_str());
  // QEMU serves an HVM guest's display; with a stand-in device model the helper does.
  XVIRT_ASSIGN_OR_RETURN(io.vnc, openGuestVnc(config, backend.deviceModel.standIn));
  if (io.vnc) {
    io.console->setTap([display = io.vnc.get()](std::string_view bytes) { display->consoleOutput(bytes); });
    // Keys arrive on the VNC thread; the console is the main loop's, so they are queued to it.
    io.vnc->setKeyHandler([c = io.console.get()](std::string keys) {
      struct Typed {
        ConsoleServer* console;
        std::string keys;
      };
      g_idle_add_full(G_PRIORITY_DEFAULT, [](gpointer p) -> gboolean {
        auto* t = static_cast<Typed*>(p);
        t->console->typeIn(t->keys);
        return G_SOURCE_REMOVE;
      }, new Typed{c, std::move(keys)}, [](gpointer p) { delete static_cast<Typed*>(p); });
    });
  }
  return io;
}

// Phase 6: the domain, built or restored, paused or started as asked; the pidfile once it exists.
Status buildGuest(const HelperOptions& o, Guest& guest, Hotplug& hotplug, std::optional<RestoreImage>& restore) {
  XVIRT_TRY(restore ? guest.restore(restore->fd.get(), restore->info, restore->configReplaced) : guest.build());
  hotplug.domainChanged();
  if (!o.pidfile.empty()) {
    Status w = writeFileAtomic(o.pidfile, std::to_string(::getpid()) + "\n", 0644);
    if (!w.ok()) {
      guest.destroy();
      return w;
    }
  }
  // A restored guest runs only if it should (the image says so, unless xvirtd passed -S).
  bool paused = o.startPaused || (restore && !restore->runAfterRestore);
  restore.reset();  // the image is no longer needed
  if (!paused) {
    Status started = guest.cont();
    if (!started.ok()) {
      guest.destroy();
      return started;
    }
  }
  logInfo("Guest '" + guest.config().name + "' is domain " + std::to_string(guest.domid()) +
          (paused ? " (paused)." : " (running)."));
  return okStatus();
}

// Phase 8: the guest goes, its last console output is written out, the pidfile is removed.
void finishGuest(const HelperOptions& o, Guest& guest, ConsoleServer* console) {
  guest.destroy();
  if (console) console->pump();
  if (!o.pidfile.empty()) ::unlink(o.pidfile.c_str());
}

// The exit status says why the helper ended.
int exitStatus(ExitReason exitReason) {
  logInfo("Exiting with status " + std::to_string(static_cast<int>(exitReason)) + ".");
  return static_cast<int>(exitReason);
}

}  // namespace

int main(int argc, char** argv) {
  setLogDomain("xvirt-helper");
  dropWhatAHelperDoesNotNeed();
  auto parsed = parseCommandLine(argc, argv);
  if (const int* status = std::get_if<int>(&parsed)) return *status;
  const HelperOptions& o = std::get<HelperOptions>(parsed);
  if (!openLog(o)) return 1;
  std::optional<RestoreImage> restore;
  auto config = loadGuestConfig(o, restore);
  if (!config.ok()) {
    std::fprintf(stderr, "xvirt-helper: %s\n", config.error().message.c_str());
    return 1;
  }

  // Everything that can fail before a domain exists is checked above; from here on, failures
  // clean up what was built.
  Daemonizer daemon;
  if (o.daemonize) daemon.detach();
  auto fail = [&](const std::string& why) {
    logError(why);
    daemon.failed(why);
    if (!o.daemonize) std::fprintf(stderr, "xvirt-helper: %s\n", why.c_str());
    return 1;
  };
  int sigfd = blockTerminationSignals();
  auto choice = hv::parseBackendChoice(o.hypervisor);
  if (!choice.ok()) return fail(choice.error().message);
  auto listening = listenMonitor(o);
  if (!listening.ok()) return fail(listening.error().message);
  std::unique_ptr<MonitorServer> monitor = std::move(listening).value();
  auto backend = openHelperBackend(o, *choice);
  if (!backend.ok()) return fail(backend.error().message);
  auto xs = backend->openXenStore();
  if (!xs.ok()) return fail(xs.error().message);
  auto io = openGuestIo(*config, *backend);
  if (!io.ok()) return fail(io.error().message);
  // Hotplug waits on watches of a xenstore connection of its own (Guest reads all of its own).
  auto hotplugXs = backend->openXenStore();
  if (!hotplugXs.ok()) return fail(hotplugXs.error().message);

  // Owned, so that every early return below (a failed build, restore or start) frees it too.
  std::unique_ptr<GMainLoop, CDeleter<g_main_loop_unref>> loopOwner(g_main_loop_new(nullptr, FALSE));
  GMainLoop* loop = loopOwner.get();
  ExitReason exitReason = ExitReason::Destroyed;
  auto emit = [&](const std::string& ev, Json data) {
    if (monitor) monitor->emitEvent(ev, std::move(data));
  };
  Guest guest(std::move(config).value(), *backend, **xs, io->console.get(),
              Guest::Callbacks{emit, [&](ExitReason why) {
                                 exitReason = why;
                                 g_main_loop_quit(loop);
                               }});
  Hotplug hotplug(guest, **xs, std::move(hotplugXs).value(), emit);
  LiveTuning tuning(guest, **xs, emit);
  std::optional<CommandContext> commands;
  if (monitor) {
    commands.emplace(CommandContext{guest, hotplug, tuning, io->console.get(), *monitor, loop, exitReason});
    registerHelperCommands(*commands);
  }
  if (Status built = buildGuest(o, guest, hotplug, restore); !built.ok()) return fail(built.error().message);
  if (!daemon.ready()) {
    guest.destroy();
    if (!o.pidfile.empty()) ::unlink(o.pidfile.c_str());
    logError("The process that started guest '" + guest.config().name + "' is gone; the guest is destroyed.");
    return static_cast<int>(ExitReason::Error);
  }

  // Phase 7: serve the monitor and the signals until the guest ends.
  if (monitor) monitor->serve();
  SignalState sigState{&guest, monitor.get(), loop, &exitReason};
  g_unix_fd_add(sigfd, G_IO_IN, onSignal, &sigState);
  g_main_loop_run(loop);
  finishGuest(o, guest, io->console.get());
  monitor.reset();
  loopOwner.reset();
  return exitStatus(exitReason);
}
