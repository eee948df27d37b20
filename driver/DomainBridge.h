// DomainBridge: connects the domain manager (driver/domain) to the RPC layer: it serves the
// DomainRegistry the procedures query, and its lifecycle events go out through the EventBus.
#pragma once

#include "driver/DomainRegistry.h"
#include "driver/EventBus.h"
#include "driver/domain/DomainManager.h"

namespace xvirt::driver {

rpc::RemoteDomain toRemoteDomain(const DomainRef& ref);

class ManagerDomainRegistry final : public DomainRegistry {
 public:
  explicit ManagerDomainRegistry(DomainManager& manager) : manager_(manager) {}
  Result<std::vector<rpc::RemoteDomain>> listAll(unsigned filterFlags) override;
  Result<rpc::RemoteDomain> lookupByName(const std::string& name) override;
  Result<rpc::RemoteDomain> lookupByUuid(const Uuid& uuid) override;
  Result<rpc::RemoteDomain> lookupById(int id) override;

 private:
  DomainManager& manager_;
};

// Give this to DomainManager as its DomainEventSink.
class EventBusSink final : public DomainEventSink {
 public:
  explicit EventBusSink(EventBus& bus) : bus_(bus) {}
  void lifecycle(const DomainRef& dom, LifecycleEvent event, int detail) override {
    bus_.publishLifecycle(toRemoteDomain(dom), static_cast<int32_t>(event), detail);
  }

 private:
  EventBus& bus_;
};

}  // namespace xvirt::driver
