// xvirtd's process shell: command line, host paths (docs/design.md "Files on the host"), sockets (own or
// systemd-activated), pidfile, signals. runDaemon() is main() with the hypervisor backend injected.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/Result.h"
#include "hypervisor/Hypervisor.h"

namespace xvirt::driver {

struct DaemonOptions {
  bool systemMode = false;
  std::string hypervisor = "auto";  // auto | xen | sim
  bool listenLibvirtSocket = false; // --listen: also serve libvirt's virtxend-sock path
  std::string pidFile;
  std::string runtimeDir;           // overrides the mode's default
  std::string stateDir;
  int verbosity = 0;
  bool managedSaveOnStop = false;   // --managed-save-on-stop: save running guests at stop, resume at start
  std::string configFile;           // -f/--config: xvirtd.conf (DaemonConfig.h); default per mode
};

// Parses argv; the error names the bad option. --help is reported as NoSupport with the usage text.
Result<DaemonOptions> parseDaemonOptions(const std::vector<std::string>& args);
std::string daemonUsage();

struct DaemonPaths {
  std::string runtimeDir;  // sockets, status files, the simulated host
  std::string socket;      // read-write
  std::string socketRo;    // read-only
  std::string libvirtSocket, libvirtSocketRo;  // with --listen
  std::string simDir;
  std::string configDir;   // persistent domain XML
  std::string stateDir;    // managed save images
  std::string logDir;      // per-guest logs
  std::string configFile;  // xvirtd.conf: the option's, else beside the domain configs' folder
};

// Paths for the mode, from XDG_* / HOME in session mode. Fails when session mode has no
// XDG_RUNTIME_DIR and no --runtime-dir.
Result<DaemonPaths> daemonPaths(const DaemonOptions& options);

using HypervisorFactory =
    std::function<Result<std::unique_ptr<hv::Hypervisor>>(const DaemonOptions&, const DaemonPaths&)>;

struct DriverContext;
struct DomainPaths;

// Extension points for test builds: `started` runs once the sockets accept clients.
struct DaemonHooks {
  std::function<void(DriverContext&)> started;
};

// Where the daemon keeps domain files for its mode and options (DESIGN.md "Files on the host").
DomainPaths domainPathsFor(const DaemonOptions& options, const DaemonPaths& paths);

// The xvirt-helper binary: $XVIRT_HELPER, beside xvirtd, in the build tree, else from PATH.
std::string findHelperBinary();

// Runs until SIGTERM or SIGINT; returns the process exit status.
int runDaemon(int argc, char** argv, const HypervisorFactory& openHypervisor, const DaemonHooks& hooks = {});

}  // namespace xvirt::driver
