// Handlers of the connection and host procedures. Each reads its args struct field by field in
// wire order, checks it was complete, then writes its ret struct.
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "common/Log.h"
#include "driver/Capabilities.h"
#include "driver/LibvirtRules.h"
#include "driver/api/Handlers.h"
#include "driver/rpc/ProcedureNumbers.h"

namespace xvirt::driver::api {

namespace {

constexpr uint64_t kLibVersion = 9000000;  // the libvirt API level we speak (libvirt 9.0.0); docs/rpc.md

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

Status authList(Call& c) {
  c.ret.u32(1);
  c.ret.i32(0);  // REMOTE_AUTH_NONE: the socket's file mode is the access control
  return okStatus();
}

Status connectSupportsFeature(Call& c) {
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

Status connectOpen(Call& c) {
  auto name = c.args.optStr(4096, "connection URI");
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  // As libvirtd: only VIR_CONNECT_RO is read; the client library handles the others itself.
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
  XVIRT_TRY(c.session.open((flags & flags::kConnectRo) != 0));
  if (logVerbosity() >= 2)
    logDebug("Client " + std::to_string(c.conn.id()) + " opened " + c.ctx.uri() +
             (c.session.readOnly() ? " read-only." : "."));
  return okStatus();
}

Status connectClose(Call& c) {
  c.session.close();
  return okStatus();
}

Status connectRegisterCloseCallback(Call& c) {
  c.session.setCloseCallback(true);
  return okStatus();
}

Status connectUnregisterCloseCallback(Call& c) {
  c.session.setCloseCallback(false);
  return okStatus();
}

Status connectGetType(Call& c) {
  c.ret.str("Xen");
  return okStatus();
}

Status connectGetVersion(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(hv::PhysInfo info, c.ctx.physInfo());
  c.ret.u64(hypervisorVersion(info));
  return okStatus();
}

Status connectGetLibVersion(Call& c) {
  c.ret.u64(kLibVersion);
  return okStatus();
}

Status connectGetHostname(Call& c) {
  char buf[HOST_NAME_MAX + 1] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return Error::system("Cannot read the host name", errno);
  c.ret.str(buf);
  return okStatus();
}

Status connectGetUri(Call& c) {
  c.ret.str(c.ctx.uri());
  return okStatus();
}

Status connectIsSecure(Call& c) {
  c.ret.i32(1);  // a local UNIX socket: nobody else sees the traffic
  return okStatus();
}

Status connectGetMaxVcpus(Call& c) {
  auto type = c.args.optStr(256, "hypervisor type");
  XVIRT_TRY(c.args.finish());
  if (type && !type->empty() && *type != "xen" && *type != "Xen")
    return makeError(ErrorCode::InvalidArgument, "xvirtd knows no hypervisor type '" + *type + "'; use 'xen'.");
  c.ret.i32(limits::kMaxVcpus);
  return okStatus();
}

Status connectGetCapabilities(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(hv::PhysInfo info, c.ctx.physInfo());
  c.ret.str(capabilitiesXml(info));
  return okStatus();
}

Status connectGetDomainCapabilities(Call& c) {
  DomainCapsQuery q;
  q.emulator = c.args.optStr(4096, "emulator").value_or("");
  q.arch = c.args.optStr(256, "architecture").value_or("");
  q.machine = c.args.optStr(256, "machine").value_or("");
  q.virtType = c.args.optStr(256, "virtualization type").value_or("");
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  XVIRT_TRY(rules::checkFlags(flags, 0, "virConnectGetDomainCapabilities"));
  XVIRT_ASSIGN_OR_RETURN(hv::PhysInfo info, c.ctx.physInfo());
  XVIRT_ASSIGN_OR_RETURN(std::string xml, domainCapabilitiesXml(info, q, limits::kMaxVcpus));
  c.ret.str(xml);
  return okStatus();
}

Status nodeGetInfo(Call& c) {
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

Status nodeGetCpuMap(Call& c) {
  int32_t needMap = c.args.i32();
  int32_t needOnline = c.args.i32();
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  XVIRT_TRY(rules::checkFlags(flags, 0, "virNodeGetCPUMap"));
  XVIRT_ASSIGN_OR_RETURN(hv::PhysInfo info, c.ctx.physInfo());
  std::vector<uint8_t> map;
  if (needMap) {
    // Every host CPU Xen reports is online: Xen parks offline CPUs outside nr_cpus.
    map.assign((info.nrCpus + 7) / 8, 0);
    if (map.size() > limits::kCpuMapMax) map.resize(limits::kCpuMapMax);
    for (unsigned i = 0; i < info.nrCpus && i / 8 < map.size(); ++i) map[i / 8] |= uint8_t(1u << (i % 8));
  }
  c.ret.opaque(map);
  c.ret.u32(needOnline ? info.nrCpus : 0);
  c.ret.i32(static_cast<int32_t>(info.nrCpus));
  return okStatus();
}

Status nodeGetFreeMemory(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(hv::PhysInfo info, c.ctx.physInfo());
  c.ret.u64(info.freeKib * 1024);
  return okStatus();
}

Status nodeGetSecurityModel(Call& c) {
  // No security driver: an empty model (a single NUL), which virsh takes as "print nothing".
  c.ret.countedChars("");
  c.ret.countedChars("");
  return okStatus();
}

}  // namespace xvirt::driver::api
