// libvirt's argument and state rules, written once for every API xvirtd serves: unknown flags,
// "domain is not running" and its siblings, and the LIVE/CONFIG/CURRENT choice of definition.
#pragma once

#include <string_view>

#include "common/Result.h"
#include "driver/LibvirtConstants.h"

namespace xvirt::driver::rules {

// Every message is libvirt's whole sentence, with the prefix its error number gives it there
// ("invalid argument: ", "Requested operation is not valid: "), so clients see libvirt's text.
// These three put the prefix before one of libvirt's sentences, for the checks of a single API.
Error invalidArg(std::string_view sentence);        // VIR_ERR_INVALID_ARG
Error operationInvalid(std::string_view sentence);  // VIR_ERR_OPERATION_INVALID
Error internalError(std::string_view sentence);     // VIR_ERR_INTERNAL_ERROR

// virCheckFlags: the bits of `flags` outside `known` are VIR_ERR_INVALID_ARG
// "invalid argument: unsupported flags (0x100) in function libxlDomainShutdownFlags" — in hex, the
// unknown bits only. `api` is the public API's name ("virDomainShutdownFlags"); the function named
// is what libvirt's libxl driver calls it: "libxl" + the name without "vir", for every API.
Status checkFlags(unsigned flags, unsigned known, std::string_view api);

// virDomainObjCheckActive and its opposite: VIR_ERR_OPERATION_INVALID.
Status requireActive(bool active);     // "domain is not running"
Status requireInactive(bool active);   // "domain is already running"
// VIR_ERR_OPERATION_INVALID "cannot ACTION transient domain", as libvirt words it per API:
// requirePersistent(p, "undefine"), (p, "set autostart for"), (p, "do managed save for").
Status requirePersistent(bool persistent, std::string_view action);

// Which definitions a call acts on (virDomainObjUpdateModificationImpact).
struct Affect {
  bool live = false;
  bool config = false;
};

// A change (--live, --config, both, or --current = live if running, else config): LIVE on an
// inactive domain is "domain is not running", CONFIG on a transient one "transient domains do not
// have any persistent config". `flags` may hold other bits; only the AFFECT bits are read.
Result<Affect> resolveAffect(unsigned flags, bool active, bool persistent);

// A query reads one definition (virDomainObjGetOneDef): LIVE and CONFIG together are
// VIR_ERR_INVALID_ARG; otherwise as resolveAffect. True: the live definition.
Result<bool> resolveAffectRead(unsigned flags, bool active, bool persistent);

}  // namespace xvirt::driver::rules
