// HelperLauncher: starts one xvirt-helper for one guest the way libvirt starts QEMU: log file first,
// daemonized helper that reports readiness, pid from its pidfile, then the monitor connection.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/Result.h"

namespace xvirt::driver {

class MonitorClient;

struct HelperLaunch {
  std::string name;             // for messages
  std::string helperBinary;     // xvirt-helper
  std::string guestConfigPath;  // --config (with restoreFile: the restored guest's definition)
  std::string restoreFile;      // --restore
  std::string monitorPath;
  std::string pidfile;
  std::string logPath;
  std::string hypervisor;       // auto | xen | sim
  std::string simDir;
  bool paused = true;           // -S: the driver tunes, then sends cont
};

struct LaunchedHelper {
  pid_t pid = 0;
  std::shared_ptr<MonitorClient> monitor;
};

Result<LaunchedHelper> launchHelper(const HelperLaunch& launch,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Why a helper failed, from what it wrote to its log from byte `since` on (this launch only): its
// own one-sentence error ("xvirt-helper: ...") when it printed one, else the last lines.
std::string logTail(const std::string& path, uint64_t since = 0, size_t maxLines = 5);

// Whether `pid` is alive and is an xvirt-helper (guards against a recycled pid after a restart).
bool helperAlive(pid_t pid);

// Every live xvirt-helper process whose -pidfile lies in `runDir` (the helpers launched over that
// directory, including one still starting up), as pid -> domain name. Found through /proc, so a
// restarted daemon also sees the helpers no status file names.
std::map<pid_t, std::string> findHelpers(const std::string& runDir);

// Sends SIGTERM (then SIGKILL after `grace`) and waits for the process to be gone.
Status stopHelper(pid_t pid, std::chrono::milliseconds grace = std::chrono::seconds(10));

// Waits until `pid` has exited, up to `timeout`; true when it is gone.
bool waitForExit(pid_t pid, std::chrono::milliseconds timeout);

}  // namespace xvirt::driver
