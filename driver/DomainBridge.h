// DomainBridge: connects the domain manager (driver/domain) to the RPC layer: it serves the
// DomainRegistry the procedures call, and its lifecycle events go out through the EventBus.
#pragma once

#include <memory>

#include "driver/Daemon.h"
#include "driver/DomainRegistry.h"
#include "driver/EventBus.h"
#include "driver/domain/DomainManager.h"

namespace xvirt::driver {

rpc::RemoteDomain toRemoteDomain(const DomainRef& ref);

// Give this to DomainManager as its DomainEventSink.
class EventBusSink final : public DomainEventSink {
 public:
  explicit EventBusSink(EventBus& bus) : bus_(bus) {}
  void lifecycle(const DomainRef& dom, LifecycleEvent event, int detail) override {
    bus_.publishLifecycle(toRemoteDomain(dom), static_cast<int32_t>(event), detail);
  }
  void device(const DomainRef& dom, bool added, const std::string& alias) override;
  void balloon(const DomainRef& dom, uint64_t actualKib) override;

 private:
  EventBus& bus_;
};

class ManagerDomainRegistry final : public DomainRegistry {
 public:
  // Loads the persistent configs and reconnects to running helpers before returning.
  ManagerDomainRegistry(DomainManagerConfig config, DomainStore store, hv::Hypervisor& hypervisor, EventBus& events);
  ~ManagerDomainRegistry() override;

  void start() override;
  void stop() override;

  Result<std::vector<Dom>> listAll(unsigned filterFlags) override;
  Result<Dom> lookupByName(const std::string& name) override;
  Result<Dom> lookupByUuid(const Uuid& uuid) override;
  Result<Dom> lookupById(int id) override;
  Result<std::vector<int>> activeIds() override;
  Result<std::vector<std::string>> definedNames() override;

  Result<Dom> defineXml(const std::string& xml, unsigned flags) override;
  Status undefine(const Dom& d, unsigned flags) override;
  Result<Dom> createXml(const std::string& xml, unsigned flags) override;
  Result<Dom> create(const Dom& d, unsigned flags) override;
  Status shutdown(const Dom& d, unsigned flags) override;
  Status reboot(const Dom& d, unsigned flags) override;
  Status destroy(const Dom& d, unsigned flags) override;
  Status suspend(const Dom& d) override;
  Status resume(const Dom& d) override;
  Status setAutostart(const Dom& d, bool on) override;
  Result<RemoteDomainDefs> definitions(const Dom& d) override;
  Status modifyDefinitions(const Dom& d, unsigned affect, const std::string& job, const DefinitionEdit& edit) override;

  Result<bool> isActive(const Dom& d) override;
  Result<bool> isPersistent(const Dom& d) override;
  Result<bool> isUpdated(const Dom& d) override;
  Result<RemoteDomainInfo> getInfo(const Dom& d) override;
  Result<std::pair<int, int>> getState(const Dom& d) override;
  Result<std::string> getOsType(const Dom& d) override;
  Result<uint64_t> getMaxMemory(const Dom& d) override;
  Result<std::string> getXmlDesc(const Dom& d, unsigned flags) override;
  Result<bool> getAutostart(const Dom& d) override;
  Result<bool> hasManagedSave(const Dom& d) override;
  Status save(const Dom& d, const std::string& path, const std::string& xml, unsigned flags) override;
  Result<Dom> restore(const std::string& path, const std::string& xml, unsigned flags) override;
  Status managedSave(const Dom& d, unsigned flags) override;
  Status managedSaveRemove(const Dom& d, unsigned flags) override;
  Result<std::string> saveImageXml(const std::string& path, unsigned flags) override;
  Status saveImageDefineXml(const std::string& path, const std::string& xml, unsigned flags) override;
  Result<std::string> consolePty(const Dom& d, const std::string& devName) override;
  Result<Json> helperCommand(const Dom& d, const std::string& command, const Json& args) override;

  DomainManager& manager() { return *manager_; }

 private:
  EventBusSink sink_;
  std::unique_ptr<DomainManager> manager_;
};

// Where the daemon keeps domain files for its mode and options (docs/design.md "Files on the host").
DomainPaths domainPathsFor(const DaemonOptions& options, const DaemonPaths& paths);

// The xvirt-helper binary: $XVIRT_HELPER, beside xvirtd, in the build tree, else from PATH.
std::string findHelperBinary();

// DaemonHooks::domains for xvirtd: the domain manager over the daemon's paths and backend.
Result<std::unique_ptr<DomainRegistry>> makeManagerDomainRegistry(const DaemonOptions& options,
                                                                  const DaemonPaths& paths, hv::Hypervisor& hypervisor,
                                                                  EventBus& events);

}  // namespace xvirt::driver
