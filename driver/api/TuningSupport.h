// What the tuning and statistics handlers share: the host's CPU count, configured vCPU affinity and
// the cpumap encoding. libvirt's flag rules are in driver/LibvirtRules.h.
#pragma once

#include <cstdint>
#include <vector>

#include "driver/RemoteDispatch.h"

namespace xvirt::driver::tuning {

// For a query with VIR_DOMAIN_AFFECT_* flags: true for the live definition, false for the persistent
// one (rules::resolveAffectRead, with a live definition required for live).
Result<bool> readsLive(const DomainDefinitions& defs, uint32_t flags);

// The number of host CPUs, from the hypervisor.
Result<unsigned> hostCpuCount(DriverContext& ctx);

// The host CPUs a vCPU may run on according to a definition: its <vcpupin>, else <vcpu cpuset>,
// else every host CPU. Entries beyond the host are dropped.
Result<std::vector<bool>> configuredAffinity(const dom::DomainDef& def, unsigned vcpu, unsigned nrCpus);

// cpumap bytes (byte j bit i = host CPU 8j+i) of `maplen` bytes for one vCPU.
void appendCpuMap(std::vector<uint8_t>& out, const std::vector<bool>& cpus, int32_t maplen);

// The number of vCPUs a definition keeps online.
inline unsigned onlineVcpus(const dom::DomainDef& def) { return def.vcpu.current.value_or(def.vcpu.max); }

}  // namespace xvirt::driver::tuning
