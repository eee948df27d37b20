// Handlers of the domain event registrations (CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY and
// DEREGISTER_ANY). A registration is activated only once its reply is queued, so no event
// overtakes it (docs/rpc.md "Events").
#include "driver/api/Events.h"

#include "driver/api/Handlers.h"

namespace xvirt::driver::api {

namespace {
constexpr int32_t kEventIdMax = 64;  // beyond libvirt 9.0's last event id, with room to grow
}  // namespace

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
