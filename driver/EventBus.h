// EventBus: the domain event registrations of all clients (server-chosen callback ids, and the
// legacy per-connection ones) and the delivery of domain events to them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/Result.h"
#include "driver/LibvirtConstants.h"
#include "driver/rpc/Connection.h"
#include "driver/rpc/DomainRef.h"

namespace xvirt::driver {

class EventBus {
 public:
  // Adds a registration that stays silent until activate(): events must not overtake the
  // REGISTER reply. Returns the callback id the client will see in every event.
  int32_t add(const std::shared_ptr<rpc::Connection>& conn, int32_t eventId, std::optional<Uuid> domain);
  void activate(int32_t callbackId);
  // InvalidArgument when the id is not one of this connection's registrations.
  Status remove(uint64_t connectionId, int32_t callbackId);
  // Legacy registrations (CONNECT_DOMAIN_EVENT_REGISTER / _REGISTER_ANY): at most one per event id
  // and connection, for every domain, events sent without a callback id. addLegacy returns the
  // registration's internal id for activate(); Internal "domain event N already registered" for a
  // second one, as libvirtd. removeLegacy: Internal "domain event N not registered".
  Result<int32_t> addLegacy(const std::shared_ptr<rpc::Connection>& conn, int32_t eventId);
  Status removeLegacy(uint64_t connectionId, int32_t eventId);
  void removeConnection(uint64_t connectionId);  // on CONNECT_CLOSE and EOF
  size_t size() const;
  size_t activeSize() const;  // registrations already delivering events

  // Sends (event, detail) for dom to every active lifecycle registration that matches it.
  // Thread-safe; called by the domain code.
  void publishLifecycle(const DomainRef& dom, int32_t event, int32_t detail);
  // Sends DEVICE_ADDED / DEVICE_REMOVED (the device's alias) to the matching registrations.
  void publishDevice(const DomainRef& dom, bool added, const std::string& alias);
  // Sends BALLOON_CHANGE (the guest's memory in KiB).
  void publishBalloon(const DomainRef& dom, uint64_t actualKib);
  // Sends METADATA_CHANGE (virDomainMetadataType, and the namespace of an element, else none).
  void publishMetadata(const DomainRef& dom, int32_t type, const std::optional<std::string>& nsUri);

 private:
  struct Registration {
    std::weak_ptr<rpc::Connection> conn;
    uint64_t connectionId = 0;
    int32_t eventId = 0;
    std::optional<Uuid> domain;
    bool active = false;
    bool legacy = false;  // its events carry no callback id
  };
  // Publishers hold it shared while they send, so remove() returns (and the DEREGISTER reply goes
  // out) only after every event already on its way to that registration has been queued: no event
  // follows its deregistration. (libvirt 9.0's client deadlocks when one arrives during its
  // CONNECT_CLOSE.) Sending never blocks: Connection queues what the socket does not take.
  mutable std::shared_mutex mu_;
  // The active registrations for eventId that match dom, with their connections; the caller holds mu_.
  struct Target {
    int32_t id;
    bool legacy;
    std::shared_ptr<rpc::Connection> conn;
  };
  using Targets = std::vector<Target>;
  Targets targetsLocked(const DomainRef& dom, int32_t eventId) const;
  std::map<int32_t, Registration> regs_;
  int32_t nextId_ = 1;
};

}  // namespace xvirt::driver
