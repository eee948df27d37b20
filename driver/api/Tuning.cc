// Handlers for vCPU information and pinning, vCPU counts and memory sizes. vCPU state, CPU time and
// affinity of a running guest come straight from the hypervisor (hypercalls on Xen), never from its
// helper; changes to definitions go through DomainManager::modifyDefinitions (one job, atomic save).
#include <algorithm>

#include "domain-xml/DomainXmlValues.h"
#include "driver/LibvirtRules.h"
#include "driver/api/Handlers.h"
#include "driver/api/TuningSupport.h"
#include "driver/monitor/HelperClient.h"

namespace xvirt::driver {

namespace tuning {

Result<bool> readsLive(const DomainDefinitions& defs, uint32_t flags) {
  return rules::resolveAffectRead(flags, defs.active() && defs.live.has_value(), defs.persistent.has_value());
}

Result<unsigned> hostCpuCount(DriverContext& ctx) {
  XVIRT_ASSIGN_OR_RETURN(hv::PhysInfo info, ctx.physInfo());
  return info.nrCpus;
}

Result<std::vector<bool>> configuredAffinity(const dom::DomainDef& def, unsigned vcpu, unsigned nrCpus) {
  std::string text = def.vcpu.cpuset;
  for (const auto& pin : def.vcpupins)
    if (pin.vcpu == vcpu) text = pin.cpuset;  // vcpupin wins over <vcpu cpuset>, as in libvirt
  std::vector<bool> map(nrCpus, text.empty());
  if (text.empty()) return map;
  XVIRT_ASSIGN_OR_RETURN(std::vector<unsigned> cpus, dom::parseCpuset(text, "the vCPU " + std::to_string(vcpu) + " pinning"));
  for (unsigned cpu : cpus)
    if (cpu < nrCpus) map[cpu] = true;
  return map;
}

void appendCpuMap(std::vector<uint8_t>& out, const std::vector<bool>& cpus, int32_t maplen) {
  size_t base = out.size();
  out.resize(base + static_cast<size_t>(maplen), 0);
  for (size_t cpu = 0; cpu < cpus.size() && cpu / 8 < static_cast<size_t>(maplen); ++cpu)
    if (cpus[cpu]) out[base + cpu / 8] |= static_cast<uint8_t>(1u << (cpu % 8));
}

}  // namespace tuning

namespace {

using Dom = DomainRef;
using namespace tuning;
using flags::kMemMaximum, flags::kVcpuGuest, flags::kVcpuHotpluggable, flags::kVcpuMaximum;
using limits::kCpuMapMax, limits::kCpuMapsMax, limits::kVcpuInfoMax;

// libvirt's virVcpuState.
int32_t vcpuState(const hv::VcpuInfo& v) { return !v.online ? 0 : v.running ? 1 : 2; }

Status checkMapArgs(int32_t count, int32_t maplen, const char* countName) {
  if (count < 0 || count > kVcpuInfoMax)
    return makeError(ErrorCode::InvalidArgument, std::string("The ") + countName + " must be between 0 and 16384.");
  if (maplen < 0 || int64_t(count) * maplen > kCpuMapsMax)
    return makeError(ErrorCode::InvalidArgument, "The cpumap length " + std::to_string(maplen) + " is out of range.");
  return okStatus();
}

struct VcpuReport {
  std::vector<hv::VcpuInfo> info;
  std::vector<hv::CpuMap> affinity;
};

Result<VcpuReport> liveVcpus(DriverContext& ctx, int domid, unsigned limit, bool wantAffinity) {
  return ctx.withHypervisor([&](hv::Hypervisor& h) -> Result<VcpuReport> {
    auto id = static_cast<hv::DomId>(domid);
    XVIRT_ASSIGN_OR_RETURN(hv::DomainInfo info, h.domainInfo(id));
    VcpuReport r;
    unsigned n = std::min(limit, info.maxVcpuId + 1);
    for (unsigned v = 0; v < n; ++v) {
      XVIRT_ASSIGN_OR_RETURN(hv::VcpuInfo vi, h.vcpuInfo(id, v));
      r.info.push_back(vi);
      if (wantAffinity) {
        XVIRT_ASSIGN_OR_RETURN(hv::CpuMap map, h.vcpuAffinity(id, v));
        r.affinity.push_back(std::move(map));
      }
    }
    return r;
  });
}

void setPin(dom::DomainDef& def, unsigned vcpu, const std::string& cpuset) {
  auto it = std::find_if(def.vcpupins.begin(), def.vcpupins.end(), [&](const dom::VcpuPin& p) { return p.vcpu == vcpu; });
  if (it != def.vcpupins.end()) {
    it->cpuset = cpuset;
    return;
  }
  def.vcpupins.push_back({vcpu, cpuset});
  std::sort(def.vcpupins.begin(), def.vcpupins.end(), [](const auto& a, const auto& b) { return a.vcpu < b.vcpu; });
}

Status pinVcpu(Call& c, const Dom& d, uint32_t vcpu, const std::vector<uint8_t>& cpumap, uint32_t flags) {
  XVIRT_TRY(rules::checkFlags(flags, affect::kAll, "virDomainPinVcpuFlags"));
  XVIRT_ASSIGN_OR_RETURN(unsigned nrCpus, hostCpuCount(c.ctx));
  hv::CpuMap map(nrCpus, false);
  std::vector<unsigned> cpus;
  for (unsigned cpu = 0; cpu < nrCpus && cpu / 8 < cpumap.size(); ++cpu)
    if (cpumap[cpu / 8] & (1u << (cpu % 8))) {
      map[cpu] = true;
      cpus.push_back(cpu);
    }
  if (cpus.empty())
    return makeError(ErrorCode::InvalidArgument, "The CPU map for vCPU " + std::to_string(vcpu) + " of domain '" + d.name +
                                                     "' names none of this host's " + std::to_string(nrCpus) + " CPUs.");
  const std::string cpuset = dom::formatCpuset(cpus);
  return c.ctx.domains.modifyDefinitions(d, flags, "pinVcpu", [&](dom::DomainDef& def, bool live, int domid) -> Status {
    if (vcpu >= def.vcpu.max)
      return makeError(ErrorCode::InvalidArgument, "Domain '" + d.name + "' has no vCPU " + std::to_string(vcpu) +
                                                       "; its vCPUs are 0 to " + std::to_string(def.vcpu.max - 1) + ".");
    if (live) {
      XVIRT_TRY(c.ctx.withHypervisor(
          [&](hv::Hypervisor& h) { return h.setVcpuAffinity(static_cast<hv::DomId>(domid), vcpu, map); }));
    }
    setPin(def, vcpu, cpuset);
    return okStatus();
  });
}

Status setVcpus(Call& c, const Dom& d, uint32_t n, uint32_t flags) {
  XVIRT_TRY(rules::checkFlags(flags, affect::kAll | kVcpuMaximum | kVcpuGuest | kVcpuHotpluggable,
                              "virDomainSetVcpusFlags"));
  if (flags & kVcpuGuest)
    return makeError(ErrorCode::NoSupport, "Setting the vCPUs of domain '" + d.name +
                                               "' through a guest agent is not supported: xvirt guests have no agent channel.");
  if (n == 0 || n > static_cast<uint32_t>(limits::kMaxVcpus))
    return makeError(ErrorCode::InvalidArgument, "Domain '" + d.name + "' cannot have " + std::to_string(n) +
                                                     " vCPUs; the number must be between 1 and 128.");
  const bool maximum = flags & kVcpuMaximum;
  return c.ctx.domains.modifyDefinitions(d, flags & affect::kAll, "setVcpus",
                                         [&](dom::DomainDef& def, bool live, int) -> Status {
    if (live && maximum)
      return makeError(ErrorCode::OperationInvalid,
                       "The maximum number of vCPUs of running domain '" + d.name + "' cannot change.");
    if (maximum) {
      unsigned online = std::min(onlineVcpus(def), n);
      def.vcpu.max = n;
      def.vcpu.current = online == n ? std::nullopt : std::optional<unsigned>(online);
      std::erase_if(def.vcpupins, [&](const dom::VcpuPin& p) { return p.vcpu >= n; });
      return okStatus();
    }
    if (n > def.vcpu.max)
      return makeError(ErrorCode::InvalidArgument, "Domain '" + d.name + "' can have at most " +
                                                       std::to_string(def.vcpu.max) + " vCPUs online, not " +
                                                       std::to_string(n) + "; raise its maximum first.");
    // Live: the guest brings vCPUs on and off line through cpu/N/availability (its helper's set-vcpus).
    if (live) XVIRT_TRY(c.ctx.domains.helperCall(d, [&](HelperClient& h) { return h.setVcpus(n); }));
    def.vcpu.current = n == def.vcpu.max ? std::nullopt : std::optional<unsigned>(n);
    return okStatus();
  });
}

Status setMemory(Call& c, const Dom& d, uint64_t kib, uint32_t flags) {
  XVIRT_TRY(rules::checkFlags(flags, affect::kAll | kMemMaximum, "virDomainSetMemoryFlags"));
  if (kib == 0)
    return makeError(ErrorCode::InvalidArgument, "Domain '" + d.name + "' cannot be given 0 KiB of memory.");
  const bool maximum = flags & kMemMaximum;
  return c.ctx.domains.modifyDefinitions(d, flags & affect::kAll, "setMemory",
                                         [&](dom::DomainDef& def, bool live, int) -> Status {
    // As libvirt's libxl driver: the maximum of a running Xen guest is fixed at its build.
    if (live && maximum)
      return makeError(ErrorCode::OperationInvalid,
                       "Cannot resize the maximum memory of running domain '" + d.name + "'; use --config.");
    if (maximum) {
      uint64_t current = def.currentMemoryKib ? def.currentMemoryKib : def.memoryKib;  // 0: same as <memory>
      def.memoryKib = kib;
      def.currentMemoryKib = std::min(current, kib);
      return okStatus();
    }
    if (kib > def.memoryKib)
      return makeError(ErrorCode::InvalidArgument, "Domain '" + d.name + "' cannot have " + std::to_string(kib) +
                                                       " KiB of memory, more than its maximum of " +
                                                       std::to_string(def.memoryKib) + " KiB.");
    if (live) XVIRT_TRY(c.ctx.domains.helperCall(d, [&](HelperClient& h) { return h.balloon(kib * 1024); }));
    def.currentMemoryKib = kib;
    return okStatus();
  });
}

}  // namespace

namespace api {

// --- vCPU information and pinning ---

Status domainGetVcpus(Call& c) {
  Dom d = Dom::decode(c.args);
  int32_t maxinfo = c.args.i32();
  int32_t maplen = c.args.i32();
  XVIRT_TRY(c.args.finish());
  XVIRT_TRY(checkMapArgs(maxinfo, maplen, "number of vCPUs asked for"));
  XVIRT_ASSIGN_OR_RETURN(DomainDefinitions defs, c.ctx.domains.definitions(d));
  XVIRT_TRY(rules::requireActive(defs.active()));
  XVIRT_ASSIGN_OR_RETURN(VcpuReport r, liveVcpus(c.ctx, defs.ref.id, static_cast<unsigned>(maxinfo), maplen > 0));
  c.ret.u32(static_cast<uint32_t>(r.info.size()));
  for (const auto& v : r.info) {
    c.ret.u32(v.vcpu);
    c.ret.i32(vcpuState(v));
    c.ret.u64(v.cpuTimeNs);
    c.ret.i32(v.cpu);
  }
  // Like libvirtd: maxinfo maps of maplen bytes, the ones past the last vCPU left empty.
  std::vector<uint8_t> maps;
  if (maplen > 0) {
    for (const auto& a : r.affinity) appendCpuMap(maps, a, maplen);
    maps.resize(static_cast<size_t>(maxinfo) * static_cast<size_t>(maplen), 0);
  }
  c.ret.opaque(maps);
  return okStatus();
}

Status domainGetVcpuPinInfo(Call& c) {
  Dom d = Dom::decode(c.args);
  int32_t ncpumaps = c.args.i32();
  int32_t maplen = c.args.i32();
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  XVIRT_TRY(rules::checkFlags(flags, affect::kAll, "virDomainGetVcpuPinInfo"));
  XVIRT_TRY(checkMapArgs(ncpumaps, maplen, "number of cpumaps"));
  XVIRT_ASSIGN_OR_RETURN(DomainDefinitions defs, c.ctx.domains.definitions(d));
  XVIRT_ASSIGN_OR_RETURN(bool live, readsLive(defs, flags));
  const dom::DomainDef& def = live ? *defs.live : *defs.persistent;
  unsigned n = std::min(static_cast<unsigned>(ncpumaps), def.vcpu.max);
  std::vector<uint8_t> maps;
  if (live) {
    XVIRT_ASSIGN_OR_RETURN(VcpuReport r, liveVcpus(c.ctx, defs.ref.id, n, true));
    n = static_cast<unsigned>(r.affinity.size());
    for (const auto& a : r.affinity) appendCpuMap(maps, a, maplen);
  } else {
    XVIRT_ASSIGN_OR_RETURN(unsigned nrCpus, hostCpuCount(c.ctx));
    for (unsigned v = 0; v < n; ++v) {
      XVIRT_ASSIGN_OR_RETURN(std::vector<bool> a, configuredAffinity(def, v, nrCpus));
      appendCpuMap(maps, a, maplen);
    }
  }
  maps.resize(static_cast<size_t>(ncpumaps) * static_cast<size_t>(maplen), 0);
  c.ret.opaque(maps);
  c.ret.i32(static_cast<int32_t>(n));
  return okStatus();
}

Status domainPinVcpu(Call& c) {
  Dom d = Dom::decode(c.args);
  uint32_t vcpu = c.args.u32();
  std::vector<uint8_t> cpumap = c.args.opaque(kCpuMapMax, "cpumap");
  XVIRT_TRY(c.args.finish());
  return pinVcpu(c, d, vcpu, cpumap, affect::kLive);  // virDomainPinVcpu acts on the running guest
}

Status domainPinVcpuFlags(Call& c) {
  Dom d = Dom::decode(c.args);
  uint32_t vcpu = c.args.u32();
  std::vector<uint8_t> cpumap = c.args.opaque(kCpuMapMax, "cpumap");
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  return pinVcpu(c, d, vcpu, cpumap, flags);
}

// --- vCPU counts ---

Status domainGetVcpusFlags(Call& c) {
  Dom d = Dom::decode(c.args);
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  XVIRT_TRY(rules::checkFlags(flags, affect::kAll | kVcpuMaximum | kVcpuGuest, "virDomainGetVcpusFlags"));
  if (flags & kVcpuGuest)
    return makeError(ErrorCode::NoSupport, "Asking the guest agent of domain '" + d.name +
                                               "' for its vCPUs is not supported: xvirt guests have no agent channel.");
  XVIRT_ASSIGN_OR_RETURN(DomainDefinitions defs, c.ctx.domains.definitions(d));
  XVIRT_ASSIGN_OR_RETURN(bool live, readsLive(defs, flags));
  const dom::DomainDef& def = live ? *defs.live : *defs.persistent;
  unsigned n = (flags & kVcpuMaximum) ? def.vcpu.max : onlineVcpus(def);
  if (live && !(flags & kVcpuMaximum)) {
    auto info = c.ctx.withHypervisor([&](hv::Hypervisor& h) { return h.domainInfo(static_cast<hv::DomId>(defs.ref.id)); });
    if (info.ok() && info->nrOnlineVcpus) n = info->nrOnlineVcpus;
  }
  c.ret.i32(static_cast<int32_t>(n));
  return okStatus();
}

Status domainGetMaxVcpus(Call& c) {
  Dom d = Dom::decode(c.args);
  XVIRT_TRY(c.args.finish());
  XVIRT_ASSIGN_OR_RETURN(DomainDefinitions defs, c.ctx.domains.definitions(d));
  XVIRT_ASSIGN_OR_RETURN(bool live, readsLive(defs, 0));
  c.ret.i32(static_cast<int32_t>((live ? *defs.live : *defs.persistent).vcpu.max));
  return okStatus();
}

Status domainSetVcpus(Call& c) {
  Dom d = Dom::decode(c.args);
  uint32_t n = c.args.u32();
  XVIRT_TRY(c.args.finish());
  return setVcpus(c, d, n, affect::kLive);  // virDomainSetVcpus acts on the running guest
}

Status domainSetVcpusFlags(Call& c) {
  Dom d = Dom::decode(c.args);
  uint32_t n = c.args.u32();
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  return setVcpus(c, d, n, flags);
}

// --- Memory ---

Status domainSetMemory(Call& c) {
  Dom d = Dom::decode(c.args);
  uint64_t kib = c.args.u64();
  XVIRT_TRY(c.args.finish());
  return setMemory(c, d, kib, affect::kLive);  // as libvirt's Xen driver: the running guest's balloon
}

Status domainSetMaxMemory(Call& c) {
  Dom d = Dom::decode(c.args);
  uint64_t kib = c.args.u64();
  XVIRT_TRY(c.args.finish());
  return setMemory(c, d, kib, kMemMaximum);  // current: the live maximum if running, else the config's
}

Status domainSetMemoryFlags(Call& c) {
  Dom d = Dom::decode(c.args);
  uint64_t kib = c.args.u64();
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  return setMemory(c, d, kib, flags);
}

}  // namespace api

}  // namespace xvirt::driver
