// What a toolstack removes from xenstore once a domain is gone, as libxl does when it destroys one
// (its devices' backends, /local/domain/N, /vm/UUID, the device model's directory). Shared by the
// helper, which destroys its own domain, and xvirtd, which destroys a domain whose helper died.
#pragma once

#include <cstdint>

#include "common/Result.h"
#include "common/Uuid.h"
#include "hypervisor/XenStore.h"

namespace xvirt::hv {

// Removes every entry a toolstack wrote for domain `domid` (uuid: its /vm entry; a nil uuid
// skips it). Entries that are already gone are not an error.
Status removeDomainTree(XenStore& xs, uint32_t domid, const Uuid& uuid);

}  // namespace xvirt::hv
