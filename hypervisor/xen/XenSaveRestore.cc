// Save and restore through libxenguest's migration stream (xc_domain_save / xc_domain_restore),
// non-live, with the callbacks Xen 4.17 requires.
#include <cerrno>
#include <cstring>

#include "hypervisor/xen/XenCompat.h"
#include "hypervisor/xen/XenctrlBackend.h"

namespace xvirt::hv::xen {

namespace {

struct SaveContext {
  xc_interface* xch;
  DomId domid;
};

// libxenguest calls this once, then insists the domain is shut down with reason suspend
// (xg_sr_save.c: suspend_domain). The interface lets callers pass a merely paused domain; such a
// domain is suspended here with SHUTDOWN_suspend, as libxl does for an HVM guest without PV drivers.
// Returns 1 on success, 0 on failure (the convention every libxc caller uses).
int suspendCallback(void* data) {
  auto* ctx = static_cast<SaveContext*>(data);
  xc_domaininfo_t info{};
  if (getDomainInfoSingle(ctx->xch, ctx->domid, &info) != 0) return 0;
  bool shut = info.flags & XEN_DOMINF_shutdown;
  unsigned reason = (info.flags >> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask;
  if (shut && reason == SHUTDOWN_suspend) return 1;
  if (shut) return 0;  // shut down for another reason: nothing left to save
  return xc_domain_shutdown(ctx->xch, ctx->domid, SHUTDOWN_suspend) == 0 ? 1 : 0;
}

// Only called for HVM guests, to make the device model log dirty pages during a live save. This save
// is not live, so there are no dirty pages to track and nothing to switch.
int switchLogdirtyCallback(uint32_t /*domid*/, unsigned /*enable*/, void* /*data*/) { return 0; }

Error streamError(xc_interface* xch, DomId domid, const char* what, int err) {
  return Error{ErrorCode::OperationFailed,
               std::string(what) + " domain " + std::to_string(domid) + " failed: " + xcFailureReason(xch, err) + ".",
               err};
}

}  // namespace

Result<std::optional<uint32_t>> XenctrlHypervisor::saveDomain(DomId domid, int fd) {
  XVIRT_ASSIGN_OR_RETURN(xc_domaininfo_t info, rawInfo(domid));
  bool shut = info.flags & XEN_DOMINF_shutdown;
  unsigned reason = (info.flags >> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask;
  if (!(info.flags & XEN_DOMINF_paused) && !(shut && reason == SHUTDOWN_suspend))
    return makeError(ErrorCode::OperationInvalid,
                     "Domain " + std::to_string(domid) + " must be paused or suspended before it is saved.");
  SaveContext ctx{xch_.get(), domid};
  save_callbacks cb{};
  cb.suspend = suspendCallback;
  cb.switch_qemu_logdirty = switchLogdirtyCallback;
  cb.data = &ctx;
  // flags 0: not live (the domain is already stopped), no debug checks.
  if (xc_domain_save(xch_.get(), fd, domid, 0, &cb, XC_STREAM_PLAIN, -1) != 0) {
    int err = errno;
    return streamError(xch_.get(), domid, "Saving", err);
  }
  return std::optional<uint32_t>();  // libxenguest computes no checksum
}

Result<BuildResult> XenctrlHypervisor::restoreDomain(DomId domid, int fd, uint64_t ramKib) {
  XVIRT_ASSIGN_OR_RETURN(DomainInfo info, domainInfo(domid));
  // The stream carries the guest's memory and vCPU state, but not the memory map an HVM container
  // was given at build time (Xen keeps it outside the HVM context): lay it out again, so that the
  // guest's e820 and mapMemory's view of RAM are those of the saved guest.
  if (info.kind != DomainKind::PV) XVIRT_TRY(setHvmMemoryMap(domid, info.kind == DomainKind::PVH, ramKib));
  BuildResult r;
  XVIRT_TRY(allocateChannels(domid, r));
  unsigned long storeGfn = 0;
  unsigned long consoleGfn = 0;
  restore_callbacks cb{};  // plain stream: no checkpoints, and no CPUID/MSR compatibility to supply
  if (xc_domain_restore(xch_.get(), fd, domid, r.storeEvtchn, &storeGfn, 0, r.consoleEvtchn, &consoleGfn, 0,
                        XC_STREAM_PLAIN, &cb, -1) != 0) {
    int err = errno;
    return streamError(xch_.get(), domid, "Restoring", err);
  }
  // libxenguest also seeds the grant table for these two pages (xc_dom_gnttab_seed) before it returns.
  r.storeMfn = storeGfn;
  r.consoleMfn = consoleGfn;
  return r;
}

}  // namespace xvirt::hv::xen
