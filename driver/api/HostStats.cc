// Handlers of the host's moving figures: memory (NODE_GET_MEMORY_STATS, NODE_GET_CELLS_FREE_MEMORY),
// per-CPU idle time (NODE_GET_CPU_STATS) and the host's SMBIOS facts (CONNECT_GET_SYSINFO). Every
// figure comes from the hypervisor on each call; the checks are libvirt's, in libvirt's order:
// remote dispatch limits, the public API's argument checks, the driver's flags, then its own.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "driver/LibvirtRules.h"
#include "driver/Sysinfo.h"
#include "driver/api/Handlers.h"

namespace xvirt::driver::api {

namespace {

using rules::invalidArg, rules::internalError;
using limits::kNodeCpuStatsMax, limits::kNodeMaxCells, limits::kNodeMemoryStatsMax;

// remote_node_get_cpu_stats / remote_node_get_memory_stats: `string field; unsigned hyper value`,
// as a counted array, then `int nparams`.
void encodeFieldValues(rpc::XdrWriter& w, const std::vector<std::pair<const char*, uint64_t>>& fields, int32_t nparams) {
  w.u32(static_cast<uint32_t>(fields.size()));
  for (const auto& [field, value] : fields) {
    w.str(field);
    w.u64(value);
  }
  w.i32(nparams);
}

// The two-call protocol of both stats procedures (remoteDispatchNode*Stats): nparams 0 asks for
// the count, which comes back in nparams with no fields; otherwise exactly that many fields.
// `countRule` is the sentence's tail when nparams is not the count ("must be 2": virHostMemGetStats;
// "must be equal to 1": virHostCPUGetStats).
Status replyStats(Call& c, int32_t nparams, const std::vector<std::pair<const char*, uint64_t>>& fields, const char* fn,
                  const char* countRule) {
  if (nparams == 0) {
    encodeFieldValues(c.ret, {}, static_cast<int32_t>(fields.size()));
    return okStatus();
  }
  if (static_cast<size_t>(nparams) != fields.size())
    return invalidArg(std::string("nparams in ") + fn + " " + countRule + " " + std::to_string(fields.size()));
  encodeFieldValues(c.ret, fields, 0);
  return okStatus();
}

}  // namespace

Status nodeGetMemoryStats(Call& c) {
  int32_t nparams = c.args.i32();
  int32_t cellNum = c.args.i32();
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  if (nparams > kNodeMemoryStatsMax) return internalError("nparams too large");
  if (nparams < 0) return invalidArg("nparams in virNodeGetMemoryStats must be zero or greater");
  if (cellNum < 0 && cellNum != -1)  // VIR_NODE_MEMORY_STATS_ALL_CELLS
    return invalidArg("cellNum in virNodeGetMemoryStats only accepts -1 as a negative value");
  XVIRT_TRY(rules::checkFlags(flags, 0, "virNodeGetMemoryStats"));
  uint64_t totalKib = 0, freeKib = 0;
  if (cellNum == -1) {
    // What libxl's driver reports from libxl_get_physinfo.
    XVIRT_ASSIGN_OR_RETURN(hv::PhysInfo info, c.ctx.physInfo());
    totalKib = info.totalKib;
    freeKib = info.freeKib;
  } else {
    auto nodes = c.ctx.withHypervisor([](hv::Hypervisor& h) { return h.nodeMemory(); });
    if (!nodes.ok()) return nodes.takeError();
    if (static_cast<size_t>(cellNum) >= nodes->size())
      return invalidArg("cellNum in libxlNodeGetMemoryStats must be less than or equal to " +
                        std::to_string(static_cast<long>(nodes->size()) - 1));
    totalKib = (*nodes)[static_cast<size_t>(cellNum)].totalKib;
    freeKib = (*nodes)[static_cast<size_t>(cellNum)].freeKib;
  }
  // VIR_NODE_MEMORY_STATS_TOTAL and _FREE, in KiB.
  return replyStats(c, nparams, {{"total", totalKib}, {"free", freeKib}}, "libxlNodeGetMemoryStats", "must be");
}

Status nodeGetCpuStats(Call& c) {
  int32_t cpuNum = c.args.i32();
  int32_t nparams = c.args.i32();
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  if (nparams > static_cast<int32_t>(kNodeCpuStatsMax)) return internalError("nparams too large");
  if (nparams < 0) return invalidArg("nparams in virNodeGetCPUStats must be zero or greater");
  if (cpuNum < 0 && cpuNum != -1)  // VIR_NODE_CPU_STATS_ALL_CPUS
    return invalidArg("cpuNum in virNodeGetCPUStats only accepts -1 as a negative value");
  XVIRT_TRY(rules::checkFlags(flags, 0, "virNodeGetCPUStats"));
  // Xen accounts only each physical CPU's idle time (xc_getcpuinfo): no user, kernel or iowait
  // split exists to report, so there is one field, VIR_NODE_CPU_STATS_IDLE, in nanoseconds.
  if (nparams == 0) return replyStats(c, 0, {{"idle", 0}}, "libxlNodeGetCPUStats", "must be equal to");
  auto idle = c.ctx.withHypervisor([](hv::Hypervisor& h) { return h.pcpuIdleNs(); });
  if (!idle.ok()) return idle.takeError();
  uint64_t value = 0;
  if (cpuNum == -1) {
    for (uint64_t ns : *idle) value += ns;
  } else {
    if (static_cast<size_t>(cpuNum) >= idle->size()) return invalidArg("Invalid cpuNum in libxlNodeGetCPUStats");
    value = (*idle)[static_cast<size_t>(cpuNum)];
  }
  return replyStats(c, nparams, {{"idle", value}}, "libxlNodeGetCPUStats", "must be equal to");
}

Status nodeGetCellsFreeMemory(Call& c) {
  int32_t startCell = c.args.i32();
  int32_t maxCells = c.args.i32();
  XVIRT_TRY(c.args.finish());
  // libvirt's client refuses more before sending (VIR_ERR_RPC "too many NUMA cells"); raw clients
  // hear the server's check.
  if (maxCells > kNodeMaxCells) return invalidArg("maxCells > REMOTE_NODE_MAX_CELLS");
  if (maxCells <= 0) return invalidArg("maxCells in virNodeGetCellsFreeMemory must be greater than zero");
  if (startCell < 0) return invalidArg("startCell in virNodeGetCellsFreeMemory must be zero or greater");
  auto nodes = c.ctx.withHypervisor([](hv::Hypervisor& h) { return h.nodeMemory(); });
  if (!nodes.ok()) return nodes.takeError();
  int32_t nrNodes = static_cast<int32_t>(nodes->size());
  if (startCell >= nrNodes)  // libxlNodeGetCellsFreeMemory's words
    return internalError("start cell " + std::to_string(startCell) + " out of range (0-" +
                         std::to_string(nrNodes - 1) + ")");
  int64_t last = std::min<int64_t>(nrNodes - 1, int64_t(startCell) + maxCells - 1);
  c.ret.u32(static_cast<uint32_t>(last - startCell + 1));
  for (int64_t i = startCell; i <= last; ++i) c.ret.u64((*nodes)[static_cast<size_t>(i)].freeKib * 1024);  // bytes
  return okStatus();
}

Status connectGetSysinfo(Call& c) {
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  XVIRT_TRY(rules::checkFlags(flags, 0, "virConnectGetSysinfo"));
  XVIRT_ASSIGN_OR_RETURN(std::string xml, sysinfoXml(dmiDirectory()));
  c.ret.str(xml);
  return okStatus();
}

}  // namespace xvirt::driver::api
