// remote_error in its wire order: code, domain, message, level, dom, str1-3, int1-2, net.
#include "driver/rpc/RemoteError.h"

namespace xvirt::rpc {

void RemoteError::encode(XdrWriter& w) const {
  w.i32(code);
  w.i32(domain);
  w.optStr(message ? &*message : nullptr);
  w.i32(level);
  w.u32(0);  // dom: NULL
  w.optStr(str1 ? &*str1 : nullptr);
  w.optStr(str2 ? &*str2 : nullptr);
  w.optStr(str3 ? &*str3 : nullptr);
  w.i32(int1);
  w.i32(int2);
  w.u32(0);  // net: NULL
}

std::vector<uint8_t> RemoteError::encode() const {
  XdrWriter w;
  encode(w);
  return w.take();
}

RemoteError RemoteError::decode(XdrReader& r) {
  RemoteError e;
  e.code = r.i32();
  e.domain = r.i32();
  e.message = r.optStr();
  e.level = r.i32();
  if (r.present()) {  // a domain: name, uuid, id; we only skip it
    r.str(kXdrStringMax, "domain name");
    r.fixedOpaque(16);
    r.i32();
  }
  e.str1 = r.optStr();
  e.str2 = r.optStr();
  e.str3 = r.optStr();
  e.int1 = r.i32();
  e.int2 = r.i32();
  if (r.present()) {  // a network: name, uuid
    r.str(kXdrStringMax, "network name");
    r.fixedOpaque(16);
  }
  return e;
}

}  // namespace xvirt::rpc
