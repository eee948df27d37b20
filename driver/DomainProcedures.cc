// Handlers of the domain procedures: definitions, lifecycle, legacy listings and read-only queries.
// Each decodes its args struct as remote_protocol lays it out, asks the DomainRegistry, and encodes
// the ret struct. Flag checks and libvirt's error rules live in the domain manager.
#include <algorithm>

#include "driver/RemoteDispatch.h"

namespace xvirt::driver {

namespace {

using Dom = rpc::RemoteDomain;

constexpr uint32_t kXmlMax = rpc::kXdrStringMax;
constexpr uint32_t kListMax = rpc::kDomainListMax;

// Procedures whose args are exactly `dom`.
Result<Dom> domArg(Call& c) {
  Dom d = Dom::decode(c.args);
  XVIRT_TRY(c.args.finish());
  return d;
}

// Procedures whose args are `dom; u32 flags`.
Result<std::pair<Dom, uint32_t>> domFlagsArgs(Call& c) {
  Dom d = Dom::decode(c.args);
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  return std::pair{std::move(d), flags};
}

Status boolRet(Call& c, const Result<bool>& r) {
  if (!r.ok()) return r.error();
  c.ret.i32(*r ? 1 : 0);
  return okStatus();
}

}  // namespace

// --- Legacy listings (virsh falls back to them when LIST_ALL_DOMAINS is missing) ---

Status handleListDomains(Call& c) {
  int32_t maxIds = c.args.i32();
  XVIRT_TRY(c.args.finish());
  if (maxIds < 0 || static_cast<uint32_t>(maxIds) > kListMax)
    return makeError(ErrorCode::InvalidArgument, "The maximum number of domain ids must be between 0 and 16384.");
  XVIRT_ASSIGN_OR_RETURN(std::vector<int> ids, c.ctx.domains.activeIds());
  if (ids.size() > static_cast<size_t>(maxIds)) ids.resize(static_cast<size_t>(maxIds));
  c.ret.u32(static_cast<uint32_t>(ids.size()));
  for (int id : ids) c.ret.i32(id);
  return okStatus();
}

Status handleNumOfDomains(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(std::vector<int> ids, c.ctx.domains.activeIds());
  c.ret.i32(static_cast<int32_t>(ids.size()));
  return okStatus();
}

Status handleListDefinedDomains(Call& c) {
  int32_t maxNames = c.args.i32();
  XVIRT_TRY(c.args.finish());
  if (maxNames < 0 || static_cast<uint32_t>(maxNames) > kListMax)
    return makeError(ErrorCode::InvalidArgument, "The maximum number of domain names must be between 0 and 16384.");
  XVIRT_ASSIGN_OR_RETURN(std::vector<std::string> names, c.ctx.domains.definedNames());
  if (names.size() > static_cast<size_t>(maxNames)) names.resize(static_cast<size_t>(maxNames));
  c.ret.u32(static_cast<uint32_t>(names.size()));
  for (const auto& n : names) c.ret.str(n);
  return okStatus();
}

Status handleNumOfDefinedDomains(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(std::vector<std::string> names, c.ctx.domains.definedNames());
  c.ret.i32(static_cast<int32_t>(names.size()));
  return okStatus();
}

// --- Definitions ---

Status handleDomainDefineXml(Call& c) {
  std::string xml = c.args.str(kXmlMax, "domain XML");
  XVIRT_TRY(c.args.finish());
  XVIRT_ASSIGN_OR_RETURN(Dom d, c.ctx.domains.defineXml(xml, 0));
  d.encode(c.ret);
  return okStatus();
}

Status handleDomainDefineXmlFlags(Call& c) {
  std::string xml = c.args.str(kXmlMax, "domain XML");
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  XVIRT_ASSIGN_OR_RETURN(Dom d, c.ctx.domains.defineXml(xml, flags));
  d.encode(c.ret);
  return okStatus();
}

Status handleDomainUndefine(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(Dom d, domArg(c));
  return c.ctx.domains.undefine(d, 0);
}

Status handleDomainUndefineFlags(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(auto a, domFlagsArgs(c));
  return c.ctx.domains.undefine(a.first, a.second);
}

// --- Lifecycle ---

Status handleDomainCreateXml(Call& c) {
  std::string xml = c.args.str(kXmlMax, "domain XML");
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  XVIRT_ASSIGN_OR_RETURN(Dom d, c.ctx.domains.createXml(xml, flags));
  d.encode(c.ret);
  return okStatus();
}

Status handleDomainCreate(Call& c) {
  // Void reply: the client library looks the domain up by UUID afterwards to learn its id.
  XVIRT_ASSIGN_OR_RETURN(Dom d, domArg(c));
  XVIRT_ASSIGN_OR_RETURN(Dom started, c.ctx.domains.create(d, 0));
  (void)started;
  return okStatus();
}

Status handleDomainCreateWithFlags(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(auto a, domFlagsArgs(c));
  XVIRT_ASSIGN_OR_RETURN(Dom started, c.ctx.domains.create(a.first, a.second));
  started.encode(c.ret);
  return okStatus();
}

Status handleDomainShutdown(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(Dom d, domArg(c));
  return c.ctx.domains.shutdown(d, 0);
}

Status handleDomainShutdownFlags(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(auto a, domFlagsArgs(c));
  return c.ctx.domains.shutdown(a.first, a.second);
}

Status handleDomainReboot(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(auto a, domFlagsArgs(c));
  return c.ctx.domains.reboot(a.first, a.second);
}

Status handleDomainDestroy(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(Dom d, domArg(c));
  return c.ctx.domains.destroy(d, 0);
}

Status handleDomainDestroyFlags(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(auto a, domFlagsArgs(c));
  return c.ctx.domains.destroy(a.first, a.second);
}

Status handleDomainSuspend(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(Dom d, domArg(c));
  return c.ctx.domains.suspend(d);
}

Status handleDomainResume(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(Dom d, domArg(c));
  return c.ctx.domains.resume(d);
}

Status handleDomainSetAutostart(Call& c) {
  Dom d = Dom::decode(c.args);
  int32_t on = c.args.i32();
  XVIRT_TRY(c.args.finish());
  return c.ctx.domains.setAutostart(d, on != 0);
}

// --- Queries ---

Status handleDomainIsActive(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(Dom d, domArg(c));
  return boolRet(c, c.ctx.domains.isActive(d));
}

Status handleDomainIsPersistent(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(Dom d, domArg(c));
  return boolRet(c, c.ctx.domains.isPersistent(d));
}

Status handleDomainIsUpdated(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(Dom d, domArg(c));
  return boolRet(c, c.ctx.domains.isUpdated(d));
}

Status handleDomainGetAutostart(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(Dom d, domArg(c));
  return boolRet(c, c.ctx.domains.getAutostart(d));
}

Status handleDomainHasManagedSaveImage(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(auto a, domFlagsArgs(c));
  if (a.second != 0)
    return makeError(ErrorCode::InvalidArgument, "unsupported flags (0x" + std::to_string(a.second) +
                                                     ") in function xvirtDomainHasManagedSaveImage");
  return boolRet(c, c.ctx.domains.hasManagedSave(a.first));
}

Status handleDomainGetInfo(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(Dom d, domArg(c));
  XVIRT_ASSIGN_OR_RETURN(RemoteDomainInfo info, c.ctx.domains.getInfo(d));
  c.ret.u32(static_cast<uint32_t>(info.state));  // unsigned char: 4 bytes on the wire
  c.ret.u64(info.maxMemKib);
  c.ret.u64(info.memKib);
  c.ret.u32(info.nrVirtCpu);  // unsigned short: 4 bytes on the wire
  c.ret.u64(info.cpuTimeNs);
  return okStatus();
}

Status handleDomainGetState(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(auto a, domFlagsArgs(c));
  if (a.second != 0)
    return makeError(ErrorCode::InvalidArgument,
                     "unsupported flags (0x" + std::to_string(a.second) + ") in function xvirtDomainGetState");
  XVIRT_ASSIGN_OR_RETURN(auto st, c.ctx.domains.getState(a.first));
  c.ret.i32(st.first);
  c.ret.i32(st.second);
  return okStatus();
}

Status handleDomainGetOsType(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(Dom d, domArg(c));
  XVIRT_ASSIGN_OR_RETURN(std::string type, c.ctx.domains.getOsType(d));
  c.ret.str(type);
  return okStatus();
}

Status handleDomainGetMaxMemory(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(Dom d, domArg(c));
  XVIRT_ASSIGN_OR_RETURN(uint64_t kib, c.ctx.domains.getMaxMemory(d));
  c.ret.u64(kib);
  return okStatus();
}

Status handleDomainGetXmlDesc(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(auto a, domFlagsArgs(c));
  constexpr uint32_t kSecure = 1;  // VIR_DOMAIN_XML_SECURE: passwords, which read-only clients never see
  if ((a.second & kSecure) && c.session.readOnly())
    return makeError(ErrorCode::Denied, "operation forbidden: virDomainGetXMLDesc with secure flag");
  XVIRT_ASSIGN_OR_RETURN(std::string xml, c.ctx.domains.getXmlDesc(a.first, a.second));
  c.ret.str(xml);
  return okStatus();
}

}  // namespace xvirt::driver
