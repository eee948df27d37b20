// The libvirt numbers xvirtd speaks, defined once: error numbers and domains, API flags, the
// VIR_DOMAIN_AFFECT_* bits, domain states and event codes, and the remote protocol's limits.
// Values are facts of libvirt 9.0's public headers and remote_protocol.x; names follow libvirt's.
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
inline constexpr int32_t kNoDomainMetadata = 80;  // VIR_ERR_NO_DOMAIN_METADATA
inline constexpr int32_t kDeviceMissing = 99;
}  // namespace virerr

inline constexpr int32_t kErrLevelError = 2;  // virErrorLevel VIR_ERR_ERROR

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
inline constexpr unsigned kTypedParamStringOkay = 4;                     // VIR_TYPED_PARAM_STRING_OKAY
// virDomainStatsTypes, and virConnectGetAllDomainStatsFlags (the list filters are
// VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE..OTHER, listAllDomains' bits).
inline constexpr unsigned kStatsState = 1, kStatsCpuTotal = 2, kStatsBalloon = 4, kStatsVcpu = 8,
                          kStatsInterface = 16, kStatsBlock = 32;
inline constexpr unsigned kStatsListFilters = 0xff, kStatsNowait = 1u << 29, kStatsBacking = 1u << 30,
                          kStatsEnforce = 1u << 31;
inline constexpr int32_t kMemStatAvailable = 5, kMemStatActualBalloon = 6;  // virDomainMemoryStatTags
// virDomainMetadataType
inline constexpr int32_t kMetadataDescription = 0, kMetadataTitle = 1, kMetadataElement = 2;
}  // namespace flags

// virDomainState, the state reasons (virDomain*Reason), virDomainEventType and its details, with
// the numbers the wire protocol carries.
enum class DomainState : int {
  NoState = 0,
  Running = 1,
  Blocked = 2,
  Paused = 3,
  Shutdown = 4,
  Shutoff = 5,
  Crashed = 6,
  PmSuspended = 7,
};

namespace reason {
// VIR_DOMAIN_RUNNING_*
inline constexpr int kRunningBooted = 1, kRunningRestored = 3, kRunningUnpaused = 5, kRunningSaveCanceled = 7;
// VIR_DOMAIN_PAUSED_*
inline constexpr int kPausedUser = 1, kPausedSave = 3, kPausedShuttingDown = 8, kPausedStartingUp = 11;
// VIR_DOMAIN_SHUTDOWN_*
inline constexpr int kShutdownUser = 1;
// VIR_DOMAIN_SHUTOFF_*
inline constexpr int kShutoffUnknown = 0, kShutoffShutdown = 1, kShutoffDestroyed = 2, kShutoffCrashed = 3,
                     kShutoffSaved = 5, kShutoffFailed = 6, kShutoffDaemon = 8;
// VIR_DOMAIN_CRASHED_*
inline constexpr int kCrashedPanicked = 1;
}  // namespace reason

// virDomainEventType and the details virsh prints ("Started Booted", "Stopped Destroyed", ...).
enum class LifecycleEvent : int {
  Defined = 0,
  Undefined = 1,
  Started = 2,
  Suspended = 3,
  Resumed = 4,
  Stopped = 5,
  Shutdown = 6,
  PmSuspended = 7,
  Crashed = 8,
};

namespace detail {
inline constexpr int kDefinedAdded = 0, kDefinedUpdated = 1, kDefinedRenamed = 2, kDefinedFromSnapshot = 3;
inline constexpr int kUndefinedRemoved = 0, kUndefinedRenamed = 1;
inline constexpr int kStartedBooted = 0, kStartedRestored = 2;
inline constexpr int kSuspendedPaused = 0;
inline constexpr int kResumedUnpaused = 0;
inline constexpr int kStoppedShutdown = 0, kStoppedDestroyed = 1, kStoppedCrashed = 2, kStoppedSaved = 4,
                     kStoppedFailed = 5;
inline constexpr int kShutdownFinished = 0, kShutdownGuest = 1, kShutdownHost = 2;
inline constexpr int kCrashedPanicked = 0;
}  // namespace detail

// virDomainEventID values xvirtd emits.
inline constexpr int32_t kEventIdLifecycle = 0;       // VIR_DOMAIN_EVENT_ID_LIFECYCLE
inline constexpr int32_t kEventIdBalloonChange = 13;  // VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE
inline constexpr int32_t kEventIdDeviceRemoved = 15;  // VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED
inline constexpr int32_t kEventIdDeviceAdded = 19;    // VIR_DOMAIN_EVENT_ID_DEVICE_ADDED
inline constexpr int32_t kEventIdMetadataChange = 23; // VIR_DOMAIN_EVENT_ID_METADATA_CHANGE
inline constexpr int32_t kEventIdLast = 25;           // VIR_DOMAIN_EVENT_ID_LAST in libvirt 9.0

// remote_protocol.x's limits (REMOTE_STRING_MAX is rpc::kXdrStringMax), and Xen's.
namespace limits {
inline constexpr uint32_t kDomainListMax = 16384;    // REMOTE_DOMAIN_LIST_MAX
inline constexpr int32_t kVcpuInfoMax = 16384;       // REMOTE_VCPUINFO_MAX
inline constexpr int64_t kCpuMapsMax = 8388608;      // REMOTE_CPUMAPS_MAX
inline constexpr uint32_t kCpuMapMax = 2048;         // REMOTE_CPUMAP_MAX
inline constexpr uint32_t kNodeCpuStatsMax = 16;     // REMOTE_NODE_CPU_STATS_MAX
inline constexpr int32_t kNodeMemoryStatsMax = 16;   // REMOTE_NODE_MEMORY_STATS_MAX
inline constexpr int32_t kNodeMaxCells = 1024;       // REMOTE_NODE_MAX_CELLS
inline constexpr uint32_t kCpuStatsNcpusMax = 128;   // REMOTE_DOMAIN_GET_CPU_STATS_NCPUS_MAX
inline constexpr uint32_t kMemoryStatsMax = 1024;    // REMOTE_DOMAIN_MEMORY_STATS_MAX
inline constexpr int32_t kMaxVcpus = 128;            // Xen 4.17's HVM_MAX_VCPUS; PV guests allow more
}  // namespace limits

}  // namespace xvirt::driver
