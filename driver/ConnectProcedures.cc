// Handlers for the connection, host and event procedures. Each reads its args struct field by
// field in wire order, checks it was complete, then writes its ret struct.
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "common/Log.h"
#include "driver/Capabilities.h"
#include "driver/RemoteDispatch.h"
#include "driver/rpc/ProcedureNumbers.h"

namespace xvirt::driver {

namespace {

constexpr uint32_t kConnectRo = 1;            // VIR_CONNECT_RO
constexpr uint64_t kLibVersion = 9000000;     // the libvirt API level we speak (libvirt 9.0.0); docs/rpc.md
constexpr int32_t kMaxVcpus = 128;            // Xen 4.17's HVM_MAX_VCPUS; PV guests allow more
constexpr uint32_t kCpuMapMax = 2048;         // REMOTE_CPUMAP_MAX
constexpr int32_t kEventIdMax = 64;           // beyond libvirt 9.0's last event id, with room to grow

uint64_t hypervisorVersion(const hv::PhysInfo& info) {
  uint64_t micro = 0;
  // extraVersion is ".0" on Xen 4.17.0, "-sim" on the simulated host.
  if (info.extraVersion.size() > 1 && info.extraVersion[0] == '.') {
    size_t i = 1;
    while (i < info.extraVersion.size() && std::isdigit(static_cast<unsigned char>(info.extraVersion[i]))) {
      micro = micro * 10 + uint64_t(info.extraVersion[i] - '0');
      if (micro > 999) break;
      ++i;
    }
    if (micro > 999) micro = 0;
  }
  return uint64_t(info.versionMajor) * 1000000 + uint64_t(info.versionMinor) * 1000 + micro;
}

}  // namespace

Status handleAuthList(Call& c) {
  c.ret.u32(1);
  c.ret.i32(0);  // REMOTE_AUTH_NONE: the socket's file mode is the access control
  return okStatus();
}

Status handleSupportsFeature(Call& c) {
  int32_t feature = c.args.i32();
  XVIRT_TRY(c.args.finish());
  bool supported = false;
  switch (feature) {
    case rpc::feature::kTypedParamString:
    case rpc::feature::kRemoteEventCallback:
    case rpc::feature::kRemoteCloseCallback:
      supported = true;
      break;
    case rpc::feature::kProgramKeepalive:
      supported = true;
      // Like libvirtd: only a client that asks about keepalive gets pinged.
      c.conn.enableKeepalive();
      break;
    default:
      break;
  }
  c.ret.i32(supported ? 1 : 0);
  return okStatus();
}

Status handleConnectOpen(Call& c) {
  auto name = c.args.optStr(4096, "connection URI");
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  std::string uri = name.value_or("");
  // "" means "server, pick the driver"; "xen:///" means the default instance: both are ours.
  bool accepted = uri.empty() || uri == "xen:///" || uri == c.ctx.uri();
  if (!accepted) {
    std::string other = c.ctx.systemMode ? "xen:///session" : "xen:///system";
    if (uri == other)
      return makeError(ErrorCode::InvalidArgument, "This xvirtd serves " + c.ctx.uri() + ", not " + other +
                                                       "; connect to the other daemon's socket instead.");
    return makeError(ErrorCode::InvalidArgument, "xvirtd cannot open the URI '" + uri + "'; it serves " + c.ctx.uri() +
                                                     " (also reachable as xen:///).");
  }
  XVIRT_TRY(c.session.open((flags & kConnectRo) != 0));
  if (logVerbosity() >= 2)
    logDebug("Client " + std::to_string(c.conn.id()) + " opened " + c.ctx.uri() +
             (c.session.readOnly() ? " read-only." : "."));
  return okStatus();
}

Status handleConnectClose(Call& c) {
  c.session.close();
  return okStatus();
}

Status handleRegisterCloseCallback(Call& c) {
  c.session.setCloseCallback(true);
  return okStatus();
}

Status handleUnregisterCloseCallback(Call& c) {
  c.session.setCloseCallback(false);
  return okStatus();
}

Status handleGetType(Call& c) {
  c.ret.str("Xen");
  return okStatus();
}

Status handleGetVersion(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(hv::PhysInfo info, c.ctx.physInfo());
  c.ret.u64(hypervisorVersion(info));
  return okStatus();
}

Status handleGetLibVersion(Call& c) {
  c.ret.u64(kLibVersion);
  return okStatus();
}

Status handleGetHostname(Call& c) {
  char buf[HOST_NAME_MAX + 1] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return Error::system("Cannot read the host name", errno);
  c.ret.str(buf);
  return okStatus();
}

Status handleGetUri(Call& c) {
  c.ret.str(c.ctx.uri());
  return okStatus();
}

Status handleIsSecure(Call& c) {
  c.ret.i32(1);  // a local UNIX socket: nobody else sees the traffic
  return okStatus();
}

Status handleGetMaxVcpus(Call& c) {
  auto type = c.args.optStr(256, "hypervisor type");
  XVIRT_TRY(c.args.finish());
  if (type && !type->empty() && *type != "xen" && *type != "Xen")
    return makeError(ErrorCode::InvalidArgument, "xvirtd knows no hypervisor type '" + *type + "'; use 'xen'.");
  c.ret.i32(kMaxVcpus);
  return okStatus();
}

Status handleGetCapabilities(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(hv::PhysInfo info, c.ctx.physInfo());
  c.ret.str(capabilitiesXml(info));
  return okStatus();
}

Status handleGetDomainCapabilities(Call& c) {
  DomainCapsQuery q;
  q.emulator = c.args.optStr(4096, "emulator").value_or("");
  q.arch = c.args.optStr(256, "architecture").value_or("");
  q.machine = c.args.optStr(256, "machine").value_or("");
  q.virtType = c.args.optStr(256, "virtualization type").value_or("");
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  if (flags != 0)
    return makeError(ErrorCode::InvalidArgument,
                     "unsupported flags (0x" + std::to_string(flags) + ") in function xvirtConnectGetDomainCapabilities");
  XVIRT_ASSIGN_OR_RETURN(hv::PhysInfo info, c.ctx.physInfo());
  XVIRT_ASSIGN_OR_RETURN(std::string xml, domainCapabilitiesXml(info, q, kMaxVcpus));
  c.ret.str(xml);
  return okStatus();
}

Status handleNodeGetInfo(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(hv::PhysInfo info, c.ctx.physInfo());
  unsigned nodes = info.nrNodes ? info.nrNodes : 1;
  unsigned cores = info.coresPerSocket ? info.coresPerSocket : 1;
  unsigned threads = info.threadsPerCore ? info.threadsPerCore : 1;
  unsigned sockets = info.nrCpus / (cores * threads * nodes);
  c.ret.charArray("x86_64", 32);  // char[32]: 128 bytes on the wire
  c.ret.u64(info.totalKib);
  c.ret.i32(static_cast<int32_t>(info.nrCpus));
  c.ret.i32(static_cast<int32_t>(info.cpuKhz / 1000));
  c.ret.i32(static_cast<int32_t>(nodes));
  c.ret.i32(static_cast<int32_t>(sockets ? sockets : 1));
  c.ret.i32(static_cast<int32_t>(cores));
  c.ret.i32(static_cast<int32_t>(threads));
  return okStatus();
}

Status handleNodeGetCpuMap(Call& c) {
  int32_t needMap = c.args.i32();
  int32_t needOnline = c.args.i32();
  c.args.u32();  // flags: none defined
  XVIRT_TRY(c.args.finish());
  XVIRT_ASSIGN_OR_RETURN(hv::PhysInfo info, c.ctx.physInfo());
  std::vector<uint8_t> map;
  if (needMap) {
    // Every host CPU Xen reports is online: Xen parks offline CPUs outside nr_cpus.
    map.assign((info.nrCpus + 7) / 8, 0);
    if (map.size() > kCpuMapMax) map.resize(kCpuMapMax);
    for (unsigned i = 0; i < info.nrCpus && i / 8 < map.size(); ++i) map[i / 8] |= uint8_t(1u << (i % 8));
  }
  c.ret.opaque(map);
  c.ret.u32(needOnline ? info.nrCpus : 0);
  c.ret.i32(static_cast<int32_t>(info.nrCpus));
  return okStatus();
}

Status handleNodeGetFreeMemory(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(hv::PhysInfo info, c.ctx.physInfo());
  c.ret.u64(info.freeKib * 1024);
  return okStatus();
}

Status handleNodeGetSecurityModel(Call& c) {
  // No security driver: an empty model (a single NUL), which virsh takes as "print nothing".
  c.ret.countedChars("");
  c.ret.countedChars("");
  return okStatus();
}

Status handleListAllDomains(Call& c) {
  int32_t needResults = c.args.i32();
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  XVIRT_ASSIGN_OR_RETURN(auto domains, c.ctx.domains.listAll(flags));
  if (domains.size() > rpc::kDomainListMax)
    return makeError(ErrorCode::OperationFailed, "There are " + std::to_string(domains.size()) +
                                                     " domains, more than the protocol can list at once.");
  if (needResults) {
    c.ret.u32(static_cast<uint32_t>(domains.size()));
    for (const auto& d : domains) d.encode(c.ret);
  } else {
    c.ret.u32(0);
  }
  c.ret.u32(static_cast<uint32_t>(domains.size()));
  return okStatus();
}

Status handleDomainLookupById(Call& c) {
  int32_t id = c.args.i32();
  XVIRT_TRY(c.args.finish());
  XVIRT_ASSIGN_OR_RETURN(rpc::RemoteDomain dom, c.ctx.domains.lookupById(id));
  dom.encode(c.ret);
  return okStatus();
}

Status handleDomainLookupByName(Call& c) {
  std::string name = c.args.str(rpc::kDomainNameMax, "domain name");
  XVIRT_TRY(c.args.finish());
  XVIRT_ASSIGN_OR_RETURN(rpc::RemoteDomain dom, c.ctx.domains.lookupByName(name));
  dom.encode(c.ret);
  return okStatus();
}

Status handleDomainLookupByUuid(Call& c) {
  auto bytes = c.args.fixedOpaque(16);
  XVIRT_TRY(c.args.finish());
  Uuid uuid;
  std::copy(bytes.begin(), bytes.end(), uuid.bytes.begin());
  XVIRT_ASSIGN_OR_RETURN(rpc::RemoteDomain dom, c.ctx.domains.lookupByUuid(uuid));
  dom.encode(c.ret);
  return okStatus();
}

Status handleDomainEventRegisterAny(Call& c) {
  int32_t eventId = c.args.i32();
  std::optional<Uuid> domain;
  if (c.args.present()) domain = rpc::RemoteDomain::decode(c.args).uuid;
  XVIRT_TRY(c.args.finish());
  if (eventId < 0 || eventId >= kEventIdMax)
    return makeError(ErrorCode::InvalidArgument, "The domain event id " + std::to_string(eventId) + " is not known.");
  int32_t id = c.ctx.events.add(c.conn.shared_from_this(), eventId, domain);
  EventBus& bus = c.ctx.events;
  c.afterReply = [&bus, id] { bus.activate(id); };
  c.ret.i32(id);
  return okStatus();
}

Status handleDomainEventDeregisterAny(Call& c) {
  int32_t id = c.args.i32();
  XVIRT_TRY(c.args.finish());
  return c.ctx.events.remove(c.conn.id(), id);
}

}  // namespace xvirt::driver
