// The simulated host's hypercalls (docs/sim.md, "The host", "Guests", "Fault injection").
#include "hypervisor/sim/daemon/SimHostModel.h"

#include <algorithm>
#include <cstring>

#include "common/Log.h"
#include "common/Strings.h"
#include "hypervisor/sim/SimProtocol.h"

namespace xvirt::hv::sim {

namespace {
constexpr uint64_t kTotalKib = 16ull << 20;  // 16 GiB
constexpr uint64_t kDom0Kib = 1ull << 20;    // dom0 holds 1 GiB
constexpr unsigned kMaxVcpus = 128;

// The fault names tests use, for ops whose name differs (the client builds and saves; the daemon
// only sees the hypercall that records the result).
std::string faultName(const std::string& op) {
  if (op == "build_pv" || op == "build_hvm") return "build";
  if (op == "get_context") return "save";
  if (op == "set_context") return "restore";
  return op;
}
}  // namespace

SimHostModel::SimHostModel(std::string dir, unsigned nrCpus, xvirt::sim::XsStore& store, const Clock& clock)
    : dir_(std::move(dir)), nrCpus_(nrCpus), store_(store), clock_(clock),
      idleNs_(nrCpus, 0), idleSinceNs_(clock.monotonicNs()) {
  auto dom0 = std::make_unique<SimGuest>(0, DomainKind::PV, Uuid{}, nrCpus_, nrCpus_);
  dom0->paused = false;
  dom0->maxMemKib = dom0->memKib = kDom0Kib;
  dom0->sinceNs = now();
  guests_[0] = std::move(dom0);
  (void)store_.write("/local/domain/0/name", "Domain-0");
  (void)store_.write("/local/domain/0/domid", "0");
  watchId_ = store_.addWatch("/local/domain", [this](const std::string& path) {
    settleIdle();  // a guest may shut down or take a vCPU off line
    onXenstoreChange(path);
    // What a guest reads from its own tree (control/shutdown, memory/target, cpu/N/availability)
    // changes only that guest's info.
    std::vector<std::string> parts = split(path, '/');  // "", local, domain, D, ...
    if (parts.size() >= 4)
      if (auto d = parseUint(parts[3]); d && *d != 0) publishInfo(static_cast<DomId>(*d));
  });
}

SimHostModel::~SimHostModel() { store_.removeWatch(watchId_); }

PhysInfo SimHostModel::physInfo() const {
  PhysInfo p;
  p.nrCpus = nrCpus_;
  p.threadsPerCore = 1;
  p.coresPerSocket = nrCpus_;
  p.nrNodes = 1;
  p.cpuKhz = 2400000;
  p.totalKib = kTotalKib;
  uint64_t used = 0;
  for (const auto& [id, g] : guests_) used += g->maxMemKib;
  p.freeKib = used >= kTotalKib ? 0 : kTotalKib - used;
  p.versionMajor = 4;
  p.versionMinor = 17;
  p.extraVersion = "-sim";
  p.capabilities = {"pv", "hvm", "hap", "pvh"};
  p.xenCaps = "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64";
  return p;
}

// Each CPU is busy with the sum of the loads of the running, online vCPUs placed on it, at most
// 100 %; the rest of the time it idles. vCPUs that share a CPU still each accrue their own load
// (the sim models no contention), so a crowded CPU is simply never idle.
std::vector<uint64_t> SimHostModel::idleAt(uint64_t t) const {
  std::vector<uint64_t> idle = idleNs_;
  if (t <= idleSinceNs_) return idle;
  std::vector<unsigned> load(nrCpus_, 0);
  for (const auto& [id, g] : guests_) {
    if (!g->active() || g->load == 0) continue;
    for (unsigned v = 0; v < g->vcpus.size(); ++v) {
      int cpu = g->vcpus[v].online ? g->vcpuCpu(v) : -1;
      if (cpu >= 0 && static_cast<unsigned>(cpu) < nrCpus_) load[static_cast<unsigned>(cpu)] += g->load;
    }
  }
  uint64_t dt = t - idleSinceNs_;
  for (unsigned c = 0; c < nrCpus_; ++c) idle[c] += cpuShare(dt, 100 - std::min(100u, load[c]));
  return idle;
}

void SimHostModel::settleIdle() {
  uint64_t t = now();
  idleNs_ = idleAt(t);
  idleSinceNs_ = t;
}

Json SimHostModel::pcpuInfo() const {
  Json idle = Json::array();
  for (uint64_t ns : idleAt(now())) idle.push(ns);
  return Json::object({{"idle_ns", std::move(idle)}});
}

unsigned SimHostModel::slowMs(const std::string& op) const {
  auto it = slow_.find(faultName(op));
  if (it == slow_.end()) it = slow_.find(op);
  return it == slow_.end() ? 0 : it->second;
}

Result<Json> SimHostModel::call(const std::string& op, const Json& req) {
  // The queries change no guest's run state, so they need not settle the CPUs' idle time (which
  // walks every guest).
  static const std::set<std::string> kQueries = {"physinfo", "pcpu_info", "numa_info", "list", "info", "vcpu_info",
                                                 "get_affinity", "get_context"};
  if (!kQueries.count(op)) settleIdle();
  Result<Json> reply = [&]() -> Result<Json> {
    for (const std::string& name : {op, faultName(op)}) {
      auto it = failNext_.find(name);
      if (it != failNext_.end()) {
        failNext_.erase(it);
        return makeError(ErrorCode::OperationFailed, "The '" + op + "' hypercall failed (injected fault).");
      }
    }
    return dispatch(op, req);
  }();
  // Every hypercall that changes a domain names it in its request, or creates it and names it in
  // its reply: only that slot is rewritten.
  int64_t domid = req.getInt("domid", -1);
  if (domid < 0 && reply.ok() && reply->isObject()) domid = reply->getInt("domid", -1);
  if (infoTable_) infoTable_->setHypercallOnly(failNext_.count("info") || slow_.count("info"));
  if (domid >= 0) publishInfo(static_cast<DomId>(domid));
  return reply;
}

void SimHostModel::publishTo(InfoTableWriter table) {
  infoTable_.emplace(std::move(table));
  for (const auto& [id, g] : guests_) infoTable_->publish(g->snapshot());
}

// One domain's slot, after something that may have changed it: rewriting every guest's on every
// hypercall and xenstore write made each of them O(guests) (1000 running guests: a thousand
// snapshots per write while guests start).
void SimHostModel::publishInfo(DomId domid) {
  if (!infoTable_) return;
  auto it = guests_.find(domid);
  if (it == guests_.end()) infoTable_->remove(domid);
  else infoTable_->publish(it->second->snapshot());
}

Result<SimGuest*> SimHostModel::guest(const Json& req, bool allowDom0) {
  XVIRT_ASSIGN_OR_RETURN(int64_t domid, requireInt(req, "domid", 0, 0xffffffffll));
  auto it = guests_.find(static_cast<DomId>(domid));
  if (it == guests_.end())
    return makeError(ErrorCode::NoDomain, "Domain " + std::to_string(domid) + " does not exist.");
  if (domid == 0 && !allowDom0)
    return makeError(ErrorCode::OperationInvalid, "Domain 0 cannot be changed by this operation.");
  return it->second.get();
}

Result<Json> SimHostModel::dispatch(const std::string& op, const Json& req) {
  if (op == "physinfo") return physInfoToJson(physInfo());
  if (op == "pcpu_info") return pcpuInfo();
  // One NUMA node holding all the host's memory.
  if (op == "numa_info") {
    PhysInfo p = physInfo();
    Json total = Json::array(), freeKib = Json::array();
    total.push(p.totalKib);
    freeKib.push(p.freeKib);
    return Json::object({{"total_kib", std::move(total)}, {"free_kib", std::move(freeKib)}});
  }
  if (op == "create") return create(req);
  if (op == "set_max_mem") return setMaxMem(req);
  if (op == "set_max_vcpus") return setMaxVcpus(req);
  if (op == "build_pv") return build(req, false);
  if (op == "build_hvm") return build(req, true);
  if (op == "unpause") return unpause(req);
  if (op == "destroy") return destroy(req);
  if (op == "get_context") return getContext(req);
  if (op == "set_context") return setContext(req);
  if (op == "fault") return fault(req);
  if (op == "list") {
    Json list = Json::array();
    for (const auto& [id, g] : guests_) list.push(domainInfoToJson(g->info(now())));
    return Json::object({{"domains", std::move(list)}});
  }
  if (op == "info") {
    XVIRT_ASSIGN_OR_RETURN(SimGuest * g, guest(req, true));
    return domainInfoToJson(g->info(now()));
  }
  if (op == "pause") {
    XVIRT_ASSIGN_OR_RETURN(SimGuest * g, guest(req));
    g->settle(now());
    g->paused = true;
    return Json::object();
  }
  if (op == "resume") {
    XVIRT_ASSIGN_OR_RETURN(SimGuest * g, guest(req));
    if (!g->shutdown || g->reason != ShutdownReason::Suspend)
      return makeError(ErrorCode::OperationInvalid, "Domain " + std::to_string(g->id) + " is not suspended.");
    // The guest's suspend call returns "cancelled" and it runs on (still paused if paused).
    g->settle(now());
    g->shutdown = false;
    g->reason = ShutdownReason::Poweroff;
    logInfo("Domain " + std::to_string(g->id) + " resumed from its suspend.");
    return Json::object();
  }
  if (op == "shutdown") {
    XVIRT_ASSIGN_OR_RETURN(SimGuest * g, guest(req));
    XVIRT_ASSIGN_OR_RETURN(int64_t reason, requireInt(req, "reason", 0, 5));
    if (!g->shutdown) shutdownGuest(*g, static_cast<ShutdownReason>(reason));
    return Json::object();
  }
  if (op == "vcpu_info" || op == "get_affinity" || op == "set_affinity") {
    XVIRT_ASSIGN_OR_RETURN(SimGuest * g, guest(req, true));
    XVIRT_ASSIGN_OR_RETURN(int64_t vcpu, requireInt(req, "vcpu", 0, kMaxVcpus));
    if (static_cast<size_t>(vcpu) >= g->vcpus.size())
      return makeError(ErrorCode::InvalidArgument, "Domain " + std::to_string(g->id) + " has no vCPU " +
                                                       std::to_string(vcpu) + ".");
    unsigned v = static_cast<unsigned>(vcpu);
    if (op == "vcpu_info") return vcpuInfoToJson(g->vcpuInfo(v, now()));
    if (op == "get_affinity")
      return Json::object({{"cpus", cpuMapToJson(g->vcpus[v].affinity)}, {"nr_cpus", nrCpus_}});
    const Json* cpus = req.get("cpus");
    if (!cpus) return makeError(ErrorCode::InvalidArgument, "The request needs a list 'cpus'.");
    XVIRT_ASSIGN_OR_RETURN(CpuMap map, cpuMapFromJson(*cpus, nrCpus_));
    bool any = false;
    for (bool b : map) any = any || b;
    if (!any) return makeError(ErrorCode::InvalidArgument, "A vCPU's hard affinity must allow at least one CPU.");
    g->settle(now());
    g->vcpus[v].affinity = std::move(map);
    return Json::object();
  }
  if (op == "set_load") {
    XVIRT_ASSIGN_OR_RETURN(SimGuest * g, guest(req, true));
    XVIRT_ASSIGN_OR_RETURN(int64_t load, requireInt(req, "load", 0, 100));
    g->settle(now());
    g->load = static_cast<unsigned>(load);
    return Json::object();
  }
  if (op == "crash") {
    XVIRT_ASSIGN_OR_RETURN(SimGuest * g, guest(req));
    if (!g->active())
      return makeError(ErrorCode::OperationInvalid, "Domain " + std::to_string(g->id) + " is not running.");
    consoleOut(*g, "\r\n[    9.999999] Kernel panic - not syncing: crash requested by the simulated host\r\n");
    shutdownGuest(*g, ShutdownReason::Crash);
    return Json::object();
  }
  return makeError(ErrorCode::NoSupport, "The simulated Xen host has no operation '" + op + "'.");
}

Result<Json> SimHostModel::create(const Json& req) {
  XVIRT_ASSIGN_OR_RETURN(std::string kindText, requireString(req, "kind"));
  auto kind = kindFromName(kindText);
  if (!kind) return makeError(ErrorCode::InvalidArgument, "'" + kindText + "' is not a domain kind (pv, hvm, pvh).");
  Uuid uuid;
  if (const Json* u = req.get("uuid")) {
    auto parsed = u->isString() ? Uuid::parse(u->asString()) : std::nullopt;
    if (!parsed) return makeError(ErrorCode::InvalidArgument, "The domain UUID is not valid.");
    uuid = *parsed;
  }
  XVIRT_ASSIGN_OR_RETURN(int64_t vcpus, requireInt(req, "max_vcpus", 1, kMaxVcpus));
  // As Xen: the next id after the last one handed out, skipping live ones, wrapping at the top.
  DomId domid = 0;
  for (unsigned tries = 0; tries < kMaxDomid; ++tries) {
    DomId candidate = nextDomid_;
    nextDomid_ = nextDomid_ >= kMaxDomid ? 1 : nextDomid_ + 1;
    if (!guests_.count(candidate)) {
      domid = candidate;
      break;
    }
  }
  if (domid == 0) return makeError(ErrorCode::OperationFailed, "Every domain id is in use.");
  auto g = std::make_unique<SimGuest>(domid, *kind, uuid, static_cast<unsigned>(vcpus), nrCpus_);
  g->sinceNs = now();
  guests_[domid] = std::move(g);
  logInfo("Created domain " + std::to_string(domid) + " (" + kindText + ").");
  return Json::object({{"domid", domid}});
}

Result<Json> SimHostModel::setMaxMem(const Json& req) {
  XVIRT_ASSIGN_OR_RETURN(SimGuest * g, guest(req));
  XVIRT_ASSIGN_OR_RETURN(int64_t kib, requireInt(req, "kib", 0, static_cast<int64_t>(kTotalKib)));
  uint64_t k = (static_cast<uint64_t>(kib) + 3) / 4 * 4;  // whole pages
  PhysInfo p = physInfo();
  if (k > p.freeKib + g->maxMemKib)
    return makeError(ErrorCode::OperationFailed, "Domain " + std::to_string(g->id) + " cannot have " +
                                                     std::to_string(k) + " KiB: the host has " +
                                                     std::to_string(p.freeKib + g->maxMemKib) + " KiB free.");
  XVIRT_TRY(g->resizeRam(ramFilePath(dir_, g->id), k));
  g->maxMemKib = k;
  if (g->memKib > k) g->memKib = k;
  return Json::object();
}

Result<Json> SimHostModel::setMaxVcpus(const Json& req) {
  XVIRT_ASSIGN_OR_RETURN(SimGuest * g, guest(req));
  XVIRT_ASSIGN_OR_RETURN(int64_t n, requireInt(req, "n", 1, kMaxVcpus));
  g->setVcpuCount(static_cast<unsigned>(n), now());
  return Json::object();
}

Result<Json> SimHostModel::build(const Json& req, bool hvm) {
  XVIRT_ASSIGN_OR_RETURN(SimGuest * g, guest(req));
  if (g->booted)
    return makeError(ErrorCode::OperationInvalid, "Domain " + std::to_string(g->id) + " has already booted.");
  if (hvm == (g->kind == DomainKind::PV))
    return makeError(ErrorCode::InvalidArgument, "Domain " + std::to_string(g->id) + " is a " + kindName(g->kind) +
                                                     " domain; use the matching build.");
  XVIRT_ASSIGN_OR_RETURN(int64_t memKib, requireInt(req, "mem_kib", 64, static_cast<int64_t>(kTotalKib)));
  uint64_t memBytes = static_cast<uint64_t>(memKib) / 4 * kPageSize;
  if (memBytes > g->ramBytes())
    return makeError(ErrorCode::InvalidArgument, "Domain " + std::to_string(g->id) + " has " +
                                                     std::to_string(g->maxMemKib) + " KiB of maximum memory; " +
                                                     std::to_string(memKib) + " KiB cannot be built.");
  uint64_t pages = memBytes / kPageSize;
  std::vector<LoadedImage> images;
  if (const Json* list = req.get("images"); list && list->isArray()) {
    for (const auto& j : list->asArray()) {
      LoadedImage img;
      XVIRT_ASSIGN_OR_RETURN(img.role, requireString(j, "role"));
      XVIRT_ASSIGN_OR_RETURN(img.path, requireString(j, "path"));
      XVIRT_ASSIGN_OR_RETURN(int64_t off, requireInt(j, "offset", 0, static_cast<int64_t>(memBytes)));
      XVIRT_ASSIGN_OR_RETURN(int64_t size, requireInt(j, "size", 0, static_cast<int64_t>(memBytes)));
      XVIRT_ASSIGN_OR_RETURN(img.sum, requireString(j, "sum"));
      img.offset = static_cast<uint64_t>(off);
      img.size = static_cast<uint64_t>(size);
      if (img.offset + img.size > (pages - 2) * kPageSize)
        return makeError(ErrorCode::OperationFailed, "The " + img.role + " " + img.path + " does not fit in the " +
                                                         std::to_string(memKib) + " KiB of domain " +
                                                         std::to_string(g->id) + ".");
      images.push_back(std::move(img));
    }
  }
  g->images = std::move(images);
  g->cmdline = req.getString("cmdline");
  g->build = BuildResult{pages - 2, kStoreEvtchn, pages - 1, kConsoleEvtchn};
  g->memKib = static_cast<uint64_t>(memKib) / 4 * 4;
  g->built = true;
  std::memset(g->ram() + g->build.storeMfn * kPageSize, 0, 2 * kPageSize);
  g->resetConsoleRing();
  return buildResultToJson(g->build);
}

Result<Json> SimHostModel::unpause(const Json& req) {
  XVIRT_ASSIGN_OR_RETURN(SimGuest * g, guest(req));
  if (g->shutdown)
    return makeError(ErrorCode::OperationInvalid, "Domain " + std::to_string(g->id) + " has shut down.");
  if (!g->paused) return Json::object();
  g->settle(now());
  g->paused = false;
  if (g->built && !g->booted) {
    bool ok = g->boot();
    if (onConsoleOutput) onConsoleOutput(g->id);
    if (!ok) {
      shutdownGuest(*g, ShutdownReason::Crash);
      return Json::object();
    }
  }
  guestPoll(*g);
  // Input typed while the guest was paused waits in the ring; a running guest reads it (the
  // client's kick came while it could not).
  if (g->active()) consoleKick(g->id);
  return Json::object();
}

Result<Json> SimHostModel::destroy(const Json& req) {
  XVIRT_ASSIGN_OR_RETURN(SimGuest * g, guest(req));
  DomId domid = g->id;
  g->releaseRam(ramFilePath(dir_, domid));
  guests_.erase(domid);
  (void)store_.rm("/local/domain/" + std::to_string(domid));
  store_.fireSpecial("@releaseDomain");
  if (onDomainGone) onDomainGone(domid);
  logInfo("Destroyed domain " + std::to_string(domid) + ".");
  return Json::object();
}

void SimHostModel::shutdownGuest(SimGuest& g, ShutdownReason reason) {
  g.settle(now());
  g.shutdown = true;
  g.reason = reason;
  // xenstored fires @releaseDomain when a domain shuts down, not only when it goes away.
  store_.fireSpecial("@releaseDomain");
  logInfo("Domain " + std::to_string(g.id) + " shut down (reason " + std::to_string(static_cast<int>(reason)) + ").");
}

void SimHostModel::consoleOut(SimGuest& g, std::string_view text) {
  g.consoleWrite(text);
  if (onConsoleOutput) onConsoleOutput(g.id);
}

Status SimHostModel::checkConsole(DomId domid) {
  auto it = guests_.find(domid);
  if (it == guests_.end() || domid == 0)
    return makeError(ErrorCode::NoDomain, "Domain " + std::to_string(domid) + " does not exist.");
  if (!it->second->hasConsole())
    return makeError(ErrorCode::OperationInvalid, "Domain " + std::to_string(domid) + " has not been built.");
  return okStatus();
}

Status SimHostModel::attachDeviceModel(DomId domid, int64_t pid) {
  auto it = guests_.find(domid);
  if (it == guests_.end() || domid == 0)
    return makeError(ErrorCode::NoDomain, "Domain " + std::to_string(domid) + " does not exist.");
  if (it->second->kind != DomainKind::HVM)
    return makeError(ErrorCode::OperationInvalid, "Domain " + std::to_string(domid) + " is not HVM, so it has no device model.");
  logInfo("The device model of domain " + std::to_string(domid) + " (pid " + std::to_string(pid) + ") attached.");
  return okStatus();
}

void SimHostModel::deviceModelGone(DomId domid, int64_t pid) {
  logInfo("The device model of domain " + std::to_string(domid) + " (pid " + std::to_string(pid) + ") is gone.");
  (void)store_.rm("/local/domain/0/device-model/" + std::to_string(domid));
}

void SimHostModel::consoleKick(DomId domid) {
  auto it = guests_.find(domid);
  if (it == guests_.end()) return;
  SimGuest& g = *it->second;
  bool wrote = g.flushConsole();
  // A paused or dead guest leaves its input in the ring until it runs.
  if (g.active() && g.booted)
    for (const auto& line : g.consumeInputLines()) {
      g.consoleWrite(line + "\r\n");
      wrote = true;
    }
  if (wrote && onConsoleOutput) onConsoleOutput(domid);
}

}  // namespace xvirt::hv::sim
