// xvirtd: the libvirt driver daemon for Xen. Opens the real backend (Xen, or the simulated host,
// started on demand) and serves the libvirt remote protocol until SIGTERM.
#include "driver/Daemon.h"
#include "hypervisor/sim/SimHost.h"
#include "hypervisor/sim/SimHypervisor.h"

namespace {

xvirt::Result<std::unique_ptr<xvirt::hv::Hypervisor>> openBackend(const xvirt::driver::DaemonOptions& options,
                                                                    const xvirt::driver::DaemonPaths& paths) {
  XVIRT_ASSIGN_OR_RETURN(auto choice, xvirt::hv::parseBackendChoice(options.hypervisor));
  choice = xvirt::hv::resolveBackend(choice);
  if (choice == xvirt::hv::BackendChoice::Sim) XVIRT_TRY(xvirt::hv::ensureSimHost(paths.simDir));
  XVIRT_ASSIGN_OR_RETURN(auto hv, xvirt::hv::openHypervisor(choice, paths.simDir));
  // The toolstack outlives a host restart (docs/hardening.md "Crash consistency"); helpers do not.
  if (auto* sim = dynamic_cast<xvirt::hv::sim::SimHypervisor*>(hv.get())) sim->followHostRestarts();
  return hv;
}

}  // namespace

int main(int argc, char** argv) {
  return xvirt::driver::runDaemon(argc, argv, openBackend);
}
