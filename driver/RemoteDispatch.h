// RemoteDispatch: the procedure table of REMOTE_PROGRAM (one row per libvirt API: number, name,
// handler, flags) and ClientSession, the per-connection state that runs calls through it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "common/Result.h"
#include "driver/ConsoleStream.h"
#include "driver/DomainRegistry.h"
#include "driver/EventBus.h"
#include "driver/rpc/Connection.h"
#include "driver/rpc/Xdr.h"
#include "hypervisor/Hypervisor.h"

namespace xvirt::driver {

// What every handler can reach: one per daemon.
struct DriverContext {
  DriverContext(hv::Hypervisor& h, DomainRegistry& d, EventBus& e, bool system)
      : hypervisor(h), domains(d), events(e), systemMode(system) {}

  hv::Hypervisor& hypervisor;
  DomainRegistry& domains;
  EventBus& events;
  bool systemMode = false;  // xen:///system, else xen:///session
  ConsoleSessions consoles;  // the open console of each domain

  std::string uri() const { return systemMode ? "xen:///system" : "xen:///session"; }
  Result<hv::PhysInfo> physInfo();  // serialized: backends need not be thread-safe
  // Every other hypervisor call from a handler runs inside this, under the same lock as physInfo().
  template <typename F>
  auto withHypervisor(F&& f) {
    std::lock_guard lock(hvMu_);
    return f(hypervisor);
  }

 private:
  std::mutex hvMu_;
};

class ClientSession;

// One call being handled: decode args from `args`, encode the ret struct into `ret`.
struct Call {
  DriverContext& ctx;
  ClientSession& session;
  rpc::Connection& conn;
  rpc::XdrReader args;
  rpc::XdrWriter ret;
  std::function<void()> afterReply;  // see rpc::CallReply::afterReply
  uint32_t serial = 0;               // the call's serial: streams it opens use it too
};

using ProcedureHandler = Status (*)(Call& call);

namespace procflag {
inline constexpr unsigned kPreOpen = 1;   // allowed before CONNECT_OPEN
inline constexpr unsigned kMutating = 2;  // denied on read-only connections
inline constexpr unsigned kNoArgs = 4;    // the args struct is empty (checked before the handler runs)
// Answered on the connection's reader thread, not the worker pool: the handler only reads memory
// under short locks (or makes one quick hypervisor query) and never talks to a helper, the disk or
// waits for a domain's job.
inline constexpr unsigned kInline = 8;
}  // namespace procflag

struct ProcedureEntry {
  int32_t number;
  const char* name;
  ProcedureHandler handler;  // nullptr: known but not implemented yet (answers VIR_ERR_NO_SUPPORT)
  unsigned flags;
};

std::span<const ProcedureEntry> remoteProcedures();
const ProcedureEntry* findRemoteProcedure(int32_t number);

class ClientSession final : public rpc::CallHandler {
 public:
  ClientSession(DriverContext& ctx, rpc::Connection& conn);

  rpc::CallReply handleCall(rpc::Connection& conn, const rpc::Header& header, std::span<const uint8_t> payload) override;
  void closed(rpc::Connection& conn) override;
  void handleStream(rpc::Connection& conn, const rpc::Header& header, std::span<const uint8_t> payload) override;
  bool runsInline(const rpc::Header& header) const override;

  // A stream opened by a call of this connection: STREAM packets with its serial go to it, and it
  // stops when the connection closes.
  void addStream(std::shared_ptr<ConsoleStream> stream);

  // Connection state, for the handlers.
  Status open(bool readOnlyRequested);
  void close();
  bool isOpen() const;
  bool readOnly() const;
  void setCloseCallback(bool on);

 private:
  DriverContext& ctx_;
  const uint64_t connectionId_;
  const bool readOnlySocket_;
  mutable std::mutex mu_;
  bool open_ = false;
  bool readOnly_ = false;
  bool closeCallback_ = false;
  std::map<uint32_t, std::shared_ptr<ConsoleStream>> streams_;
};

// Handlers, defined in ConnectProcedures.cc (connection and host) and EventProcedures.cc.
Status handleAuthList(Call&);
Status handleSupportsFeature(Call&);
Status handleConnectOpen(Call&);
Status handleConnectClose(Call&);
Status handleRegisterCloseCallback(Call&);
Status handleUnregisterCloseCallback(Call&);
Status handleGetType(Call&);
Status handleGetVersion(Call&);
Status handleGetLibVersion(Call&);
Status handleGetHostname(Call&);
Status handleGetUri(Call&);
Status handleIsSecure(Call&);
Status handleGetMaxVcpus(Call&);
Status handleGetCapabilities(Call&);
Status handleGetDomainCapabilities(Call&);
Status handleNodeGetInfo(Call&);
Status handleNodeGetCpuMap(Call&);
Status handleNodeGetFreeMemory(Call&);
Status handleNodeGetSecurityModel(Call&);
Status handleListAllDomains(Call&);
Status handleDomainLookupById(Call&);
Status handleDomainLookupByName(Call&);
Status handleDomainLookupByUuid(Call&);
Status handleDomainEventRegisterAny(Call&);
Status handleDomainEventDeregisterAny(Call&);

// Defined in HotplugProcedures.cc (attach, detach and update of disks and interfaces).
Status handleDomainAttachDevice(Call&);
Status handleDomainAttachDeviceFlags(Call&);
Status handleDomainDetachDevice(Call&);
Status handleDomainDetachDeviceFlags(Call&);
Status handleDomainUpdateDeviceFlags(Call&);

// Defined in TuningProcedures.cc (vCPUs, pinning, memory), StatsProcedures.cc (CPU, memory and
// all-domain statistics) and NativeFormatProcedures.cc (xl/xm configs).
Status handleDomainGetVcpus(Call&);
Status handleDomainGetVcpuPinInfo(Call&);
Status handleDomainPinVcpu(Call&);
Status handleDomainPinVcpuFlags(Call&);
Status handleDomainGetVcpusFlags(Call&);
Status handleDomainGetMaxVcpus(Call&);
Status handleDomainSetVcpus(Call&);
Status handleDomainSetVcpusFlags(Call&);
Status handleDomainSetMemory(Call&);
Status handleDomainSetMaxMemory(Call&);
Status handleDomainSetMemoryFlags(Call&);
Status handleDomainGetCpuStats(Call&);
Status handleDomainMemoryStats(Call&);
Status handleConnectGetAllDomainStats(Call&);
Status handleDomainXmlFromNative(Call&);
Status handleDomainXmlToNative(Call&);

// Defined in DomainProcedures.cc.
Status handleListDomains(Call&);
Status handleNumOfDomains(Call&);
Status handleListDefinedDomains(Call&);
Status handleNumOfDefinedDomains(Call&);
Status handleDomainDefineXml(Call&);
Status handleDomainDefineXmlFlags(Call&);
Status handleDomainUndefine(Call&);
Status handleDomainUndefineFlags(Call&);
Status handleDomainCreateXml(Call&);
Status handleDomainCreate(Call&);
Status handleDomainCreateWithFlags(Call&);
Status handleDomainShutdown(Call&);
Status handleDomainShutdownFlags(Call&);
Status handleDomainReboot(Call&);
Status handleDomainDestroy(Call&);
Status handleDomainDestroyFlags(Call&);
Status handleDomainSuspend(Call&);
Status handleDomainResume(Call&);
Status handleDomainSetAutostart(Call&);
Status handleDomainIsActive(Call&);
Status handleDomainIsPersistent(Call&);
Status handleDomainIsUpdated(Call&);
Status handleDomainGetAutostart(Call&);
Status handleDomainHasManagedSaveImage(Call&);
Status handleDomainGetInfo(Call&);
Status handleDomainGetState(Call&);
Status handleDomainGetOsType(Call&);
Status handleDomainGetMaxMemory(Call&);
Status handleDomainGetXmlDesc(Call&);

// Defined in SaveProcedures.cc.
Status handleDomainSave(Call&);
Status handleDomainSaveFlags(Call&);
Status handleDomainRestore(Call&);
Status handleDomainRestoreFlags(Call&);
Status handleDomainManagedSave(Call&);
Status handleDomainManagedSaveRemove(Call&);
Status handleDomainSaveImageGetXmlDesc(Call&);
Status handleDomainSaveImageDefineXml(Call&);

// Defined in ConsoleProcedures.cc.
Status handleDomainOpenConsole(Call&);

}  // namespace xvirt::driver
