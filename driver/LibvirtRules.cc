// libvirt's rules and their sentences: the wording is libvirt 9.0's (virCheckFlags in
// src/internal.h, virDomainObjCheckActive and virDomainObjUpdateModificationImpact in
// src/conf/domain_conf.c), with the prefix virErrorMsg puts before it for the error number.
#include "driver/LibvirtRules.h"

#include <cstdio>
#include <string>

namespace xvirt::driver::rules {

Error invalidArg(std::string_view sentence) {
  return makeError(ErrorCode::InvalidArgument, "invalid argument: " + std::string(sentence));
}

Error operationInvalid(std::string_view sentence) {
  return makeError(ErrorCode::OperationInvalid, "Requested operation is not valid: " + std::string(sentence));
}

Error internalError(std::string_view sentence) {
  return makeError(ErrorCode::Internal, "internal error: " + std::string(sentence));
}

Status checkFlags(unsigned flags, unsigned known, std::string_view api) {
  const unsigned unknown = flags & ~known;
  if (!unknown) return okStatus();
  char hex[16];
  std::snprintf(hex, sizeof hex, "%x", unknown);
  if (api.starts_with("vir")) api.remove_prefix(3);
  return invalidArg(std::string("unsupported flags (0x") + hex + ") in function libxl" + std::string(api));
}

Status requireActive(bool active) {
  if (!active) return operationInvalid("domain is not running");
  return okStatus();
}

Status requireInactive(bool active) {
  if (active) return operationInvalid("domain is already running");
  return okStatus();
}

Status requirePersistent(bool persistent, std::string_view action) {
  if (!persistent) return operationInvalid("cannot " + std::string(action) + " transient domain");
  return okStatus();
}

Result<Affect> resolveAffect(unsigned flags, bool active, bool persistent) {
  Affect a{(flags & affect::kLive) != 0, (flags & affect::kConfig) != 0};
  if (!a.live && !a.config) (active ? a.live : a.config) = true;  // CURRENT
  if (a.live) XVIRT_TRY(requireActive(active));
  if (a.config && !persistent) return operationInvalid("transient domains do not have any persistent config");
  return a;
}

Result<bool> resolveAffectRead(unsigned flags, bool active, bool persistent) {
  if ((flags & affect::kLive) && (flags & affect::kConfig))
    return invalidArg("Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive");
  XVIRT_ASSIGN_OR_RETURN(Affect a, resolveAffect(flags, active, persistent));
  return a.live;
}

}  // namespace xvirt::driver::rules
