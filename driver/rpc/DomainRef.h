// DomainRef: how libvirt names a domain (remote_nonnull_domain: name, UUID, live id or -1), the one
// type the procedures, the domain manager and the events share, with its XDR encoding.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include "common/Uuid.h"
#include "driver/rpc/Xdr.h"

namespace xvirt::rpc {

inline constexpr uint32_t kDomainNameMax = kXdrStringMax;  // a remote_nonnull_string

struct DomainRef {
  std::string name;
  Uuid uuid;
  int32_t id = -1;  // -1 while inactive; the client caches it, so it must be right at lookup time

  bool active() const { return id >= 0; }

  void encode(XdrWriter& w) const {
    w.str(name);
    w.fixedOpaque(uuid.bytes);
    w.i32(id);
  }
  static DomainRef decode(XdrReader& r) {
    DomainRef d;
    d.name = r.str(kDomainNameMax, "domain name");
    auto bytes = r.fixedOpaque(16);
    if (bytes.size() == 16) std::copy(bytes.begin(), bytes.end(), d.uuid.bytes.begin());
    d.id = r.i32();
    return d;
  }
  bool operator==(const DomainRef&) const = default;
};

}  // namespace xvirt::rpc

namespace xvirt::driver {
using rpc::DomainRef;
}  // namespace xvirt::driver
