// EventBus: encoding happens per registration because the callback id is part of each message.
#include "driver/EventBus.h"

#include <algorithm>
#include <vector>

#include "driver/LibvirtRules.h"
#include "driver/rpc/Packet.h"
#include "driver/rpc/ProcedureNumbers.h"

namespace xvirt::driver {

int32_t EventBus::add(const std::shared_ptr<rpc::Connection>& conn, int32_t eventId, std::optional<Uuid> domain) {
  std::unique_lock lock(mu_);
  int32_t id = nextId_++;
  regs_[id] = Registration{conn, conn->id(), eventId, domain, false};
  return id;
}

void EventBus::activate(int32_t callbackId) {
  std::unique_lock lock(mu_);
  auto it = regs_.find(callbackId);
  if (it != regs_.end()) it->second.active = true;
}

Status EventBus::remove(uint64_t connectionId, int32_t callbackId) {
  std::unique_lock lock(mu_);
  auto it = regs_.find(callbackId);
  if (it == regs_.end() || it->second.connectionId != connectionId)
    return makeError(ErrorCode::InvalidArgument,
                     "The domain event callback " + std::to_string(callbackId) + " is not registered on this connection.");
  regs_.erase(it);
  return okStatus();
}

Result<int32_t> EventBus::addLegacy(const std::shared_ptr<rpc::Connection>& conn, int32_t eventId) {
  std::unique_lock lock(mu_);
  for (auto& [id, reg] : regs_)
    if (reg.legacy && reg.connectionId == conn->id() && reg.eventId == eventId)
      return rules::internalError("domain event " + std::to_string(eventId) + " already registered");
  int32_t id = nextId_++;
  regs_[id] = Registration{conn, conn->id(), eventId, std::nullopt, false, true};
  return id;
}

Status EventBus::removeLegacy(uint64_t connectionId, int32_t eventId) {
  std::unique_lock lock(mu_);
  auto n = std::erase_if(regs_, [&](const auto& kv) {
    return kv.second.legacy && kv.second.connectionId == connectionId && kv.second.eventId == eventId;
  });
  if (n == 0) return rules::internalError("domain event " + std::to_string(eventId) + " not registered");
  return okStatus();
}

void EventBus::removeConnection(uint64_t connectionId) {
  std::unique_lock lock(mu_);
  std::erase_if(regs_, [&](const auto& kv) { return kv.second.connectionId == connectionId; });
}

size_t EventBus::size() const {
  std::shared_lock lock(mu_);
  return regs_.size();
}

size_t EventBus::activeSize() const {
  std::shared_lock lock(mu_);
  return static_cast<size_t>(std::count_if(regs_.begin(), regs_.end(), [](const auto& kv) { return kv.second.active; }));
}

EventBus::Targets EventBus::targetsLocked(const DomainRef& dom, int32_t eventId) const {
  Targets out;
  for (auto& [id, reg] : regs_) {
    if (!reg.active || reg.eventId != eventId) continue;
    if (reg.domain && *reg.domain != dom.uuid) continue;
    if (auto conn = reg.conn.lock()) out.push_back(Target{id, reg.legacy, std::move(conn)});
  }
  return out;
}

void EventBus::publishLifecycle(const DomainRef& dom, int32_t event, int32_t detail) {
  // Connection's queue lock nests inside ours; Connection never calls back into the bus. The targets
  // outlive the lock: dropping a last connection reference must not happen while we hold it.
  Targets targets;
  std::shared_lock lock(mu_);
  targets = targetsLocked(dom, kEventIdLifecycle);
  for (auto& t : targets) {
    rpc::XdrWriter w;
    if (!t.legacy) w.i32(t.id);
    dom.encode(w);
    w.i32(event);
    w.i32(detail);
    t.conn->sendMessage(rpc::kRemoteProgram,
                        t.legacy ? rpc::proc::REMOTE_PROC_DOMAIN_EVENT_LIFECYCLE
                                 : rpc::proc::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE,
                        w.bytes());
  }
}

void EventBus::publishDevice(const DomainRef& dom, bool added, const std::string& alias) {
  Targets targets;
  std::shared_lock lock(mu_);
  targets = targetsLocked(dom, added ? kEventIdDeviceAdded : kEventIdDeviceRemoved);
  for (auto& t : targets) {
    if (t.legacy) continue;  // the legacy DEVICE_REMOVED message is not sent (docs/rpc.md "Events")
    rpc::XdrWriter w;
    w.i32(t.id);
    dom.encode(w);
    w.str(alias);
    t.conn->sendMessage(rpc::kRemoteProgram,
                      added ? rpc::proc::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_DEVICE_ADDED : rpc::proc::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED,
                      w.bytes());
  }
}

void EventBus::publishBalloon(const DomainRef& dom, uint64_t actualKib) {
  Targets targets;
  std::shared_lock lock(mu_);
  targets = targetsLocked(dom, kEventIdBalloonChange);
  for (auto& t : targets) {
    rpc::XdrWriter w;
    if (!t.legacy) w.i32(t.id);
    dom.encode(w);
    w.u64(actualKib);
    t.conn->sendMessage(rpc::kRemoteProgram,
                        t.legacy ? rpc::proc::REMOTE_PROC_DOMAIN_EVENT_BALLOON_CHANGE
                                 : rpc::proc::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_BALLOON_CHANGE,
                        w.bytes());
  }
}

void EventBus::publishMetadata(const DomainRef& dom, int32_t type, const std::optional<std::string>& nsUri) {
  Targets targets;
  std::shared_lock lock(mu_);
  targets = targetsLocked(dom, kEventIdMetadataChange);
  for (auto& t : targets) {
    if (t.legacy) continue;  // libvirtd accepts no legacy registration for it
    rpc::XdrWriter w;
    w.i32(t.id);
    dom.encode(w);
    w.i32(type);
    w.optStr(nsUri ? &*nsUri : nullptr);
    t.conn->sendMessage(rpc::kRemoteProgram, rpc::proc::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_METADATA_CHANGE, w.bytes());
  }
}

}  // namespace xvirt::driver
