// XenctrlHypervisor: host info, domain creation, lifecycle, domain/vCPU info and affinity.
// Building, guest memory, console and save/restore live in the other files of this folder.
#include "hypervisor/xen/XenctrlHypervisor.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "hypervisor/Backend.h"
#include "hypervisor/xen/XenCompat.h"
#include "hypervisor/xen/XenctrlBackend.h"

namespace xvirt::hv {

Result<std::unique_ptr<Hypervisor>> openXenctrlHypervisor() {
  using namespace xen;
  // A null logger makes libxc log to stderr, which is the helper's and xvirtd's log file.
  XcInterfacePtr xch(xc_interface_open(nullptr, nullptr, 0));
  if (!xch) {
    int err = errno;
    return makeError(ErrorCode::OperationFailed,
                     std::string("Cannot open the Xen control interface (is this a Xen dom0, running as root?): ") +
                         std::strerror(err) + ".");
  }
  ForeignMemoryPtr fmem(xenforeignmemory_open(nullptr, 0));
  if (!fmem) {
    int err = errno;
    return makeError(ErrorCode::OperationFailed,
                     std::string("Cannot open Xen's foreign memory interface: ") + std::strerror(err) + ".");
  }
  xc_physinfo_t phys{};
  if (xc_physinfo(xch.get(), &phys) != 0) {
    int err = errno;
    return makeError(ErrorCode::OperationFailed,
                     std::string("Cannot read the Xen host's physical information: ") + std::strerror(err) + ".");
  }
  return std::unique_ptr<Hypervisor>(new XenctrlHypervisor(std::move(xch), std::move(fmem), phys));
}

namespace xen {

Error domainCallError(DomId domid, const char* doing, int err) {
  if (err == ESRCH)
    return makeError(ErrorCode::NoDomain, "Domain " + std::to_string(domid) + " does not exist.");
  return Error{ErrorCode::OperationFailed,
               std::string("Xen failed to ") + doing + " domain " + std::to_string(domid) + ": " +
                   std::strerror(err) + ".",
               err};
}

std::string xcFailureReason(xc_interface* xch, int err) {
  const xc_error* last = xc_get_last_error(xch);
  std::string why = (last && last->message[0]) ? std::string(last->message) : std::string(std::strerror(err));
  while (!why.empty() && (why.back() == '\n' || why.back() == '.' || why.back() == ' ')) why.pop_back();
  return why;
}

namespace {

constexpr uint64_t kPageKib = XC_PAGE_SIZE / 1024;

DomainKind kindOf(const xc_domaininfo_t& info) {
  if (!(info.flags & XEN_DOMINF_hvm_guest)) return DomainKind::PV;
  // PVH is an HVM container whose only emulated device is the local APIC (see createDomain).
  return info.arch_config.emulation_flags == XEN_X86_EMU_LAPIC ? DomainKind::PVH : DomainKind::HVM;
}

DomainInfo toDomainInfo(const xc_domaininfo_t& raw) {
  DomainInfo d;
  d.domid = raw.domain;
  static_assert(sizeof(raw.handle) == sizeof(d.uuid.bytes));
  std::memcpy(d.uuid.bytes.data(), raw.handle, sizeof(raw.handle));
  d.kind = kindOf(raw);
  d.dying = raw.flags & XEN_DOMINF_dying;
  d.shutdown = raw.flags & XEN_DOMINF_shutdown;
  d.paused = raw.flags & XEN_DOMINF_paused;
  d.blocked = raw.flags & XEN_DOMINF_blocked;
  d.running = raw.flags & XEN_DOMINF_running;
  d.shutdownReason =
      ShutdownReason((raw.flags >> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask);
  d.memKib = raw.tot_pages * kPageKib;
  d.maxMemKib = raw.max_pages * kPageKib;
  d.nrOnlineVcpus = raw.nr_online_vcpus;
  d.maxVcpuId = raw.max_vcpu_id == XEN_INVALID_MAX_VCPU_ID ? 0 : raw.max_vcpu_id;
  d.cpuTimeNs = raw.cpu_time;
  return d;
}

}  // namespace

XenctrlHypervisor::XenctrlHypervisor(XcInterfacePtr xch, ForeignMemoryPtr fmem, const xc_physinfo_t& phys)
    : xch_(std::move(xch)), fmem_(std::move(fmem)), nrCpus_(phys.nr_cpus) {
  // Xen 4.17 refuses a domain without a maximum grant table version; libxl picks 2 when offered.
  grantVersion_ = (phys.capabilities & XEN_SYSCTL_PHYSCAP_gnttab_v2) ? 2 : 1;
}

Result<PhysInfo> XenctrlHypervisor::physInfo() {
  xc_physinfo_t phys{};
  if (xc_physinfo(xch_.get(), &phys) != 0) {
    int err = errno;
    return Error::system("xc_physinfo failed", err);
  }
  PhysInfo p;
  p.nrCpus = phys.nr_cpus;
  p.threadsPerCore = phys.threads_per_core;
  p.coresPerSocket = phys.cores_per_socket;
  p.nrNodes = phys.nr_nodes;
  p.cpuKhz = phys.cpu_khz;
  p.totalKib = phys.total_pages * kPageKib;
  p.freeKib = phys.free_pages * kPageKib;

  int v = xc_version(xch_.get(), XENVER_version, nullptr);
  if (v < 0) {
    int err = errno;
    return Error::system("xc_version(XENVER_version) failed", err);
  }
  p.versionMajor = unsigned(v) >> 16;
  p.versionMinor = unsigned(v) & 0xffff;
  xen_extraversion_t extra{};
  if (xc_version(xch_.get(), XENVER_extraversion, &extra) < 0) {
    int err = errno;
    return Error::system("xc_version(XENVER_extraversion) failed", err);
  }
  p.extraVersion.assign(extra, strnlen(extra, sizeof(extra)));
  xen_capabilities_info_t caps{};
  if (xc_version(xch_.get(), XENVER_capabilities, &caps) < 0) {
    int err = errno;
    return Error::system("xc_version(XENVER_capabilities) failed", err);
  }
  p.xenCaps.assign(caps, strnlen(caps, sizeof(caps)));

  if (phys.capabilities & XEN_SYSCTL_PHYSCAP_pv) p.capabilities.push_back("pv");
  if (phys.capabilities & XEN_SYSCTL_PHYSCAP_hvm) p.capabilities.push_back("hvm");
  if (phys.capabilities & XEN_SYSCTL_PHYSCAP_hap) p.capabilities.push_back("hap");
  // PVH guests run in an HVM container, so every HVM-capable host can run them.
  if (phys.capabilities & XEN_SYSCTL_PHYSCAP_hvm) p.capabilities.push_back("pvh");
  return p;
}

Result<std::vector<uint64_t>> XenctrlHypervisor::pcpuIdleNs() {
  // As xl/xenpm do: ask for as many CPUs as physinfo counts; Xen fills min(max_cpus, nr_cpu_ids)
  // entries and says how many in nr_cpus (offline CPUs read 0).
  xc_physinfo_t phys{};
  if (xc_physinfo(xch_.get(), &phys) != 0) {
    int err = errno;
    return Error::system("xc_physinfo failed", err);
  }
  int maxCpus = static_cast<int>(std::max<uint32_t>(phys.max_cpu_id + 1, phys.nr_cpus));
  std::vector<xc_cpuinfo_t> info(static_cast<size_t>(maxCpus));
  int nr = 0;
  if (xc_getcpuinfo(xch_.get(), maxCpus, info.data(), &nr) != 0) {
    int err = errno;
    return Error::system("xc_getcpuinfo failed", err);
  }
  std::vector<uint64_t> idle;
  for (int i = 0; i < nr && i < maxCpus; ++i) idle.push_back(info[static_cast<size_t>(i)].idletime);
  return idle;
}

Result<std::vector<NodeMemory>> XenctrlHypervisor::nodeMemory() {
  // xc_numainfo takes both arrays or neither: first the node count, then meminfo and the
  // nodes x nodes distance matrix libxl_get_numainfo also fetches.
  unsigned nodes = 0;
  if (xc_numainfo(xch_.get(), &nodes, nullptr, nullptr) != 0) {
    int err = errno;
    return Error::system("xc_numainfo failed", err);
  }
  if (nodes == 0) return std::vector<NodeMemory>{};
  std::vector<xc_meminfo_t> mem(nodes);
  std::vector<uint32_t> distance(size_t(nodes) * nodes);
  unsigned got = nodes;
  if (xc_numainfo(xch_.get(), &got, mem.data(), distance.data()) != 0) {
    int err = errno;
    return Error::system("xc_numainfo failed", err);
  }
  std::vector<NodeMemory> out;
  for (unsigned i = 0; i < got && i < nodes; ++i) {
    NodeMemory n;
    if (mem[i].memsize != XEN_INVALID_MEM_SZ) {  // Xen counts bytes
      n.totalKib = mem[i].memsize / 1024;
      n.freeKib = mem[i].memfree / 1024;
    }
    out.push_back(n);
  }
  return out;
}

Result<DomId> XenctrlHypervisor::createDomain(const CreateParams& params) {
  if (params.maxVcpus == 0)
    return makeError(ErrorCode::InvalidArgument, "A domain needs at least one vCPU.");
  xen_domctl_createdomain cfg{};
  cfg.ssidref = 0;  // no XSM/Flask label
  static_assert(sizeof(cfg.handle) == sizeof(params.uuid.bytes));
  std::memcpy(cfg.handle, params.uuid.bytes.data(), sizeof(cfg.handle));
  cfg.max_vcpus = params.maxVcpus;
  // libxl's defaults for a guest: 1023 event channels, 64 grant frames, 1024 maptrack frames.
  cfg.max_evtchn_port = 1023;
  cfg.max_grant_frames = 64;
  cfg.max_maptrack_frames = 1024;
  cfg.grant_opts = XEN_DOMCTL_GRANT_version(grantVersion_);
  switch (params.kind) {
    case DomainKind::PV:
      cfg.flags = 0;
      cfg.arch.emulation_flags = 0;
      break;
    case DomainKind::HVM:
      cfg.flags = XEN_DOMCTL_CDF_hvm | (params.hap ? XEN_DOMCTL_CDF_hap : 0);
      // Xen accepts exactly "everything but vPCI" for an HVM domU (vPCI is for a PVH dom0).
      cfg.arch.emulation_flags = XEN_X86_EMU_ALL & ~XEN_X86_EMU_VPCI;
      break;
    case DomainKind::PVH:
      cfg.flags = XEN_DOMCTL_CDF_hvm | (params.hap ? XEN_DOMCTL_CDF_hap : 0);
      cfg.arch.emulation_flags = XEN_X86_EMU_LAPIC;
      break;
  }
  uint32_t domid = 0;  // 0 asks Xen to allocate the next free id
  if (xc_domain_create(xch_.get(), &domid, &cfg) != 0) {
    int err = errno;
    if (err == EEXIST)
      return makeError(ErrorCode::DomainExists, "Xen refused to create the domain: its id is already in use.");
    return Error{ErrorCode::OperationFailed,
                 std::string("Xen failed to create a domain with ") + std::to_string(params.maxVcpus) +
                     " vCPUs: " + std::strerror(err) + ".",
                 err};
  }
  // Xen 4.17 still allocates the vCPUs themselves only on XEN_DOMCTL_max_vcpus, with the count given
  // at creation (domctl.h); without it the domain has none and building fails in SETVCPUCONTEXT.
  // libxl makes the same call in libxl__build_pre.
  if (xc_domain_max_vcpus(xch_.get(), domid, params.maxVcpus) != 0) {
    int err = errno;
    (void)xc_domain_destroy(xch_.get(), domid);
    return Error{ErrorCode::OperationFailed,
                 "Xen failed to allocate " + std::to_string(params.maxVcpus) + " vCPUs for domain " +
                     std::to_string(domid) + ": " + std::strerror(err) + ".",
                 err};
  }
  return DomId(domid);
}

Status XenctrlHypervisor::setMaxMemory(DomId domid, uint64_t kib) {
  if (xc_domain_setmaxmem(xch_.get(), domid, kib) != 0) {
    int err = errno;
    return domainCallError(domid, "set the maximum memory of", err);
  }
  return okStatus();
}

Status XenctrlHypervisor::setMaxVcpus(DomId domid, unsigned n) {
  // Since Xen 4.12 the vCPU count is fixed by XEN_DOMCTL_createdomain (max_vcpus) and
  // XEN_DOMCTL_max_vcpus is gone; which vCPUs are online is the guest's business (xenstore
  // cpu/N/availability). So this only checks that the domain can have n vCPUs.
  XVIRT_ASSIGN_OR_RETURN(xc_domaininfo_t info, rawInfo(domid));
  unsigned created = info.max_vcpu_id == XEN_INVALID_MAX_VCPU_ID ? 0 : info.max_vcpu_id + 1;
  if (n == 0 || n > created)
    return makeError(ErrorCode::OperationInvalid,
                     "Domain " + std::to_string(domid) + " was created with " + std::to_string(created) +
                         " vCPUs and Xen fixes that number at creation, so it cannot have " +
                         std::to_string(n) + ".");
  return okStatus();
}

Status XenctrlHypervisor::pause(DomId domid) {
  if (xc_domain_pause(xch_.get(), domid) != 0) {
    int err = errno;
    return domainCallError(domid, "pause", err);
  }
  return okStatus();
}

Status XenctrlHypervisor::unpause(DomId domid) {
  if (xc_domain_unpause(xch_.get(), domid) != 0) {
    int err = errno;
    return domainCallError(domid, "unpause", err);
  }
  return okStatus();
}

Status XenctrlHypervisor::shutdown(DomId domid, ShutdownReason reason) {
  // SCHEDOP_remote_shutdown: marks the domain shut down with this reason, as the guest itself would.
  if (xc_domain_shutdown(xch_.get(), domid, int(reason)) != 0) {
    int err = errno;
    return domainCallError(domid, "shut down", err);
  }
  return okStatus();
}

Status XenctrlHypervisor::resumeSuspended(DomId domid) {
  XVIRT_ASSIGN_OR_RETURN(xc_domaininfo_t info, rawInfo(domid));
  unsigned reason = (info.flags >> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask;
  if (!(info.flags & XEN_DOMINF_shutdown) || reason != SHUTDOWN_suspend)
    return makeError(ErrorCode::OperationInvalid, "Domain " + std::to_string(domid) + " is not suspended.");
  // fast = 1: the cooperative resume libxl uses after a save or a cancelled checkpoint. libxenguest
  // sets the return value of the guest's SCHEDOP_shutdown(suspend) to 1 ("cancelled"), then
  // XEN_DOMCTL_resumedomain clears the shutdown; the guest continues where it was, no new start info.
  if (xc_domain_resume(xch_.get(), domid, 1) != 0) {
    int err = errno;
    return domainCallError(domid, "resume", err);
  }
  return okStatus();
}

Status XenctrlHypervisor::destroy(DomId domid) {
  if (domid == 0)
    return makeError(ErrorCode::OperationInvalid, "Domain 0 cannot be destroyed.");
  if (xc_domain_destroy(xch_.get(), domid) != 0) {
    int err = errno;
    return domainCallError(domid, "destroy", err);
  }
  std::lock_guard lock(mu_);
  pvP2m_.erase(domid);
  ramLayout_.erase(domid);
  return okStatus();
}

Result<xc_domaininfo_t> XenctrlHypervisor::rawInfo(DomId domid) {
  xc_domaininfo_t info{};
  if (getDomainInfoSingle(xch_.get(), domid, &info) != 0) {
    int err = errno;
    return domainCallError(domid, "read information on", err);
  }
  return info;
}

Result<std::vector<DomainInfo>> XenctrlHypervisor::listDomains() {
  std::vector<DomainInfo> out;
  std::vector<xc_domaininfo_t> batch(256);
  uint32_t next = 0;
  for (;;) {
    int n = xc_domain_getinfolist(xch_.get(), next, unsigned(batch.size()), batch.data());
    if (n < 0) {
      int err = errno;
      return Error::system("xc_domain_getinfolist failed", err);
    }
    for (int i = 0; i < n; ++i) out.push_back(toDomainInfo(batch[i]));
    if (size_t(n) < batch.size()) break;
    next = batch[n - 1].domain + 1u;
  }
  return out;
}

Result<DomainInfo> XenctrlHypervisor::domainInfo(DomId domid) {
  XVIRT_ASSIGN_OR_RETURN(xc_domaininfo_t raw, rawInfo(domid));
  return toDomainInfo(raw);
}

Result<VcpuInfo> XenctrlHypervisor::vcpuInfo(DomId domid, unsigned vcpu) {
  xc_vcpuinfo_t raw{};
  if (xc_vcpu_getinfo(xch_.get(), domid, vcpu, &raw) != 0) {
    int err = errno;
    if (err == EINVAL || err == ENOENT)
      return makeError(ErrorCode::InvalidArgument,
                       "Domain " + std::to_string(domid) + " has no vCPU " + std::to_string(vcpu) + ".");
    return domainCallError(domid, "read vCPU information of", err);
  }
  VcpuInfo v;
  v.vcpu = vcpu;
  v.online = raw.online;
  v.running = raw.running;
  v.blocked = raw.blocked;
  v.cpuTimeNs = raw.cpu_time;
  v.cpu = raw.online ? int(raw.cpu) : -1;
  return v;
}

namespace {

// Both maps have room for every CPU Xen can name (xc_get_cpumap_size), not only nrCpus.
struct CpuMapPair {
  CpuMapBufPtr hard;
  CpuMapBufPtr soft;
  int bytes = 0;
};

Result<CpuMapPair> allocCpuMaps(xc_interface* xch) {
  CpuMapPair p;
  p.bytes = xc_get_cpumap_size(xch);
  p.hard.reset(xc_cpumap_alloc(xch));
  p.soft.reset(xc_cpumap_alloc(xch));
  if (p.bytes <= 0 || !p.hard || !p.soft) {
    int err = errno ? errno : ENOMEM;
    return Error::system("Cannot allocate a Xen CPU map", err);
  }
  return p;
}

}  // namespace

Status XenctrlHypervisor::setVcpuAffinity(DomId domid, unsigned vcpu, const CpuMap& hard) {
  XVIRT_ASSIGN_OR_RETURN(CpuMapPair maps, allocCpuMaps(xch_.get()));
  bool any = false;
  for (size_t cpu = 0; cpu < hard.size(); ++cpu) {
    if (!hard[cpu]) continue;
    if (cpu / 8 >= size_t(maps.bytes))
      return makeError(ErrorCode::InvalidArgument,
                       "CPU " + std::to_string(cpu) + " does not exist on this Xen host.");
    maps.hard.get()[cpu / 8] |= uint8_t(1u << (cpu % 8));
    any = true;
  }
  if (!any) return makeError(ErrorCode::InvalidArgument, "A vCPU's affinity must name at least one CPU.");
  // Soft affinity is left alone; libxc still wants a buffer for it.
  if (xc_vcpu_setaffinity(xch_.get(), domid, int(vcpu), maps.hard.get(), maps.soft.get(),
                          XEN_VCPUAFFINITY_HARD) != 0) {
    int err = errno;
    if (err == EINVAL)
      return makeError(ErrorCode::InvalidArgument,
                       "Xen refused the affinity " + formatCpuMap(hard) + " for vCPU " + std::to_string(vcpu) +
                           " of domain " + std::to_string(domid) + ".");
    return domainCallError(domid, "set the vCPU affinity of", err);
  }
  return okStatus();
}

Result<CpuMap> XenctrlHypervisor::vcpuAffinity(DomId domid, unsigned vcpu) {
  XVIRT_ASSIGN_OR_RETURN(CpuMapPair maps, allocCpuMaps(xch_.get()));
  if (xc_vcpu_getaffinity(xch_.get(), domid, int(vcpu), maps.hard.get(), maps.soft.get(),
                          XEN_VCPUAFFINITY_HARD) != 0) {
    int err = errno;
    if (err == EINVAL || err == ENOENT)
      return makeError(ErrorCode::InvalidArgument,
                       "Domain " + std::to_string(domid) + " has no vCPU " + std::to_string(vcpu) + ".");
    return domainCallError(domid, "read the vCPU affinity of", err);
  }
  CpuMap map(nrCpus_, false);
  for (unsigned cpu = 0; cpu < nrCpus_ && cpu / 8 < unsigned(maps.bytes); ++cpu)
    map[cpu] = maps.hard.get()[cpu / 8] & (1u << (cpu % 8));
  return map;
}

}  // namespace xen
}  // namespace xvirt::hv

extern "C" void xvirt_open_xen_hypervisor(xvirt::Result<std::unique_ptr<xvirt::hv::Hypervisor>>* out) {
  *out = xvirt::hv::openXenctrlHypervisor();
}
