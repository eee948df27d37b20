// The GuestConfig a qemu-xen style command line describes (-M, -m, -smp, -kernel, -hda, -serial...),
// so the standalone helper and xvirtd-launched helpers build guests through one path.
#pragma once

#include "common/GuestConfig.h"
#include "common/Result.h"
#include "helper/HelperOptions.h"

namespace xvirt::helper {

inline constexpr const char* kDefaultPygrub = "/usr/lib/xen-4.17/bin/pygrub";
inline constexpr const char* kDefaultHvmloader = "/usr/lib/xen-4.17/boot/hvmloader";

Result<GuestConfig> guestConfigFromOptions(const HelperOptions& options);

}  // namespace xvirt::helper
