// Handlers of the domain listings and lookups: CONNECT_LIST_ALL_DOMAINS, the legacy listings virsh
// falls back to, and lookups by name, UUID and id (a missing domain is VIR_ERR_NO_DOMAIN).
#include <algorithm>

#include "driver/LibvirtRules.h"
#include "driver/api/Handlers.h"

namespace xvirt::driver::api {

Status connectListAllDomains(Call& c) {
  int32_t needResults = c.args.i32();
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  XVIRT_TRY(rules::checkFlags(flags, flags::kListDomainsFiltersAll, "virConnectListAllDomains"));
  std::vector<DomainRef> domains = c.ctx.domains.listAll(flags);
  if (domains.size() > limits::kDomainListMax)
    return makeError(ErrorCode::OperationFailed, "There are " + std::to_string(domains.size()) +
                                                     " domains, more than the protocol can list at once.");
  if (needResults) {
    c.ret.u32(static_cast<uint32_t>(domains.size()));
    for (const auto& d : domains) d.encode(c.ret);
  } else {
    c.ret.u32(0);
  }
  c.ret.u32(static_cast<uint32_t>(domains.size()));
  return okStatus();
}

Status domainLookupById(Call& c) {
  int32_t id = c.args.i32();
  XVIRT_TRY(c.args.finish());
  XVIRT_ASSIGN_OR_RETURN(DomainRef dom, c.ctx.domains.lookupById(id));
  dom.encode(c.ret);
  return okStatus();
}

Status domainLookupByName(Call& c) {
  std::string name = c.args.str(rpc::kDomainNameMax, "domain name");
  XVIRT_TRY(c.args.finish());
  XVIRT_ASSIGN_OR_RETURN(DomainRef dom, c.ctx.domains.lookupByName(name));
  dom.encode(c.ret);
  return okStatus();
}

Status domainLookupByUuid(Call& c) {
  auto bytes = c.args.fixedOpaque(16);
  XVIRT_TRY(c.args.finish());
  Uuid uuid;
  std::copy(bytes.begin(), bytes.end(), uuid.bytes.begin());
  XVIRT_ASSIGN_OR_RETURN(DomainRef dom, c.ctx.domains.lookupByUuid(uuid));
  dom.encode(c.ret);
  return okStatus();
}

// Legacy listings: virsh falls back to them when LIST_ALL_DOMAINS is missing. Their args are the
// most entries the client takes (`int maxids` / `int maxnames`).

namespace {

Result<size_t> listingMax(Call& c, const char* what) {
  int32_t max = c.args.i32();
  XVIRT_TRY(c.args.finish());
  if (max < 0 || static_cast<uint32_t>(max) > limits::kDomainListMax)
    return makeError(ErrorCode::InvalidArgument,
                     std::string("The maximum number of ") + what + " must be between 0 and 16384.");
  return static_cast<size_t>(max);
}

}  // namespace

Status connectListDomains(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(size_t maxIds, listingMax(c, "domain ids"));
  std::vector<int> ids = c.ctx.domains.activeIds();
  if (ids.size() > maxIds) ids.resize(maxIds);
  c.ret.u32(static_cast<uint32_t>(ids.size()));
  for (int id : ids) c.ret.i32(id);
  return okStatus();
}

Status connectNumOfDomains(Call& c) {
  std::vector<int> ids = c.ctx.domains.activeIds();
  c.ret.i32(static_cast<int32_t>(ids.size()));
  return okStatus();
}

Status connectListDefinedDomains(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(size_t maxNames, listingMax(c, "domain names"));
  std::vector<std::string> names = c.ctx.domains.definedNames();
  if (names.size() > maxNames) names.resize(maxNames);
  c.ret.u32(static_cast<uint32_t>(names.size()));
  for (const auto& n : names) c.ret.str(n);
  return okStatus();
}

Status connectNumOfDefinedDomains(Call& c) {
  std::vector<std::string> names = c.ctx.domains.definedNames();
  c.ret.i32(static_cast<int32_t>(names.size()));
  return okStatus();
}

}  // namespace xvirt::driver::api
