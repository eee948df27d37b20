// Backend: everything a program needs of the hypervisor backend it runs on, from one call
// (openBackend), so that only hypervisor/ knows which backends exist and how they differ.
#pragma once

#include <memory>
#include <string>

#include "common/Result.h"
#include "hypervisor/Hypervisor.h"
#include "hypervisor/XenStore.h"

namespace xvirt::hv {

struct BackendOptions {
  BackendChoice choice = BackendChoice::Auto;  // parseBackendChoice of the user's --hypervisor
  std::string simDir;                          // the simulated host's runtime directory; "" = defaultSimDir()
  // A toolstack (xvirtd) outlives a restart of the host it manages and follows it; a helper must
  // not: its domain id means nothing on a restarted host, so it has to see errors instead.
  bool followHostRestarts = false;
  // Children that talk to the host themselves (the simulated device model) are told where it is
  // through the environment.
  bool exportToChildren = false;
};

// The program an HVM guest's device model runs, and what that program does besides the guest's
// emulated devices.
struct DeviceModelProgram {
  std::string binary;  // "" = QEMU as DeviceModelArgs finds it
  // A stand-in (the simulated host's) takes QEMU's command line but serves no VNC display and no PV
  // qdisk backends: the helper serves an HVM guest's VNC itself and starts no QEMU for PV disks.
  bool standIn = false;
  bool found() const { return !standIn || !binary.empty(); }
};

struct Backend {
  std::string name;    // what helpers are told (--hypervisor NAME): "xen" or "sim"
  std::string simDir;  // the simulated host's runtime directory (helpers get --sim-dir)
  std::unique_ptr<Hypervisor> hypervisor;
  DeviceModelProgram deviceModel;
  // A new connection to the backend's xenstored (a helper keeps several: watches block one).
  Result<std::unique_ptr<XenStore>> openXenStore() const { return XenStore::open(hypervisor->xenstorePath()); }
};

// Resolves Auto, starts the simulated host when it is chosen and not yet running, and opens the
// hypervisor with the restart policy asked for.
Result<Backend> openBackend(const BackendOptions& options);

// $XVIRT_SIM_DIR, else /run/xvirt/sim for root, else $XDG_RUNTIME_DIR/xvirt/sim (or /tmp/...).
std::string defaultSimDir();

}  // namespace xvirt::hv

// The real-Xen backend's entry point, with C linkage so that a program that must not link Xen's
// libraries (the helper on the simulated host) can load it from a module by this plain name.
extern "C" void xvirt_open_xen_hypervisor(xvirt::Result<std::unique_ptr<xvirt::hv::Hypervisor>>* out);

namespace xvirt::hv {
inline constexpr const char* kXenEntryPoint = "xvirt_open_xen_hypervisor";  // for dlsym
}  // namespace xvirt::hv
