// DOMAIN_OPEN_CONSOLE: the handler finds the domain's console pty, opens it and claims the domain's
// console (FORCE takes it over); the stream starts only after the void reply is queued, so no data
// packet overtakes it. The stream protocol itself is in ConsoleStream.
#include "driver/LibvirtRules.h"
#include "driver/api/Handlers.h"

namespace xvirt::driver::api {

namespace {
constexpr uint32_t kDevNameMax = 4096;
}  // namespace

Status domainOpenConsole(Call& c) {
  DomainRef d = DomainRef::decode(c.args);
  std::optional<std::string> devName = c.args.optStr(kDevNameMax, "console name");
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  // SAFE: xvirtd always locks the console, so it is always honoured.
  XVIRT_TRY(rules::checkFlags(flags, flags::kConsoleForce | flags::kConsoleSafe, "virDomainOpenConsole"));
  XVIRT_ASSIGN_OR_RETURN(std::string pty, c.ctx.domains.consolePty(d, devName.value_or("")));
  XVIRT_ASSIGN_OR_RETURN(auto stream, ConsoleStream::open(c.conn, rpc::proc::REMOTE_PROC_DOMAIN_OPEN_CONSOLE, c.serial, pty,
                                                          "domain '" + d.name + "'"));
  XVIRT_TRY(c.ctx.consoles.claim(d.uuid, d.name, stream, (flags & flags::kConsoleForce) != 0));
  c.session.addStream(stream);
  c.afterReply = [stream] { stream->start(); };
  return okStatus();
}

}  // namespace xvirt::driver::api
