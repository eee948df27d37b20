// DOMAIN_OPEN_CONSOLE: the handler finds the domain's console pty, opens it and claims the domain's
// console (FORCE takes it over); the stream starts only after the void reply is queued, so no data
// packet overtakes it. The stream protocol itself is in ConsoleStream.
#include <cstdio>

#include "driver/RemoteDispatch.h"
#include "driver/rpc/ProcedureNumbers.h"

namespace xvirt::driver {

namespace {
constexpr uint32_t kConsoleForce = 1;  // VIR_DOMAIN_CONSOLE_FORCE
constexpr uint32_t kConsoleSafe = 2;   // VIR_DOMAIN_CONSOLE_SAFE: we always lock, so it is always honoured
constexpr uint32_t kDevNameMax = 4096;
}  // namespace

Status handleDomainOpenConsole(Call& c) {
  rpc::RemoteDomain d = rpc::RemoteDomain::decode(c.args);
  std::optional<std::string> devName = c.args.optStr(kDevNameMax, "console name");
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  if (flags & ~(kConsoleForce | kConsoleSafe)) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "%x", flags);
    return makeError(ErrorCode::InvalidArgument,
                     std::string("unsupported flags (0x") + hex + ") in function xvirtDomainOpenConsole");
  }
  XVIRT_ASSIGN_OR_RETURN(std::string pty, c.ctx.domains.consolePty(d, devName.value_or("")));
  XVIRT_ASSIGN_OR_RETURN(auto stream, ConsoleStream::open(c.conn, rpc::proc::kDomainOpenConsole, c.serial, pty,
                                                          "domain '" + d.name + "'"));
  XVIRT_TRY(c.ctx.consoles.claim(d.uuid, d.name, stream, (flags & kConsoleForce) != 0));
  c.session.addStream(stream);
  c.afterReply = [stream] { stream->start(); };
  return okStatus();
}

}  // namespace xvirt::driver
