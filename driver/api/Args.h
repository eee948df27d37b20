// The argument and reply shapes many procedures share (remote_protocol.x): `dom`, `dom; u32 flags`,
// and an int that is a boolean.
#pragma once

#include <utility>

#include "driver/RemoteDispatch.h"

namespace xvirt::driver::api {

// Procedures whose args are exactly `dom`.
inline Result<DomainRef> domArg(Call& c) {
  DomainRef d = DomainRef::decode(c.args);
  XVIRT_TRY(c.args.finish());
  return d;
}

// Procedures whose args are `dom; u32 flags`.
inline Result<std::pair<DomainRef, uint32_t>> domFlagsArgs(Call& c) {
  DomainRef d = DomainRef::decode(c.args);
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  return std::pair{std::move(d), flags};
}

inline Status boolRet(Call& c, const Result<bool>& r) {
  if (!r.ok()) return r.error();
  c.ret.i32(*r ? 1 : 0);
  return okStatus();
}

}  // namespace xvirt::driver::api
