// The handlers of the procedure table, declared from its one list (driver/RemoteProcedures.h): one
// per REMOTE_PROC_<NAME>, named <name> in camel case (DOMAIN_GET_INFO -> domainGetInfo), defined in
// the file of its libvirt API family in driver/api/ (docs/rpc.md has the list). Each decodes its
// args as remote_protocol.x lays them out, applies libvirt's rules (LibvirtRules.h), calls the
// DomainManager for domain state, and encodes the ret struct.
#pragma once

#include "driver/RemoteDispatch.h"
#include "driver/RemoteProcedures.h"

namespace xvirt::driver::api {

#define XVIRT_DECLARE_HANDLER(number, NAME, handler, flags) Status handler(Call&);
XVIRT_REMOTE_PROCEDURES(XVIRT_DECLARE_HANDLER)
#undef XVIRT_DECLARE_HANDLER

}  // namespace xvirt::driver::api
