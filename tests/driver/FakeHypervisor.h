// FakeHypervisor: a fixed host (4.17.0, 4 CPUs, 8 GiB) for the driver's unit tests and the RPC
// fuzzer, where no guest runs; domain operations are not supported by it.
#pragma once

#include "hypervisor/Hypervisor.h"

namespace xvirt::test {

class FakeHypervisor : public hv::Hypervisor {
 public:
  hv::PhysInfo info = [] {
    hv::PhysInfo i;
    i.nrCpus = 4;
    i.threadsPerCore = 1;
    i.coresPerSocket = 4;
    i.nrNodes = 1;
    i.cpuKhz = 2400000;
    i.totalKib = 8u << 20;
    i.freeKib = 6u << 20;
    i.versionMajor = 4;
    i.versionMinor = 17;
    i.extraVersion = ".0";
    i.capabilities = {"pv", "hvm", "hap", "pvh"};
    return i;
  }();

  std::string backendName() const override { return "fake"; }
  Result<hv::PhysInfo> physInfo() override { return info; }
  std::vector<uint64_t> idleNs = {1000, 2000, 3000, 4000};
  Result<std::vector<uint64_t>> pcpuIdleNs() override { return idleNs; }
  Result<std::vector<hv::NodeMemory>> nodeMemory() override {
    return std::vector<hv::NodeMemory>{{info.totalKib, info.freeKib}};
  }

  Result<hv::DomId> createDomain(const hv::CreateParams&) override { return no(); }
  Status setMaxMemory(hv::DomId, uint64_t) override { return no(); }
  Status setMaxVcpus(hv::DomId, unsigned) override { return no(); }
  Result<hv::BuildResult> buildPV(hv::DomId, const hv::PvBuildParams&) override { return no(); }
  Result<hv::BuildResult> buildHVM(hv::DomId, const hv::HvmBuildParams&) override { return no(); }
  Status pause(hv::DomId) override { return no(); }
  Status unpause(hv::DomId) override { return no(); }
  Status shutdown(hv::DomId, hv::ShutdownReason) override { return no(); }
  Status resumeSuspended(hv::DomId) override { return no(); }
  Status destroy(hv::DomId) override { return no(); }
  Result<std::vector<hv::DomainInfo>> listDomains() override { return std::vector<hv::DomainInfo>{}; }
  Result<hv::DomainInfo> domainInfo(hv::DomId) override { return no(); }
  Result<hv::VcpuInfo> vcpuInfo(hv::DomId, unsigned) override { return no(); }
  Status setVcpuAffinity(hv::DomId, unsigned, const hv::CpuMap&) override { return no(); }
  Result<hv::CpuMap> vcpuAffinity(hv::DomId, unsigned) override { return no(); }
  Result<std::unique_ptr<hv::GuestMemory>> mapMemory(hv::DomId) override { return no(); }
  Result<std::unique_ptr<hv::ConsoleChannel>> openConsole(hv::DomId, const hv::BuildResult&) override { return no(); }
  Result<std::optional<uint32_t>> saveDomain(hv::DomId, int) override { return no(); }
  Result<hv::BuildResult> restoreDomain(hv::DomId, int, uint64_t) override { return no(); }

 private:
  static Error no() { return makeError(ErrorCode::NoSupport, "The fake hypervisor runs no domains."); }
};

}  // namespace xvirt::test
