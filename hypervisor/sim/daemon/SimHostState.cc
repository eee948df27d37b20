// The simulated host's context hypercalls (save/restore of the guest model) and test faults.
#include "common/Log.h"
#include "hypervisor/sim/SimProtocol.h"
#include "hypervisor/sim/daemon/SimHostModel.h"

namespace xvirt::hv::sim {

Result<Json> SimHostModel::getContext(const Json& req) {
  XVIRT_ASSIGN_OR_RETURN(SimGuest * g, guest(req));
  if (!(g->paused || (g->shutdown && g->reason == ShutdownReason::Suspend)))
    return makeError(ErrorCode::OperationInvalid, "Domain " + std::to_string(g->id) +
                                                      " must be paused or suspended to be saved.");
  g->settle(now());
  Json vcpus = Json::array();
  for (const auto& v : g->vcpus)
    vcpus.push(Json::object({{"cpu_time_ns", v.accruedNs}, {"affinity", cpuMapToJson(v.affinity)}, {"online", v.online}}));
  Json images = Json::array();
  for (const auto& img : g->images)
    images.push(Json::object({{"role", img.role}, {"path", img.path}, {"offset", img.offset},
                              {"size", img.size}, {"sum", img.sum}}));
  return Json::object({{"kind", kindName(g->kind)},
                       {"uuid", g->uuid.str()},
                       {"max_mem_kib", g->maxMemKib},
                       {"mem_kib", g->memKib},
                       {"load", g->load},
                       {"built", g->built},
                       {"booted", g->booted},
                       {"cmdline", g->cmdline},
                       {"build", buildResultToJson(g->build)},
                       {"images", std::move(images)},
                       {"vcpus", std::move(vcpus)}});
}

Result<Json> SimHostModel::setContext(const Json& req) {
  XVIRT_ASSIGN_OR_RETURN(SimGuest * g, guest(req));
  if (g->built || !g->paused || g->shutdown)
    return makeError(ErrorCode::OperationInvalid, "Domain " + std::to_string(g->id) +
                                                      " must be freshly created to be restored into.");
  const Json* ctx = req.get("context");
  if (!ctx || !ctx->isObject()) return makeError(ErrorCode::InvalidArgument, "The request needs an object 'context'.");
  if (kindFromName(ctx->getString("kind")) != g->kind)
    return makeError(ErrorCode::InvalidArgument, "The saved domain is a " + ctx->getString("kind") +
                                                     " domain but domain " + std::to_string(g->id) + " is not.");
  XVIRT_ASSIGN_OR_RETURN(int64_t maxMem, requireInt(*ctx, "max_mem_kib", 0, 1ll << 40));
  if (static_cast<uint64_t>(maxMem) > g->maxMemKib)
    return makeError(ErrorCode::InvalidArgument, "Domain " + std::to_string(g->id) + " has less memory than the saved one.");
  const Json* b = ctx->get("build");
  if (!b) return makeError(ErrorCode::InvalidArgument, "The saved context has no build record.");
  XVIRT_ASSIGN_OR_RETURN(BuildResult build, buildResultFromJson(*b));
  if ((build.consoleMfn + 1) * kPageSize > g->ramBytes() || (build.storeMfn + 1) * kPageSize > g->ramBytes())
    return makeError(ErrorCode::InvalidArgument, "The saved context names pages beyond the domain's memory.");
  const Json* vcpus = ctx->get("vcpus");
  if (!vcpus || !vcpus->isArray() || vcpus->asArray().empty() || vcpus->asArray().size() > 128)
    return makeError(ErrorCode::InvalidArgument, "The saved context has no valid vCPU list.");
  std::vector<SimVcpu> restored;
  for (const auto& v : vcpus->asArray()) {
    SimVcpu sv;
    XVIRT_ASSIGN_OR_RETURN(int64_t t, requireInt(v, "cpu_time_ns", 0, INT64_MAX));
    sv.accruedNs = static_cast<uint64_t>(t);
    const Json* aff = v.get("affinity");
    auto map = aff ? cpuMapFromJson(*aff, nrCpus_) : Result<CpuMap>(CpuMap(nrCpus_, true));
    // A host with fewer CPUs than the saving one: let the vCPU run anywhere rather than nowhere.
    sv.affinity = map.ok() ? *map : CpuMap(nrCpus_, true);
    sv.online = v.getBool("online", true);
    restored.push_back(std::move(sv));
  }
  std::vector<LoadedImage> images;
  if (const Json* list = ctx->get("images"); list && list->isArray())
    for (const auto& j : list->asArray())
      images.push_back(LoadedImage{j.getString("role"), j.getString("path"), static_cast<uint64_t>(j.getInt("offset")),
                                   static_cast<uint64_t>(j.getInt("size")), j.getString("sum")});
  g->settle(now());
  g->vcpus = std::move(restored);
  g->memKib = std::min<uint64_t>(static_cast<uint64_t>(ctx->getInt("mem_kib")), g->maxMemKib);
  g->load = static_cast<unsigned>(std::clamp<int64_t>(ctx->getInt("load", 5), 0, 100));
  g->built = ctx->getBool("built");
  g->booted = ctx->getBool("booted");
  g->cmdline = ctx->getString("cmdline");
  g->build = build;
  g->images = std::move(images);
  return buildResultToJson(g->build);
}

Result<Json> SimHostModel::fault(const Json& req) {
  if (const Json* op = req.get("fail_next")) {
    if (!op->isString() || op->asString().empty())
      return makeError(ErrorCode::InvalidArgument, "'fail_next' must name an operation.");
    failNext_.insert(op->asString());
    return Json::object();
  }
  if (req.get("stall_frontend")) {
    XVIRT_ASSIGN_OR_RETURN(SimGuest * g, guest(Json::object({{"domid", *req.get("stall_frontend")}})));
    g->frontendsStalled = req.getBool("stall", true);
    if (!g->frontendsStalled) pollFrontends(*g);
    return Json::object();
  }
  if (req.get("slow")) {
    XVIRT_ASSIGN_OR_RETURN(std::string op, requireString(req, "slow"));
    XVIRT_ASSIGN_OR_RETURN(int64_t ms, requireInt(req, "ms", 0, 60000));
    if (ms == 0) slow_.erase(op);
    else slow_[op] = static_cast<unsigned>(ms);
    return Json::object();
  }
  if (req.getBool("clear")) {
    failNext_.clear();
    slow_.clear();
    for (auto& [id, g] : guests_) g->frontendsStalled = false;
    return Json::object();
  }
  return makeError(ErrorCode::InvalidArgument, "A fault needs 'fail_next', 'stall_frontend', 'slow' or 'clear'.");
}

}  // namespace xvirt::hv::sim
