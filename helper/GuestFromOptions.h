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

// Console 0 as -serial (or -nographic) names it; pty when neither is given.
Result<GuestChardev> consoleFromSerial(const HelperOptions& options);
// With --config or --restore, an explicit -serial (or -nographic) still says where console 0 goes:
// where the console is shown is the host's business, not the guest's, so a save image's or a config
// file's console target gives way to it (as `xl restore` and QEMU's -incoming take the command line's).
Status applySerialOption(const HelperOptions& options, GuestConfig& config);

}  // namespace xvirt::helper
