// The capabilities XML xvirtd answers CONNECT_GET_CAPABILITIES with: the host CPU and topology from
// the hypervisor, and the Xen guest types (PV, HVM, PVH) virt-install and virt-manager choose from.
#pragma once

#include <string>

#include "hypervisor/Hypervisor.h"

namespace xvirt::driver {

inline constexpr const char* kHvmEmulator = "/usr/bin/qemu-system-i386";

// hvmloader as Debian's xen-utils installs it for the running Xen version.
std::string hvmLoaderPath(const hv::PhysInfo& info);

std::string capabilitiesXml(const hv::PhysInfo& info);

}  // namespace xvirt::driver
