// The one mapping from xvirt's ErrorCode to libvirt's error numbers (virErrorNumber) and the error
// domain xvirtd reports in, so every client branches on the same codes libvirt's own drivers give.
#pragma once

#include <cstdint>

#include "common/Result.h"
#include "driver/LibvirtConstants.h"
#include "driver/rpc/RemoteError.h"

namespace xvirt::driver {

int32_t libvirtErrorNumber(ErrorCode code);
rpc::RemoteError toRemoteError(const Error& error);
rpc::RemoteError remoteError(int32_t virErrorNumber, std::string message);

}  // namespace xvirt::driver
