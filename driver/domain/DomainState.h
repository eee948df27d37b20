// libvirt's domain states, state reasons and lifecycle event codes (virDomainState,
// virDomain*Reason, virDomainEventType and details), with the numbers the wire protocol carries.
#pragma once

namespace xvirt::driver {

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
inline constexpr int kUndefinedRemoved = 0;
inline constexpr int kStartedBooted = 0, kStartedRestored = 2;
inline constexpr int kSuspendedPaused = 0;
inline constexpr int kResumedUnpaused = 0;
inline constexpr int kStoppedShutdown = 0, kStoppedDestroyed = 1, kStoppedCrashed = 2, kStoppedSaved = 4,
                     kStoppedFailed = 5;
inline constexpr int kShutdownFinished = 0, kShutdownGuest = 1, kShutdownHost = 2;
inline constexpr int kCrashedPanicked = 0;
}  // namespace detail

const char* domainStateName(DomainState s);  // "running", "shut off", ... as virsh prints them

}  // namespace xvirt::driver
