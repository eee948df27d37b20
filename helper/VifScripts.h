// VifScripts: what libxl does for a vif on real Xen besides the xenstore entries. Linux's netback
// creates the interface vifDOMID.DEVID when the backend appears, then waits for the vif's hotplug
// script (vif-bridge by default: the interface onto its bridge, up) to write `hotplug-status
// connected` before it connects to the guest. libxl runs that script with `online` once the backend
// waits for the frontend, and with `offline` before it removes the device; so does the helper.
#pragma once

#include <cstdint>
#include <string>

#include "common/Result.h"

namespace xvirt::helper {

// `script` is the backend's `script` node: empty for vif-bridge, relative to /etc/xen/scripts, or a
// path. The environment libxl gives the script: XENBUS_PATH (the backend), XENBUS_TYPE, XENBUS_BASE_PATH,
// vif (the interface name) and script.
// Starts `script online` and returns at once; the script answers in the backend (hotplug-status,
// hotplug-error), and a non-zero exit is logged with that error.
Status startVifScriptOnline(const std::string& script, const std::string& backendPath, uint32_t domid,
                            uint32_t devid);
// Runs `script offline` and waits for it (at most 30 s).
Status runVifScriptOffline(const std::string& script, const std::string& backendPath, uint32_t domid,
                           uint32_t devid);

}  // namespace xvirt::helper
