// Handlers of a domain's state and information: is-active/persistent/updated, info, state, OS type,
// maximum memory, autostart, its XML, its hostname, and its title, description and metadata.
#include "driver/LibvirtRules.h"
#include "driver/api/Args.h"
#include "driver/api/Handlers.h"

namespace xvirt::driver::api {

namespace {

// The procedures whose args are `dom` and whose ret is one boolean int.
Status boolQuery(Call& c, Result<bool> (DomainManager::*query)(const DomainRef&) const) {
  XVIRT_ASSIGN_OR_RETURN(DomainRef d, domArg(c));
  return boolRet(c, (c.ctx.domains.*query)(d));
}

}  // namespace

Status domainIsActive(Call& c) { return boolQuery(c, &DomainManager::isActive); }
Status domainIsPersistent(Call& c) { return boolQuery(c, &DomainManager::isPersistent); }
Status domainIsUpdated(Call& c) { return boolQuery(c, &DomainManager::isUpdated); }
Status domainGetAutostart(Call& c) { return boolQuery(c, &DomainManager::getAutostart); }

Status domainGetInfo(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(DomainRef d, domArg(c));
  XVIRT_ASSIGN_OR_RETURN(DomainInfoReply info, c.ctx.domains.getInfo(d));
  c.ret.u32(static_cast<uint32_t>(info.state));  // unsigned char: 4 bytes on the wire
  c.ret.u64(info.maxMemKib);
  c.ret.u64(info.memKib);
  c.ret.u32(info.nrVirtCpu);  // unsigned short: 4 bytes on the wire
  c.ret.u64(info.cpuTimeNs);
  return okStatus();
}

Status domainGetState(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(auto a, domFlagsArgs(c));
  XVIRT_TRY(rules::checkFlags(a.second, 0, "virDomainGetState"));
  XVIRT_ASSIGN_OR_RETURN(auto st, c.ctx.domains.getState(a.first));
  c.ret.i32(static_cast<int32_t>(st.first));
  c.ret.i32(st.second);
  return okStatus();
}

Status domainGetOsType(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(DomainRef d, domArg(c));
  XVIRT_ASSIGN_OR_RETURN(std::string type, c.ctx.domains.getOsType(d));
  c.ret.str(type);
  return okStatus();
}

Status domainGetMaxMemory(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(DomainRef d, domArg(c));
  XVIRT_ASSIGN_OR_RETURN(uint64_t kib, c.ctx.domains.getMaxMemory(d));
  c.ret.u64(kib);
  return okStatus();
}

Status domainGetXmlDesc(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(auto a, domFlagsArgs(c));
  // Passwords, which read-only clients never see.
  if ((a.second & flags::kXmlSecure) && c.session.readOnly())
    return makeError(ErrorCode::Denied, "operation forbidden: virDomainGetXMLDesc with secure flag");
  XVIRT_ASSIGN_OR_RETURN(std::string xml, c.ctx.domains.getXmlDesc(a.first, a.second));
  c.ret.str(xml);
  return okStatus();
}

// libvirt's libxl driver has no virDomainGetHostname. As libvirt's QEMU driver does, the flags and
// the domain's state are checked first; the answer itself needs a source xvirt guests lack: a guest
// agent (AGENT, the default) or the DHCP leases of a libvirt network (LEASE).
Status domainGetHostname(Call& c) {  // { dom; flags } -> { hostname }
  XVIRT_ASSIGN_OR_RETURN(auto a, domFlagsArgs(c));
  XVIRT_TRY(rules::checkFlags(a.second, flags::kGetHostnameLease | flags::kGetHostnameAgent, "virDomainGetHostname"));
  XVIRT_ASSIGN_OR_RETURN(bool active, c.ctx.domains.isActive(a.first));
  XVIRT_TRY(rules::requireActive(active));
  if (a.second & flags::kGetHostnameLease)
    return makeError(ErrorCode::NoSupport,
                     "this function is not supported by the connection driver: the hostname of domain '" +
                         a.first.name + "' cannot come from DHCP leases: xvirt manages no libvirt networks.");
  return makeError(ErrorCode::NoSupport, "this function is not supported by the connection driver: the hostname of "
                                         "domain '" + a.first.name + "' needs the guest agent, which xvirt guests "
                                         "do not have.");
}

// remote_domain_set_metadata_args { dom; int type; remote_string metadata, key, uri; flags }
Status domainSetMetadata(Call& c) {
  DomainRef d = DomainRef::decode(c.args);
  int32_t type = c.args.i32();
  std::optional<std::string> metadata = c.args.optStr(rpc::kXdrStringMax, "metadata");
  std::optional<std::string> key = c.args.optStr(rpc::kXdrStringMax, "metadata key");
  std::optional<std::string> uri = c.args.optStr(rpc::kXdrStringMax, "metadata URI");
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  return c.ctx.domains.setMetadata(d, type, metadata, key, uri, flags);
}

// remote_domain_get_metadata_args { dom; int type; remote_string uri; flags } -> { string metadata }
Status domainGetMetadata(Call& c) {
  DomainRef d = DomainRef::decode(c.args);
  int32_t type = c.args.i32();
  std::optional<std::string> uri = c.args.optStr(rpc::kXdrStringMax, "metadata URI");
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  XVIRT_ASSIGN_OR_RETURN(std::string metadata, c.ctx.domains.getMetadata(d, type, uri, flags));
  c.ret.str(metadata);
  return okStatus();
}

}  // namespace xvirt::driver::api
