// The REMOTE_PROGRAM procedure table and the per-connection dispatcher. To find where a libvirt
// API is served, grep for its REMOTE_PROC name or its camel-case name (DOMAIN_GET_INFO,
// domainGetInfo): the number, this table's row and the handler in driver/api/ are all there is.
#include "driver/RemoteDispatch.h"

#include <algorithm>
#include <array>

#include "common/Log.h"
#include "driver/ErrorMap.h"
#include "driver/api/Handlers.h"
#include "driver/rpc/ProcedureNumbers.h"

namespace xvirt::driver {

namespace {

using namespace procflag;
namespace p = rpc::proc;

constexpr unsigned kQuery = 0;

// One row per procedure, sorted by number. Rows with a nullptr handler are known APIs that answer
// VIR_ERR_NO_SUPPORT after the read-only check libvirt applies first.
constexpr std::array kProcedures = {
    ProcedureEntry{p::kConnectOpen, "CONNECT_OPEN", api::connectOpen, kPreOpen | kInline},
    ProcedureEntry{p::kConnectClose, "CONNECT_CLOSE", api::connectClose, kNoArgs | kInline},
    ProcedureEntry{p::kConnectGetType, "CONNECT_GET_TYPE", api::connectGetType, kNoArgs | kInline},
    ProcedureEntry{p::kConnectGetVersion, "CONNECT_GET_VERSION", api::connectGetVersion, kNoArgs | kInline},
    ProcedureEntry{p::kConnectGetMaxVcpus, "CONNECT_GET_MAX_VCPUS", api::connectGetMaxVcpus, kInline},
    ProcedureEntry{p::kNodeGetInfo, "NODE_GET_INFO", api::nodeGetInfo, kNoArgs | kInline},
    ProcedureEntry{p::kConnectGetCapabilities, "CONNECT_GET_CAPABILITIES", api::connectGetCapabilities, kNoArgs},
    ProcedureEntry{p::kDomainAttachDevice, "DOMAIN_ATTACH_DEVICE", api::domainAttachDevice, kMutating},
    ProcedureEntry{p::kDomainCreate, "DOMAIN_CREATE", api::domainCreate, kMutating},
    ProcedureEntry{p::kDomainCreateXml, "DOMAIN_CREATE_XML", api::domainCreateXml, kMutating},
    ProcedureEntry{p::kDomainDefineXml, "DOMAIN_DEFINE_XML", api::domainDefineXml, kMutating},
    ProcedureEntry{p::kDomainDestroy, "DOMAIN_DESTROY", api::domainDestroy, kMutating},
    ProcedureEntry{p::kDomainDetachDevice, "DOMAIN_DETACH_DEVICE", api::domainDetachDevice, kMutating},
    ProcedureEntry{p::kDomainGetXmlDesc, "DOMAIN_GET_XML_DESC", api::domainGetXmlDesc, kQuery},
    ProcedureEntry{p::kDomainGetAutostart, "DOMAIN_GET_AUTOSTART", api::domainGetAutostart, kInline},
    ProcedureEntry{p::kDomainGetInfo, "DOMAIN_GET_INFO", api::domainGetInfo, kInline},
    ProcedureEntry{p::kDomainGetMaxMemory, "DOMAIN_GET_MAX_MEMORY", api::domainGetMaxMemory, kInline},
    ProcedureEntry{p::kDomainGetMaxVcpus, "DOMAIN_GET_MAX_VCPUS", api::domainGetMaxVcpus, kQuery},
    ProcedureEntry{p::kDomainGetOsType, "DOMAIN_GET_OS_TYPE", api::domainGetOsType, kInline},
    ProcedureEntry{p::kDomainGetVcpus, "DOMAIN_GET_VCPUS", api::domainGetVcpus, kQuery},
    ProcedureEntry{p::kConnectListDefinedDomains, "CONNECT_LIST_DEFINED_DOMAINS", api::connectListDefinedDomains,
                   kInline},
    ProcedureEntry{p::kDomainLookupById, "DOMAIN_LOOKUP_BY_ID", api::domainLookupById, kInline},
    ProcedureEntry{p::kDomainLookupByName, "DOMAIN_LOOKUP_BY_NAME", api::domainLookupByName, kInline},
    ProcedureEntry{p::kDomainLookupByUuid, "DOMAIN_LOOKUP_BY_UUID", api::domainLookupByUuid, kInline},
    ProcedureEntry{p::kConnectNumOfDefinedDomains, "CONNECT_NUM_OF_DEFINED_DOMAINS", api::connectNumOfDefinedDomains,
                   kNoArgs | kInline},
    ProcedureEntry{p::kDomainPinVcpu, "DOMAIN_PIN_VCPU", api::domainPinVcpu, kMutating},
    ProcedureEntry{p::kDomainReboot, "DOMAIN_REBOOT", api::domainReboot, kMutating},
    ProcedureEntry{p::kDomainResume, "DOMAIN_RESUME", api::domainResume, kMutating},
    ProcedureEntry{p::kDomainSetAutostart, "DOMAIN_SET_AUTOSTART", api::domainSetAutostart, kMutating},
    ProcedureEntry{p::kDomainSetMaxMemory, "DOMAIN_SET_MAX_MEMORY", api::domainSetMaxMemory, kMutating},
    ProcedureEntry{p::kDomainSetMemory, "DOMAIN_SET_MEMORY", api::domainSetMemory, kMutating},
    ProcedureEntry{p::kDomainSetVcpus, "DOMAIN_SET_VCPUS", api::domainSetVcpus, kMutating},
    ProcedureEntry{p::kDomainShutdown, "DOMAIN_SHUTDOWN", api::domainShutdown, kMutating},
    ProcedureEntry{p::kDomainSuspend, "DOMAIN_SUSPEND", api::domainSuspend, kMutating},
    ProcedureEntry{p::kDomainUndefine, "DOMAIN_UNDEFINE", api::domainUndefine, kMutating},
    ProcedureEntry{p::kConnectListDomains, "CONNECT_LIST_DOMAINS", api::connectListDomains, kInline},
    ProcedureEntry{p::kConnectNumOfDomains, "CONNECT_NUM_OF_DOMAINS", api::connectNumOfDomains, kNoArgs | kInline},
    ProcedureEntry{p::kDomainRestore, "DOMAIN_RESTORE", api::domainRestore, kMutating},
    ProcedureEntry{p::kDomainSave, "DOMAIN_SAVE", api::domainSave, kMutating},
    ProcedureEntry{p::kConnectGetHostname, "CONNECT_GET_HOSTNAME", api::connectGetHostname, kNoArgs | kInline},
    ProcedureEntry{p::kConnectSupportsFeature, "CONNECT_SUPPORTS_FEATURE", api::connectSupportsFeature,
                   kPreOpen | kInline},
    ProcedureEntry{p::kAuthList, "AUTH_LIST", api::authList, kPreOpen | kNoArgs | kInline},
    ProcedureEntry{p::kNodeGetFreeMemory, "NODE_GET_FREE_MEMORY", api::nodeGetFreeMemory, kNoArgs | kInline},
    ProcedureEntry{p::kConnectGetUri, "CONNECT_GET_URI", api::connectGetUri, kNoArgs | kInline},
    ProcedureEntry{p::kNodeGetSecurityModel, "NODE_GET_SECURITY_MODEL", api::nodeGetSecurityModel, kNoArgs},
    // libvirt denies it read-only
    ProcedureEntry{p::kConnectDomainXmlFromNative, "CONNECT_DOMAIN_XML_FROM_NATIVE", api::connectDomainXmlFromNative,
                   kMutating},
    ProcedureEntry{p::kConnectDomainXmlToNative, "CONNECT_DOMAIN_XML_TO_NATIVE", api::connectDomainXmlToNative,
                   kMutating},
    ProcedureEntry{p::kConnectIsSecure, "CONNECT_IS_SECURE", api::connectIsSecure, kNoArgs | kInline},
    ProcedureEntry{p::kDomainIsActive, "DOMAIN_IS_ACTIVE", api::domainIsActive, kInline},
    ProcedureEntry{p::kDomainIsPersistent, "DOMAIN_IS_PERSISTENT", api::domainIsPersistent, kInline},
    ProcedureEntry{p::kConnectGetLibVersion, "CONNECT_GET_LIB_VERSION", api::connectGetLibVersion, kNoArgs | kInline},
    ProcedureEntry{p::kDomainMemoryStats, "DOMAIN_MEMORY_STATS", api::domainMemoryStats, kQuery},
    ProcedureEntry{p::kDomainAttachDeviceFlags, "DOMAIN_ATTACH_DEVICE_FLAGS", api::domainAttachDeviceFlags, kMutating},
    ProcedureEntry{p::kDomainDetachDeviceFlags, "DOMAIN_DETACH_DEVICE_FLAGS", api::domainDetachDeviceFlags, kMutating},
    ProcedureEntry{p::kDomainUpdateDeviceFlags, "DOMAIN_UPDATE_DEVICE_FLAGS", api::domainUpdateDeviceFlags, kMutating},
    ProcedureEntry{p::kDomainManagedSave, "DOMAIN_MANAGED_SAVE", api::domainManagedSave, kMutating},
    ProcedureEntry{p::kDomainHasManagedSaveImage, "DOMAIN_HAS_MANAGED_SAVE_IMAGE", api::domainHasManagedSaveImage,
                   kQuery},
    ProcedureEntry{p::kDomainManagedSaveRemove, "DOMAIN_MANAGED_SAVE_REMOVE", api::domainManagedSaveRemove, kMutating},
    ProcedureEntry{p::kDomainCreateWithFlags, "DOMAIN_CREATE_WITH_FLAGS", api::domainCreateWithFlags, kMutating},
    ProcedureEntry{p::kDomainSetVcpusFlags, "DOMAIN_SET_VCPUS_FLAGS", api::domainSetVcpusFlags, kMutating},
    ProcedureEntry{p::kDomainGetVcpusFlags, "DOMAIN_GET_VCPUS_FLAGS", api::domainGetVcpusFlags, kQuery},
    ProcedureEntry{p::kDomainOpenConsole, "DOMAIN_OPEN_CONSOLE", api::domainOpenConsole, kMutating},
    ProcedureEntry{p::kDomainIsUpdated, "DOMAIN_IS_UPDATED", api::domainIsUpdated, kInline},
    ProcedureEntry{p::kDomainSetMemoryFlags, "DOMAIN_SET_MEMORY_FLAGS", api::domainSetMemoryFlags, kMutating},
    ProcedureEntry{p::kDomainGetState, "DOMAIN_GET_STATE", api::domainGetState, kInline},
    ProcedureEntry{p::kDomainPinVcpuFlags, "DOMAIN_PIN_VCPU_FLAGS", api::domainPinVcpuFlags, kMutating},
    ProcedureEntry{p::kDomainGetVcpuPinInfo, "DOMAIN_GET_VCPU_PIN_INFO", api::domainGetVcpuPinInfo, kQuery},
    ProcedureEntry{p::kDomainUndefineFlags, "DOMAIN_UNDEFINE_FLAGS", api::domainUndefineFlags, kMutating},
    ProcedureEntry{p::kDomainSaveFlags, "DOMAIN_SAVE_FLAGS", api::domainSaveFlags, kMutating},
    ProcedureEntry{p::kDomainRestoreFlags, "DOMAIN_RESTORE_FLAGS", api::domainRestoreFlags, kMutating},
    ProcedureEntry{p::kDomainDestroyFlags, "DOMAIN_DESTROY_FLAGS", api::domainDestroyFlags, kMutating},
    // libvirt denies it read-only
    ProcedureEntry{p::kDomainSaveImageGetXmlDesc, "DOMAIN_SAVE_IMAGE_GET_XML_DESC", api::domainSaveImageGetXmlDesc,
                   kMutating},
    ProcedureEntry{p::kDomainSaveImageDefineXml, "DOMAIN_SAVE_IMAGE_DEFINE_XML", api::domainSaveImageDefineXml,
                   kMutating},
    ProcedureEntry{p::kDomainShutdownFlags, "DOMAIN_SHUTDOWN_FLAGS", api::domainShutdownFlags, kMutating},
    ProcedureEntry{p::kDomainGetCpuStats, "DOMAIN_GET_CPU_STATS", api::domainGetCpuStats, kQuery},
    ProcedureEntry{p::kConnectListAllDomains, "CONNECT_LIST_ALL_DOMAINS", api::connectListAllDomains, kInline},
    // libvirt denies it read-only (a guest agent call may change the guest)
    ProcedureEntry{p::kDomainGetHostname, "DOMAIN_GET_HOSTNAME", api::domainGetHostname, kMutating},
    ProcedureEntry{p::kNodeGetCpuMap, "NODE_GET_CPU_MAP", api::nodeGetCpuMap, kQuery},
    ProcedureEntry{p::kConnectDomainEventCallbackRegisterAny, "CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY",
                   api::connectDomainEventCallbackRegisterAny, kInline},
    ProcedureEntry{p::kConnectDomainEventCallbackDeregisterAny, "CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY",
                   api::connectDomainEventCallbackDeregisterAny, kInline},
    ProcedureEntry{p::kConnectGetDomainCapabilities, "CONNECT_GET_DOMAIN_CAPABILITIES",
                   api::connectGetDomainCapabilities, kQuery},
    ProcedureEntry{p::kConnectGetAllDomainStats, "CONNECT_GET_ALL_DOMAIN_STATS", api::connectGetAllDomainStats, kQuery},
    ProcedureEntry{p::kDomainDefineXmlFlags, "DOMAIN_DEFINE_XML_FLAGS", api::domainDefineXmlFlags, kMutating},
    ProcedureEntry{p::kConnectRegisterCloseCallback, "CONNECT_REGISTER_CLOSE_CALLBACK",
                   api::connectRegisterCloseCallback, kNoArgs | kInline},
    ProcedureEntry{p::kConnectUnregisterCloseCallback, "CONNECT_UNREGISTER_CLOSE_CALLBACK",
                   api::connectUnregisterCloseCallback, kNoArgs | kInline},
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
