// Start-up recovery after the daemon stopped, cleanly or by SIGKILL at any moment: reconnect to
// every helper a status file names and re-check its domain in the hypervisor; stop and report what
// cannot be trusted; then stop helpers and destroy domains that nothing accounts for, so that no
// guest ever runs twice. docs/restart-safety.md has the rules and why.
#include <map>
#include <set>

#include "common/File.h"
#include "common/Log.h"
#include "domain-xml/DomainXml.h"
#include "driver/domain/DomainManager.h"
#include "driver/domain/HelperLauncher.h"
#include "driver/monitor/HelperClient.h"

namespace xvirt::driver {

using namespace std::chrono_literals;

struct DomainManager::Recovery {
  std::set<pid_t> keptHelpers;            // reconnected
  std::set<int> keptDomids;               // their domains
  std::set<std::string> activeNames;
  std::map<Uuid, std::string> knownUuids;  // every guest xvirtd knows of: configs and status files
  std::vector<std::string> problems;      // one sentence each, logged at the end

  void noteIfFailed(const Status& s) {
    if (!s.ok()) problems.push_back(s.error().message);
  }
};

void DomainManager::load() {
  Recovery r;
  for (auto& def : store_.loadConfigs(&r.problems)) {
    auto added = list_.add(def.name, def.uuid);
    if (!added.ok()) {
      r.problems.push_back("Ignoring the config of '" + def.name + "': " + added.error().message);
      continue;
    }
    auto dom = *added;
    std::lock_guard lock(dom->mu());
    r.knownUuids[def.uuid] = def.name;
    dom->autostart = store_.isAutostart(def.name);
    dom->hasManagedSave = pathExists(store_.managedSavePath(def.name));
    dom->persistentDef = std::move(def);
  }
  for (const auto& name : store_.statusNames()) recoverFromStatus(name, r);
  stopUnownedHelpers(r);
  destroyUnownedDomains(r);
  for (const auto& path : store_.removeLeftovers(r.activeNames)) logInfo("Removed the leftover file " + path + ".");
  for (const auto& p : r.problems) logWarning(p);
}

void DomainManager::recoverFromStatus(const std::string& name, Recovery& r) {
  auto st = store_.loadStatus(name);
  if (!st.ok()) {
    // Whatever it described is found by the sweeps below.
    r.problems.push_back(st.error().message + " It was removed.");
    r.noteIfFailed(store_.removeStatus(name));
    return;
  }
  auto live = dom::parseDomainXml(st->liveXml, 0);
  if (live.ok()) r.knownUuids[live->uuid] = name;

  // Why the guest cannot be taken back, and what libvirt would call its end.
  std::string why;
  int stopReason = reason::kShutoffFailed;
  int stopDetail = detail::kStoppedFailed;
  std::shared_ptr<MonitorClient> monitor;
  bool alive = helperAlive(st->helperPid);
  if (st->state == DomainState::Paused && st->reason == reason::kPausedStartingUp) {
    // As libvirt does with a guest whose start-up it did not finish: the client never got its
    // answer, so the start is undone rather than completed.
    why = "its start was interrupted by the daemon's exit";
  } else if (!live.ok()) {
    why = "its status file holds no valid definition (" + live.error().message + ")";
  } else if (!alive) {
    why = "its helper process " + std::to_string(st->helperPid) + " is gone";
    stopReason = reason::kShutoffCrashed;
  } else {
    auto m = MonitorClient::connect(st->monitorPath, 5s, [pid = st->helperPid] { return helperAlive(pid); });
    if (!m.ok()) {
      why = "its helper's monitor cannot be reached (" + m.error().message + ")";
      stopReason = reason::kShutoffDaemon;
    } else {
      monitor = *m;
      auto q = HelperClient(*monitor).queryDomain();
      int helperDomid = q.ok() ? static_cast<int>(q->getInt("domid", -1)) : -1;
      auto info = hv_.domainInfo(static_cast<hv::DomId>(st->domid));
      if (!q.ok()) {
        why = "its helper does not answer (" + q.error().message + ")";
        stopReason = reason::kShutoffDaemon;
      } else if (helperDomid != st->domid || !info.ok() || info->dying || info->uuid != live->uuid) {
        why = "its domain " + std::to_string(st->domid) + " is gone from the hypervisor";
        stopReason = reason::kShutoffDestroyed;
        stopDetail = detail::kStoppedDestroyed;
      }
    }
  }

  std::shared_ptr<DomainObject> dom = list_.byName(name);
  if (why.empty() && !dom) {
    auto added = list_.add(name, live->uuid);  // a transient guest
    if (added.ok()) dom = *added;
    else why = added.error().message;
  }
  if (!why.empty()) {
    if (monitor) monitor->close();
    if (alive) r.noteIfFailed(stopHelper(st->helperPid, 5s));
    // A domain left without its helper is destroyed by destroyUnownedDomains().
    r.noteIfFailed(store_.removeStatus(name));
    r.problems.push_back("Domain '" + name + "' was stopped at daemon start-up: " + why + ".");
    if (dom) {
      std::lock_guard lock(dom->mu());
      if (!dom->isActive()) {
        dom->state = DomainState::Shutoff;
        dom->reason = stopReason;
        emit(*dom, LifecycleEvent::Stopped, stopDetail);
      }
    }
    return;
  }

  auto status = HelperClient(*monitor).queryStatus();
  HelperDevices devices = queryHelperDevices(*monitor);
  {
    std::lock_guard lock(dom->mu());
    dom->id = st->domid;
    dom->liveDef = std::move(live).value();
    dom->liveDef->id = st->domid;
    dropVanishedDevices(*dom, devices);  // removed behind our back while xvirtd was away
    dom->helperPid = st->helperPid;
    dom->monitorPath = st->monitorPath;
    dom->monitor = monitor;
    dom->logPath = store_.logPath(name);
    bool running = status.ok() && status->running;
    dom->state = running ? DomainState::Running : DomainState::Paused;
    dom->reason = running ? (st->state == DomainState::Running ? st->reason : reason::kRunningUnpaused)
                          : (st->state == DomainState::Paused ? st->reason : reason::kPausedUser);
    writeStatus(*dom);
  }
  attachMonitor(dom, monitor);
  r.keptHelpers.insert(st->helperPid);
  r.keptDomids.insert(st->domid);
  r.activeNames.insert(name);
  logInfo("Reconnected to domain " + std::to_string(st->domid) + " ('" + name + "'), helper process " +
          std::to_string(st->helperPid) + ".");
}

void DomainManager::stopUnownedHelpers(Recovery& r) {
  // A helper no status file names: a start the daemon was killed in, before or after it wrote the
  // "starting up" record (whose recovery stopped only what it could name). Stopping it destroys
  // its domain; one still building does so once built.
  for (const auto& [pid, name] : findHelpers(store_.paths().runDir)) {
    if (r.keptHelpers.count(pid)) continue;
    r.problems.push_back("Stopped helper process " + std::to_string(pid) + " of domain '" + name +
                         "', which no status file names (a start interrupted by the daemon's exit).");
    r.noteIfFailed(stopHelper(pid, 10s));
  }
}

void DomainManager::destroyUnownedDomains(Recovery& r) {
  auto domains = hv_.listDomains();
  if (!domains.ok()) {
    r.problems.push_back("Cannot list the hypervisor's domains to look for orphans: " + domains.error().message);
    return;
  }
  for (const auto& d : *domains) {
    if (d.domid == 0 || r.keptDomids.count(static_cast<int>(d.domid))) continue;
    // Only guests of ours: on real Xen other toolstacks' domains are none of our business.
    auto known = r.knownUuids.find(d.uuid);
    if (known == r.knownUuids.end()) continue;
    Status s = destroyOwnerless(d.domid, d.uuid);
    if (s.ok())
      r.problems.push_back("Destroyed domain " + std::to_string(d.domid) + " of '" + known->second +
                           "', which no helper owns any more.");
    else
      r.problems.push_back("Cannot destroy domain " + std::to_string(d.domid) + " of '" + known->second +
                           "', which no helper owns: " + s.error().message);
  }
}

}  // namespace xvirt::driver
