// Handlers for statistics: a domain's CPU time (total and per host CPU), its memory figures, and
// CONNECT_GET_ALL_DOMAIN_STATS (virsh domstats, virt-manager's poll). Every live figure comes from
// the hypervisor; definitions supply what a stopped domain has (sizes, counts, devices).
#include <algorithm>
#include <map>
#include <optional>

#include "driver/LibvirtRules.h"
#include "driver/api/Handlers.h"
#include "driver/api/TuningSupport.h"
#include "driver/rpc/TypedParam.h"

namespace xvirt::driver {

namespace {

using Dom = DomainRef;
using rpc::TypedParam;
using namespace tuning;
using limits::kCpuStatsNcpusMax, limits::kMemoryStatsMax, limits::kNodeCpuStatsMax;

using flags::kStatsBalloon, flags::kStatsBlock, flags::kStatsCpuTotal, flags::kStatsInterface, flags::kStatsState,
    flags::kStatsVcpu, flags::kStatsBacking, flags::kStatsEnforce, flags::kStatsListFilters, flags::kStatsNowait;
using flags::kMemStatActualBalloon, flags::kMemStatAvailable;

// The virDomainStatsTypes xvirt serves.
constexpr uint32_t kStatsSupported = kStatsState | kStatsCpuTotal | kStatsBalloon | kStatsVcpu | kStatsInterface | kStatsBlock;

struct LiveFigures {
  hv::DomainInfo info;
  std::vector<hv::VcpuInfo> vcpus;
};

// One consistent look at a running domain in the hypervisor; nullopt if it is gone.
std::optional<LiveFigures> liveFigures(DriverContext& ctx, int domid, bool withVcpus) {
  auto r = ctx.withHypervisor([&](hv::Hypervisor& h) -> Result<LiveFigures> {
    auto id = static_cast<hv::DomId>(domid);
    LiveFigures f;
    XVIRT_ASSIGN_OR_RETURN(f.info, h.domainInfo(id));
    if (withVcpus) {
      for (unsigned v = 0; v <= f.info.maxVcpuId; ++v) {
        XVIRT_ASSIGN_OR_RETURN(hv::VcpuInfo vi, h.vcpuInfo(id, v));
        f.vcpus.push_back(vi);
      }
    }
    return f;
  });
  if (!r.ok()) return std::nullopt;
  return std::move(r).value();
}

Result<DomainDefinitions> runningDefs(Call& c, const Dom& d) {
  XVIRT_ASSIGN_OR_RETURN(DomainDefinitions defs, c.ctx.domains.definitions(d));
  XVIRT_TRY(rules::requireActive(defs.active()));
  return defs;
}

std::vector<TypedParam> domainStats(DriverContext& ctx, const DomainDefinitions& defs, uint32_t stats) {
  const dom::DomainDef& def = defs.live ? *defs.live : *defs.persistent;
  std::optional<LiveFigures> live;
  if (defs.active() && (stats & (kStatsCpuTotal | kStatsBalloon | kStatsVcpu)))
    live = liveFigures(ctx, defs.ref.id, stats & kStatsVcpu);
  std::vector<TypedParam> p;
  if (stats & kStatsState) {
    p.push_back(TypedParam::makeInt("state.state", static_cast<int>(defs.state)));
    p.push_back(TypedParam::makeInt("state.reason", defs.reason));
  }
  if ((stats & kStatsCpuTotal) && live) p.push_back(TypedParam::makeULLong("cpu.time", live->info.cpuTimeNs));
  if (stats & kStatsBalloon) {
    uint64_t configured = def.currentMemoryKib ? def.currentMemoryKib : def.memoryKib;
    p.push_back(TypedParam::makeULLong("balloon.current", live ? live->info.memKib : configured));
    p.push_back(TypedParam::makeULLong("balloon.maximum", def.memoryKib));
  }
  if (stats & kStatsVcpu) {
    unsigned online = live && live->info.nrOnlineVcpus ? live->info.nrOnlineVcpus : onlineVcpus(def);
    p.push_back(TypedParam::makeUInt("vcpu.current", online));
    p.push_back(TypedParam::makeUInt("vcpu.maximum", def.vcpu.max));
    if (live) {
      for (const auto& v : live->vcpus) {
        std::string prefix = "vcpu." + std::to_string(v.vcpu) + ".";
        p.push_back(TypedParam::makeInt(prefix + "state", !v.online ? 0 : v.running ? 1 : 2));
        p.push_back(TypedParam::makeULLong(prefix + "time", v.cpuTimeNs));
      }
    }
  }
  if (stats & kStatsInterface) {
    // Counts and names only: traffic counters need the backend's statistics, which xvirtd does not read yet.
    p.push_back(TypedParam::makeUInt("net.count", static_cast<uint32_t>(def.interfaces.size())));
    for (size_t i = 0; i < def.interfaces.size(); ++i) {
      const auto& nic = def.interfaces[i];
      std::string name = !nic.target.empty() ? nic.target
                         : defs.active()     ? "vif" + std::to_string(defs.ref.id) + "." + std::to_string(i)
                                             : "";
      if (!name.empty()) p.push_back(TypedParam::makeString("net." + std::to_string(i) + ".name", name));
    }
  }
  if (stats & kStatsBlock) {
    p.push_back(TypedParam::makeUInt("block.count", static_cast<uint32_t>(def.disks.size())));
    for (size_t i = 0; i < def.disks.size(); ++i) {
      std::string prefix = "block." + std::to_string(i) + ".";
      p.push_back(TypedParam::makeString(prefix + "name", def.disks[i].targetDev));
      if (!def.disks[i].source.empty()) p.push_back(TypedParam::makeString(prefix + "path", def.disks[i].source));
    }
  }
  return p;
}

}  // namespace

namespace api {

Status domainGetCpuStats(Call& c) {
  Dom d = Dom::decode(c.args);
  uint32_t nparams = c.args.u32();
  int32_t startCpu = c.args.i32();
  uint32_t ncpus = c.args.u32();
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  XVIRT_TRY(rules::checkFlags(flags, flags::kTypedParamStringOkay, "virDomainGetCPUStats"));
  if (nparams > kNodeCpuStatsMax)
    return makeError(ErrorCode::InvalidArgument, "At most 16 CPU statistics can be asked for at once, not " +
                                                     std::to_string(nparams) + ".");
  if (ncpus > kCpuStatsNcpusMax)
    return makeError(ErrorCode::InvalidArgument, "At most 128 CPUs can be asked for at once, not " + std::to_string(ncpus) + ".");
  if (startCpu < -1 || (startCpu == -1 && ncpus != 1))
    return makeError(ErrorCode::InvalidArgument, "The totals take start_cpu -1 with ncpus 1; per-CPU figures a start_cpu from 0.");
  XVIRT_ASSIGN_OR_RETURN(DomainDefinitions defs, runningDefs(c, d));

  std::vector<TypedParam> params;
  int32_t returned = 0;
  if (startCpu == -1) {
    // Totals. Xen accounts guest time only, so there is no user/system split to report.
    auto info = c.ctx.withHypervisor([&](hv::Hypervisor& h) { return h.domainInfo(static_cast<hv::DomId>(defs.ref.id)); });
    if (!info.ok()) return info.takeError();
    params.push_back(TypedParam::makeULLong("cpu_time", info->cpuTimeNs));
    returned = nparams == 0 ? 1 : static_cast<int32_t>(std::min<size_t>(nparams, params.size()));
    params.resize(nparams == 0 ? 0 : static_cast<size_t>(returned));
  } else {
    XVIRT_ASSIGN_OR_RETURN(unsigned nrCpus, hostCpuCount(c.ctx));
    constexpr int32_t kPerCpu = 1;  // cpu_time
    if (nparams == 0) {
      c.ret.u32(0);
      c.ret.i32(ncpus == 0 ? static_cast<int32_t>(nrCpus) : kPerCpu);
      return okStatus();
    }
    if (static_cast<unsigned>(startCpu) >= nrCpus)
      return makeError(ErrorCode::InvalidArgument, "The first CPU asked for, " + std::to_string(startCpu) +
                                                       ", is beyond this host's " + std::to_string(nrCpus) + " CPUs.");
    auto live = liveFigures(c.ctx, defs.ref.id, true);
    if (!live) return makeError(ErrorCode::OperationFailed, "Domain '" + d.name + "' is gone from the hypervisor.");
    // Each vCPU's time goes to the host CPU it runs on now (vcpuInfo's cpu): per-CPU figures
    // follow pinning, and only time spent before a vCPU moved is attributed to its new CPU.
    std::map<int, uint64_t> perCpu;
    for (const auto& v : live->vcpus)
      if (v.cpu >= 0) perCpu[v.cpu] += v.cpuTimeNs;
    unsigned count = std::min(ncpus, nrCpus - static_cast<unsigned>(startCpu));
    for (unsigned i = 0; i < count; ++i) {
      int cpu = startCpu + static_cast<int>(i);
      params.push_back(TypedParam::makeULLong("cpu_time", perCpu.count(cpu) ? perCpu[cpu] : 0));
    }
    returned = kPerCpu;
  }
  rpc::encodeTypedParams(c.ret, params);
  c.ret.i32(returned);
  return okStatus();
}

Status domainMemoryStats(Call& c) {
  Dom d = Dom::decode(c.args);
  uint32_t maxStats = c.args.u32();
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  XVIRT_TRY(rules::checkFlags(flags, 0, "virDomainMemoryStats"));
  if (maxStats > kMemoryStatsMax)
    return makeError(ErrorCode::InvalidArgument, "At most 1024 memory statistics can be asked for, not " +
                                                     std::to_string(maxStats) + ".");
  XVIRT_ASSIGN_OR_RETURN(DomainDefinitions defs, runningDefs(c, d));
  auto info = c.ctx.withHypervisor([&](hv::Hypervisor& h) { return h.domainInfo(static_cast<hv::DomId>(defs.ref.id)); });
  if (!info.ok()) return info.takeError();
  // What the hypervisor knows, as libvirt's Xen driver reports it; the guest's own figures need a
  // balloon driver statistics channel that xvirt guests do not have.
  std::vector<std::pair<int32_t, uint64_t>> stats = {{kMemStatActualBalloon, info->memKib},
                                                     {kMemStatAvailable, info->maxMemKib}};
  if (stats.size() > maxStats) stats.resize(maxStats);
  c.ret.u32(static_cast<uint32_t>(stats.size()));
  for (const auto& [tag, val] : stats) {
    c.ret.i32(tag);
    c.ret.u64(val);
  }
  return okStatus();
}

Status connectGetAllDomainStats(Call& c) {
  std::vector<Dom> doms;
  uint32_t n = c.args.count(limits::kDomainListMax, "domain list");
  for (uint32_t i = 0; i < n && c.args.ok(); ++i) doms.push_back(Dom::decode(c.args));
  uint32_t stats = c.args.u32();
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  XVIRT_TRY(rules::checkFlags(flags, kStatsListFilters | kStatsNowait | kStatsBacking | kStatsEnforce, "virConnectGetAllDomainStats"));
  if (!doms.empty() && (flags & kStatsListFilters))
    return makeError(ErrorCode::InvalidArgument, "Domain list filters cannot be combined with a list of domains.");
  if ((flags & kStatsEnforce) && (stats & ~kStatsSupported))
    return makeError(ErrorCode::NoSupport, "xvirtd serves the statistics groups state, cpu-total, balloon, vcpu, "
                                           "interface and block, not all of those asked for (stats " +
                                               std::to_string(stats) + ").");
  stats = stats == 0 ? kStatsSupported : (stats & kStatsSupported);

  const bool listed = doms.empty();
  if (listed) doms = c.ctx.domains.listAll(flags & kStatsListFilters);
  std::vector<std::pair<Dom, std::vector<TypedParam>>> records;
  for (const auto& d : doms) {
    auto defs = c.ctx.domains.definitions(d);
    if (!defs.ok()) {
      if (listed) continue;  // undefined since the listing
      return defs.takeError();
    }
    if (!defs->live && !defs->persistent) continue;
    records.emplace_back(defs->ref, domainStats(c.ctx, *defs, stats));
  }
  c.ret.u32(static_cast<uint32_t>(records.size()));
  for (const auto& [dom, params] : records) {
    dom.encode(c.ret);
    // libvirtd always lets strings through here: this call's flags are list filters, not STRING_OKAY.
    rpc::encodeTypedParams(c.ret, params);
  }
  return okStatus();
}

// virDomainGetBlockInfo: libvirt's libxl driver lacks it; as libvirt's QEMU driver, for a running
// or a shut-off domain alike, from the disk's source on the host (DomainManager::blockInfo).
Status domainGetBlockInfo(Call& c) {
  Dom d = Dom::decode(c.args);
  std::string path = c.args.str(rpc::kXdrStringMax, "disk path");
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  XVIRT_TRY(rules::checkFlags(flags, 0, "virDomainGetBlockInfo"));
  XVIRT_ASSIGN_OR_RETURN(BlockInfo b, c.ctx.domains.blockInfo(d, path));
  c.ret.u64(b.allocation);  // remote_domain_get_block_info_ret's order
  c.ret.u64(b.capacity);
  c.ret.u64(b.physical);
  return okStatus();
}

}  // namespace api

}  // namespace xvirt::driver
