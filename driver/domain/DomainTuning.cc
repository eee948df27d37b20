// Definition changes for the tuning procedures (vCPU pinning, vCPU counts, memory): libvirt's
// LIVE/CONFIG/CURRENT rules, one job per change, and all-or-nothing persistence.
#include "domain-xml/DomainXml.h"
#include "driver/LibvirtRules.h"
#include "driver/domain/DomainManager.h"

namespace xvirt::driver {

namespace {

// An edited persistent definition must still be one xvirtd can load: format it and parse it back,
// so that no change ever leaves a config file behind that fails at the next daemon start.
Status checkStillValid(const dom::DomainDef& def) {
  auto reparsed = dom::parseDomainXml(dom::formatDomainXml(def, dom::kFormatInactive | dom::kFormatSecure),
                                      dom::kParseInactive);
  if (!reparsed.ok())
    return makeError(ErrorCode::InvalidArgument,
                     "The change would leave domain '" + def.name + "' with an invalid configuration: " +
                         reparsed.error().message);
  return okStatus();
}

}  // namespace

Result<DomainDefinitions> DomainManager::definitions(const DomainRef& ref) const {
  XVIRT_ASSIGN_OR_RETURN(auto dom, find(ref));
  std::lock_guard lock(dom->mu());
  DomainDefinitions d;
  d.ref = refOf(*dom);
  d.state = dom->state;
  d.reason = dom->reason;
  d.live = dom->liveDef;
  d.persistent = dom->persistentDef;
  return d;
}

Status DomainManager::modifyDefinitions(const DomainRef& ref, unsigned affect, const std::string& jobName,
                                        const DefinitionEdit& edit) {
  if (affect & ~affect::kAll)
    return makeError(ErrorCode::Internal, "modifyDefinitions was given flags beyond LIVE and CONFIG.");
  XVIRT_ASSIGN_OR_RETURN(auto dom, find(ref));
  XVIRT_ASSIGN_OR_RETURN(JobGuard job, JobGuard::acquire(dom, jobName));
  std::optional<dom::DomainDef> live, persistent, liveBefore;
  int domid = -1;
  {
    std::lock_guard lock(dom->mu());
    XVIRT_ASSIGN_OR_RETURN(rules::Affect which, rules::resolveAffect(affect, dom->isActive(), dom->isPersistent()));
    domid = dom->id;
    if (which.live) live = liveBefore = dom->liveDef;
    if (which.config) persistent = dom->persistentDef;
  }
  if (persistent) {
    XVIRT_TRY(edit(*persistent, false, -1));
    XVIRT_TRY(checkStillValid(*persistent));
  }
  if (live) XVIRT_TRY(edit(*live, true, domid));
  if (persistent) XVIRT_TRY(store_.saveConfig(*persistent));

  std::lock_guard lock(dom->mu());
  if (persistent) {
    dom->persistentDef = std::move(persistent);
    if (dom->isActive() && !live) dom->updated = true;
  }
  // The guest may have stopped while the edit ran (helper events need no job): then there is no
  // live definition left to update.
  if (live && dom->isActive() && dom->id == domid) {
    live->id = domid;
    // Devices the guest lost while the edit ran (the helper's DEVICE_DELETED) stay lost.
    if (dom->liveDef) keepDeviceRemovals(*liveBefore, *dom->liveDef, *live);
    dom->liveDef = std::move(live);
    writeStatus(*dom);
  }
  return okStatus();
}

}  // namespace xvirt::driver
