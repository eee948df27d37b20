// RemoteDispatch: the procedure table of REMOTE_PROGRAM (one row per libvirt API: number, name,
// handler in driver/api/, flags) and ClientSession, the per-connection state that runs calls through it.
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
#include "driver/EventBus.h"
#include "driver/domain/DomainManager.h"
#include "driver/rpc/Connection.h"
#include "driver/rpc/Xdr.h"
#include "hypervisor/Hypervisor.h"

namespace xvirt::driver {

// What every handler can reach: one per daemon.
struct DriverContext {
  DriverContext(hv::Hypervisor& h, DomainManager& d, EventBus& e, bool system)
      : hypervisor(h), domains(d), events(e), systemMode(system) {}

  hv::Hypervisor& hypervisor;
  DomainManager& domains;  // the domain logic behind every domain procedure
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
inline constexpr unsigned kQuery = 0;     // none of the below: read-only, on the worker pool
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

}  // namespace xvirt::driver
