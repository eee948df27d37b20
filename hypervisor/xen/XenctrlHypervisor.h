// The real-Xen backend of the Hypervisor interface (libxenctrl/libxenguest of Xen 4.17).
// This header is Xen-free so hypervisor/Hypervisor.cc can open the backend without Xen's headers.
#pragma once

#include <memory>

#include "hypervisor/Hypervisor.h"

namespace xvirt::hv {

// Opens /dev/xen/privcmd through libxenctrl; fails with a clear sentence when not in a Xen dom0.
Result<std::unique_ptr<Hypervisor>> openXenctrlHypervisor();

}  // namespace xvirt::hv
