// The wire shapes shared by xvirt-simxen and SimHypervisor.
#include "hypervisor/sim/SimProtocol.h"

#include <cstdio>

namespace xvirt::hv::sim {

std::string hypercallSocketPath(const std::string& dir) { return dir + "/hypercall.sock"; }
std::string xenstoreSocketPath(const std::string& dir) { return dir + "/xenstored/socket"; }
std::string ramFilePath(const std::string& dir, DomId domid) {
  return dir + "/mem/dom" + std::to_string(domid) + ".ram";
}

uint64_t checksum(const void* data, size_t len, uint64_t seed) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t h = seed;
  for (size_t i = 0; i < len; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

Json okReply(Json value) { return Json::object({{"ok", std::move(value)}}); }

Json errorReply(const Error& error) {
  return Json::object({{"error", Json::object({{"code", errorCodeName(error.code)}, {"message", error.message}})}});
}

std::optional<ErrorCode> errorCodeFromName(std::string_view name) {
  for (int c = 0; c <= static_cast<int>(ErrorCode::Corrupt); ++c)
    if (name == errorCodeName(static_cast<ErrorCode>(c))) return static_cast<ErrorCode>(c);
  return std::nullopt;
}

Result<Json> decodeReply(const Json& reply) {
  if (const Json* ok = reply.get("ok")) return *ok;
  const Json* err = reply.get("error");
  if (!err || !err->isObject())
    return makeError(ErrorCode::Corrupt, "The simulated Xen host sent a reply with neither 'ok' nor 'error'.");
  ErrorCode code = errorCodeFromName(err->getString("code")).value_or(ErrorCode::OperationFailed);
  return makeError(code, err->getString("message", "The simulated Xen host reported an error."));
}

const char* kindName(DomainKind kind) {
  switch (kind) {
    case DomainKind::PV: return "pv";
    case DomainKind::HVM: return "hvm";
    case DomainKind::PVH: return "pvh";
  }
  return "pv";
}

std::optional<DomainKind> kindFromName(std::string_view name) {
  if (name == "pv") return DomainKind::PV;
  if (name == "hvm") return DomainKind::HVM;
  if (name == "pvh") return DomainKind::PVH;
  return std::nullopt;
}

Result<int64_t> requireInt(const Json& obj, std::string_view key, int64_t min, int64_t max) {
  const Json* v = obj.get(key);
  if (!v || !v->isInt())
    return makeError(ErrorCode::InvalidArgument, "The request needs an integer '" + std::string(key) + "'.");
  int64_t i = v->asInt();
  if (i < min || i > max)
    return makeError(ErrorCode::InvalidArgument, "'" + std::string(key) + "' = " + std::to_string(i) +
                                                     " is outside " + std::to_string(min) + ".." +
                                                     std::to_string(max) + ".");
  return i;
}

Result<std::string> requireString(const Json& obj, std::string_view key) {
  const Json* v = obj.get(key);
  if (!v || !v->isString())
    return makeError(ErrorCode::InvalidArgument, "The request needs a string '" + std::string(key) + "'.");
  return v->asString();
}

static Result<bool> requireBool(const Json& obj, std::string_view key) {
  const Json* v = obj.get(key);
  if (!v || !v->isBool())
    return makeError(ErrorCode::Corrupt, "The simulated Xen host's reply lacks a boolean '" + std::string(key) + "'.");
  return v->asBool();
}

static Result<uint64_t> requireU64(const Json& obj, std::string_view key) {
  const Json* v = obj.get(key);
  if (!v || !v->isInt() || v->asInt() < 0)
    return makeError(ErrorCode::Corrupt, "The simulated Xen host's reply lacks a number '" + std::string(key) + "'.");
  return static_cast<uint64_t>(v->asInt());
}

Json domainInfoToJson(const DomainInfo& d) {
  return Json::object({{"domid", d.domid},
                       {"uuid", d.uuid.str()},
                       {"kind", kindName(d.kind)},
                       {"dying", d.dying},
                       {"shutdown", d.shutdown},
                       {"paused", d.paused},
                       {"blocked", d.blocked},
                       {"running", d.running},
                       {"shutdown_reason", static_cast<int>(d.shutdownReason)},
                       {"mem_kib", d.memKib},
                       {"max_mem_kib", d.maxMemKib},
                       {"online_vcpus", d.nrOnlineVcpus},
                       {"max_vcpu_id", d.maxVcpuId},
                       {"cpu_time_ns", d.cpuTimeNs}});
}

Result<DomainInfo> domainInfoFromJson(const Json& j) {
  DomainInfo d;
  XVIRT_ASSIGN_OR_RETURN(uint64_t domid, requireU64(j, "domid"));
  d.domid = static_cast<DomId>(domid);
  auto uuid = Uuid::parse(j.getString("uuid"));
  if (uuid) d.uuid = *uuid;
  d.kind = kindFromName(j.getString("kind")).value_or(DomainKind::PV);
  XVIRT_ASSIGN_OR_RETURN(d.dying, requireBool(j, "dying"));
  XVIRT_ASSIGN_OR_RETURN(d.shutdown, requireBool(j, "shutdown"));
  XVIRT_ASSIGN_OR_RETURN(d.paused, requireBool(j, "paused"));
  XVIRT_ASSIGN_OR_RETURN(d.blocked, requireBool(j, "blocked"));
  XVIRT_ASSIGN_OR_RETURN(d.running, requireBool(j, "running"));
  d.shutdownReason = static_cast<ShutdownReason>(j.getInt("shutdown_reason"));
  XVIRT_ASSIGN_OR_RETURN(d.memKib, requireU64(j, "mem_kib"));
  XVIRT_ASSIGN_OR_RETURN(d.maxMemKib, requireU64(j, "max_mem_kib"));
  XVIRT_ASSIGN_OR_RETURN(uint64_t online, requireU64(j, "online_vcpus"));
  d.nrOnlineVcpus = static_cast<unsigned>(online);
  XVIRT_ASSIGN_OR_RETURN(uint64_t maxId, requireU64(j, "max_vcpu_id"));
  d.maxVcpuId = static_cast<unsigned>(maxId);
  XVIRT_ASSIGN_OR_RETURN(d.cpuTimeNs, requireU64(j, "cpu_time_ns"));
  return d;
}

Json vcpuInfoToJson(const VcpuInfo& v) {
  return Json::object({{"vcpu", v.vcpu},
                       {"online", v.online},
                       {"running", v.running},
                       {"blocked", v.blocked},
                       {"cpu_time_ns", v.cpuTimeNs},
                       {"cpu", v.cpu}});
}

Result<VcpuInfo> vcpuInfoFromJson(const Json& j) {
  VcpuInfo v;
  XVIRT_ASSIGN_OR_RETURN(uint64_t id, requireU64(j, "vcpu"));
  v.vcpu = static_cast<unsigned>(id);
  XVIRT_ASSIGN_OR_RETURN(v.online, requireBool(j, "online"));
  XVIRT_ASSIGN_OR_RETURN(v.running, requireBool(j, "running"));
  XVIRT_ASSIGN_OR_RETURN(v.blocked, requireBool(j, "blocked"));
  XVIRT_ASSIGN_OR_RETURN(v.cpuTimeNs, requireU64(j, "cpu_time_ns"));
  v.cpu = static_cast<int>(j.getInt("cpu", -1));
  return v;
}

Json physInfoToJson(const PhysInfo& p) {
  Json caps = Json::array();
  for (const auto& c : p.capabilities) caps.push(c);
  return Json::object({{"nr_cpus", p.nrCpus},
                       {"threads_per_core", p.threadsPerCore},
                       {"cores_per_socket", p.coresPerSocket},
                       {"nr_nodes", p.nrNodes},
                       {"cpu_khz", p.cpuKhz},
                       {"total_kib", p.totalKib},
                       {"free_kib", p.freeKib},
                       {"version_major", p.versionMajor},
                       {"version_minor", p.versionMinor},
                       {"extra_version", p.extraVersion},
                       {"capabilities", std::move(caps)},
                       {"xen_caps", p.xenCaps}});
}

Result<PhysInfo> physInfoFromJson(const Json& j) {
  PhysInfo p;
  XVIRT_ASSIGN_OR_RETURN(uint64_t cpus, requireU64(j, "nr_cpus"));
  p.nrCpus = static_cast<unsigned>(cpus);
  p.threadsPerCore = static_cast<unsigned>(j.getInt("threads_per_core", 1));
  p.coresPerSocket = static_cast<unsigned>(j.getInt("cores_per_socket", 1));
  p.nrNodes = static_cast<unsigned>(j.getInt("nr_nodes", 1));
  p.cpuKhz = static_cast<unsigned>(j.getInt("cpu_khz"));
  XVIRT_ASSIGN_OR_RETURN(p.totalKib, requireU64(j, "total_kib"));
  XVIRT_ASSIGN_OR_RETURN(p.freeKib, requireU64(j, "free_kib"));
  p.versionMajor = static_cast<unsigned>(j.getInt("version_major"));
  p.versionMinor = static_cast<unsigned>(j.getInt("version_minor"));
  p.extraVersion = j.getString("extra_version");
  if (const Json* caps = j.get("capabilities"); caps && caps->isArray())
    for (const auto& c : caps->asArray())
      if (c.isString()) p.capabilities.push_back(c.asString());
  p.xenCaps = j.getString("xen_caps");
  return p;
}

Json buildResultToJson(const BuildResult& b) {
  return Json::object({{"store_mfn", b.storeMfn},
                       {"store_evtchn", b.storeEvtchn},
                       {"console_mfn", b.consoleMfn},
                       {"console_evtchn", b.consoleEvtchn}});
}

Result<BuildResult> buildResultFromJson(const Json& j) {
  BuildResult b;
  XVIRT_ASSIGN_OR_RETURN(b.storeMfn, requireU64(j, "store_mfn"));
  XVIRT_ASSIGN_OR_RETURN(uint64_t se, requireU64(j, "store_evtchn"));
  b.storeEvtchn = static_cast<uint32_t>(se);
  XVIRT_ASSIGN_OR_RETURN(b.consoleMfn, requireU64(j, "console_mfn"));
  XVIRT_ASSIGN_OR_RETURN(uint64_t ce, requireU64(j, "console_evtchn"));
  b.consoleEvtchn = static_cast<uint32_t>(ce);
  return b;
}

Json cpuMapToJson(const CpuMap& map) {
  Json cpus = Json::array();
  for (size_t i = 0; i < map.size(); ++i)
    if (map[i]) cpus.push(static_cast<unsigned>(i));
  return cpus;
}

Result<CpuMap> cpuMapFromJson(const Json& j, unsigned nrCpus) {
  if (!j.isArray()) return makeError(ErrorCode::InvalidArgument, "A CPU set must be a list of CPU numbers.");
  CpuMap map(nrCpus, false);
  for (const auto& c : j.asArray()) {
    if (!c.isInt() || c.asInt() < 0 || c.asInt() >= nrCpus)
      return makeError(ErrorCode::InvalidArgument, "A CPU set names a CPU the host (" + std::to_string(nrCpus) +
                                                       " CPUs) does not have.");
    map[static_cast<size_t>(c.asInt())] = true;
  }
  return map;
}

}  // namespace xvirt::hv::sim
