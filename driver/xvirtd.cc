// xvirtd: the libvirt driver daemon for Xen. Opens the real backend (Xen, or the simulated host,
// started on demand) and serves the libvirt remote protocol until SIGTERM.
#include "driver/Daemon.h"
#include "hypervisor/Backend.h"

namespace {

xvirt::Result<std::unique_ptr<xvirt::hv::Hypervisor>> openBackend(const xvirt::driver::DaemonOptions& options,
                                                                    const xvirt::driver::DaemonPaths& paths) {
  xvirt::hv::BackendOptions backend;
  XVIRT_ASSIGN_OR_RETURN(backend.choice, xvirt::hv::parseBackendChoice(options.hypervisor));
  backend.simDir = paths.simDir;
  // The toolstack outlives a host restart (docs/hardening.md "Crash consistency"); helpers do not.
  backend.followHostRestarts = true;
  XVIRT_ASSIGN_OR_RETURN(xvirt::hv::Backend opened, xvirt::hv::openBackend(backend));
  return std::move(opened.hypervisor);
}

}  // namespace

int main(int argc, char** argv) {
  return xvirt::driver::runDaemon(argc, argv, openBackend);
}
