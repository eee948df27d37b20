// Handlers of the domain event registrations: CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY and
// DEREGISTER_ANY, and the legacy CONNECT_DOMAIN_EVENT_(DE)REGISTER(_ANY) of older clients. A
// registration is activated only once its reply is queued, so no event overtakes it (docs/rpc.md
// "Events").
#include "driver/LibvirtRules.h"
#include "driver/api/Events.h"

#include "driver/api/Handlers.h"

namespace xvirt::driver::api {

namespace {
constexpr int32_t kEventIdMax = 64;  // beyond libvirt 9.0's last event id, with room to grow
// libvirtd takes legacy registrations only up to DEVICE_REMOVED: later events have callback
// messages only.
constexpr int32_t kLegacyEventIdMax = kEventIdDeviceRemoved;

Status registerLegacy(Call& c, int32_t eventId) {
  if (eventId < 0 || eventId > kLegacyEventIdMax)
    return rules::internalError("unsupported event ID " + std::to_string(eventId));
  XVIRT_ASSIGN_OR_RETURN(int32_t id, c.ctx.events.addLegacy(c.conn.shared_from_this(), eventId));
  EventBus& bus = c.ctx.events;
  c.afterReply = [&bus, id] { bus.activate(id); };
  return okStatus();
}
}  // namespace

// remote_connect_domain_event_register_ret { int cb_registered }: the lifecycle events, legacy form.
Status connectDomainEventRegister(Call& c) {
  XVIRT_TRY(registerLegacy(c, kEventIdLifecycle));
  c.ret.i32(1);
  return okStatus();
}

Status connectDomainEventDeregister(Call& c) {
  XVIRT_TRY(c.ctx.events.removeLegacy(c.conn.id(), kEventIdLifecycle));
  c.ret.i32(0);
  return okStatus();
}

Status connectDomainEventRegisterAny(Call& c) {
  int32_t eventId = c.args.i32();
  XVIRT_TRY(c.args.finish());
  return registerLegacy(c, eventId);
}

Status connectDomainEventDeregisterAny(Call& c) {
  int32_t eventId = c.args.i32();
  XVIRT_TRY(c.args.finish());
  return c.ctx.events.removeLegacy(c.conn.id(), eventId);
}

Status connectDomainEventCallbackRegisterAny(Call& c) {
  int32_t eventId = c.args.i32();
  std::optional<Uuid> domain;
  if (c.args.present()) domain = DomainRef::decode(c.args).uuid;
  XVIRT_TRY(c.args.finish());
  if (eventId < 0 || eventId >= kEventIdMax)
    return makeError(ErrorCode::InvalidArgument, "The domain event id " + std::to_string(eventId) + " is not known.");
  int32_t id = c.ctx.events.add(c.conn.shared_from_this(), eventId, domain);
  EventBus& bus = c.ctx.events;
  c.afterReply = [&bus, id] { bus.activate(id); };
  c.ret.i32(id);
  return okStatus();
}

Status connectDomainEventCallbackDeregisterAny(Call& c) {
  int32_t id = c.args.i32();
  XVIRT_TRY(c.args.finish());
  return c.ctx.events.remove(c.conn.id(), id);
}

}  // namespace xvirt::driver::api
