// openBackend: the one place that tells the backends apart (Hypervisor.cc opens them).
#include "hypervisor/Backend.h"

#include <unistd.h>

#include <cstdlib>

#include "hypervisor/sim/SimHost.h"
#include "hypervisor/sim/SimHypervisor.h"
#include "hypervisor/sim/SimProtocol.h"

namespace xvirt::hv {

std::string defaultSimDir() {
  if (const char* env = std::getenv("XVIRT_SIM_DIR"); env && *env) return env;
  if (::getuid() == 0) return "/run/xvirt/sim";
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  return std::string(runtime && *runtime ? runtime : "/tmp") + "/xvirt/sim";
}

Result<Backend> openBackend(const BackendOptions& options) {
  Backend b;
  BackendChoice choice = resolveBackend(options.choice);
  b.simDir = options.simDir.empty() ? defaultSimDir() : options.simDir;
  if (choice == BackendChoice::Sim) {
    XVIRT_TRY(ensureSimHost(b.simDir));
    if (options.exportToChildren) {
      ::setenv("XVIRT_SIM_DIR", b.simDir.c_str(), 1);
      ::setenv("XENSTORED_PATH", sim::xenstoreSocketPath(b.simDir).c_str(), 1);
    }
    // Looked up now, but only an HVM guest's start fails when there is none.
    b.deviceModel = DeviceModelProgram{findSimDeviceModelBinary(), true};
  }
  XVIRT_ASSIGN_OR_RETURN(b.hypervisor, openHypervisor(choice, b.simDir));
  if (options.followHostRestarts)
    if (auto* sim = dynamic_cast<sim::SimHypervisor*>(b.hypervisor.get())) sim->followHostRestarts();
  b.name = b.hypervisor->backendName();
  return b;
}

}  // namespace xvirt::hv
