// Definitions, lookups, listings and read-only queries. Lifecycle is in DomainLifecycle.cc.
#include "driver/LibvirtRules.h"
#include "driver/domain/DomainManager.h"

#include <unistd.h>

#include "common/File.h"
#include "common/Log.h"
#include "domain-xml/DomainXml.h"
#include "driver/monitor/MonitorClient.h"

namespace xvirt::driver {

static Error noDomain(const std::string& what) {
  return makeError(ErrorCode::NoDomain, "Domain not found: " + what);
}

DomainManager::DomainManager(DomainManagerConfig config, DomainStore store, hv::Hypervisor& hypervisor,
                             DomainEventSink& events)
    : config_(std::move(config)), store_(std::move(store)), hv_(hypervisor), events_(events) {
  worker_ = std::thread([this] { eventLoop(); });
}

DomainManager::~DomainManager() {
  detachAll();
  {
    std::lock_guard lock(qmu_);
    stopping_ = true;
  }
  qcv_.notify_all();
  worker_.join();
}

DomainRef DomainManager::refOf(const DomainObject& dom) const { return DomainRef{dom.name(), dom.uuid(), dom.id}; }

Result<std::shared_ptr<DomainObject>> DomainManager::find(const DomainRef& ref) const {
  // The client names a domain by UUID (and name); the UUID is what libvirt's drivers trust.
  auto dom = list_.byUuid(ref.uuid);
  if (!dom) return noDomain("no domain with matching uuid '" + ref.uuid.str() + "' (" + ref.name + ")");
  return dom;
}

Result<std::shared_ptr<DomainObject>> DomainManager::findActive(const DomainRef& ref) const {
  XVIRT_ASSIGN_OR_RETURN(auto dom, find(ref));
  std::lock_guard lock(dom->mu());
  XVIRT_TRY(rules::requireActive(dom->isActive()));
  return dom;
}

void DomainManager::emit(const DomainObject& dom, LifecycleEvent event, int detail) {
  events_.lifecycle(refOf(dom), event, detail);
}

Result<std::pair<std::shared_ptr<DomainObject>, bool>> DomainManager::findOrAdd(const dom::DomainDef& def) {
  auto byName = list_.byName(def.name);
  auto byUuid = list_.byUuid(def.uuid);
  if (byUuid && byUuid != byName)
    return makeError(ErrorCode::DomainExists,
                     "domain '" + byUuid->name() + "' is already defined with uuid " + def.uuid.str());
  if (byName && byName->uuid() != def.uuid)
    return makeError(ErrorCode::DomainExists,
                     "domain '" + def.name + "' already exists with uuid " + byName->uuid().str());
  if (byName) return std::pair{byName, false};
  XVIRT_ASSIGN_OR_RETURN(auto dom, list_.add(def.name, def.uuid));
  return std::pair{dom, true};
}

Result<DomainRef> DomainManager::defineXml(const std::string& xml, unsigned defineFlags) {
  XVIRT_TRY(rules::checkFlags(defineFlags, flags::kDefineValidate, "virDomainDefineXMLFlags"));
  unsigned parseFlags = dom::kParseInactive | ((defineFlags & flags::kDefineValidate) ? unsigned(dom::kParseValidate) : 0u);
  XVIRT_ASSIGN_OR_RETURN(dom::DomainDef def, dom::parseDomainXml(xml, parseFlags));
  def.id = -1;

  // The domain found may be a running transient one whose helper exits before this job starts, and
  // is then removed from the list: look it up again (a define must never write a config for an
  // object no longer listed).
  std::shared_ptr<DomainObject> dom;
  bool added = false;
  std::optional<JobGuard> job;
  for (int attempt = 0; !job; ++attempt) {
    XVIRT_ASSIGN_OR_RETURN(auto found, findOrAdd(def));
    std::tie(dom, added) = found;
    XVIRT_ASSIGN_OR_RETURN(JobGuard guard, JobGuard::acquire(dom, "defineXml"));
    std::lock_guard lock(dom->mu());
    if (dom->removed && attempt < 3) continue;
    if (dom->removed)
      return makeError(ErrorCode::OperationFailed, "domain '" + def.name + "' kept changing during the define");
    dom->defining = true;
    job.emplace(std::move(guard));
  }
  // Persist first: an error here must leave both the old file and the old object as they were.
  Status saved = store_.saveConfig(def);
  std::lock_guard lock(dom->mu());
  dom->defining = false;
  if (!saved.ok()) {
    // A new object, or a transient one whose helper exited while the config was being written.
    if (added || (!dom->isPersistent() && !dom->isActive() && !dom->removed)) {
      dom->removed = true;
      list_.remove(dom);
    }
    return saved.takeError();
  }
  bool wasPersistent = dom->isPersistent();
  dom->persistentDef = std::move(def);
  if (dom->isActive()) dom->updated = true;
  dom->hasManagedSave = pathExists(store_.managedSavePath(dom->name()));
  emit(*dom, LifecycleEvent::Defined, wasPersistent ? detail::kDefinedUpdated : detail::kDefinedAdded);
  return refOf(*dom);
}

Status DomainManager::undefine(const DomainRef& ref, unsigned undefineFlags) {
  XVIRT_TRY(rules::checkFlags(undefineFlags, flags::kUndefineAll, "virDomainUndefineFlags"));
  XVIRT_ASSIGN_OR_RETURN(auto dom, find(ref));
  XVIRT_ASSIGN_OR_RETURN(JobGuard job, JobGuard::acquire(dom, "undefine"));
  std::lock_guard lock(dom->mu());
  XVIRT_TRY(rules::requirePersistent(dom->isPersistent(), "undefine"));
  std::string save = store_.managedSavePath(dom->name());
  if (pathExists(save)) {
    if (!(undefineFlags & flags::kUndefineManagedSave))
      return makeError(ErrorCode::OperationInvalid, "Refusing to undefine while domain managed save image exists");
    if (::unlink(save.c_str()) < 0 && errno != ENOENT) return Error::system("Failed to remove domain managed save image", errno);
    dom->hasManagedSave = false;
  }
  // Snapshot, checkpoint, NVRAM and TPM flags have nothing to remove for a Xen guest: accepted, as
  // orchestration tools pass them routinely.
  XVIRT_TRY(store_.removeConfig(dom->name()));
  dom->persistentDef.reset();
  dom->autostart = false;
  emit(*dom, LifecycleEvent::Undefined, detail::kUndefinedRemoved);
  if (!dom->isActive()) {
    dom->removed = true;
    list_.remove(dom);
  }
  return okStatus();
}

Result<DomainRef> DomainManager::lookupByName(const std::string& name) const {
  auto dom = list_.byName(name);
  if (!dom) return noDomain("no domain with matching name '" + name + "'");
  std::lock_guard lock(dom->mu());
  return refOf(*dom);
}

Result<DomainRef> DomainManager::lookupByUuid(const Uuid& uuid) const {
  auto dom = list_.byUuid(uuid);
  if (!dom) return noDomain("no domain with matching uuid '" + uuid.str() + "'");
  std::lock_guard lock(dom->mu());
  return refOf(*dom);
}

Result<DomainRef> DomainManager::lookupById(int id) const {
  auto dom = list_.byId(id);
  if (!dom) return noDomain("no domain with matching id " + std::to_string(id));
  std::lock_guard lock(dom->mu());
  return refOf(*dom);
}

std::vector<DomainRef> DomainManager::listAll(unsigned f) const {
  auto pair = [f](unsigned yes, unsigned no, bool value) {
    bool wantYes = f & yes, wantNo = f & no;
    if (wantYes == wantNo) return true;  // both or neither: no filtering on this pair
    return wantYes ? value : !value;
  };
  const unsigned stateBits = 16 | 32 | 64 | 128;
  std::vector<DomainRef> out;
  for (auto& dom : list_.all()) {
    std::lock_guard lock(dom->mu());
    if (dom->removed) continue;
    bool active = dom->isActive();
    if (!pair(1, 2, active) || !pair(4, 8, dom->isPersistent()) || !pair(256, 512, dom->hasManagedSave) ||
        !pair(1024, 2048, dom->autostart) || !pair(4096, 8192, false) || !pair(16384, 32768, false))
      continue;
    if (f & stateBits) {
      bool running = dom->state == DomainState::Running;
      bool paused = dom->state == DomainState::Paused;
      bool shutoff = dom->state == DomainState::Shutoff;
      bool other = !running && !paused && !shutoff;
      if (!((f & 16 && running) || (f & 32 && paused) || (f & 64 && shutoff) || (f & 128 && other))) continue;
    }
    out.push_back(refOf(*dom));
  }
  return out;
}

std::vector<int> DomainManager::activeIds() const {
  std::vector<int> ids;
  for (auto& dom : list_.all()) {
    std::lock_guard lock(dom->mu());
    if (dom->isActive()) ids.push_back(dom->id);
  }
  return ids;
}

std::vector<std::string> DomainManager::definedNames() const {
  std::vector<std::string> names;
  for (auto& dom : list_.all()) {
    std::lock_guard lock(dom->mu());
    if (!dom->isActive() && dom->isPersistent() && !dom->removed) names.push_back(dom->name());
  }
  return names;
}

Result<bool> DomainManager::isActive(const DomainRef& ref) const {
  XVIRT_ASSIGN_OR_RETURN(auto dom, find(ref));
  std::lock_guard lock(dom->mu());
  return dom->isActive();
}

Result<bool> DomainManager::isPersistent(const DomainRef& ref) const {
  XVIRT_ASSIGN_OR_RETURN(auto dom, find(ref));
  std::lock_guard lock(dom->mu());
  return dom->isPersistent();
}

Result<bool> DomainManager::isUpdated(const DomainRef& ref) const {
  XVIRT_ASSIGN_OR_RETURN(auto dom, find(ref));
  std::lock_guard lock(dom->mu());
  return dom->updated;
}

Result<DomainInfoReply> DomainManager::getInfo(const DomainRef& ref) const {
  XVIRT_ASSIGN_OR_RETURN(auto dom, find(ref));
  DomainInfoReply info;
  int domid;
  {
    std::lock_guard lock(dom->mu());
    const dom::DomainDef& def = dom->currentDef();
    info.state = dom->state;
    info.maxMemKib = def.memoryKib;
    info.memKib = dom->isActive() ? def.currentMemoryKib : 0;
    info.nrVirtCpu = def.vcpu.current.value_or(def.vcpu.max);
    domid = dom->id;
  }
  if (domid >= 0) {
    // CPU time and memory straight from the hypervisor, not from the helper.
    auto hvInfo = hv_.domainInfo(static_cast<hv::DomId>(domid));
    if (hvInfo.ok()) {
      info.cpuTimeNs = hvInfo->cpuTimeNs;
      info.memKib = hvInfo->memKib;
      info.nrVirtCpu = hvInfo->nrOnlineVcpus ? hvInfo->nrOnlineVcpus : info.nrVirtCpu;
    }
  }
  return info;
}

Result<std::pair<DomainState, int>> DomainManager::getState(const DomainRef& ref) const {
  XVIRT_ASSIGN_OR_RETURN(auto dom, find(ref));
  std::lock_guard lock(dom->mu());
  return std::make_pair(dom->state, dom->reason);
}

Result<std::string> DomainManager::getOsType(const DomainRef& ref) const {
  XVIRT_ASSIGN_OR_RETURN(auto dom, find(ref));
  std::lock_guard lock(dom->mu());
  const auto& def = dom->currentDef();
  // virsh dominfo prints what libvirt's libxl driver reports: "linux" for PV, "hvm", "xenpvh".
  return std::string(def.isHVM() ? "hvm" : def.isPVH() ? "xenpvh" : "linux");
}

Result<uint64_t> DomainManager::getMaxMemory(const DomainRef& ref) const {
  XVIRT_ASSIGN_OR_RETURN(auto dom, find(ref));
  std::lock_guard lock(dom->mu());
  return dom->currentDef().memoryKib;
}

Result<std::string> DomainManager::getXmlDesc(const DomainRef& ref, unsigned xmlFlags) const {
  XVIRT_TRY(rules::checkFlags(xmlFlags, flags::kXmlAll, "virDomainGetXMLDesc"));
  XVIRT_ASSIGN_OR_RETURN(auto dom, find(ref));
  std::lock_guard lock(dom->mu());
  unsigned fmt = 0;
  if (xmlFlags & flags::kXmlSecure) fmt |= dom::kFormatSecure;
  if ((xmlFlags & flags::kXmlInactive) && dom->persistentDef) {
    fmt |= dom::kFormatInactive;
    return dom::formatDomainXml(*dom->persistentDef, fmt);
  }
  if (!dom->isActive()) fmt |= dom::kFormatInactive;
  return dom::formatDomainXml(dom->currentDef(), fmt);
}

Result<bool> DomainManager::getAutostart(const DomainRef& ref) const {
  XVIRT_ASSIGN_OR_RETURN(auto dom, find(ref));
  std::lock_guard lock(dom->mu());
  return dom->autostart;
}

Status DomainManager::setAutostart(const DomainRef& ref, bool on) {
  XVIRT_ASSIGN_OR_RETURN(auto dom, find(ref));
  XVIRT_ASSIGN_OR_RETURN(JobGuard job, JobGuard::acquire(dom, "setAutostart"));
  std::lock_guard lock(dom->mu());
  XVIRT_TRY(rules::requirePersistent(dom->isPersistent(), "set autostart for"));
  XVIRT_TRY(store_.setAutostart(dom->name(), on));
  dom->autostart = on;
  return okStatus();
}

Result<bool> DomainManager::hasManagedSave(const DomainRef& ref) const {
  XVIRT_ASSIGN_OR_RETURN(auto dom, find(ref));
  std::lock_guard lock(dom->mu());
  return dom->hasManagedSave;
}

}  // namespace xvirt::driver
