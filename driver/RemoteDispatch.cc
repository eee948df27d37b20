// The REMOTE_PROGRAM procedure table and the per-connection dispatcher. To find where a libvirt
// API is served, grep this table for its REMOTE_PROC name.
#include "driver/RemoteDispatch.h"

#include <algorithm>
#include <array>

#include "common/Log.h"
#include "driver/ErrorMap.h"
#include "driver/rpc/ProcedureNumbers.h"

namespace xvirt::driver {

namespace {

using namespace procflag;
namespace p = rpc::proc;

constexpr unsigned kQuery = 0;

// One row per procedure, sorted by number. Rows with a nullptr handler are known APIs that answer
// VIR_ERR_NO_SUPPORT after the read-only check libvirt applies first.
constexpr std::array kProcedures = {
    ProcedureEntry{p::kConnectOpen, "CONNECT_OPEN", handleConnectOpen, kPreOpen | kInline},
    ProcedureEntry{p::kConnectClose, "CONNECT_CLOSE", handleConnectClose, kNoArgs | kInline},
    ProcedureEntry{p::kConnectGetType, "CONNECT_GET_TYPE", handleGetType, kNoArgs | kInline},
    ProcedureEntry{p::kConnectGetVersion, "CONNECT_GET_VERSION", handleGetVersion, kNoArgs | kInline},
    ProcedureEntry{p::kConnectGetMaxVcpus, "CONNECT_GET_MAX_VCPUS", handleGetMaxVcpus, kInline},
    ProcedureEntry{p::kNodeGetInfo, "NODE_GET_INFO", handleNodeGetInfo, kNoArgs | kInline},
    ProcedureEntry{p::kConnectGetCapabilities, "CONNECT_GET_CAPABILITIES", handleGetCapabilities, kNoArgs},
    ProcedureEntry{8, "DOMAIN_ATTACH_DEVICE", handleDomainAttachDevice, kMutating},
    ProcedureEntry{9, "DOMAIN_CREATE", handleDomainCreate, kMutating},
    ProcedureEntry{10, "DOMAIN_CREATE_XML", handleDomainCreateXml, kMutating},
    ProcedureEntry{11, "DOMAIN_DEFINE_XML", handleDomainDefineXml, kMutating},
    ProcedureEntry{12, "DOMAIN_DESTROY", handleDomainDestroy, kMutating},
    ProcedureEntry{13, "DOMAIN_DETACH_DEVICE", handleDomainDetachDevice, kMutating},
    ProcedureEntry{14, "DOMAIN_GET_XML_DESC", handleDomainGetXmlDesc, kQuery},
    ProcedureEntry{15, "DOMAIN_GET_AUTOSTART", handleDomainGetAutostart, kInline},
    ProcedureEntry{16, "DOMAIN_GET_INFO", handleDomainGetInfo, kInline},
    ProcedureEntry{17, "DOMAIN_GET_MAX_MEMORY", handleDomainGetMaxMemory, kInline},
    ProcedureEntry{18, "DOMAIN_GET_MAX_VCPUS", handleDomainGetMaxVcpus, kQuery},
    ProcedureEntry{19, "DOMAIN_GET_OS_TYPE", handleDomainGetOsType, kInline},
    ProcedureEntry{20, "DOMAIN_GET_VCPUS", handleDomainGetVcpus, kQuery},
    ProcedureEntry{21, "CONNECT_LIST_DEFINED_DOMAINS", handleListDefinedDomains, kInline},
    ProcedureEntry{p::kDomainLookupById, "DOMAIN_LOOKUP_BY_ID", handleDomainLookupById, kInline},
    ProcedureEntry{p::kDomainLookupByName, "DOMAIN_LOOKUP_BY_NAME", handleDomainLookupByName, kInline},
    ProcedureEntry{p::kDomainLookupByUuid, "DOMAIN_LOOKUP_BY_UUID", handleDomainLookupByUuid, kInline},
    ProcedureEntry{25, "CONNECT_NUM_OF_DEFINED_DOMAINS", handleNumOfDefinedDomains, kNoArgs | kInline},
    ProcedureEntry{26, "DOMAIN_PIN_VCPU", handleDomainPinVcpu, kMutating},
    ProcedureEntry{27, "DOMAIN_REBOOT", handleDomainReboot, kMutating},
    ProcedureEntry{28, "DOMAIN_RESUME", handleDomainResume, kMutating},
    ProcedureEntry{29, "DOMAIN_SET_AUTOSTART", handleDomainSetAutostart, kMutating},
    ProcedureEntry{30, "DOMAIN_SET_MAX_MEMORY", handleDomainSetMaxMemory, kMutating},
    ProcedureEntry{31, "DOMAIN_SET_MEMORY", handleDomainSetMemory, kMutating},
    ProcedureEntry{32, "DOMAIN_SET_VCPUS", handleDomainSetVcpus, kMutating},
    ProcedureEntry{33, "DOMAIN_SHUTDOWN", handleDomainShutdown, kMutating},
    ProcedureEntry{34, "DOMAIN_SUSPEND", handleDomainSuspend, kMutating},
    ProcedureEntry{35, "DOMAIN_UNDEFINE", handleDomainUndefine, kMutating},
    ProcedureEntry{37, "CONNECT_LIST_DOMAINS", handleListDomains, kInline},
    ProcedureEntry{51, "CONNECT_NUM_OF_DOMAINS", handleNumOfDomains, kNoArgs | kInline},
    ProcedureEntry{54, "DOMAIN_RESTORE", handleDomainRestore, kMutating},
    ProcedureEntry{55, "DOMAIN_SAVE", handleDomainSave, kMutating},
    ProcedureEntry{p::kConnectGetHostname, "CONNECT_GET_HOSTNAME", handleGetHostname, kNoArgs | kInline},
    ProcedureEntry{p::kConnectSupportsFeature, "CONNECT_SUPPORTS_FEATURE", handleSupportsFeature, kPreOpen | kInline},
    ProcedureEntry{p::kAuthList, "AUTH_LIST", handleAuthList, kPreOpen | kNoArgs | kInline},
    ProcedureEntry{p::kNodeGetFreeMemory, "NODE_GET_FREE_MEMORY", handleNodeGetFreeMemory, kNoArgs | kInline},
    ProcedureEntry{p::kConnectGetUri, "CONNECT_GET_URI", handleGetUri, kNoArgs | kInline},
    ProcedureEntry{p::kNodeGetSecurityModel, "NODE_GET_SECURITY_MODEL", handleNodeGetSecurityModel, kNoArgs},
    ProcedureEntry{135, "CONNECT_DOMAIN_XML_FROM_NATIVE", handleDomainXmlFromNative, kMutating},  // libvirt denies it read-only
    ProcedureEntry{136, "CONNECT_DOMAIN_XML_TO_NATIVE", handleDomainXmlToNative, kMutating},
    ProcedureEntry{p::kConnectIsSecure, "CONNECT_IS_SECURE", handleIsSecure, kNoArgs | kInline},
    ProcedureEntry{150, "DOMAIN_IS_ACTIVE", handleDomainIsActive, kInline},
    ProcedureEntry{151, "DOMAIN_IS_PERSISTENT", handleDomainIsPersistent, kInline},
    ProcedureEntry{p::kConnectGetLibVersion, "CONNECT_GET_LIB_VERSION", handleGetLibVersion, kNoArgs | kInline},
    ProcedureEntry{159, "DOMAIN_MEMORY_STATS", handleDomainMemoryStats, kQuery},
    ProcedureEntry{160, "DOMAIN_ATTACH_DEVICE_FLAGS", handleDomainAttachDeviceFlags, kMutating},
    ProcedureEntry{161, "DOMAIN_DETACH_DEVICE_FLAGS", handleDomainDetachDeviceFlags, kMutating},
    ProcedureEntry{174, "DOMAIN_UPDATE_DEVICE_FLAGS", handleDomainUpdateDeviceFlags, kMutating},
    ProcedureEntry{182, "DOMAIN_MANAGED_SAVE", handleDomainManagedSave, kMutating},
    ProcedureEntry{183, "DOMAIN_HAS_MANAGED_SAVE_IMAGE", handleDomainHasManagedSaveImage, kQuery},
    ProcedureEntry{184, "DOMAIN_MANAGED_SAVE_REMOVE", handleDomainManagedSaveRemove, kMutating},
    ProcedureEntry{196, "DOMAIN_CREATE_WITH_FLAGS", handleDomainCreateWithFlags, kMutating},
    ProcedureEntry{199, "DOMAIN_SET_VCPUS_FLAGS", handleDomainSetVcpusFlags, kMutating},
    ProcedureEntry{200, "DOMAIN_GET_VCPUS_FLAGS", handleDomainGetVcpusFlags, kQuery},
    ProcedureEntry{p::kDomainOpenConsole, "DOMAIN_OPEN_CONSOLE", handleDomainOpenConsole, kMutating},
    ProcedureEntry{202, "DOMAIN_IS_UPDATED", handleDomainIsUpdated, kInline},
    ProcedureEntry{204, "DOMAIN_SET_MEMORY_FLAGS", handleDomainSetMemoryFlags, kMutating},
    ProcedureEntry{212, "DOMAIN_GET_STATE", handleDomainGetState, kInline},
    ProcedureEntry{225, "DOMAIN_PIN_VCPU_FLAGS", handleDomainPinVcpuFlags, kMutating},
    ProcedureEntry{230, "DOMAIN_GET_VCPU_PIN_INFO", handleDomainGetVcpuPinInfo, kQuery},
    ProcedureEntry{231, "DOMAIN_UNDEFINE_FLAGS", handleDomainUndefineFlags, kMutating},
    ProcedureEntry{232, "DOMAIN_SAVE_FLAGS", handleDomainSaveFlags, kMutating},
    ProcedureEntry{233, "DOMAIN_RESTORE_FLAGS", handleDomainRestoreFlags, kMutating},
    ProcedureEntry{234, "DOMAIN_DESTROY_FLAGS", handleDomainDestroyFlags, kMutating},
    ProcedureEntry{235, "DOMAIN_SAVE_IMAGE_GET_XML_DESC", handleDomainSaveImageGetXmlDesc, kMutating},  // libvirt denies it read-only
    ProcedureEntry{236, "DOMAIN_SAVE_IMAGE_DEFINE_XML", handleDomainSaveImageDefineXml, kMutating},
    ProcedureEntry{258, "DOMAIN_SHUTDOWN_FLAGS", handleDomainShutdownFlags, kMutating},
    ProcedureEntry{262, "DOMAIN_GET_CPU_STATS", handleDomainGetCpuStats, kQuery},
    ProcedureEntry{p::kConnectListAllDomains, "CONNECT_LIST_ALL_DOMAINS", handleListAllDomains, kInline},
    ProcedureEntry{p::kNodeGetCpuMap, "NODE_GET_CPU_MAP", handleNodeGetCpuMap, kQuery},
    ProcedureEntry{p::kConnectDomainEventCallbackRegisterAny, "CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY",
                   handleDomainEventRegisterAny, kInline},
    ProcedureEntry{p::kConnectDomainEventCallbackDeregisterAny, "CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY",
                   handleDomainEventDeregisterAny, kInline},
    ProcedureEntry{p::kConnectGetDomainCapabilities, "CONNECT_GET_DOMAIN_CAPABILITIES", handleGetDomainCapabilities,
                   kQuery},
    ProcedureEntry{344, "CONNECT_GET_ALL_DOMAIN_STATS", handleConnectGetAllDomainStats, kQuery},
    ProcedureEntry{350, "DOMAIN_DEFINE_XML_FLAGS", handleDomainDefineXmlFlags, kMutating},
    ProcedureEntry{p::kConnectRegisterCloseCallback, "CONNECT_REGISTER_CLOSE_CALLBACK", handleRegisterCloseCallback,
                   kNoArgs | kInline},
    ProcedureEntry{p::kConnectUnregisterCloseCallback, "CONNECT_UNREGISTER_CLOSE_CALLBACK",
                   handleUnregisterCloseCallback, kNoArgs | kInline},
};

constexpr bool sortedByNumber() {
  for (size_t i = 1; i < kProcedures.size(); ++i)
    if (kProcedures[i - 1].number >= kProcedures[i].number) return false;
  return true;
}
static_assert(sortedByNumber(), "keep the procedure table sorted by number, one row per procedure");

rpc::CallReply errorReply(int32_t code, std::string message) { return rpc::CallReply::fail(remoteError(code, std::move(message))); }

}  // namespace

std::span<const ProcedureEntry> remoteProcedures() { return kProcedures; }

const ProcedureEntry* findRemoteProcedure(int32_t number) {
  auto it = std::lower_bound(kProcedures.begin(), kProcedures.end(), number,
                             [](const ProcedureEntry& e, int32_t n) { return e.number < n; });
  return it != kProcedures.end() && it->number == number ? &*it : nullptr;
}

Result<hv::PhysInfo> DriverContext::physInfo() {
  std::lock_guard lock(hvMu_);
  return hypervisor.physInfo();
}

ClientSession::ClientSession(DriverContext& ctx, rpc::Connection& conn)
    : ctx_(ctx), connectionId_(conn.id()), readOnlySocket_(conn.readOnlySocket()) {}

rpc::CallReply ClientSession::handleCall(rpc::Connection& conn, const rpc::Header& h, std::span<const uint8_t> payload) {
  const ProcedureEntry* e = findRemoteProcedure(h.proc);
  if (!e) {
    logDebug("Client " + std::to_string(connectionId_) + " called unsupported procedure " + std::to_string(h.proc) + ".");
    return errorReply(virerr::kNoSupport,
                      "this function is not supported by the connection driver: xvirtd does not implement remote procedure " +
                          std::to_string(h.proc) + ".");
  }
  if (logVerbosity() >= 2)  // no strings built per call unless they are printed
    logDebug("Client " + std::to_string(connectionId_) + " calls " + e->name + " (serial " + std::to_string(h.serial) + ").");
  if (!(e->flags & kPreOpen) && !isOpen())
    return errorReply(virerr::kInvalidConn, std::string("The connection is not open; ") + e->name +
                                                " needs a successful CONNECT_OPEN first.");
  if ((e->flags & kMutating) && readOnly())
    return errorReply(virerr::kOperationDenied,
                      std::string("operation forbidden: read only access prevents ") + e->name + ".");
  if (!e->handler)
    return errorReply(virerr::kNoSupport, std::string("this function is not supported by the connection driver: ") +
                                              e->name + " (remote procedure " + std::to_string(h.proc) +
                                              ") is not implemented by xvirtd yet.");
  Call call{ctx_, *this, conn, rpc::XdrReader(payload), rpc::XdrWriter(), {}};
  call.serial = h.serial;
  if (e->flags & kNoArgs) {
    if (auto st = call.args.finish(); !st) return rpc::CallReply::fail(toRemoteError(st.error()));
  }
  Status st = e->handler(call);
  if (!st) {
    logDebug(std::string(e->name) + " failed: " + st.error().message);
    return rpc::CallReply::fail(toRemoteError(st.error()));
  }
  rpc::CallReply reply = rpc::CallReply::ok(call.ret.take());
  reply.afterReply = std::move(call.afterReply);
  return reply;
}

bool ClientSession::runsInline(const rpc::Header& h) const {
  const ProcedureEntry* e = findRemoteProcedure(h.proc);
  return e && (e->flags & kInline);  // unknown procedures are pooled: their error is cheap either way
}

void ClientSession::closed(rpc::Connection&) {
  // EOF without CONNECT_CLOSE is how python clients leave: clean up exactly as for a close.
  close();
  std::map<uint32_t, std::shared_ptr<ConsoleStream>> streams;
  {
    std::lock_guard lock(mu_);
    streams.swap(streams_);
  }
  for (auto& [serial, stream] : streams) stream->stop();
}

void ClientSession::handleStream(rpc::Connection&, const rpc::Header& h, std::span<const uint8_t> payload) {
  std::shared_ptr<ConsoleStream> stream;
  {
    std::lock_guard lock(mu_);
    auto it = streams_.find(h.serial);
    // Packets for a stream that is gone can race with its close; libvirtd ignores them too.
    if (it == streams_.end() || h.proc != rpc::proc::kDomainOpenConsole) return;
    stream = it->second;
    if (h.status != rpc::MessageStatus::Continue) streams_.erase(it);
  }
  switch (h.status) {
    case rpc::MessageStatus::Continue: stream->clientData(payload); break;
    case rpc::MessageStatus::Ok: stream->clientFinish(); break;
    case rpc::MessageStatus::Error: stream->clientAbort(); break;
  }
}

void ClientSession::addStream(std::shared_ptr<ConsoleStream> stream) {
  std::vector<std::shared_ptr<ConsoleStream>> done;
  {
    std::lock_guard lock(mu_);
    // Streams that ended on the server's side (an error) wait here for the connection's end;
    // collect them whenever a new one opens.
    for (auto it = streams_.begin(); it != streams_.end();) {
      if (it->second->closed()) {
        done.push_back(std::move(it->second));
        it = streams_.erase(it);
      } else {
        ++it;
      }
    }
    streams_[stream->serial()] = std::move(stream);
  }
  for (auto& s : done) s->stop();
}

Status ClientSession::open(bool readOnlyRequested) {
  std::lock_guard lock(mu_);
  if (open_) return makeError(ErrorCode::OperationInvalid, "The connection is already open.");
  open_ = true;
  // The read-only socket makes every connection on it read-only, whatever the client asked for.
  readOnly_ = readOnlyRequested || readOnlySocket_;
  return okStatus();
}

void ClientSession::close() {
  {
    std::lock_guard lock(mu_);
    open_ = false;
    closeCallback_ = false;
  }
  ctx_.events.removeConnection(connectionId_);
}

bool ClientSession::isOpen() const {
  std::lock_guard lock(mu_);
  return open_;
}

bool ClientSession::readOnly() const {
  std::lock_guard lock(mu_);
  return readOnly_ || readOnlySocket_;
}

void ClientSession::setCloseCallback(bool on) {
  std::lock_guard lock(mu_);
  closeCallback_ = on;
}

}  // namespace xvirt::driver
