// Sysinfo: the host's SMBIOS facts as libvirt's <sysinfo type='smbios'> XML (virConnectGetSysinfo),
// read from the kernel's DMI export in /sys/class/dmi/id rather than by running dmidecode as root.
#pragma once

#include <string>

#include "common/Result.h"

namespace xvirt::driver {

// Where the DMI attributes are: XVIRT_DMI_DIR (tests point it at a tree of their own), else
// /sys/class/dmi/id.
std::string dmiDirectory();

// libvirt's virSysinfoFormat layout: <bios>, <system>, <baseBoard>, <chassis> with one <entry> per
// field the host has (an absent, unreadable or empty attribute is left out, as libvirt leaves out
// what dmidecode did not print). No attribute at all: VIR_ERR_CONFIG_UNSUPPORTED with libxl's
// sentence "Host SMBIOS information is not available".
Result<std::string> sysinfoXml(const std::string& dmiDir);

}  // namespace xvirt::driver
