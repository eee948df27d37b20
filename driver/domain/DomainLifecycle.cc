// Starting and stopping guests, reacting to their helpers' events, and reconnecting after a
// daemon restart. One helper per running guest; the driver only talks to it through its monitor.
#include <signal.h>
#include <unistd.h>

#include "common/File.h"
#include "common/Log.h"
#include "domain-xml/DomainXml.h"
#include "driver/LibvirtRules.h"
#include "driver/domain/DomainManager.h"
#include "driver/domain/HelperLauncher.h"
#include "driver/monitor/HelperClient.h"
#include "hypervisor/XenStoreCleanup.h"

namespace xvirt::driver {

using namespace std::chrono_literals;

// For clean-up steps whose failure must not hide the error being reported: log and go on.
static void logIfFailed(const Status& s) {
  if (!s.ok()) logWarning(s.error().message);
}

void DomainManager::writeStatus(const DomainObject& dom) {
  if (!dom.isActive() || !dom.liveDef) return;
  DomainStatus st;
  st.state = dom.state;
  st.reason = dom.reason;
  st.domid = dom.id;
  st.helperPid = dom.helperPid;
  st.monitorPath = dom.monitorPath;
  st.persistent = dom.isPersistent();
  st.liveXml = dom::formatDomainXml(*dom.liveDef, dom::kFormatSecure);
  Status s = store_.saveStatus(dom.name(), st);
  if (!s.ok()) logError("Cannot save the status of domain '" + dom.name() + "': " + s.error().message);
}

void DomainManager::markStopped(DomainObject& dom, int reason) {
  if (dom.monitor) dom.monitor->close();
  dom.monitor.reset();
  dom.id = -1;
  dom.helperPid = 0;
  dom.liveDef.reset();
  dom.updated = false;
  dom.vanished = false;
  dom.hostLost = false;
  dom.state = DomainState::Shutoff;
  dom.reason = reason;
  removeRunFiles(dom.name(), dom.monitorPath);
}

void DomainManager::removeRunFiles(const std::string& name, const std::string& monitorPath) {
  logIfFailed(store_.removeStatus(name));
  ::unlink(store_.guestConfigPath(name).c_str());
  ::unlink(store_.pidfilePath(name).c_str());
  ::unlink(monitorPath.c_str());
}

Status DomainManager::destroyOwnerless(hv::DomId domid, const Uuid& uuid) {
  Status s = hv_.destroy(domid);
  if (!s.ok() && s.error().code != ErrorCode::NoDomain) return s;
  // The helper would have removed the domain's xenstore entries; it is gone, so they go here, as
  // libxl removes them at a destroy: no backend is left waiting for a frontend that is gone.
  auto xs = hv::XenStore::open(hv_.xenstorePath());
  Status removed = xs.ok() ? hv::removeDomainTree(**xs, domid, uuid) : Status(xs.takeError());
  if (!removed.ok())
    return makeError(removed.error().code, "Cannot remove the xenstore entries of domain " + std::to_string(domid) +
                                               ": " + removed.error().message);
  return okStatus();
}

void DomainManager::cleanupOrphanDomain(int domid, const std::string& name, const Uuid& uuid) {
  if (domid <= 0) return;
  auto info = hv_.domainInfo(static_cast<hv::DomId>(domid));
  if (!info.ok()) return;  // already gone
  // The id may name another guest by now (the hypervisor restarted, or the id was reused): never
  // destroy a domain that is not this guest's.
  if (info->uuid != uuid) return;
  logWarning("Destroying domain " + std::to_string(domid) + " of '" + name + "', whose helper is gone.");
  Status s = destroyOwnerless(static_cast<hv::DomId>(domid), uuid);
  if (!s.ok()) logError("Cannot destroy orphan domain " + std::to_string(domid) + ": " + s.error().message);
}

void DomainManager::cleanupFailedStart(const std::string& name, const Uuid& uuid) {
  // The helper is gone (it failed, or was killed mid-start): nothing else will destroy a domain it
  // created or remove its files. The guest's job is held, so a domain with its UUID is this start's.
  if (auto doms = hv_.listDomains(); doms.ok())
    for (const auto& d : *doms)
      if (d.uuid == uuid) {
        logWarning("Destroying domain " + std::to_string(d.domid) + " of '" + name + "', left by a failed start.");
        if (Status s = destroyOwnerless(d.domid, uuid); !s.ok()) logError(s.error().message);
      }
  removeRunFiles(name, store_.monitorPath(name));
}

void DomainManager::attachMonitor(const std::shared_ptr<DomainObject>& dom,
                                  const std::shared_ptr<MonitorClient>& monitor) {
  std::weak_ptr<DomainObject> weak = dom;
  std::weak_ptr<MonitorClient> weakMon = monitor;
  auto post = [this, weak, weakMon](std::string event, Json data) {
    auto d = weak.lock();
    auto m = weakMon.lock();
    if (!d || !m) return;
    {
      std::lock_guard lock(qmu_);
      queue_.push_back(HelperEvent{d, m, std::move(event), std::move(data)});
    }
    qcv_.notify_one();
  };
  monitor->setCallbacks([post](const std::string& ev, const Json& data) { post(ev, data); },
                        [post] { post("", Json()); });
}

Status DomainManager::writeStartingStatus(const dom::DomainDef& def, bool persistent) {
  DomainStatus st;
  st.state = DomainState::Paused;
  st.reason = reason::kPausedStartingUp;
  st.monitorPath = store_.monitorPath(def.name);
  st.persistent = persistent;
  st.liveXml = dom::formatDomainXml(def, dom::kFormatSecure);
  return store_.saveStatus(def.name, st);
}

Status DomainManager::startLocked(const std::shared_ptr<DomainObject>& dom, const dom::DomainDef& def, bool paused,
                                  const std::string& restoreFrom) {
  XVIRT_ASSIGN_OR_RETURN(std::string gc, config_.guestConfigJson(def));
  XVIRT_TRY(writeFileAtomic(store_.guestConfigPath(def.name), gc, 0600));
  // Written before the helper exists: a daemon killed from here until the start completes leaves
  // this "starting up" record, and the next daemon rolls the start back (DomainRecovery.cc).
  bool persistent;
  {
    std::lock_guard lock(dom->mu());
    persistent = dom->isPersistent();
  }
  XVIRT_TRY(writeStartingStatus(def, persistent));
  HelperLaunch launch;
  launch.name = def.name;
  launch.helperBinary = config_.helperBinary;
  launch.guestConfigPath = store_.guestConfigPath(def.name);
  launch.monitorPath = store_.monitorPath(def.name);
  launch.pidfile = store_.pidfilePath(def.name);
  launch.logPath = store_.logPath(def.name);
  launch.hypervisor = config_.hypervisorName;
  launch.simDir = store_.paths().simDir;
  launch.restoreFile = restoreFrom;  // with --config: the (possibly replaced) definition rules devices
  auto launched = launchHelper(launch);
  if (!launched.ok()) {
    cleanupFailedStart(def.name, def.uuid);
    return launched.takeError();
  }
  LaunchedHelper helper = std::move(launched).value();

  auto fail = [&](const Error& e) {
    logIfFailed(stopHelper(helper.pid, 5s));
    cleanupFailedStart(def.name, def.uuid);
    return makeError(e.code, "Failed to start domain '" + def.name + "': " + e.message);
  };
  HelperClient client(*helper.monitor);
  auto domInfo = client.queryDomain();
  if (!domInfo.ok()) return fail(domInfo.error());
  int domid = static_cast<int>(domInfo->getInt("domid", -1));
  // The console's pty goes into the live XML (<console tty=...>, as libvirt shows it) and so into
  // the status file; opening a console asks the helper again, this is what it falls back on.
  std::string consolePty;
  if (auto chardevs = client.queryChardev(); chardevs.ok())
    for (const HelperChardev& c : *chardevs)
      if (consolePty.empty()) consolePty = c.ptyPath();
  {
    std::lock_guard lock(dom->mu());
    dom->id = domid;
    dom->liveDef = def;
    dom->liveDef->id = domid;
    for (auto& c : dom->liveDef->consoles)
      if (c.type == "pty" && !consolePty.empty()) {
        c.path = consolePty;
        break;
      }
    dom->helperPid = helper.pid;
    dom->monitorPath = launch.monitorPath;
    dom->monitor = helper.monitor;
    dom->logPath = launch.logPath;
    dom->state = DomainState::Paused;
    dom->reason = reason::kPausedStartingUp;
    writeStatus(*dom);  // early: a daemon restart from here on finds the helper
  }
  attachMonitor(dom, helper.monitor);
  if (!paused) {
    Status cont = client.cont();
    if (!cont.ok()) {
      std::lock_guard lock(dom->mu());
      markStopped(*dom, reason::kShutoffFailed);
      return fail(cont.error());
    }
  }
  std::lock_guard lock(dom->mu());
  // The helper may have exited since `cont` (its host died, the guest powered off at once): then
  // its EOF was handled and the domain recorded stopped; that record stands.
  if (dom->monitor != helper.monitor) return okStatus();
  const bool restored = !restoreFrom.empty();
  dom->state = paused ? DomainState::Paused : DomainState::Running;
  dom->reason = paused ? reason::kPausedUser : restored ? reason::kRunningRestored : reason::kRunningBooted;
  writeStatus(*dom);
  emit(*dom, LifecycleEvent::Started, restored ? detail::kStartedRestored : detail::kStartedBooted);
  // VIR_DOMAIN_EVENT_SUSPENDED_RESTORED is 4.
  if (paused) emit(*dom, LifecycleEvent::Suspended, restored ? 4 : detail::kSuspendedPaused);
  return okStatus();
}

static Status checkStartFlags(unsigned f, const char* api) {
  XVIRT_TRY(rules::checkFlags(f, flags::kStartAll, api));
  if (f & flags::kStartAutodestroy)
    return makeError(ErrorCode::NoSupport, "autodestroy is not supported by xvirt yet");
  return okStatus();
}

Result<DomainRef> DomainManager::create(const DomainRef& ref, unsigned startFlags) {
  XVIRT_TRY(checkStartFlags(startFlags, "virDomainCreateWithFlags"));
  XVIRT_ASSIGN_OR_RETURN(auto dom, find(ref));
  XVIRT_ASSIGN_OR_RETURN(JobGuard job, JobGuard::acquire(dom, "create"));
  dom::DomainDef def;
  {
    std::lock_guard lock(dom->mu());
    XVIRT_TRY(rules::requireInactive(dom->isActive()));
    def = *dom->persistentDef;
  }
  // A managed save image resumes the guest; --force-boot discards it and boots afresh (libvirt's rule).
  if (pathExists(store_.managedSavePath(dom->name()))) {
    XVIRT_TRY(startFromManagedSave(dom, startFlags));
    std::lock_guard lock(dom->mu());
    if (dom->isActive()) return refOf(*dom);
  }
  XVIRT_TRY(startLocked(dom, def, startFlags & flags::kStartPaused));
  std::lock_guard lock(dom->mu());
  return refOf(*dom);
}

Result<DomainRef> DomainManager::createXml(const std::string& xml, unsigned startFlags) {
  XVIRT_TRY(checkStartFlags(startFlags, "virDomainCreateXML"));
  unsigned parseFlags = (startFlags & flags::kStartValidate) ? unsigned(dom::kParseValidate) : 0u;
  XVIRT_ASSIGN_OR_RETURN(dom::DomainDef def, dom::parseDomainXml(xml, parseFlags | dom::kParseInactive));
  def.id = -1;
  return startFromDef(def, startFlags & flags::kStartPaused, {}, "createXml");
}

Result<DomainRef> DomainManager::startFromDef(const dom::DomainDef& def, bool paused, const std::string& restoreFrom,
                                              const char* jobName) {
  XVIRT_ASSIGN_OR_RETURN(auto found, findOrAdd(def));
  auto [dom, added] = found;
  XVIRT_ASSIGN_OR_RETURN(JobGuard job, JobGuard::acquire(dom, jobName));
  {
    std::lock_guard lock(dom->mu());
    // libvirt's wording for this case (virDomainObjListAdd), with its error number's prefix.
    if (dom->isActive())
      return rules::operationInvalid("domain '" + def.name + "' is already active");
  }
  Status started = startLocked(dom, def, paused, restoreFrom);
  if (!started.ok()) {
    if (added) list_.remove(dom);
    return started.takeError();
  }
  std::lock_guard lock(dom->mu());
  return refOf(*dom);
}

Status DomainManager::destroy(const DomainRef& ref, unsigned destroyFlags) {
  XVIRT_TRY(rules::checkFlags(destroyFlags, flags::kDestroyGraceful, "virDomainDestroyFlags"));
  XVIRT_ASSIGN_OR_RETURN(auto dom, findActive(ref));
  XVIRT_ASSIGN_OR_RETURN(JobGuard job, JobGuard::acquire(dom, "destroy"));
  pid_t pid;
  int domid;
  std::shared_ptr<MonitorClient> monitor;
  {
    std::lock_guard lock(dom->mu());
    XVIRT_TRY(rules::requireActive(dom->isActive()));
    pid = dom->helperPid;
    domid = dom->id;
    monitor = dom->monitor;
    dom->monitor.reset();  // the EOF that follows is ours, not a crash
  }
  if (monitor) monitor->close();
  // Killing the helper destroys the guest: the helper tears the domain down on SIGTERM.
  Status stopped = stopHelper(pid, (destroyFlags & flags::kDestroyGraceful) ? 30s : 10s);
  if (!stopped.ok()) logWarning(stopped.error().message);
  cleanupOrphanDomain(domid, ref.name, dom->uuid());
  recordStopped(dom, reason::kShutoffDestroyed, detail::kStoppedDestroyed);
  return okStatus();
}

void DomainManager::recordStopped(const std::shared_ptr<DomainObject>& dom, int stopReason, int stopDetail) {
  std::lock_guard lock(dom->mu());
  DomainRef before = refOf(*dom);
  markStopped(*dom, stopReason);
  events_.lifecycle(before, LifecycleEvent::Stopped, stopDetail);
  if (!dom->isPersistent()) {
    dom->removed = true;
    list_.remove(dom);
  }
}

Status DomainManager::helperJob(const DomainRef& ref, const char* job,
                                const std::function<Status(HelperClient&)>& call) {
  XVIRT_ASSIGN_OR_RETURN(auto dom, findActive(ref));
  XVIRT_ASSIGN_OR_RETURN(JobGuard guard, JobGuard::acquire(dom, job));
  std::shared_ptr<MonitorClient> monitor;
  {
    std::lock_guard lock(dom->mu());
    monitor = dom->monitor;
  }
  if (!monitor) return makeError(ErrorCode::OperationFailed, "domain's helper is not reachable");
  HelperClient helper(*monitor);
  return call(helper);
}

Status DomainManager::shutdown(const DomainRef& ref, unsigned shutdownFlags) {
  // Every mode ends in control/shutdown=poweroff for a Xen guest.
  XVIRT_TRY(rules::checkFlags(shutdownFlags, flags::kShutdownModesAll, "virDomainShutdownFlags"));
  return helperJob(ref, "shutdown", [](HelperClient& helper) { return helper.systemPowerdown(); });
}

Status DomainManager::reboot(const DomainRef& ref, unsigned rebootFlags) {
  XVIRT_TRY(rules::checkFlags(rebootFlags, flags::kShutdownModesAll, "virDomainReboot"));
  return helperJob(ref, "reboot", [&](HelperClient& helper) { return systemReset(ref, helper); });
}

Status DomainManager::reset(const DomainRef& ref, unsigned resetFlags) {
  XVIRT_TRY(rules::checkFlags(resetFlags, 0, "virDomainReset"));
  return helperJob(ref, "reset", [&](HelperClient& helper) { return systemReset(ref, helper); });
}

Status DomainManager::systemReset(const DomainRef& ref, HelperClient& helper) {
  XVIRT_TRY(helper.systemReset());
  // The helper rebuilt the domain, which has a new id now: record it, as a start does.
  XVIRT_ASSIGN_OR_RETURN(Json info, helper.queryDomain());
  int domid = static_cast<int>(info.getInt("domid", -1));
  XVIRT_ASSIGN_OR_RETURN(auto dom, find(ref));
  std::lock_guard lock(dom->mu());
  if (domid >= 0 && dom->isActive() && dom->id != domid) {
    dom->id = domid;
    if (dom->liveDef) dom->liveDef->id = domid;
    writeStatus(*dom);
  }
  return okStatus();
}

Status DomainManager::suspend(const DomainRef& ref) {
  XVIRT_ASSIGN_OR_RETURN(auto dom, findActive(ref));
  XVIRT_ASSIGN_OR_RETURN(JobGuard job, JobGuard::acquire(dom, "suspend"));
  std::shared_ptr<MonitorClient> monitor;
  {
    std::lock_guard lock(dom->mu());
    if (dom->state == DomainState::Paused) return okStatus();
    monitor = dom->monitor;
  }
  if (!monitor) return makeError(ErrorCode::OperationFailed, "domain's helper is not reachable");
  XVIRT_TRY(HelperClient(*monitor).stop());
  std::lock_guard lock(dom->mu());
  if (dom->state != DomainState::Paused) {
    dom->state = DomainState::Paused;
    dom->reason = reason::kPausedUser;
    writeStatus(*dom);
    emit(*dom, LifecycleEvent::Suspended, detail::kSuspendedPaused);
  }
  return okStatus();
}

Status DomainManager::resume(const DomainRef& ref) {
  XVIRT_ASSIGN_OR_RETURN(auto dom, findActive(ref));
  XVIRT_ASSIGN_OR_RETURN(JobGuard job, JobGuard::acquire(dom, "resume"));
  std::shared_ptr<MonitorClient> monitor;
  {
    std::lock_guard lock(dom->mu());
    if (dom->state != DomainState::Paused) return makeError(ErrorCode::OperationInvalid, "domain is not paused");
    monitor = dom->monitor;
  }
  if (!monitor) return makeError(ErrorCode::OperationFailed, "domain's helper is not reachable");
  XVIRT_TRY(HelperClient(*monitor).cont());
  std::lock_guard lock(dom->mu());
  if (dom->state != DomainState::Running) {
    dom->state = DomainState::Running;
    dom->reason = reason::kRunningUnpaused;
    writeStatus(*dom);
    emit(*dom, LifecycleEvent::Resumed, detail::kResumedUnpaused);
  }
  return okStatus();
}

void DomainManager::eventLoop() {
  for (;;) {
    HelperEvent ev;
    {
      std::unique_lock lock(qmu_);
      qcv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      ev = std::move(queue_.front());
      queue_.pop_front();
    }
    handleHelperEvent(ev);
  }
}

void DomainManager::handleHelperEvent(const HelperEvent& ev) {
  auto& dom = ev.dom;
  if (ev.event.empty()) {
    // Monitor EOF. Let the helper finish exiting first, so that nothing it removes on its way out
    // (pidfile, monitor socket) can hit the next helper started for the same guest.
    pid_t pid;
    {
      std::lock_guard lock(dom->mu());
      if (dom->monitor != ev.monitor) return;
      pid = dom->helperPid;
    }
    if (!waitForExit(pid, 5s)) logWarning("The helper of domain '" + dom->name() + "' closed its monitor but did not exit.");
  }
  std::lock_guard lock(dom->mu());
  if (dom->monitor != ev.monitor) return;  // from a connection we already let go of
  if (ev.event == "STOP") {
    if (dom->state == DomainState::Running) {
      dom->state = DomainState::Paused;
      dom->reason = reason::kPausedUser;
      writeStatus(*dom);
      emit(*dom, LifecycleEvent::Suspended, detail::kSuspendedPaused);
    }
  } else if (ev.event == "RESUME") {
    if (dom->state == DomainState::Paused && dom->reason != reason::kPausedStartingUp) {
      dom->state = DomainState::Running;
      dom->reason = reason::kRunningUnpaused;
      writeStatus(*dom);
      emit(*dom, LifecycleEvent::Resumed, detail::kResumedUnpaused);
    }
  } else if (ev.event == "SHUTDOWN" && ev.data.getBool("host-lost")) {
    // The hypervisor died (xvirt-simxen killed; on Xen a host that reboots takes xvirtd along):
    // the guest died with it, as in a host crash. Its helper exits next; nothing is left to destroy.
    logError("Domain " + std::to_string(dom->id) + " of '" + dom->name() +
             "' died with the hypervisor; it is reported crashed.");
    dom->hostLost = true;
  } else if (ev.event == "SHUTDOWN" && ev.data.getString("reason") == "host-error") {
    // The domain vanished behind the helper's back (xl destroy, or its xenstore tree released):
    // the helper exits next; its EOF reports the guest destroyed, as libvirt reports a domain death.
    logWarning("Domain " + std::to_string(dom->id) + " of '" + dom->name() +
               "' was destroyed outside xvirtd; its helper is exiting.");
    dom->vanished = true;
  } else if (ev.event == "SHUTDOWN") {
    // The guest is going down by itself; the helper exits next and its EOF finishes the job.
    bool crash = ev.data.getString("xen-reason") == "crash";
    dom->state = crash ? DomainState::Crashed : DomainState::Shutdown;
    dom->reason = crash ? reason::kCrashedPanicked : reason::kShutdownUser;
    if (!crash) emit(*dom, LifecycleEvent::Shutdown, detail::kShutdownFinished);
    else emit(*dom, LifecycleEvent::Crashed, detail::kCrashedPanicked);
  } else if (ev.event == "DEVICE_ADDED" || ev.event == "DEVICE_DELETED" || ev.event == "BALLOON_CHANGE") {
    handleDeviceEvent(*dom, ev);
  } else if (ev.event.empty()) {
    // Monitor EOF: the helper is gone.
    DomainRef before = refOf(*dom);
    int domid = dom->id;
    if (dom->hostLost) {
      markStopped(*dom, reason::kShutoffCrashed);
      events_.lifecycle(before, LifecycleEvent::Stopped, detail::kStoppedFailed);
    } else if (dom->vanished) {
      markStopped(*dom, reason::kShutoffDestroyed);
      events_.lifecycle(before, LifecycleEvent::Stopped, detail::kStoppedDestroyed);
    } else if (dom->state == DomainState::Shutdown) {
      markStopped(*dom, reason::kShutoffShutdown);
      events_.lifecycle(before, LifecycleEvent::Stopped, detail::kStoppedShutdown);
    } else if (dom->state == DomainState::Crashed) {
      markStopped(*dom, reason::kShutoffCrashed);
      events_.lifecycle(before, LifecycleEvent::Stopped, detail::kStoppedCrashed);
    } else {
      logError("The helper of domain '" + dom->name() + "' died unexpectedly; see " + dom->logPath);
      cleanupOrphanDomain(domid, dom->name(), dom->uuid());
      markStopped(*dom, reason::kShutoffCrashed);
      events_.lifecycle(before, LifecycleEvent::Stopped, detail::kStoppedFailed);
    }
    if (!dom->isPersistent() && !dom->removed && !dom->defining) {
      dom->removed = true;
      list_.remove(dom);
    }
  }
}

void DomainManager::detachAll() {
  for (auto& dom : list_.all()) {
    std::shared_ptr<MonitorClient> monitor;
    {
      std::lock_guard lock(dom->mu());
      monitor = std::move(dom->monitor);
    }
    if (monitor) monitor->close();
  }
}

void DomainManager::autostartAll() {
  for (auto& dom : list_.all()) {
    DomainRef ref;
    {
      std::lock_guard lock(dom->mu());
      if (!dom->autostart || dom->isActive()) continue;
      ref = refOf(*dom);
    }
    auto r = create(ref, 0);
    if (!r.ok()) logError("Failed to autostart domain '" + ref.name + "': " + r.error().message);
  }
}

}  // namespace xvirt::driver
