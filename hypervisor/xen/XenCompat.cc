// Xen 4.17 vs newer libxenctrl: see XenCompat.h.
#include "hypervisor/xen/XenCompat.h"

#include <cerrno>

namespace xvirt::hv::xen {

int getDomainInfoSingle(xc_interface* xch, uint32_t domid, xc_domaininfo_t* info) {
  // Xen 4.18 added xc_domain_getinfo_single() and removed xc_domain_getinfo()/xc_dominfo_t; 4.17 has
  // neither the former nor a single-domain call that fails for a missing domain. xc_domain_getinfolist()
  // exists in both: it returns the first domain with id >= domid, so a different id means "no such
  // domain". When xvirt moves to 4.18+, this body becomes `return xc_domain_getinfo_single(...)`.
  int n = xc_domain_getinfolist(xch, domid, 1, info);
  if (n < 0) return -1;  // errno from the hypercall
  if (n == 0 || info->domain != domid) {
    errno = ESRCH;
    return -1;
  }
  return 0;
}

}  // namespace xvirt::hv::xen
