// HotplugScripts: what libxl does on real Xen for a device besides its xenstore entries: it runs the
// device's hotplug script, and so does the helper (Hypervisor::runsHotplugScripts()).
//  - A vif: Linux's netback creates vifDOMID.DEVID when the backend appears, then waits for the
//    script (vif-bridge by default: the interface onto its bridge, up) to write `hotplug-status
//    connected`. The script runs with `online` once the backend waits for the frontend, and with
//    `offline` before the device is removed.
//  - A vbd with a block script (xl's `script=`, `<xvirt:script>`): blkback waits for the
//    `physical-device` the script writes. It runs with `add` once the backend waits, and with
//    `remove` once the backend closed (after a disk_remove, or the domain's destruction). A vbd
//    without one gets its device from the helper itself (helper/BlockDevices.h).
#pragma once

#include <cstdint>
#include <string>

#include "common/Result.h"

namespace xvirt::helper {

// The script libxl (and the helper) runs for a vif with none given.
inline constexpr const char* kDefaultVifScript = "/etc/xen/scripts/vif-bridge";

struct ScriptedDevice {
  std::string type;         // XENBUS_TYPE: "vif" or "vbd"
  std::string script;       // the backend's `script` node: a path, a name under /etc/xen/scripts,
                            // or empty for a vif (vif-bridge)
  std::string backendPath;  // XENBUS_PATH
  uint32_t domid = 0;
  uint32_t devid = 0;
};

// The script's absolute path, as libxl resolves it (libxl__abs_path under Xen's script directory).
std::string resolveHotplugScript(const std::string& type, const std::string& script);

// Starts the script with `online` (vif) or `add` (vbd) and returns at once; the script answers in
// the backend (hotplug-status, hotplug-error), and a non-zero exit is logged with that error. The
// environment is libxl's: XENBUS_PATH, XENBUS_TYPE, XENBUS_BASE_PATH, script, and vif for a vif.
Status startHotplugScriptUp(const ScriptedDevice& d);
// Runs the script with `offline` (vif) or `remove` (vbd) and waits for it (at most 30 s).
Status runHotplugScriptDown(const ScriptedDevice& d);

}  // namespace xvirt::helper
