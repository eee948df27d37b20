// EventBus: encoding happens per registration because the callback id is part of each message.
#include "driver/EventBus.h"

#include <algorithm>
#include <vector>

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
    if (auto conn = reg.conn.lock()) out.emplace_back(id, std::move(conn));
  }
  return out;
}

void EventBus::publishLifecycle(const DomainRef& dom, int32_t event, int32_t detail) {
  // Connection's queue lock nests inside ours; Connection never calls back into the bus. The targets
  // outlive the lock: dropping a last connection reference must not happen while we hold it.
  Targets targets;
  std::shared_lock lock(mu_);
  targets = targetsLocked(dom, kEventIdLifecycle);
  for (auto& [id, conn] : targets) {
    rpc::XdrWriter w;
    w.i32(id);
    dom.encode(w);
    w.i32(event);
    w.i32(detail);
    conn->sendMessage(rpc::kRemoteProgram, rpc::proc::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE, w.bytes());
  }
}

void EventBus::publishDevice(const DomainRef& dom, bool added, const std::string& alias) {
  Targets targets;
  std::shared_lock lock(mu_);
  targets = targetsLocked(dom, added ? kEventIdDeviceAdded : kEventIdDeviceRemoved);
  for (auto& [id, conn] : targets) {
    rpc::XdrWriter w;
    w.i32(id);
    dom.encode(w);
    w.str(alias);
    conn->sendMessage(rpc::kRemoteProgram,
                      added ? rpc::proc::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_DEVICE_ADDED : rpc::proc::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED,
                      w.bytes());
  }
}

void EventBus::publishBalloon(const DomainRef& dom, uint64_t actualKib) {
  Targets targets;
  std::shared_lock lock(mu_);
  targets = targetsLocked(dom, kEventIdBalloonChange);
  for (auto& [id, conn] : targets) {
    rpc::XdrWriter w;
    w.i32(id);
    dom.encode(w);
    w.u64(actualKib);
    conn->sendMessage(rpc::kRemoteProgram, rpc::proc::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_BALLOON_CHANGE, w.bytes());
  }
}

}  // namespace xvirt::driver
