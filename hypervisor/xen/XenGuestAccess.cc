// The toolstack's views into a guest: its RAM (foreign mapping) and its PV console ring
// (the console page mapped plus the console event channel bound in dom0).
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cerrno>
#include <cstring>

#include "hypervisor/xen/XenCompat.h"
#include "hypervisor/xen/XenctrlBackend.h"

namespace xvirt::hv::xen {

namespace {

class XenGuestMemory final : public GuestMemory {
 public:
  XenGuestMemory(ForeignMemoryPtr fmem, void* addr, size_t pages)
      : fmem_(std::move(fmem)), addr_(addr), pages_(pages) {}
  ~XenGuestMemory() override { xenforeignmemory_unmap(fmem_.get(), addr_, pages_); }
  uint8_t* data() override { return static_cast<uint8_t*>(addr_); }
  uint64_t size() const override { return uint64_t(pages_) * XC_PAGE_SIZE; }

 private:
  ForeignMemoryPtr fmem_;  // its own handle, so the mapping may outlive the Hypervisor object
  void* addr_;
  size_t pages_;
};

// The guest's side of the ring is written concurrently by the guest: indexes are read and written
// once each, with fences where Xen's ring protocol puts its barriers.
class XenConsoleChannel final : public ConsoleChannel {
 public:
  XenConsoleChannel(ForeignMemoryPtr fmem, xencons_interface* ring, EvtchnPtr xce, evtchn_port_t port)
      : fmem_(std::move(fmem)), ring_(ring), xce_(std::move(xce)), port_(port) {}
  ~XenConsoleChannel() override {
    xenevtchn_unbind(xce_.get(), port_);
    xenforeignmemory_unmap(fmem_.get(), ring_, 1);
  }

  int pollFd() const override { return xenevtchn_fd(xce_.get()); }

  Result<std::string> read() override {
    XVIRT_TRY(drainNotifications());
    volatile xencons_interface* r = ring_;
    XENCONS_RING_IDX cons = r->out_cons;
    XENCONS_RING_IDX prod = r->out_prod;
    std::atomic_thread_fence(std::memory_order_acquire);  // read the bytes after seeing out_prod
    if (prod - cons > sizeof(ring_->out))
      return makeError(ErrorCode::Corrupt, "The guest's console ring has inconsistent indexes.");
    std::string out;
    out.reserve(prod - cons);
    while (cons != prod) out.push_back(char(r->out[MASK_XENCONS_IDX(cons++, ring_->out)]));
    std::atomic_thread_fence(std::memory_order_release);  // finish reading before freeing the space
    r->out_cons = cons;
    if (!out.empty()) notify();
    return out;
  }

  Result<size_t> write(std::string_view data) override {
    volatile xencons_interface* r = ring_;
    XENCONS_RING_IDX cons = r->in_cons;
    XENCONS_RING_IDX prod = r->in_prod;
    std::atomic_thread_fence(std::memory_order_acquire);
    size_t space = sizeof(ring_->in) - (prod - cons);
    size_t n = std::min(space, data.size());
    for (size_t i = 0; i < n; ++i) r->in[MASK_XENCONS_IDX(prod++, ring_->in)] = data[i];
    std::atomic_thread_fence(std::memory_order_release);  // bytes visible before in_prod moves
    r->in_prod = prod;
    if (n) notify();
    return n;
  }

 private:
  // xenevtchn_pending() blocks on an idle channel, so only call it when the fd is readable.
  Status drainNotifications() {
    pollfd p{xenevtchn_fd(xce_.get()), POLLIN, 0};
    while (::poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) {
      xenevtchn_port_or_error_t port = xenevtchn_pending(xce_.get());
      if (port < 0) {
        int err = errno;
        if (err == EAGAIN) break;
        return Error::system("Reading the console event channel failed", err);
      }
      if (xenevtchn_unmask(xce_.get(), evtchn_port_t(port)) != 0) {
        int err = errno;
        return Error::system("Unmasking the console event channel failed", err);
      }
    }
    return okStatus();
  }
  void notify() { xenevtchn_notify(xce_.get(), port_); }

  ForeignMemoryPtr fmem_;
  xencons_interface* ring_;
  EvtchnPtr xce_;
  evtchn_port_t port_;
};

}  // namespace

Result<std::vector<xen_pfn_t>> XenctrlHypervisor::guestFrames(DomId domid, const xc_domaininfo_t& info) {
  std::vector<xen_pfn_t> frames;
  if (!(info.flags & XEN_DOMINF_hvm_guest)) {
    // The builder's p2m holds only until the guest runs: Linux then remaps and releases frames
    // (seen on Xen 4.17), so a guest that has run is mapped through the p2m it publishes.
    if (info.cpu_time == 0) {
      std::lock_guard lock(mu_);
      auto it = pvP2m_.find(domid);
      if (it != pvP2m_.end()) return it->second;
    }
    // A PV guest that ran, or that we did not build (restored, or built by another process): read
    // the p2m the guest kernel publishes in its shared info. Before the guest has booted there is none.
    xc_domain_meminfo minfo{};
    if (xc_map_domain_meminfo(xch_.get(), domid, &minfo) != 0) {
      int err = errno;
      return domainCallError(domid, "read the memory map (p2m) of", err);
    }
    frames.resize(minfo.p2m_size);
    for (unsigned long pfn = 0; pfn < minfo.p2m_size; ++pfn)
      frames[pfn] = minfo.guest_width == 4 ? reinterpret_cast<const uint32_t*>(minfo.p2m_table)[pfn]
                                           : reinterpret_cast<const uint64_t*>(minfo.p2m_table)[pfn];
    xc_unmap_domain_meminfo(xch_.get(), &minfo);
    return frames;
  }
  RamLayout layout;
  {
    std::lock_guard lock(mu_);
    auto it = ramLayout_.find(domid);
    if (it != ramLayout_.end()) {
      layout = it->second;
    } else {
      // Not built here: assume libxl's HVM layout for the pages the domain holds.
      uint64_t bytes = info.tot_pages * XC_PAGE_SIZE;
      layout.lowmemEnd = std::min<uint64_t>(bytes, HVM_BELOW_4G_MMIO_START);
      if (bytes > layout.lowmemEnd) layout.highmemEnd = (1ull << 32) + (bytes - layout.lowmemEnd);
    }
  }
  for (xen_pfn_t pfn = 0; pfn < (layout.lowmemEnd >> XC_PAGE_SHIFT); ++pfn) frames.push_back(pfn);
  for (xen_pfn_t pfn = (1ull << 32) >> XC_PAGE_SHIFT; pfn < (layout.highmemEnd >> XC_PAGE_SHIFT); ++pfn)
    frames.push_back(pfn);
  return frames;
}

Result<std::unique_ptr<GuestMemory>> XenctrlHypervisor::mapMemory(DomId domid) {
  XVIRT_ASSIGN_OR_RETURN(xc_domaininfo_t info, rawInfo(domid));
  XVIRT_ASSIGN_OR_RETURN(std::vector<xen_pfn_t> frames, guestFrames(domid, info));
  if (frames.empty())
    return makeError(ErrorCode::OperationInvalid, "Domain " + std::to_string(domid) + " has no memory to map.");
  ForeignMemoryPtr fmem(xenforeignmemory_open(nullptr, 0));
  if (!fmem) {
    int err = errno;
    return Error::system("Cannot open Xen's foreign memory interface", err);
  }
  // With a per-page error array the mapping succeeds as a whole; holes (the HVM VGA hole, ballooned
  // PV pages) stay unbacked and must not be touched.
  std::vector<int> errs(frames.size(), 0);
  void* addr = xenforeignmemory_map(fmem.get(), domid, PROT_READ | PROT_WRITE, frames.size(), frames.data(),
                                    errs.data());
  if (!addr) {
    int err = errno;
    return domainCallError(domid, "map the memory of", err);
  }
  return std::unique_ptr<GuestMemory>(new XenGuestMemory(std::move(fmem), addr, frames.size()));
}

Result<std::unique_ptr<ConsoleChannel>> XenctrlHypervisor::openConsole(DomId domid, const BuildResult& build) {
  ForeignMemoryPtr fmem(xenforeignmemory_open(nullptr, 0));
  if (!fmem) {
    int err = errno;
    return Error::system("Cannot open Xen's foreign memory interface", err);
  }
  xen_pfn_t frame = build.consoleMfn;
  int pageErr = 0;
  void* page = xenforeignmemory_map(fmem.get(), domid, PROT_READ | PROT_WRITE, 1, &frame, &pageErr);
  if (!page || pageErr != 0) {
    int err = page ? std::abs(pageErr) : errno;  // per-page errors are negative errnos
    if (page) xenforeignmemory_unmap(fmem.get(), page, 1);
    return domainCallError(domid, "map the console page of", err);
  }
  EvtchnPtr xce(xenevtchn_open(nullptr, 0));
  if (!xce) {
    int err = errno;
    xenforeignmemory_unmap(fmem.get(), page, 1);
    return Error::system("Cannot open Xen's event channel device", err);
  }
  xenevtchn_port_or_error_t port = xenevtchn_bind_interdomain(xce.get(), domid, build.consoleEvtchn);
  if (port < 0) {
    int err = errno;
    xenforeignmemory_unmap(fmem.get(), page, 1);
    return domainCallError(domid, "bind the console event channel of", err);
  }
  return std::unique_ptr<ConsoleChannel>(new XenConsoleChannel(
      std::move(fmem), static_cast<xencons_interface*>(page), std::move(xce), evtchn_port_t(port)));
}

}  // namespace xvirt::hv::xen
