// SimHostModel: the simulated Xen host behind the hypercall socket — physinfo, dom0, domain ids,
// the guests, the dom0 backend drivers' XenbusState handshake and the test faults (docs/sim.md).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/Clock.h"
#include "common/Json.h"
#include "common/Result.h"
#include "hypervisor/sim/daemon/SimGuest.h"
#include "hypervisor/sim/xenstore/XsStore.h"

namespace xvirt::hv::sim {

class SimHostModel {
 public:
  SimHostModel(std::string dir, unsigned nrCpus, xvirt::sim::XsStore& store, const Clock& clock);
  ~SimHostModel();

  // Runs one hypercall: `op` with its JSON request object. The reply value or the error.
  Result<Json> call(const std::string& op, const Json& req);
  // From now on, keeps `table` current after every hypercall and xenstore change (SimInfoTable.h).
  void publishTo(InfoTableWriter table);
  // Milliseconds the `slow` fault adds to every call of `op` (0: none).
  unsigned slowMs(const std::string& op) const;
  bool hasDomain(DomId domid) const { return guests_.count(domid) != 0; }
  // console_attach: checks the domain has a console to attach to.
  Status checkConsole(DomId domid);
  // Console input arrived for a domain (the client wrote to the ring and signalled).
  void consoleKick(DomId domid);
  // dm_attach: an HVM domain's (stand-in) device model registered; deviceModelGone: its connection
  // closed, so it died or stopped, and its xenstore state goes as dom0 would see QEMU's go.
  Status attachDeviceModel(DomId domid, int64_t pid);
  void deviceModelGone(DomId domid, int64_t pid);

  // Called when a guest wrote to its console ring, and when a domain is destroyed (the server closes
  // that domain's console connections).
  std::function<void(DomId)> onConsoleOutput;
  std::function<void(DomId)> onDomainGone;

 private:
  Result<Json> dispatch(const std::string& op, const Json& req);
  void publishInfo(DomId domid);
  Result<SimGuest*> guest(const Json& req, bool allowDom0 = false);
  Result<Json> create(const Json& req);
  Result<Json> setMaxMem(const Json& req);
  Result<Json> setMaxVcpus(const Json& req);
  Result<Json> build(const Json& req, bool hvm);
  Result<Json> unpause(const Json& req);
  Result<Json> destroy(const Json& req);
  Result<Json> getContext(const Json& req);
  Result<Json> setContext(const Json& req);
  Result<Json> fault(const Json& req);
  PhysInfo physInfo() const;
  // Each host CPU's idle time since the host started (pcpu_info). It accrues at a rate set by the
  // guests' state, so settleIdle() folds the time so far in before anything may change that state:
  // every hypercall but the pure queries, and every xenstore change.
  Json pcpuInfo() const;
  std::vector<uint64_t> idleAt(uint64_t nowNs) const;
  void settleIdle();
  uint64_t now() const { return clock_.monotonicNs(); }
  void shutdownGuest(SimGuest& g, ShutdownReason reason);
  void consoleOut(SimGuest& g, std::string_view text);

  // The guest's and the dom0 backends' reactions to xenstore (SimXenbus.cc).
  void onXenstoreChange(const std::string& path);
  void guestPoll(SimGuest& g);
  void reconcileDevice(DomId domid, const std::string& type, const std::string& devid, bool fromBackend);
  void pollFrontends(SimGuest& g);

  std::string dir_;
  unsigned nrCpus_;
  xvirt::sim::XsStore& store_;
  const Clock& clock_;
  uint64_t watchId_ = 0;
  std::map<DomId, std::unique_ptr<SimGuest>> guests_;
  DomId nextDomid_ = 1;
  std::multiset<std::string> failNext_;
  std::map<std::string, unsigned> slow_;
  std::optional<InfoTableWriter> infoTable_;
  std::vector<uint64_t> idleNs_;  // per host CPU: idle time settled at idleSinceNs_
  uint64_t idleSinceNs_ = 0;
};

}  // namespace xvirt::hv::sim
