// DomainBridge: plain conversions; DomainManager already applies libvirt's filter and error rules.
#include "driver/DomainBridge.h"

#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "common/File.h"
#include "common/Strings.h"
#include "domain-xml/GuestConfigBuilder.h"
#include "driver/monitor/MonitorClient.h"
#include "xvirt-config.h"

namespace xvirt::driver {

namespace {

DomainRef toRef(const rpc::RemoteDomain& d) { return DomainRef{d.name, d.uuid, d.id}; }

}  // namespace

rpc::RemoteDomain toRemoteDomain(const DomainRef& ref) { return rpc::RemoteDomain{ref.name, ref.uuid, ref.id}; }

ManagerDomainRegistry::ManagerDomainRegistry(DomainManagerConfig config, DomainStore store,
                                             hv::Hypervisor& hypervisor, EventBus& events)
    : sink_(events),
      manager_(std::make_unique<DomainManager>(std::move(config), std::move(store), hypervisor, sink_)) {
  manager_->load();
}

ManagerDomainRegistry::~ManagerDomainRegistry() = default;

void ManagerDomainRegistry::start() {
  manager_->resumeSavedOnStop();
  manager_->autostartAll();
}
void ManagerDomainRegistry::stop() {
  manager_->managedSaveAllOnStop();
  manager_->detachAll();
}

Result<std::vector<rpc::RemoteDomain>> ManagerDomainRegistry::listAll(unsigned filterFlags) {
  std::vector<rpc::RemoteDomain> out;
  for (const auto& ref : manager_->listAll(filterFlags)) out.push_back(toRemoteDomain(ref));
  return out;
}

Result<rpc::RemoteDomain> ManagerDomainRegistry::lookupByName(const std::string& name) {
  XVIRT_ASSIGN_OR_RETURN(DomainRef ref, manager_->lookupByName(name));
  return toRemoteDomain(ref);
}

Result<rpc::RemoteDomain> ManagerDomainRegistry::lookupByUuid(const Uuid& uuid) {
  XVIRT_ASSIGN_OR_RETURN(DomainRef ref, manager_->lookupByUuid(uuid));
  return toRemoteDomain(ref);
}

Result<rpc::RemoteDomain> ManagerDomainRegistry::lookupById(int id) {
  XVIRT_ASSIGN_OR_RETURN(DomainRef ref, manager_->lookupById(id));
  return toRemoteDomain(ref);
}

Result<std::vector<int>> ManagerDomainRegistry::activeIds() { return manager_->activeIds(); }
Result<std::vector<std::string>> ManagerDomainRegistry::definedNames() { return manager_->definedNames(); }

Result<rpc::RemoteDomain> ManagerDomainRegistry::defineXml(const std::string& xml, unsigned flags) {
  XVIRT_ASSIGN_OR_RETURN(DomainRef ref, manager_->defineXml(xml, flags));
  return toRemoteDomain(ref);
}

Status ManagerDomainRegistry::undefine(const Dom& d, unsigned flags) { return manager_->undefine(toRef(d), flags); }

Result<rpc::RemoteDomain> ManagerDomainRegistry::createXml(const std::string& xml, unsigned flags) {
  XVIRT_ASSIGN_OR_RETURN(DomainRef ref, manager_->createXml(xml, flags));
  return toRemoteDomain(ref);
}

Result<rpc::RemoteDomain> ManagerDomainRegistry::create(const Dom& d, unsigned flags) {
  XVIRT_ASSIGN_OR_RETURN(DomainRef ref, manager_->create(toRef(d), flags));
  return toRemoteDomain(ref);
}

Status ManagerDomainRegistry::shutdown(const Dom& d, unsigned flags) { return manager_->shutdown(toRef(d), flags); }
Status ManagerDomainRegistry::reboot(const Dom& d, unsigned flags) { return manager_->reboot(toRef(d), flags); }
Status ManagerDomainRegistry::destroy(const Dom& d, unsigned flags) { return manager_->destroy(toRef(d), flags); }
Status ManagerDomainRegistry::suspend(const Dom& d) { return manager_->suspend(toRef(d)); }
Status ManagerDomainRegistry::resume(const Dom& d) { return manager_->resume(toRef(d)); }
Status ManagerDomainRegistry::setAutostart(const Dom& d, bool on) { return manager_->setAutostart(toRef(d), on); }

Result<RemoteDomainDefs> ManagerDomainRegistry::definitions(const Dom& d) {
  XVIRT_ASSIGN_OR_RETURN(DomainDefinitions defs, manager_->definitions(toRef(d)));
  return RemoteDomainDefs{toRemoteDomain(defs.ref), static_cast<int>(defs.state), defs.reason, std::move(defs.live),
                          std::move(defs.persistent)};
}

Status ManagerDomainRegistry::modifyDefinitions(const Dom& d, unsigned affect, const std::string& job,
                                                const DefinitionEdit& edit) {
  return manager_->modifyDefinitions(toRef(d), affect, job, edit);
}

Result<bool> ManagerDomainRegistry::isActive(const Dom& d) { return manager_->isActive(toRef(d)); }
Result<bool> ManagerDomainRegistry::isPersistent(const Dom& d) { return manager_->isPersistent(toRef(d)); }
Result<bool> ManagerDomainRegistry::isUpdated(const Dom& d) { return manager_->isUpdated(toRef(d)); }

Result<RemoteDomainInfo> ManagerDomainRegistry::getInfo(const Dom& d) {
  XVIRT_ASSIGN_OR_RETURN(DomainInfoReply info, manager_->getInfo(toRef(d)));
  return RemoteDomainInfo{static_cast<int>(info.state), info.maxMemKib, info.memKib, info.nrVirtCpu, info.cpuTimeNs};
}

Result<std::pair<int, int>> ManagerDomainRegistry::getState(const Dom& d) {
  XVIRT_ASSIGN_OR_RETURN(auto st, manager_->getState(toRef(d)));
  return std::pair<int, int>{static_cast<int>(st.first), st.second};
}

Result<std::string> ManagerDomainRegistry::getOsType(const Dom& d) { return manager_->getOsType(toRef(d)); }
Result<uint64_t> ManagerDomainRegistry::getMaxMemory(const Dom& d) { return manager_->getMaxMemory(toRef(d)); }
Result<std::string> ManagerDomainRegistry::getXmlDesc(const Dom& d, unsigned flags) {
  return manager_->getXmlDesc(toRef(d), flags);
}
Result<bool> ManagerDomainRegistry::getAutostart(const Dom& d) { return manager_->getAutostart(toRef(d)); }
Result<bool> ManagerDomainRegistry::hasManagedSave(const Dom& d) { return manager_->hasManagedSave(toRef(d)); }
Status ManagerDomainRegistry::save(const Dom& d, const std::string& path, const std::string& xml, unsigned flags) {
  return manager_->save(toRef(d), path, xml, flags);
}
Result<rpc::RemoteDomain> ManagerDomainRegistry::restore(const std::string& path, const std::string& xml, unsigned flags) {
  XVIRT_ASSIGN_OR_RETURN(DomainRef ref, manager_->restore(path, xml, flags));
  return toRemoteDomain(ref);
}
Status ManagerDomainRegistry::managedSave(const Dom& d, unsigned flags) { return manager_->managedSave(toRef(d), flags); }
Status ManagerDomainRegistry::managedSaveRemove(const Dom& d, unsigned flags) {
  return manager_->managedSaveRemove(toRef(d), flags);
}
Result<std::string> ManagerDomainRegistry::saveImageXml(const std::string& path, unsigned flags) {
  return manager_->saveImageXml(path, flags);
}
Status ManagerDomainRegistry::saveImageDefineXml(const std::string& path, const std::string& xml, unsigned flags) {
  return manager_->saveImageDefineXml(path, xml, flags);
}

Result<std::string> ManagerDomainRegistry::consolePty(const Dom& d, const std::string& devName) {
  XVIRT_ASSIGN_OR_RETURN(DomainRef ref, manager_->lookupByUuid(d.uuid));
  auto dom = manager_->domains().byUuid(ref.uuid);
  if (!dom) return makeError(ErrorCode::NoDomain, "Domain not found: no domain with matching uuid '" + d.uuid.str() + "'.");
  std::shared_ptr<MonitorClient> monitor;
  std::string recorded;  // the pty path the live XML (and so the status file) recorded, if any
  {
    std::lock_guard lock(dom->mu());
    if (!dom->isActive()) return makeError(ErrorCode::OperationInvalid, "domain is not running");
    monitor = dom->monitor;
    if (dom->liveDef && !dom->liveDef->consoles.empty() && dom->liveDef->consoles[0].type == "pty")
      recorded = dom->liveDef->consoles[0].path;
  }
  const std::string wanted = devName.empty() ? "the console" : "the console '" + devName + "'";
  if (!monitor) {
    if (!recorded.empty() && (devName.empty() || devName == "console0")) return recorded;
    return makeError(ErrorCode::OperationFailed, "Cannot find " + wanted + " of domain '" + ref.name +
                                                     "': its helper's monitor is not connected.");
  }
  XVIRT_ASSIGN_OR_RETURN(Json chardevs, monitor->execute("query-chardev"));
  std::vector<std::string> labels;
  if (chardevs.isArray()) {
    for (const Json& c : chardevs.asArray()) {
      std::string label = c.getString("label");
      labels.push_back(label);
      if (devName.empty() ? label.rfind("console", 0) != 0 : label != devName) continue;
      std::string filename = c.getString("filename");
      if (filename.rfind("pty:", 0) != 0)
        return makeError(ErrorCode::OperationFailed, "The console '" + label + "' of domain '" + ref.name +
                                                         "' is not a pty (it goes to " + filename + ").");
      return filename.substr(4);
    }
  }
  if (devName.empty())
    return makeError(ErrorCode::DeviceNotFound, "Domain '" + ref.name + "' has no console.");
  return makeError(ErrorCode::DeviceNotFound, "Domain '" + ref.name + "' has no console named '" + devName +
                                                  "'" + (labels.empty() ? "." : "; it has " + join(labels, ", ") + "."));
}

void EventBusSink::device(const DomainRef& dom, bool added, const std::string& alias) {
  bus_.publishDevice(toRemoteDomain(dom), added, alias);
}

void EventBusSink::balloon(const DomainRef& dom, uint64_t actualKib) {
  bus_.publishBalloon(toRemoteDomain(dom), actualKib);
}

Result<Json> ManagerDomainRegistry::helperCommand(const Dom& d, const std::string& command, const Json& args) {
  return manager_->helperCommand(toRef(d), command, args);
}

DomainPaths domainPathsFor(const DaemonOptions& options, const DaemonPaths& paths) {
  DomainPaths d;
  d.configDir = paths.configDir;
  d.autostartDir = paths.configDir + "/autostart";
  d.statusDir = paths.runtimeDir + "/domains";
  d.runDir = paths.runtimeDir + "/guests";
  d.saveDir = paths.stateDir + "/save";
  d.logDir = paths.logDir;
  d.simDir = paths.simDir;
  d.privileged = options.systemMode;
  return d;
}

std::string findHelperBinary() {
  if (const char* env = std::getenv("XVIRT_HELPER"); env && *env) return env;
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    std::string beside = dirName(std::string(self, static_cast<size_t>(n))) + "/xvirt-helper";
    if (::access(beside.c_str(), X_OK) == 0) return beside;
  }
  std::string built = std::string(XVIRT_BUILD_ROOT) + "/helper/xvirt-helper";
  if (::access(built.c_str(), X_OK) == 0) return built;
  return "xvirt-helper";
}

Result<std::unique_ptr<DomainRegistry>> makeManagerDomainRegistry(const DaemonOptions& options,
                                                                  const DaemonPaths& paths, hv::Hypervisor& hypervisor,
                                                                  EventBus& events) {
  DomainPaths dp = domainPathsFor(options, paths);
  XVIRT_TRY(dp.create());
  DomainManagerConfig config;
  config.helperBinary = findHelperBinary();
  config.hypervisorName = hypervisor.backendName();
  config.managedSaveOnStop = options.managedSaveOnStop;
  config.guestConfigJson = [](const dom::DomainDef& def) -> Result<std::string> {
    XVIRT_ASSIGN_OR_RETURN(GuestConfig gc, dom::buildGuestConfig(def));
    return gc.toJson().dump();
  };
  return std::unique_ptr<DomainRegistry>(
      std::make_unique<ManagerDomainRegistry>(std::move(config), DomainStore(dp), hypervisor, events));
}

}  // namespace xvirt::driver
