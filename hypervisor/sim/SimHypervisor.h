// SimHypervisor: the Hypervisor interface over xvirt-simxen's hypercall socket. Builds, memory
// mapping, consoles and save/restore work on the guest's RAM file, as the xen backend does on pages.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "common/Json.h"
#include "common/UniqueFd.h"
#include "hypervisor/Hypervisor.h"
#include "hypervisor/sim/SimInfoTable.h"

namespace xvirt::hv {

// Connects to the simulated host serving simDir (started with ensureSimHost, sim/SimHost.h).
Result<std::unique_ptr<Hypervisor>> openSimHypervisor(const std::string& simDir);

namespace sim {

// One request/reply connection to the hypercall socket. Not thread-safe; SimHypervisor guards it.
class SimConnection {
 public:
  static Result<SimConnection> connect(const std::string& simDir);
  // Sends {"op": op, ...args} and returns the reply's "ok" value or its error.
  Result<Json> call(const std::string& op, Json args);
  int fd() const { return fd_.get(); }
  pid_t hostPid() const { return hostPid_; }
  // Connected to a host that is still there: no hang-up and no unread bytes on the socket.
  bool healthy() const;
  UniqueFd releaseFd() { return std::move(fd_); }
  // A lost connection is re-made on the next call. By default only to the same host instance (the
  // same xvirt-simxen process): domain ids held by the caller mean nothing on a restarted host, so a
  // helper must see an error, never another host's domain 1. A toolstack (xvirtd) follows restarts.
  void followRestarts(bool on) { followRestarts_ = on; }

 private:
  std::string simDir_;
  UniqueFd fd_;
  std::string buffered_;
  pid_t hostPid_ = 0;  // the serving xvirt-simxen (SO_PEERCRED)
  bool followRestarts_ = false;
};

class SimHypervisor final : public Hypervisor {
 public:
  SimHypervisor(std::string simDir, SimConnection conn);

  std::string backendName() const override { return "sim"; }
  std::string xenstorePath() const override;
  Result<PhysInfo> physInfo() override;
  Result<std::vector<uint64_t>> pcpuIdleNs() override;
  Result<std::vector<NodeMemory>> nodeMemory() override;
  Result<DomId> createDomain(const CreateParams& params) override;
  Status setMaxMemory(DomId domid, uint64_t kib) override;
  Status setMaxVcpus(DomId domid, unsigned n) override;
  Result<BuildResult> buildPV(DomId domid, const PvBuildParams& params) override;
  Result<BuildResult> buildHVM(DomId domid, const HvmBuildParams& params) override;
  Status pause(DomId domid) override;
  Status unpause(DomId domid) override;
  Status shutdown(DomId domid, ShutdownReason reason) override;
  Status resumeSuspended(DomId domid) override;
  Status destroy(DomId domid) override;
  Result<std::vector<DomainInfo>> listDomains() override;
  Result<DomainInfo> domainInfo(DomId domid) override;
  Result<VcpuInfo> vcpuInfo(DomId domid, unsigned vcpu) override;
  Status setVcpuAffinity(DomId domid, unsigned vcpu, const CpuMap& hard) override;
  Result<CpuMap> vcpuAffinity(DomId domid, unsigned vcpu) override;
  Result<std::unique_ptr<GuestMemory>> mapMemory(DomId domid) override;
  Result<std::unique_ptr<ConsoleChannel>> openConsole(DomId domid, const BuildResult& build) override;
  Result<std::optional<uint32_t>> saveDomain(DomId domid, int fd) override;
  bool saveStreamChecksummed() const override { return true; }
  Result<BuildResult> restoreDomain(DomId domid, int fd, uint64_t ramKib) override;

  // Test controls of the simulated host (docs/sim.md, "Fault injection").
  Status setLoad(DomId domid, unsigned percent);
  Status crash(DomId domid);
  Status fault(Json args);  // {"fail_next": "create"} etc.

  // Any hypercall, for tests and tools.
  Result<Json> call(const std::string& op, Json args);
  // Keep serving after the simulated host was restarted (see SimConnection::followRestarts).
  void followHostRestarts() {
    std::lock_guard lock(mutex_);
    conn_.followRestarts(true);
  }

 private:
  struct Image {
    std::string role, path;
    uint64_t offset = 0;      // where in guest memory
    uint64_t fileOffset = 0;  // where in the file (a bzImage's protected-mode part)
  };
  Result<BuildResult> build(DomId domid, const char* op, uint64_t memKib, const std::vector<Image>& images,
                            const std::string& cmdline);
  Status status(const std::string& op, Json args);
  std::optional<DomainInfo> infoFromTable(DomId domid);

  std::string simDir_;
  std::mutex mutex_;  // xvirtd calls from several threads; one request at a time on the connection
  SimConnection conn_;
  std::optional<InfoTableReader> infoTable_;  // the serving host's, opened on first use
  unsigned nrCpus_ = 0;
};

}  // namespace sim
}  // namespace xvirt::hv
