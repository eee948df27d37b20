// What the tuning and statistics handlers share: libvirt's flag rules (unknown flags, LIVE/CONFIG/
// CURRENT for reads), the host's CPU count, and the wire limits of cpumaps.
#pragma once

#include <cstdint>
#include <vector>

#include "driver/RemoteDispatch.h"

namespace xvirt::driver::tuning {

inline constexpr uint32_t kAffectLive = 1;    // VIR_DOMAIN_AFFECT_LIVE
inline constexpr uint32_t kAffectConfig = 2;  // VIR_DOMAIN_AFFECT_CONFIG
inline constexpr int32_t kVcpuInfoMax = 16384;        // REMOTE_VCPUINFO_MAX
inline constexpr int64_t kCpuMapsMax = 8388608;       // REMOTE_CPUMAPS_MAX
inline constexpr uint32_t kCpuMapMax = 2048;          // REMOTE_CPUMAP_MAX

// libvirt's "unsupported flags (0x…) in function …" for anything outside `known`.
Status checkFlags(uint32_t flags, uint32_t known, const char* function);

// For a query with VIR_DOMAIN_AFFECT_* flags: true for the live definition, false for the persistent
// one, with libvirt's errors (both bits, LIVE on an inactive domain, CONFIG on a transient one).
Result<bool> readsLive(const RemoteDomainDefs& defs, uint32_t flags);

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
