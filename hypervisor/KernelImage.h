// KernelImage: where the protected-mode part of an x86 Linux kernel starts in its file, so HVM and
// PVH direct boot load that part at 0x200000 as the boot protocol asks (both backends use this).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/Result.h"

namespace xvirt::hv {

// Where HVM/PVH direct boot puts the kernel: the firmware (hvmloader) owns 0x100000.
inline constexpr uint64_t kDirectBootKernelAddress = 0x200000;

struct KernelPayload {
  bool bzImage = false;       // a boot-protocol image ("HdrS"): setup sectors, then the payload
  uint64_t fileOffset = 0;    // where the protected-mode part starts in the file
  uint64_t size = 0;          // its length
  uint16_t protocol = 0;      // boot protocol version (0x020f = 2.15), bzImage only
};

// Parses the first bytes of a kernel file (`head`, at least 1 KiB if the file is that long) of
// `fileSize` bytes. Anything without the boot-protocol header is taken as a bare protected-mode
// kernel, loaded whole. A bzImage that is not relocatable (protocol < 2.05 or the flag clear) is
// refused, since its fixed load address 0x100000 belongs to the firmware.
Result<KernelPayload> parseKernelHeader(std::string_view head, uint64_t fileSize, const std::string& path);

// The same, reading the header from the file.
Result<KernelPayload> inspectKernel(const std::string& path);

}  // namespace xvirt::hv
