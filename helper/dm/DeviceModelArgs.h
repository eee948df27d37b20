// The device model's command line for an HVM guest: what Debian's qemu-system-i386 (qemu-xen) is
// started with, derived from the GuestConfig the way libxl_dm.c derives it. Pure, golden-tested.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/GuestConfig.h"
#include "common/Result.h"

namespace xvirt::helper {

inline constexpr const char* kDefaultDeviceModel = "/usr/bin/qemu-system-i386";
// libxl's default video RAM for the emulated VGA: the device model populates it within the domain's
// memory, so an HVM guest's RAM is its memory less this (libxl__build_hvm, and QEMU's -m).
inline constexpr uint64_t kVideoMemKib = 8 * 1024;

struct DeviceModelContext {
  uint32_t domid = 0;
  std::string emulator;   // empty: the config's deviceModel, else kDefaultDeviceModel
  std::string qmpPath;    // the device model's own QMP socket (empty: none)
};

struct DeviceModelCommand {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // "K=V" added to the helper's environment
};

// Errors name the device that qemu-xen cannot emulate as configured (e.g. a read-only IDE disk).
Result<DeviceModelCommand> deviceModelCommand(const GuestConfig& config, const DeviceModelContext& context);

// A PV guest's own QEMU, as libxl starts one for a PV guest with qdisk disks: no machine to emulate,
// only the Xen backends QEMU serves for that domain (QEMU 7.2's xen-bus serves the qdisks of the
// domain given by -xen-domid and no other, so dom0's QEMU does not serve a guest's).
Result<DeviceModelCommand> pvBackendCommand(const GuestConfig& config, const DeviceModelContext& context);
// Whether a guest needs that QEMU: a PV guest with a disk on the qdisk backend.
bool needsPvBackend(const GuestConfig& config);

}  // namespace xvirt::helper
