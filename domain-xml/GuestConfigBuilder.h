// DomainDef -> GuestConfig: resolves everything a helper should not have to decide (vdev numbers,
// disk backends, MAC addresses, per-vCPU affinity, defaults) and rejects what it cannot run.
#pragma once

#include <string_view>
#include <vector>

#include "common/GuestConfig.h"
#include "common/Result.h"
#include "domain-xml/DomainDef.h"

namespace xvirt::dom {

// The bootloader a PV guest with neither kernel nor bootloader gets, as libvirt's libxl driver does
// (the XML parser applies the same default; this covers a DomainDef built some other way).
inline constexpr const char* kFallbackBootloader = "/usr/lib/xen-4.17/bin/pygrub";

Result<GuestConfig> buildGuestConfig(const DomainDef& def);
// One disk of `def` as the helper takes it (vdev number, backend, format); also for hotplug.
Result<GuestDisk> buildGuestDisk(const DomainDef& def, const DiskDef& disk);

// 00:16:3e:xx:xx:xx (Xen's OUI), derived from the domain UUID and the NIC index so that a guest
// defined without a MAC keeps the same one across restarts.
std::string generateMac(const Uuid& uuid, unsigned index);

}  // namespace xvirt::dom
