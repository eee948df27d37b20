// LockedHypervisor: a Hypervisor that runs every call of another one under one mutex, so a process
// whose threads share a backend connection (xvirtd: RPC workers, the domain manager's event thread,
// start-up recovery) cannot interleave requests on it. The backends themselves need not be thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <utility>

#include "hypervisor/Hypervisor.h"

namespace xvirt::hv {

class LockedHypervisor final : public Hypervisor {
  // Declared first: the members below deduce their return types from it.
  template <typename F>
  auto locked(F&& f) {
    std::lock_guard lock(mu_);
    return f();
  }

 public:
  explicit LockedHypervisor(std::unique_ptr<Hypervisor> inner) : inner_(std::move(inner)) {}

  std::string backendName() const override { return inner_->backendName(); }
  bool vbdNeedsPhysicalDevice() const override { return inner_->vbdNeedsPhysicalDevice(); }
  bool runsHotplugScripts() const override { return inner_->runsHotplugScripts(); }
  std::string xenstorePath() const override { return inner_->xenstorePath(); }
  Result<PhysInfo> physInfo() override { return locked([&] { return inner_->physInfo(); }); }
  Result<std::vector<uint64_t>> pcpuIdleNs() override { return locked([&] { return inner_->pcpuIdleNs(); }); }
  Result<std::vector<NodeMemory>> nodeMemory() override { return locked([&] { return inner_->nodeMemory(); }); }

  Result<DomId> createDomain(const CreateParams& p) override { return locked([&] { return inner_->createDomain(p); }); }
  Status setMaxMemory(DomId d, uint64_t kib) override { return locked([&] { return inner_->setMaxMemory(d, kib); }); }
  Status setMaxVcpus(DomId d, unsigned n) override { return locked([&] { return inner_->setMaxVcpus(d, n); }); }
  Result<BuildResult> buildPV(DomId d, const PvBuildParams& p) override {
    return locked([&] { return inner_->buildPV(d, p); });
  }
  Result<BuildResult> buildHVM(DomId d, const HvmBuildParams& p) override {
    return locked([&] { return inner_->buildHVM(d, p); });
  }

  Status pause(DomId d) override { return locked([&] { return inner_->pause(d); }); }
  Status unpause(DomId d) override { return locked([&] { return inner_->unpause(d); }); }
  Status shutdown(DomId d, ShutdownReason r) override { return locked([&] { return inner_->shutdown(d, r); }); }
  Status resumeSuspended(DomId d) override { return locked([&] { return inner_->resumeSuspended(d); }); }
  Status destroy(DomId d) override { return locked([&] { return inner_->destroy(d); }); }

  Result<std::vector<DomainInfo>> listDomains() override { return locked([&] { return inner_->listDomains(); }); }
  Result<DomainInfo> domainInfo(DomId d) override { return locked([&] { return inner_->domainInfo(d); }); }
  Result<VcpuInfo> vcpuInfo(DomId d, unsigned v) override { return locked([&] { return inner_->vcpuInfo(d, v); }); }
  Status setVcpuAffinity(DomId d, unsigned v, const CpuMap& hard) override {
    return locked([&] { return inner_->setVcpuAffinity(d, v, hard); });
  }
  Result<CpuMap> vcpuAffinity(DomId d, unsigned v) override { return locked([&] { return inner_->vcpuAffinity(d, v); }); }

  // The objects these return are used without the lock: each is its caller's own.
  Result<std::unique_ptr<GuestMemory>> mapMemory(DomId d) override { return locked([&] { return inner_->mapMemory(d); }); }
  Result<std::unique_ptr<ConsoleChannel>> openConsole(DomId d, const BuildResult& b) override {
    return locked([&] { return inner_->openConsole(d, b); });
  }

  Result<std::optional<uint32_t>> saveDomain(DomId d, int fd) override { return locked([&] { return inner_->saveDomain(d, fd); }); }
  bool saveStreamChecksummed() const override { return inner_->saveStreamChecksummed(); }
  Result<BuildResult> restoreDomain(DomId d, int fd, uint64_t ramKib) override {
    return locked([&] { return inner_->restoreDomain(d, fd, ramKib); });
  }

 private:
  std::unique_ptr<Hypervisor> inner_;
  std::mutex mu_;
};

}  // namespace xvirt::hv
