// XenctrlHypervisor: the Hypervisor interface over libxenctrl/libxenguest/libxenforeignmemory/
// libxenevtchn (Xen 4.17). Internal to hypervisor/xen/; see docs/xen-backend.md call by call.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "hypervisor/Hypervisor.h"
#include "hypervisor/xen/XenHeaders.h"

namespace xvirt::hv::xen {

// An error for a failed libxc call on one domain, from the errno captured right after it:
// ESRCH becomes NoDomain; anything else OperationFailed with the system's reason.
Error domainCallError(DomId domid, const char* doing, int err);
// Why a libxc/libxenguest call failed: libxc's own last message (xc_dom_* often leave errno unset),
// else strerror(err); without a final period.
std::string xcFailureReason(xc_interface* xch, int err);

class XenctrlHypervisor final : public Hypervisor {
 public:
  XenctrlHypervisor(XcInterfacePtr xch, ForeignMemoryPtr fmem, const xc_physinfo_t& phys);

  std::string backendName() const override { return "xen"; }
  bool vbdNeedsPhysicalDevice() const override { return true; }
  bool runsHotplugScripts() const override { return true; }
  Result<PhysInfo> physInfo() override;
  Result<std::vector<uint64_t>> pcpuIdleNs() override;
  Result<std::vector<NodeMemory>> nodeMemory() override;

  Result<DomId> createDomain(const CreateParams& params) override;
  Status setMaxMemory(DomId domid, uint64_t kib) override;
  Status setMaxVcpus(DomId domid, unsigned n) override;
  Result<BuildResult> buildPV(DomId domid, const PvBuildParams& params) override;
  Result<BuildResult> buildHVM(DomId domid, const HvmBuildParams& params) override;

  Status pause(DomId domid) override;
  Status unpause(DomId domid) override;
  Status shutdown(DomId domid, ShutdownReason reason) override;
  Status resumeSuspended(DomId domid) override;
  Status destroy(DomId domid) override;

  Result<std::vector<DomainInfo>> listDomains() override;
  Result<DomainInfo> domainInfo(DomId domid) override;
  Result<VcpuInfo> vcpuInfo(DomId domid, unsigned vcpu) override;
  Status setVcpuAffinity(DomId domid, unsigned vcpu, const CpuMap& hard) override;
  Result<CpuMap> vcpuAffinity(DomId domid, unsigned vcpu) override;

  Result<std::unique_ptr<GuestMemory>> mapMemory(DomId domid) override;
  Result<std::unique_ptr<ConsoleChannel>> openConsole(DomId domid, const BuildResult& build) override;

  Result<std::optional<uint32_t>> saveDomain(DomId domid, int fd) override;
  Result<BuildResult> restoreDomain(DomId domid, int fd, uint64_t ramKib) override;

 private:
  Result<xc_domaininfo_t> rawInfo(DomId domid);
  // Two unbound event channels in domid for dom0 (xenstore, then console), as libxl__build_pre does.
  Status allocateChannels(DomId domid, BuildResult& out);
  // An xc_dom image for domid with its event channels and vCPU count set, as libxl__build_pv/_hvm do.
  Result<XcDomImagePtr> newImage(DomId domid, const xc_domaininfo_t& info, const std::string& cmdline,
                                 int containerType);
  // beforeImage runs once the guest's RAM is populated and before the image is laid out in it, where
  // libxl__arch_domain_finalise_hw_description runs (the HVM/PVH memory map).
  Result<BuildResult> runBuilder(DomId domid, xc_dom_image* dom, uint64_t memKib,
                                 const std::function<Status()>& beforeImage = {});
  // The guest frame numbers of RAM in guest-physical order: from the builder's p2m (PV guests we
  // built), the guest's published p2m (other PV guests), or the HVM/PVH layout around the MMIO hole.
  Result<std::vector<xen_pfn_t>> guestFrames(DomId domid, const xc_domaininfo_t& info);

  XcInterfacePtr xch_;
  ForeignMemoryPtr fmem_;
  unsigned nrCpus_ = 0;
  int grantVersion_ = 1;

  // Where an HVM/PVH domain's RAM sits in guest-physical space (below and above the MMIO hole).
  struct RamLayout {
    uint64_t lowmemEnd = 0;   // bytes
    uint64_t highmemEnd = 0;  // bytes; 0 when all RAM is below the hole
  };
  static RamLayout hvmRamLayout(bool pvh, uint64_t memKib);
  // Gives an HVM/PVH domain the memory map of that layout (XENMEM_set_memory_map) and remembers the
  // layout for mapMemory. The returned map is what a PVH start info points at.
  Result<std::vector<e820entry>> setHvmMemoryMap(DomId domid, bool pvh, uint64_t memKib);

  std::mutex mu_;
  std::map<DomId, std::vector<xen_pfn_t>> pvP2m_;  // PV domains built here: pfn -> mfn
  std::map<DomId, RamLayout> ramLayout_;           // HVM/PVH domains built here
};

}  // namespace xvirt::hv::xen
