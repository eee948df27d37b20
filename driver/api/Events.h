// Domain events: EventBusSink carries the DomainManager's events (DomainEventSink) to the EventBus,
// which sends them to the clients registered through the handlers in Events.cc.
#pragma once

#include <string>

#include "driver/EventBus.h"
#include "driver/domain/DomainManager.h"

namespace xvirt::driver {

// Give this to DomainManager as its DomainEventSink.
class EventBusSink final : public DomainEventSink {
 public:
  explicit EventBusSink(EventBus& bus) : bus_(bus) {}
  void lifecycle(const DomainRef& dom, LifecycleEvent event, int detail) override {
    bus_.publishLifecycle(dom, static_cast<int32_t>(event), detail);
  }
  void device(const DomainRef& dom, bool added, const std::string& alias) override {
    bus_.publishDevice(dom, added, alias);
  }
  void balloon(const DomainRef& dom, uint64_t actualKib) override { bus_.publishBalloon(dom, actualKib); }
  void metadata(const DomainRef& dom, int type, const std::optional<std::string>& nsUri) override {
    bus_.publishMetadata(dom, type, nsUri);
  }

 private:
  EventBus& bus_;
};

}  // namespace xvirt::driver
