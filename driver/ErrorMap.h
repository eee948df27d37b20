// The one mapping from xvirt's ErrorCode to libvirt's error numbers (virErrorNumber) and the error
// domain xvirtd reports in, so every client branches on the same codes libvirt's own drivers give.
#pragma once

#include <cstdint>

#include "common/Result.h"
#include "driver/rpc/RemoteError.h"

namespace xvirt::driver {

// virErrorNumber values we send (numbers from libvirt's virterror.h, checked against python3-libvirt 9.0.0).
namespace virerr {
inline constexpr int32_t kInternalError = 1;
inline constexpr int32_t kNoSupport = 3;
inline constexpr int32_t kNoConnect = 5;
inline constexpr int32_t kInvalidConn = 6;
inline constexpr int32_t kInvalidArg = 8;
inline constexpr int32_t kOperationFailed = 9;
inline constexpr int32_t kXmlError = 27;
inline constexpr int32_t kDomExist = 28;
inline constexpr int32_t kOperationDenied = 29;
inline constexpr int32_t kSystemError = 38;
inline constexpr int32_t kRpc = 39;
inline constexpr int32_t kNoDomain = 42;
inline constexpr int32_t kOperationInvalid = 55;
inline constexpr int32_t kConfigUnsupported = 67;
inline constexpr int32_t kOperationTimeout = 68;
inline constexpr int32_t kDeviceMissing = 99;
}  // namespace virerr

// virErrorDomain values.
namespace virfrom {
inline constexpr int32_t kXen = 1;  // every driver error xvirtd reports (see docs/rpc.md)
inline constexpr int32_t kRpc = 7;  // protocol errors: undecodable calls, unknown programs
}  // namespace virfrom

int32_t libvirtErrorNumber(ErrorCode code);
rpc::RemoteError toRemoteError(const Error& error);
rpc::RemoteError remoteError(int32_t virErrorNumber, std::string message);

}  // namespace xvirt::driver
