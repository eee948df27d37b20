// The one place where the difference between Xen 4.17 (Debian 12) and newer libxenctrl is handled:
// reading one domain's xc_domaininfo_t.
#pragma once

#include <cstdint>

#include "hypervisor/xen/XenHeaders.h"

namespace xvirt::hv::xen {

// Fills *info for exactly `domid`. Returns 0, or -1 with errno set (ESRCH when there is no such
// domain), the convention of xc_domain_getinfo_single() in Xen 4.18+.
int getDomainInfoSingle(xc_interface* xch, uint32_t domid, xc_domaininfo_t* info);

}  // namespace xvirt::hv::xen
