// remote_nonnull_domain: how the wire protocol names a domain (name, UUID, live id or -1), shared by
// lookups, listings and events.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include "common/Uuid.h"
#include "driver/rpc/Xdr.h"

namespace xvirt::rpc {

inline constexpr uint32_t kDomainNameMax = 4u << 20;  // a remote_nonnull_string
inline constexpr uint32_t kDomainListMax = 16384;     // REMOTE_DOMAIN_LIST_MAX

struct RemoteDomain {
  std::string name;
  Uuid uuid;
  int32_t id = -1;  // -1 while inactive; the client caches it, so it must be right at lookup time

  void encode(XdrWriter& w) const {
    w.str(name);
    w.fixedOpaque(uuid.bytes);
    w.i32(id);
  }
  static RemoteDomain decode(XdrReader& r) {
    RemoteDomain d;
    d.name = r.str(kDomainNameMax, "domain name");
    auto bytes = r.fixedOpaque(16);
    if (bytes.size() == 16) std::copy(bytes.begin(), bytes.end(), d.uuid.bytes.begin());
    d.id = r.i32();
    return d;
  }
  bool operator==(const RemoteDomain&) const = default;
};

}  // namespace xvirt::rpc
