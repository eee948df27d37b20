// The libvirt numbers xvirtd speaks, defined once: error numbers and domains, API flags, the
// VIR_DOMAIN_AFFECT_* bits and the remote protocol's limits. Values are facts of libvirt 9.0's
// public headers (include/libvirt/*.h) and remote_protocol.x; the names follow libvirt's.
#pragma once

#include <cstdint>

namespace xvirt::driver {

// virErrorNumber values we send (checked against python3-libvirt 9.0.0's constants).
namespace virerr {
inline constexpr int32_t kInternalError = 1;
inline constexpr int32_t kNoSupport = 3;
inline constexpr int32_t kNoConnect = 5;
inline constexpr int32_t kInvalidConn = 6;
inline constexpr int32_t kInvalidArg = 8;
inline constexpr int32_t kOperationFailed = 9;
inline constexpr int32_t kXmlError = 27;
inline constexpr int32_t kDomExist = 28;
inline constexpr int32_t kOperationDenied = 29;
inline constexpr int32_t kSystemError = 38;
inline constexpr int32_t kRpc = 39;
inline constexpr int32_t kNoDomain = 42;
inline constexpr int32_t kOperationInvalid = 55;
inline constexpr int32_t kConfigUnsupported = 67;
inline constexpr int32_t kOperationTimeout = 68;
inline constexpr int32_t kDeviceMissing = 99;
}  // namespace virerr

// virErrorDomain values.
namespace virfrom {
inline constexpr int32_t kXen = 1;  // every driver error xvirtd reports (see docs/rpc.md)
inline constexpr int32_t kRpc = 7;  // protocol errors: undecodable calls, unknown programs
}  // namespace virfrom

// virDomainModificationImpact: which definition a call reads or changes. 0 is CURRENT.
namespace affect {
inline constexpr unsigned kCurrent = 0;  // VIR_DOMAIN_AFFECT_CURRENT
inline constexpr unsigned kLive = 1;     // VIR_DOMAIN_AFFECT_LIVE
inline constexpr unsigned kConfig = 2;   // VIR_DOMAIN_AFFECT_CONFIG
inline constexpr unsigned kAll = kLive | kConfig;
}  // namespace affect

// API flags, one group per libvirt enum.
namespace flags {
inline constexpr unsigned kConnectRo = 1, kConnectNoAliases = 2;  // virConnectFlags
inline constexpr unsigned kListDomainsFiltersAll = 0xffff;         // VIR_CONNECT_LIST_DOMAINS_FILTERS_ALL
inline constexpr unsigned kDefineValidate = 1;                     // VIR_DOMAIN_DEFINE_VALIDATE
// virDomainCreateFlags (VIR_DOMAIN_START_*)
inline constexpr unsigned kStartPaused = 1, kStartAutodestroy = 2, kStartBypassCache = 4, kStartForceBoot = 8,
                          kStartValidate = 16;
inline constexpr unsigned kStartAll = kStartPaused | kStartAutodestroy | kStartBypassCache | kStartForceBoot |
                                      kStartValidate;
// virDomainXMLFlags
inline constexpr unsigned kXmlSecure = 1, kXmlInactive = 2, kXmlUpdateCpu = 4, kXmlMigratable = 8;
inline constexpr unsigned kXmlAll = kXmlSecure | kXmlInactive | kXmlUpdateCpu | kXmlMigratable;
// virDomainUndefineFlagsValues
inline constexpr unsigned kUndefineManagedSave = 1, kUndefineSnapshotsMetadata = 2, kUndefineNvram = 4,
                          kUndefineKeepNvram = 8, kUndefineCheckpointsMetadata = 16, kUndefineTpm = 32,
                          kUndefineKeepTpm = 64;
inline constexpr unsigned kUndefineAll = 0x7f;
inline constexpr unsigned kDestroyGraceful = 1;  // virDomainDestroyFlagsValues
// virDomainShutdownFlagValues and virDomainRebootFlagValues share their bits: ACPI_POWER_BTN,
// GUEST_AGENT, INITCTL, SIGNAL, PARAVIRT. Every mode ends in control/shutdown for a Xen guest.
inline constexpr unsigned kShutdownModesAll = 0x1f;
// virDomainSaveRestoreFlags
inline constexpr unsigned kSaveBypassCache = 1, kSaveRunning = 2, kSavePaused = 4, kSaveResetNvram = 8;
inline constexpr unsigned kSaveImageXmlSecure = 1;  // virDomainSaveImageXMLFlags
inline constexpr unsigned kVcpuMaximum = 4, kVcpuGuest = 8, kVcpuHotpluggable = 16;  // virDomainVcpuFlags
inline constexpr unsigned kMemMaximum = 4;                                          // virDomainMemoryModFlags
inline constexpr unsigned kDeviceModifyForce = 4;  // virDomainDeviceModifyFlags (update-device)
inline constexpr unsigned kConsoleForce = 1, kConsoleSafe = 2;  // virDomainConsoleFlags
inline constexpr unsigned kGetHostnameLease = 1, kGetHostnameAgent = 2;  // virDomainGetHostnameFlags
}  // namespace flags

// remote_protocol.x's limits (REMOTE_STRING_MAX is rpc::kXdrStringMax), and Xen's.
namespace limits {
inline constexpr uint32_t kDomainListMax = 16384;    // REMOTE_DOMAIN_LIST_MAX
inline constexpr int32_t kVcpuInfoMax = 16384;       // REMOTE_VCPUINFO_MAX
inline constexpr int64_t kCpuMapsMax = 8388608;      // REMOTE_CPUMAPS_MAX
inline constexpr uint32_t kCpuMapMax = 2048;         // REMOTE_CPUMAP_MAX
inline constexpr uint32_t kNodeCpuStatsMax = 16;     // REMOTE_NODE_CPU_STATS_MAX
inline constexpr uint32_t kCpuStatsNcpusMax = 128;   // REMOTE_DOMAIN_GET_CPU_STATS_NCPUS_MAX
inline constexpr uint32_t kMemoryStatsMax = 1024;    // REMOTE_DOMAIN_MEMORY_STATS_MAX
inline constexpr int32_t kMaxVcpus = 128;            // Xen 4.17's HVM_MAX_VCPUS; PV guests allow more
}  // namespace limits

}  // namespace xvirt::driver
