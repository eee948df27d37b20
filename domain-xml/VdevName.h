// Xen virtual block device names (xvda, hdc, sdb3, d0p0, xvdtq37, raw numbers) <-> the vdev number
// a frontend sees in xenstore's virtual-device key, following libxl's numbering exactly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/Result.h"

namespace xvirt::dom {

enum class VdevBus { Xvd, Scsi, Ide };

struct VdevInfo {
  VdevBus bus = VdevBus::Xvd;
  unsigned disk = 0;       // 0-based disk index (xvda = 0)
  unsigned partition = 0;  // 0 = the whole disk
  uint32_t number = 0;     // the xenstore virtual-device number
};

// Parses any form xl accepts. Names outside Xen's ranges (hde, sdq, reserved numbers >= 2<<28)
// are rejected with a sentence naming the vdev.
Result<VdevInfo> parseVdev(std::string_view name);
Result<uint32_t> vdevNumber(std::string_view name);

// The canonical name of a vdev number: xvd*/sd*/hd* with a partition suffix when nonzero.
Result<std::string> vdevName(uint32_t number);

// The disk letters of a 0-based index: 0 -> "a", 25 -> "z", 26 -> "aa" (bijective base 26).
std::string vdevDiskLetters(unsigned disk);

}  // namespace xvirt::dom
