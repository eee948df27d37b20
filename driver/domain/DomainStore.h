// DomainStore: xvirtd's files on the host (docs/design.md "Files on the host"): persistent domain XML,
// autostart marks, runtime status files (<domstatus>), managed-save images, per-guest logs.
// Every write is atomic (temporary file, fsync, rename).
#pragma once

#include <sys/types.h>

#include <set>
#include <string>
#include <vector>

#include "common/Result.h"
#include "domain-xml/DomainDef.h"
#include "driver/domain/DomainState.h"

namespace xvirt::driver {

struct DomainPaths {
  std::string configDir;     // /etc/xvirt/domains
  std::string autostartDir;  // /etc/xvirt/domains/autostart
  std::string statusDir;     // /run/xvirt/domains
  std::string runDir;        // /run/xvirt/guests: monitor sockets, GuestConfig files, pidfiles
  std::string saveDir;       // /var/lib/xvirt/save
  std::string logDir;        // /var/log/xvirt
  std::string simDir;        // /run/xvirt/sim
  bool privileged = true;    // system mode: files only root may read

  static DomainPaths system();
  static DomainPaths session();  // XDG directories of the calling user
  Status create() const;         // makes every directory with a safe mode
};

// What a status file records about a running guest, enough to reconnect after a restart.
struct DomainStatus {
  DomainState state = DomainState::Running;
  int reason = 0;
  int domid = -1;
  pid_t helperPid = 0;
  std::string monitorPath;
  bool persistent = true;
  std::string liveXml;  // the live <domain>
};

class DomainStore {
 public:
  explicit DomainStore(DomainPaths paths) : paths_(std::move(paths)) {}
  const DomainPaths& paths() const { return paths_; }

  // Persistent definitions. loadConfigs() returns every file that parses; the others are reported
  // through `problems` (one sentence each) and left untouched on disk.
  std::vector<dom::DomainDef> loadConfigs(std::vector<std::string>* problems) const;
  Status saveConfig(const dom::DomainDef& def) const;
  Status removeConfig(const std::string& name) const;
  // Moves the config of `oldName` to def.name (def is the renamed definition) and its autostart mark
  // with it. Crash-safe: the new content is first written over the old file, then the file is
  // renamed, so exactly one file holds the domain at every moment; loadConfigs completes a move a
  // crash interrupted.
  Status renameConfig(const std::string& oldName, const dom::DomainDef& def) const;

  bool isAutostart(const std::string& name) const;
  Status setAutostart(const std::string& name, bool on) const;

  Status saveStatus(const std::string& name, const DomainStatus& status) const;
  Result<DomainStatus> loadStatus(const std::string& name) const;
  std::vector<std::string> statusNames() const;
  Status removeStatus(const std::string& name) const;

  // Start-up clean-up after a kill: temporary files of interrupted atomic writes, and the runtime
  // files (GuestConfig, pidfile, monitor socket) of guests not in `activeNames`. Returns what it removed.
  std::vector<std::string> removeLeftovers(const std::set<std::string>& activeNames) const;

  std::string configPath(const std::string& name) const;
  std::string statusPath(const std::string& name) const;
  std::string managedSavePath(const std::string& name) const;
  std::string logPath(const std::string& name) const;
  std::string monitorPath(const std::string& name) const;
  std::string guestConfigPath(const std::string& name) const;
  std::string pidfilePath(const std::string& name) const;

 private:
  mode_t fileMode() const { return paths_.privileged ? 0600 : 0600; }
  DomainPaths paths_;
};

}  // namespace xvirt::driver
