// remote_error: the payload of every REPLY/ERROR, carrying libvirt's error number, error domain
// and the one sentence a client shows after "error: ".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/Result.h"
#include "driver/LibvirtConstants.h"
#include "driver/rpc/Xdr.h"

namespace xvirt::rpc {

struct RemoteError {
  int32_t code = 1;    // virErrorNumber
  int32_t domain = 0;  // virErrorDomain
  std::optional<std::string> message;
  int32_t level = driver::kErrLevelError;
  // dom and net are always sent as NULL: libvirtd leaves them empty too.
  std::optional<std::string> str1, str2, str3;
  int32_t int1 = 0, int2 = 0;

  static RemoteError make(int32_t code, int32_t domain, std::string message) {
    RemoteError e;
    e.code = code;
    e.domain = domain;
    e.message = std::move(message);
    return e;
  }

  void encode(XdrWriter& w) const;
  static RemoteError decode(XdrReader& r);  // check r.finish() after
  std::vector<uint8_t> encode() const;
};

}  // namespace xvirt::rpc
