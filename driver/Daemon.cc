// xvirtd's process shell. Signals are blocked in every thread and taken synchronously with
// sigwait() in main, so shutdown runs as ordinary code rather than inside a signal handler.
#include "driver/Daemon.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "common/File.h"
#include "common/Log.h"
#include "common/Strings.h"
#include "driver/DaemonConfig.h"
#include "domain-xml/GuestConfigBuilder.h"
#include "driver/EventBus.h"
#include "driver/RemoteDispatch.h"
#include "driver/api/Events.h"
#include "driver/domain/DomainManager.h"
#include "driver/rpc/Server.h"
#include "hypervisor/LockedHypervisor.h"
#include "xvirt-config.h"

namespace xvirt::driver {

namespace {

std::string envOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

// systemd socket activation (sd_listen_fds without libsystemd): fds 3.. named by LISTEN_FDNAMES.
struct ActivatedSocket {
  int fd;
  std::string name;
};
std::vector<ActivatedSocket> activatedSockets() {
  std::vector<ActivatedSocket> out;
  auto pid = parseUint(envOr("LISTEN_PID", ""));
  auto n = parseUint(envOr("LISTEN_FDS", ""));
  if (!pid || !n || *pid != static_cast<uint64_t>(::getpid()) || *n > 16) return out;
  auto names = split(envOr("LISTEN_FDNAMES", ""), ':');
  for (unsigned i = 0; i < *n; ++i) out.push_back({3 + int(i), i < names.size() ? names[i] : ""});
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  return out;
}

}  // namespace

std::string daemonUsage() {
  return "Usage: xvirtd [--system|--session] [--hypervisor auto|xen|sim] [--listen] [--pidfile FILE]\n"
         "              [--runtime-dir DIR] [--state-dir DIR] [--managed-save-on-stop] [-f FILE] [-v]...\n"
         "Serves the libvirt remote protocol for Xen guests (URI xen:///system or xen:///session).\n"
         "  --system        root's daemon: sockets in /run/xvirt (default when run as root)\n"
         "  --session       a user's daemon: sockets in $XDG_RUNTIME_DIR/xvirt (default otherwise)\n"
         "  --hypervisor    xen (real Xen), sim (the simulated Xen host, started on demand), auto\n"
         "  --listen        also listen at libvirt's virtxend-sock path so plain xen:/// URIs work\n"
         "  --pidfile       write the daemon's pid to FILE\n"
         "  --runtime-dir   sockets and runtime state here instead of the mode's default\n"
         "  --state-dir     persistent state here instead of the mode's default\n"
         "  --managed-save-on-stop  managed-save running persistent guests when stopping, resume them at start\n"
         "  -f, --config    limits from FILE (libvirtd.conf names; default /etc/xvirt/xvirtd.conf or\n"
         "                  ~/.config/xvirt/xvirtd.conf)\n"
         "  -v, --verbose   more log output (repeat for debug)\n";
}

Result<DaemonOptions> parseDaemonOptions(const std::vector<std::string>& args) {
  DaemonOptions o;
  o.systemMode = ::geteuid() == 0;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const char* opt) -> Result<std::string> {
      if (i + 1 >= args.size())
        return makeError(ErrorCode::InvalidArgument, std::string("The option ") + opt + " needs a value.");
      return args[++i];
    };
    if (a == "--system") {
      o.systemMode = true;
    } else if (a == "--session") {
      o.systemMode = false;
    } else if (a == "--hypervisor") {
      XVIRT_ASSIGN_OR_RETURN(o.hypervisor, value("--hypervisor"));
      if (!hv::isBackendChoiceName(o.hypervisor))
        return makeError(ErrorCode::InvalidArgument,
                         "The hypervisor '" + o.hypervisor + "' is not one of auto, xen or sim.");
    } else if (a == "--listen") {
      o.listenLibvirtSocket = true;
    } else if (a == "--pidfile") {
      XVIRT_ASSIGN_OR_RETURN(o.pidFile, value("--pidfile"));
    } else if (a == "--runtime-dir") {
      XVIRT_ASSIGN_OR_RETURN(o.runtimeDir, value("--runtime-dir"));
    } else if (a == "--state-dir") {
      XVIRT_ASSIGN_OR_RETURN(o.stateDir, value("--state-dir"));
    } else if (a == "-f" || a == "--config") {
      XVIRT_ASSIGN_OR_RETURN(o.configFile, value("--config"));
    } else if (a == "--managed-save-on-stop") {
      o.managedSaveOnStop = true;
    } else if (a == "-v" || a == "--verbose") {
      ++o.verbosity;
    } else if (a == "-vv") {
      o.verbosity += 2;
    } else if (a == "-h" || a == "--help") {
      return makeError(ErrorCode::NoSupport, daemonUsage());
    } else {
      return makeError(ErrorCode::InvalidArgument, "xvirtd has no option '" + a + "'; see xvirtd --help.");
    }
  }
  return o;
}

Result<DaemonPaths> daemonPaths(const DaemonOptions& o) {
  DaemonPaths p;
  if (o.systemMode) {
    p.runtimeDir = o.runtimeDir.empty() ? "/run/xvirt" : o.runtimeDir;
    p.configDir = "/etc/xvirt/domains";
    p.stateDir = o.stateDir.empty() ? "/var/lib/xvirt" : o.stateDir;
    p.logDir = "/var/log/xvirt";
    p.libvirtSocket = "/run/libvirt/virtxend-sock";
    p.libvirtSocketRo = "/run/libvirt/virtxend-sock-ro";
  } else {
    std::string xdgRuntime = envOr("XDG_RUNTIME_DIR", "");
    if (o.runtimeDir.empty() && xdgRuntime.empty())
      return makeError(ErrorCode::InvalidArgument,
                       "Session mode needs XDG_RUNTIME_DIR (or --runtime-dir) for its sockets, and neither is set.");
    std::string home = envOr("HOME", "");
    auto xdg = [&](const char* var, const char* fallback) -> std::string {
      std::string v = envOr(var, "");
      return !v.empty() ? v : home.empty() ? "" : home + "/" + fallback;
    };
    p.runtimeDir = o.runtimeDir.empty() ? xdgRuntime + "/xvirt" : o.runtimeDir;
    std::string config = xdg("XDG_CONFIG_HOME", ".config");
    std::string data = xdg("XDG_DATA_HOME", ".local/share");
    std::string cache = xdg("XDG_CACHE_HOME", ".cache");
    p.configDir = config.empty() ? p.runtimeDir + "/config/domains" : config + "/xvirt/domains";
    p.stateDir = !o.stateDir.empty() ? o.stateDir : data.empty() ? p.runtimeDir + "/state" : data + "/xvirt";
    p.logDir = cache.empty() ? p.runtimeDir + "/log" : cache + "/xvirt/log";
    if (!xdgRuntime.empty()) {
      p.libvirtSocket = xdgRuntime + "/libvirt/virtxend-sock";
      p.libvirtSocketRo = xdgRuntime + "/libvirt/virtxend-sock-ro";
    }
  }
  p.socket = p.runtimeDir + "/xvirtd-sock";
  p.socketRo = p.runtimeDir + "/xvirtd-sock-ro";
  p.simDir = p.runtimeDir + "/sim";
  p.configFile = !o.configFile.empty() ? o.configFile
                 : o.systemMode        ? "/etc/xvirt/xvirtd.conf"
                                       : dirName(p.configDir) + "/xvirtd.conf";
  return p;
}

namespace {

// The server's limits: the config file's, the client count capped by the open-file limit.
rpc::ServerOptions serverOptionsFrom(const DaemonConfig& c, bool systemMode) {
  rpc::ServerOptions s;
  s.maxClients = effectiveMaxClients(c.maxClients);
  s.maxInflightPerClient = c.maxClientRequests;
  if (c.maxWorkers) s.workers = c.maxWorkers;
  s.keepalive.intervalSec = c.keepaliveInterval;
  s.keepalive.count = c.keepaliveCount;
  if (!systemMode) s.onlyUid = ::geteuid();
  return s;
}

Status listenAll(rpc::Server& server, const DaemonOptions& o, const DaemonPaths& p, const DaemonConfig& c) {
  auto activated = activatedSockets();
  if (!activated.empty()) {
    for (auto& s : activated) {
      bool ro = s.name.find("-ro") != std::string::npos;
      XVIRT_TRY(server.adoptListener(UniqueFd(s.fd), ro, s.name.empty() ? "fd " + std::to_string(s.fd) : s.name));
    }
    return okStatus();
  }
  // The read-write socket is the owner's alone; anyone may query through the read-only one.
  XVIRT_TRY(server.listenUnix(p.socket, c.unixSockRwPerms, false));
  XVIRT_TRY(server.listenUnix(p.socketRo, c.unixSockRoPerms, true));
  if (o.listenLibvirtSocket) {
    if (p.libvirtSocket.empty())
      return makeError(ErrorCode::InvalidArgument, "--listen needs XDG_RUNTIME_DIR in session mode.");
    XVIRT_TRY(makeDirs(dirName(p.libvirtSocket), 0755));
    XVIRT_TRY(server.listenUnix(p.libvirtSocket, c.unixSockRwPerms, false));
    XVIRT_TRY(server.listenUnix(p.libvirtSocketRo, c.unixSockRoPerms, true));
  }
  return okStatus();
}

int fail(const Error& e) {
  logError(e.message);
  return 1;
}

// The domain manager over the daemon's paths and backend. It loads the persistent configs and
// reconnects to running helpers before it returns.
Result<std::unique_ptr<DomainManager>> openDomainManager(const DaemonOptions& options, const DaemonPaths& paths,
                                                        hv::Hypervisor& hypervisor, DomainEventSink& events) {
  DomainPaths dp = domainPathsFor(options, paths);
  XVIRT_TRY(dp.create());
  DomainManagerConfig config;
  config.helperBinary = findHelperBinary();
  config.hypervisorName = hypervisor.backendName();
  config.managedSaveOnStop = options.managedSaveOnStop;
  config.guestConfigJson = [](const dom::DomainDef& def) -> Result<std::string> {
    XVIRT_ASSIGN_OR_RETURN(GuestConfig gc, dom::buildGuestConfig(def));
    return gc.toJson().dump();
  };
  auto manager = std::make_unique<DomainManager>(std::move(config), DomainStore(dp), hypervisor, events);
  manager->load();
  return manager;
}

}  // namespace

DomainPaths domainPathsFor(const DaemonOptions& options, const DaemonPaths& paths) {
  DomainPaths d;
  d.configDir = paths.configDir;
  d.autostartDir = paths.configDir + "/autostart";
  d.statusDir = paths.runtimeDir + "/domains";
  d.runDir = paths.runtimeDir + "/guests";
  d.saveDir = paths.stateDir + "/save";
  d.logDir = paths.logDir;
  d.simDir = paths.simDir;
  d.privileged = options.systemMode;
  return d;
}

std::string findHelperBinary() {
  if (const char* env = std::getenv("XVIRT_HELPER"); env && *env) return env;
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    std::string beside = dirName(std::string(self, static_cast<size_t>(n))) + "/xvirt-helper";
    if (::access(beside.c_str(), X_OK) == 0) return beside;
  }
  std::string built = std::string(XVIRT_BUILD_ROOT) + "/helper/xvirt-helper";
  if (::access(built.c_str(), X_OK) == 0) return built;
  return "xvirt-helper";
}

int runDaemon(int argc, char** argv, const HypervisorFactory& openHypervisor, const DaemonHooks& hooks) {
  setLogDomain("xvirtd");
  std::vector<std::string> args(argv + 1, argv + argc);
  auto options = parseDaemonOptions(args);
  if (!options) {
    if (options.error().code == ErrorCode::NoSupport) {
      std::cout << options.error().message;
      return 0;
    }
    std::cerr << "xvirtd: " << options.error().message << "\n" << daemonUsage();
    return 2;
  }
  const DaemonOptions& o = options.value();
  setLogVerbosity(o.verbosity);

  // Block the signals before any thread exists, so every thread inherits the mask and only
  // sigwait() below sees them.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  auto paths = daemonPaths(o);
  if (!paths) return fail(paths.error());
  const DaemonPaths& p = paths.value();
  auto config = loadDaemonConfig(p.configFile, !o.configFile.empty());
  if (!config) return fail(config.error());
  // Session runtime data is private to the user; others may reach the system read-only socket
  // through the runtime dir but not list it (0711). Directories given on the command line may be
  // shared ones, so only the defaults get their mode forced.
  mode_t runtimeMode = o.systemMode ? 0711 : 0700;
  auto ownDir = [](const std::string& dir, mode_t mode, bool ours) { return ours ? makeOwnDir(dir, mode) : makeDirs(dir, mode); };
  if (auto st = ownDir(p.runtimeDir, runtimeMode, o.runtimeDir.empty()); !st) return fail(st.error());
  if (auto st = ownDir(p.stateDir, 0700, o.stateDir.empty()); !st) return fail(st.error());

  auto opened = openHypervisor(o, p);
  if (!opened) return fail(opened.error());
  // One backend connection for every thread (RPC workers, the domain manager): each call under one lock.
  auto hypervisor = std::make_unique<hv::LockedHypervisor>(std::move(opened).value());
  logInfo("Using the " + hypervisor->backendName() + " hypervisor backend.");

  EventBus events;
  EventBusSink sink(events);
  auto domains = openDomainManager(o, p, *hypervisor, sink);
  if (!domains) return fail(domains.error());
  DomainManager& manager = **domains;
  DriverContext ctx{*hypervisor, manager, events, o.systemMode};
  rpc::Server server(serverOptionsFrom(config.value(), o.systemMode),
                     [&ctx](rpc::Connection& conn) { return std::make_unique<ClientSession>(ctx, conn); });
  if (auto st = listenAll(server, o, p, config.value()); !st) return fail(st.error());
  // As libvirtd: clients queue on the listening sockets until managed-saved guests are back and
  // autostart guests are started, so the first answer a client gets is the settled state.
  manager.resumeSavedOnStop();
  manager.autostartAll();
  if (auto st = server.start(); !st) return fail(st.error());
  if (!o.pidFile.empty()) {
    if (auto st = writeFileAtomic(o.pidFile, std::to_string(::getpid()) + "\n", 0644); !st) {
      server.stop();
      return fail(st.error());
    }
  }
  logInfo("xvirtd " XVIRT_VERSION " serves " + ctx.uri() + " at " + p.socket + ".");
  if (hooks.started) hooks.started(ctx);

  for (;;) {
    int sig = 0;
    if (sigwait(&sigs, &sig) != 0) continue;
    if (sig == SIGHUP) continue;  // nothing to reload yet
    logInfo(std::string("Received ") + strsignal(sig) + "; shutting down.");
    break;
  }
  server.stop();
  // Guests keep running (or are managed-saved); a restarted xvirtd reconnects to their helpers.
  manager.managedSaveAllOnStop();
  manager.detachAll();
  if (!o.pidFile.empty()) ::unlink(o.pidFile.c_str());
  return 0;
}

}  // namespace xvirt::driver
