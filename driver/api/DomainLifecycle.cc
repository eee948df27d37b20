// Handlers of definitions and the lifecycle: define, undefine, rename, create, shutdown, reboot,
// reset, destroy, suspend, resume and autostart. The DomainManager checks their flags and state (libvirt's rules).
#include "driver/LibvirtRules.h"
#include "driver/api/Args.h"
#include "driver/api/Handlers.h"

namespace xvirt::driver::api {

namespace {
constexpr uint32_t kXmlMax = rpc::kXdrStringMax;
}  // namespace

// --- Definitions ---

Status domainDefineXml(Call& c) {
  std::string xml = c.args.str(kXmlMax, "domain XML");
  XVIRT_TRY(c.args.finish());
  XVIRT_ASSIGN_OR_RETURN(DomainRef d, c.ctx.domains.defineXml(xml, 0));
  d.encode(c.ret);
  return okStatus();
}

Status domainDefineXmlFlags(Call& c) {
  std::string xml = c.args.str(kXmlMax, "domain XML");
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  XVIRT_ASSIGN_OR_RETURN(DomainRef d, c.ctx.domains.defineXml(xml, flags));
  d.encode(c.ret);
  return okStatus();
}

Status domainUndefine(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(DomainRef d, domArg(c));
  return c.ctx.domains.undefine(d, 0);
}

Status domainUndefineFlags(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(auto a, domFlagsArgs(c));
  return c.ctx.domains.undefine(a.first, a.second);
}

// --- Lifecycle ---

Status domainCreateXml(Call& c) {
  std::string xml = c.args.str(kXmlMax, "domain XML");
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  XVIRT_ASSIGN_OR_RETURN(DomainRef d, c.ctx.domains.createXml(xml, flags));
  d.encode(c.ret);
  return okStatus();
}

Status domainCreate(Call& c) {
  // Void reply: the client library looks the domain up by UUID afterwards to learn its id.
  XVIRT_ASSIGN_OR_RETURN(DomainRef d, domArg(c));
  XVIRT_TRY(c.ctx.domains.create(d, 0));
  return okStatus();
}

Status domainCreateWithFlags(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(auto a, domFlagsArgs(c));
  XVIRT_ASSIGN_OR_RETURN(DomainRef started, c.ctx.domains.create(a.first, a.second));
  started.encode(c.ret);
  return okStatus();
}

Status domainShutdown(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(DomainRef d, domArg(c));
  return c.ctx.domains.shutdown(d, 0);
}

Status domainShutdownFlags(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(auto a, domFlagsArgs(c));
  return c.ctx.domains.shutdown(a.first, a.second);
}

Status domainReboot(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(auto a, domFlagsArgs(c));
  return c.ctx.domains.reboot(a.first, a.second);
}

Status domainReset(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(auto a, domFlagsArgs(c));
  return c.ctx.domains.reset(a.first, a.second);
}

// remote_domain_rename_args { dom; remote_string new_name; flags } -> { int retcode }
Status domainRename(Call& c) {
  DomainRef d = DomainRef::decode(c.args);
  std::optional<std::string> newName = c.args.optStr(kXmlMax, "new name");
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  // libvirt's client checks this; raw clients may still send NULL.
  if (!newName) return rules::invalidArg("new_name in virDomainRename must not be NULL");
  XVIRT_TRY(c.ctx.domains.rename(d, *newName, flags));
  c.ret.i32(0);
  return okStatus();
}

Status domainDestroy(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(DomainRef d, domArg(c));
  return c.ctx.domains.destroy(d, 0);
}

Status domainDestroyFlags(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(auto a, domFlagsArgs(c));
  return c.ctx.domains.destroy(a.first, a.second);
}

Status domainSuspend(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(DomainRef d, domArg(c));
  return c.ctx.domains.suspend(d);
}

Status domainResume(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(DomainRef d, domArg(c));
  return c.ctx.domains.resume(d);
}

Status domainSetAutostart(Call& c) {
  DomainRef d = DomainRef::decode(c.args);
  int32_t on = c.args.i32();
  XVIRT_TRY(c.args.finish());
  return c.ctx.domains.setAutostart(d, on != 0);
}

}  // namespace xvirt::driver::api
