// Building a domain with libxenguest's xc_dom_* API, in the order libxl__build_pv/__build_hvm and
// libxl__build_dom use it in Xen 4.17 (see docs/xen-backend.md).
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "hypervisor/KernelImage.h"
#include "hypervisor/PvhAcpi.h"
#include "hypervisor/xen/XenCompat.h"
#include "hypervisor/xen/XenctrlBackend.h"

namespace xvirt::hv::xen {

namespace {

// Debian's hvmloader is built without a BIOS inside; libxl hands it SeaBIOS from this path
// (--with-system-seabios), and so do we.
constexpr const char* kSeabiosPath = "/usr/share/seabios/bios-256k.bin";
// libxl's LIBXL_VGA_HOLE_SIZE: pages 0xa0-0xbf stay unpopulated for the emulated VGA.
constexpr xen_pfn_t kVgaHolePages = 0x20;
// Without a device model (PVH) the MMIO hole only has to cover the local APIC (0xfee00000), the
// special pages below X86_HVM_END_SPECIAL_REGION and the ACPI info page libacpi puts at 0xfc000000,
// as libxl__build_hvm computes it.
constexpr uint64_t kPvhMmioStart = 0xfc000000ull;

uint64_t mmioStartOf(bool pvh) { return pvh ? kPvhMmioStart : uint64_t(HVM_BELOW_4G_MMIO_START); }

Error builderError(xc_interface* xch, DomId domid, const char* step, int err) {
  return Error{ErrorCode::OperationFailed,
               std::string("Building domain ") + std::to_string(domid) + " failed in " + step + ": " +
                   xcFailureReason(xch, err) + ".",
               err};
}

Status checkReadable(const std::string& path, const char* what) {
  if (path.empty()) return makeError(ErrorCode::InvalidArgument, std::string("No ") + what + " file was given.");
  if (::access(path.c_str(), R_OK) != 0) {
    int err = errno;
    return Error{ErrorCode::InvalidArgument,
                 std::string("Cannot read the ") + what + " file " + path + ": " + std::strerror(err) + ".", err};
  }
  return okStatus();
}

Result<std::vector<uint8_t>> readWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError(ErrorCode::InvalidArgument, "Cannot read " + path + ".");
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The guest's e820 as libxl__arch_domain_construct_memmap lays it out: RAM below the MMIO hole (from
// 1 MiB for HVM, where hvmloader owns the first MiB; from 0 for PVH), for PVH the special pages
// (xenstore, console, ...) as reserved and its ACPI tables' pages as ACPI, and RAM above 4 GiB.
// hvmloader and a PVH kernel both read it back (XENMEM_memory_map; PVH also through
// hvm_start_info's memmap). Without it a PVH Linux finds
// no memory map and BUG()s before it has an IDT: the triple fault every PVH attempt ended in.
std::vector<e820entry> hvmMemoryMap(bool pvh, uint64_t lowmemEnd, uint64_t highmemEnd) {
  constexpr uint32_t kE820Ram = 1;
  constexpr uint32_t kE820Reserved = 2;
  constexpr uint32_t kE820Acpi = 3;
  const uint64_t lowmemStart = pvh ? 0 : 0x100000;
  std::vector<e820entry> map;
  map.push_back(e820entry{lowmemStart, lowmemEnd - lowmemStart, kE820Ram});
  if (pvh) {
    const uint64_t special = uint64_t(X86_HVM_END_SPECIAL_REGION - X86_HVM_NR_SPECIAL_PAGES) << XC_PAGE_SHIFT;
    map.push_back(e820entry{special, uint64_t(X86_HVM_NR_SPECIAL_PAGES) << XC_PAGE_SHIFT, kE820Reserved});
    map.push_back(e820entry{kPvhAcpiRsdpAddress, kPvhAcpiRegionBytes, kE820Acpi});
  }
  if (highmemEnd > (1ull << 32)) map.push_back(e820entry{1ull << 32, highmemEnd - (1ull << 32), kE820Ram});
  return map;
}

}  // namespace

Status XenctrlHypervisor::allocateChannels(DomId domid, BuildResult& out) {
  // Unbound ports in the guest, to be bound by dom0's xenstored and console backend.
  int store = xc_evtchn_alloc_unbound(xch_.get(), domid, 0);
  if (store < 0) {
    int err = errno;
    return domainCallError(domid, "allocate the xenstore event channel of", err);
  }
  int console = xc_evtchn_alloc_unbound(xch_.get(), domid, 0);
  if (console < 0) {
    int err = errno;
    return domainCallError(domid, "allocate the console event channel of", err);
  }
  out.storeEvtchn = uint32_t(store);
  out.consoleEvtchn = uint32_t(console);
  return okStatus();
}

Result<XcDomImagePtr> XenctrlHypervisor::newImage(DomId domid, const xc_domaininfo_t& info,
                                                  const std::string& cmdline, int containerType) {
  BuildResult ports;
  XVIRT_TRY(allocateChannels(domid, ports));
  xc_interface* xch = xch_.get();
  xc_dom_loginit(xch);  // libxenguest's build log goes to the same logger as libxc's
  XcDomImagePtr dom(xc_dom_allocate(xch, cmdline.c_str(), nullptr));
  if (!dom) return builderError(xch, domid, "xc_dom_allocate", errno);
  dom->container_type = decltype(dom->container_type)(containerType);
  dom->flags = 0;
  dom->claim_enabled = 0;
  dom->max_vcpus = info.max_vcpu_id + 1;  // fixed at creation (XenctrlHypervisor::setMaxVcpus)
  dom->console_evtchn = ports.consoleEvtchn;
  dom->console_domid = 0;
  dom->xenstore_evtchn = ports.storeEvtchn;
  dom->xenstore_domid = 0;
  return dom;
}

Result<BuildResult> XenctrlHypervisor::runBuilder(DomId domid, xc_dom_image* dom, uint64_t memKib,
                                                  const std::function<Status()>& beforeImage) {
  xc_interface* xch = xch_.get();
  // Each step as libxl__build_dom calls it; the image is released by the caller's owner.
  if (xc_dom_boot_xen_init(dom, xch, domid) != 0) return builderError(xch, domid, "xc_dom_boot_xen_init", errno);
  if (xc_dom_parse_image(dom) != 0) return builderError(xch, domid, "xc_dom_parse_image", errno);
  if (xc_dom_mem_init(dom, unsigned(memKib / 1024)) != 0) return builderError(xch, domid, "xc_dom_mem_init", errno);
  if (xc_dom_boot_mem_init(dom) != 0) return builderError(xch, domid, "xc_dom_boot_mem_init", errno);
  if (beforeImage) XVIRT_TRY(beforeImage());
  if (xc_dom_build_image(dom) != 0) return builderError(xch, domid, "xc_dom_build_image", errno);
  if (xc_dom_boot_image(dom) != 0) return builderError(xch, domid, "xc_dom_boot_image", errno);
  if (xc_dom_gnttab_init(dom) != 0) return builderError(xch, domid, "xc_dom_gnttab_init", errno);

  BuildResult r;
  r.storeEvtchn = dom->xenstore_evtchn;
  r.consoleEvtchn = dom->console_evtchn;
  if (xc_dom_translated(dom)) {
    // HVM/PVH: the toolstack talks about guest frames.
    r.consoleMfn = dom->console_pfn;
    r.storeMfn = dom->xenstore_pfn;
  } else {
    // PV: xenstored and the console backend map machine frames.
    r.consoleMfn = xc_dom_p2m(dom, dom->console_pfn);
    r.storeMfn = xc_dom_p2m(dom, dom->xenstore_pfn);
    std::lock_guard lock(mu_);
    pvP2m_[domid].assign(dom->pv_p2m, dom->pv_p2m + dom->p2m_size);
  }
  return r;
}

Result<BuildResult> XenctrlHypervisor::buildPV(DomId domid, const PvBuildParams& params) {
  XVIRT_TRY(checkReadable(params.kernelPath, "kernel"));
  if (!params.ramdiskPath.empty()) XVIRT_TRY(checkReadable(params.ramdiskPath, "ramdisk"));
  if (params.memKib < 1024)
    return makeError(ErrorCode::InvalidArgument, "A PV domain needs at least 1 MiB of memory.");
  XVIRT_ASSIGN_OR_RETURN(xc_domaininfo_t info, rawInfo(domid));
  if (info.flags & XEN_DOMINF_hvm_guest)
    return makeError(ErrorCode::OperationInvalid,
                     "Domain " + std::to_string(domid) + " is not a PV domain, so it cannot be built as one.");

  xc_interface* xch = xch_.get();
  XVIRT_ASSIGN_OR_RETURN(XcDomImagePtr dom, newImage(domid, info, params.cmdline, xc_dom_image::XC_DOM_PV_CONTAINER));
  if (xc_dom_kernel_file(dom.get(), params.kernelPath.c_str()) != 0)
    return builderError(xch, domid, "xc_dom_kernel_file", errno);
  if (!params.ramdiskPath.empty() && xc_dom_module_file(dom.get(), params.ramdiskPath.c_str(), nullptr) != 0)
    return builderError(xch, domid, "xc_dom_module_file", errno);
  return runBuilder(domid, dom.get(), params.memKib);
}

Result<BuildResult> XenctrlHypervisor::buildHVM(DomId domid, const HvmBuildParams& params) {
  const bool pvh = params.firmwarePath.empty();
  if (pvh) {
    XVIRT_TRY(checkReadable(params.kernelPath, "kernel"));
  } else {
    XVIRT_TRY(checkReadable(params.firmwarePath, "firmware"));
  }
  if (!params.ramdiskPath.empty()) XVIRT_TRY(checkReadable(params.ramdiskPath, "ramdisk"));
  if (params.memKib < 2048)
    return makeError(ErrorCode::InvalidArgument, "An HVM or PVH domain needs at least 2 MiB of memory.");
  XVIRT_ASSIGN_OR_RETURN(xc_domaininfo_t info, rawInfo(domid));
  if (!(info.flags & XEN_DOMINF_hvm_guest))
    return makeError(ErrorCode::OperationInvalid,
                     "Domain " + std::to_string(domid) + " is a PV domain, so it cannot be built as HVM or PVH.");

  xc_interface* xch = xch_.get();
  XVIRT_ASSIGN_OR_RETURN(XcDomImagePtr dom, newImage(domid, info, params.cmdline, xc_dom_image::XC_DOM_HVM_CONTAINER));

  std::vector<uint8_t> bios;    // must outlive xc_dom_build_image, which copies it into the guest
  if (pvh) {
    // PVH: the kernel's ELF PHYS32_ENTRY note is the entry point; no firmware at all.
    if (xc_dom_kernel_file(dom.get(), params.kernelPath.c_str()) != 0)
      return builderError(xch, domid, "xc_dom_kernel_file", errno);
  } else {
    // HVM: hvmloader is the "kernel"; it sets up the BIOS we pass as the system firmware module.
    if (xc_dom_kernel_file(dom.get(), params.firmwarePath.c_str()) != 0)
      return builderError(xch, domid, "xc_dom_kernel_file", errno);
    if (::access(kSeabiosPath, R_OK) == 0) {
      XVIRT_ASSIGN_OR_RETURN(bios, readWholeFile(kSeabiosPath));
      dom->system_firmware_module.data = bios.data();
      dom->system_firmware_module.length = uint32_t(bios.size());
    }
    // A direct-boot kernel, its ramdisk and command line are the device model's (QEMU -kernel,
    // -initrd, -append: SeaBIOS boots them from fw_cfg), as libxl__build_hvm leaves them: hvmloader
    // takes at most two modules (libxenguest asserts HVMLOADER_MODULE_MAX_COUNT) and boots no kernel.
  }
  if (pvh && !params.ramdiskPath.empty() && xc_dom_module_file(dom.get(), params.ramdiskPath.c_str(), nullptr) != 0)
    return builderError(xch, domid, "xc_dom_module_file", errno);
  // PVH: the ACPI tables libxl would build. xc_dom_build_image populates their pages in the MMIO hole
  // and copies them in; module 0 is the RSDP, whose address goes into the start info.
  PvhAcpiTables acpi;  // copied by xc_dom_build_image, so it lives as long as the image
  if (pvh) {
    XVIRT_ASSIGN_OR_RETURN(acpi, buildPvhAcpiTables(info.max_vcpu_id + 1, params.onlineVcpus));
    dom->acpi_modules[0] = xc_hvm_firmware_module{acpi.rsdp.data(), uint32_t(acpi.rsdp.size()), kPvhAcpiRsdpAddress};
    dom->acpi_modules[1] =
        xc_hvm_firmware_module{acpi.tables.data(), uint32_t(acpi.tables.size()), kPvhAcpiTablesAddress};
  }

  const RamLayout layout = hvmRamLayout(pvh, params.memKib);
  const uint64_t mmioStart = mmioStartOf(pvh);
  dom->target_pages = params.memKib >> (XC_PAGE_SHIFT - 10);
  dom->mmio_size = (1ull << 32) - mmioStart;
  dom->mmio_start = mmioStart;
  dom->lowmem_end = layout.lowmemEnd;
  dom->highmem_end = layout.highmemEnd;
  dom->vga_hole_size = pvh ? 0 : kVgaHolePages;
  dom->device_model = !pvh;  // HVM: set up the ioreq pages the device model will use

  // Read by xc_dom_boot_image (PVH start info), so it lives as long as the image.
  std::vector<e820entry> e820;
  auto setMemoryMap = [&]() -> Status {
    XVIRT_ASSIGN_OR_RETURN(e820, setHvmMemoryMap(domid, pvh, params.memKib));
    dom->e820 = e820.data();
    dom->e820_entries = unsigned(e820.size());
    return okStatus();
  };
  return runBuilder(domid, dom.get(), params.memKib, setMemoryMap);
}

// RAM below the MMIO hole, the rest above 4 GiB, as libxl__build_hvm lays it out.
XenctrlHypervisor::RamLayout XenctrlHypervisor::hvmRamLayout(bool pvh, uint64_t memKib) {
  const uint64_t mmioStart = mmioStartOf(pvh);
  RamLayout layout{memKib << 10, 0};
  if (layout.lowmemEnd > mmioStart) {
    layout.highmemEnd = (1ull << 32) + (layout.lowmemEnd - mmioStart);
    layout.lowmemEnd = mmioStart;
  }
  return layout;
}

Result<std::vector<e820entry>> XenctrlHypervisor::setHvmMemoryMap(DomId domid, bool pvh, uint64_t memKib) {
  const RamLayout layout = hvmRamLayout(pvh, memKib);
  std::vector<e820entry> e820 = hvmMemoryMap(pvh, layout.lowmemEnd, layout.highmemEnd);
  if (xc_domain_set_memory_map(xch_.get(), domid, e820.data(), uint32_t(e820.size())) != 0)
    return builderError(xch_.get(), domid, "xc_domain_set_memory_map", errno);
  std::lock_guard lock(mu_);
  ramLayout_[domid] = layout;
  return e820;
}

}  // namespace xvirt::hv::xen
