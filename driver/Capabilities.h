// The capabilities XML xvirtd answers CONNECT_GET_CAPABILITIES with: the host CPU and topology from
// the hypervisor, and the Xen guest types (PV, HVM, PVH) virt-install and virt-manager choose from.
#pragma once

#include <string>

#include "common/Result.h"
#include "hypervisor/Hypervisor.h"

namespace xvirt::driver {

inline constexpr const char* kHvmEmulator = "/usr/bin/qemu-system-i386";

// hvmloader as Debian's xen-utils installs it for the running Xen version.
std::string hvmLoaderPath(const hv::PhysInfo& info);

std::string capabilitiesXml(const hv::PhysInfo& info);

// CONNECT_GET_DOMAIN_CAPABILITIES: what a guest of one machine type may use (virsh domcapabilities,
// virt-manager's details). Unset arguments take the defaults (x86_64, xenpv, xen); other
// architectures, virt types, machines or emulators are refused with a sentence naming them.
struct DomainCapsQuery {
  std::string emulator, arch, machine, virtType;
};
Result<std::string> domainCapabilitiesXml(const hv::PhysInfo& info, const DomainCapsQuery& query, int maxVcpus);

}  // namespace xvirt::driver
