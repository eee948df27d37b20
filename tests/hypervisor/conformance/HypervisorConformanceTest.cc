// The Hypervisor conformance suite: one set of behaviours, written only against hypervisor/Hypervisor.h,
// that every backend must show. Runs on a simulated host in a temporary directory by default, and on
// the real Xen of this machine with XVIRT_CONFORMANCE_BACKEND=xen (the Xen harness does that).
#include <gtest/gtest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/UniqueFd.h"
#include "hypervisor/Hypervisor.h"
#include "hypervisor/sim/SimHost.h"
#include "tests/lib/TestUtil.h"

namespace xvirt::hv {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string envOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return (v && *v) ? std::string(v) : fallback;
}

using xvirt::test::waitUntil;

// One backend for the whole run: a simulated host in a temporary directory (stopped at the end by
// its pid file), or the real Xen of this machine.
class BackendEnv {
 public:
  static BackendEnv& get() {
    static BackendEnv env;
    return env;
  }
  Hypervisor* hv() { return hv_.get(); }
  const std::string& setupError() const { return error_; }
  const std::string& workDir() const { return workDir_; }

  ~BackendEnv() { stop(); }

  void stop() {
    hv_.reset();
    if (simDir_.empty()) return;
    std::ifstream pidFile(simDir_ + "/simxen.pid");
    pid_t pid = 0;
    if (pidFile >> pid && pid > 0 && ::kill(pid, SIGTERM) == 0)
      waitUntil([&] { return ::kill(pid, 0) != 0; }, 10s);
    xvirt::test::removeTree(workDir_);
    simDir_.clear();
  }

 private:
  BackendEnv() {
    workDir_ = xvirt::test::makeTempDir("xvirt-conformance");
    if (workDir_.empty()) {
      error_ = "Cannot create a temporary directory.";
      return;
    }
    auto choice = parseBackendChoice(envOr("XVIRT_CONFORMANCE_BACKEND", "sim"));
    if (!choice.ok()) {
      error_ = choice.error().message;
      return;
    }
    if (resolveBackend(*choice) == BackendChoice::Sim) {
      simDir_ = workDir_ + "/sim";
      std::filesystem::create_directories(simDir_);
      if (auto st = ensureSimHost(simDir_); !st.ok()) {
        error_ = st.error().message;
        return;
      }
    }
    auto h = openHypervisor(*choice, simDir_);
    if (!h.ok()) {
      error_ = h.error().message;
      return;
    }
    hv_ = std::move(h).value();
  }

  std::string workDir_;
  std::string simDir_;
  std::string error_;
  std::unique_ptr<Hypervisor> hv_;
};

class HypervisorConformance : public ::testing::Test {
 protected:
  // An HVM container populates a few pages beyond its RAM (console, xenstore and other special
  // pages); Xen refuses them over the maximum (EBUSY). libxl adds the same slack.
  static constexpr uint64_t kHvmSlackKib = 2048;

  void SetUp() override {
    hv_ = BackendEnv::get().hv();
    ASSERT_NE(hv_, nullptr) << "The backend did not open: " << BackendEnv::get().setupError();
    memKib_ = std::stoull(envOr("XVIRT_CONFORMANCE_MEM_MIB", "32")) * 1024;
    kernel_ = envOr("XVIRT_CONFORMANCE_KERNEL", "");
    if (kernel_.empty()) {
      // The sim boots any image; real Xen needs a real PV kernel (XVIRT_CONFORMANCE_KERNEL).
      kernel_ = BackendEnv::get().workDir() + "/kernel";
      if (!std::filesystem::exists(kernel_)) {
        std::ofstream k(kernel_, std::ios::binary);
        for (int i = 0; i < 64 * 1024; ++i) k.put(char((i * 131 + 7) & 0xff));
      }
    }
  }

  void TearDown() override {
    for (DomId d : created_) (void)hv_->destroy(d);
  }

  DomId create(DomainKind kind = DomainKind::PV, unsigned vcpus = 1, Uuid uuid = Uuid::generate()) {
    CreateParams p;
    p.kind = kind;
    p.uuid = uuid;
    p.maxVcpus = vcpus;
    auto d = hv_->createDomain(p);
    EXPECT_TRUE(d.ok()) << d.error().message;
    if (!d.ok()) return 0;
    created_.insert(*d);
    return *d;
  }

  // An empty domain allowed maxKib of memory.
  DomId createSized(DomainKind kind, unsigned vcpus, uint64_t maxKib) {
    DomId d = create(kind, vcpus);
    if (d == 0) return 0;
    auto st = hv_->setMaxMemory(d, maxKib);
    EXPECT_TRUE(st.ok()) << st.error().message;
    return d;
  }

  // A PV guest with memKib_ of RAM, built from the test kernel, still paused.
  DomId createBuilt(BuildResult* build = nullptr, unsigned vcpus = 1) {
    DomId d = createSized(DomainKind::PV, vcpus, memKib_);
    if (d == 0) return 0;
    PvBuildParams p;
    p.memKib = memKib_;
    p.kernelPath = kernel_;
    p.cmdline = "console=hvc0 xvirt-conformance";
    auto b = hv_->buildPV(d, p);
    EXPECT_TRUE(b.ok()) << b.error().message;
    if (b.ok() && build) *build = *b;
    return d;
  }

  // A PVH guest with memKib_ of RAM, booted directly from the test kernel, still paused.
  DomId createBuiltPvh() {
    DomId d = createSized(DomainKind::PVH, 1, memKib_ + kHvmSlackKib);
    if (d == 0) return 0;
    HvmBuildParams p;
    p.memKib = memKib_;
    p.kernelPath = kernel_;
    p.cmdline = "console=hvc0 xvirt-conformance";
    auto b = hv_->buildHVM(d, p);
    EXPECT_TRUE(b.ok()) << b.error().message;
    return b.ok() ? d : 0;
  }

  DomainInfo info(DomId d) {
    auto i = hv_->domainInfo(d);
    EXPECT_TRUE(i.ok()) << i.error().message;
    return i.ok() ? *i : DomainInfo{};
  }

  uint64_t cpuTime(DomId d) { return info(d).cpuTimeNs; }

  Hypervisor* hv_ = nullptr;
  uint64_t memKib_ = 0;
  std::string kernel_;
  std::set<DomId> created_;
};

TEST_F(HypervisorConformance, PhysInfoIsSane) {
  auto p = hv_->physInfo();
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_GE(p->nrCpus, 1u);
  EXPECT_GE(p->threadsPerCore, 1u);
  EXPECT_GE(p->coresPerSocket, 1u);
  EXPECT_GE(p->nrNodes, 1u);
  EXPECT_GT(p->totalKib, 0u);
  EXPECT_LE(p->freeKib, p->totalKib);
  EXPECT_GE(p->versionMajor, 4u);
  EXPECT_FALSE(p->xenCaps.empty());
  bool pv = false;
  for (const auto& c : p->capabilities) pv = pv || c == "pv";
  EXPECT_TRUE(pv) << "capabilities lack pv";
}

// Per-CPU idle time (virNodeGetCPUStats): one figure per host CPU, and it grows while the host is
// idle (no guest of this suite runs; dom0 leaves every CPU idle most of the time).
TEST_F(HypervisorConformance, PcpuIdleTimeGrowsWhileIdle) {
  auto p = hv_->physInfo();
  ASSERT_TRUE(p.ok()) << p.error().message;
  auto first = hv_->pcpuIdleNs();
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_GE(first->size(), p->nrCpus);
  auto total = [](const std::vector<uint64_t>& v) {
    uint64_t t = 0;
    for (uint64_t x : v) t += x;
    return t;
  };
  EXPECT_GT(total(*first), 0u) << "no host CPU has been idle since boot";
  std::vector<uint64_t> later;
  EXPECT_TRUE(waitUntil([&] {
    auto now = hv_->pcpuIdleNs();
    if (!now.ok() || now->size() != first->size()) return false;
    later = *now;
    return total(later) > total(*first);
  })) << "idle time did not grow";
  // Idle time never runs backwards on any CPU.
  for (size_t i = 0; i < later.size() && i < first->size(); ++i) EXPECT_GE(later[i], (*first)[i]) << "CPU " << i;
}

// Per-node memory (virNodeGetCellsFreeMemory): a figure for each NUMA node, each node's free
// memory within its size, and together what physinfo calls free.
TEST_F(HypervisorConformance, NodeFreeMemoryMatchesPhysInfo) {
  auto p = hv_->physInfo();
  ASSERT_TRUE(p.ok()) << p.error().message;
  auto nodes = hv_->nodeMemory();
  ASSERT_TRUE(nodes.ok()) << nodes.error().message;
  // xc_numainfo counts node ids up to the last online node; physinfo counts online nodes.
  ASSERT_GE(nodes->size(), p->nrNodes);
  uint64_t sum = 0;
  for (const NodeMemory& n : *nodes) {
    EXPECT_LE(n.freeKib, n.totalKib);
    sum += n.freeKib;
  }
  EXPECT_GT(sum, 0u);
  EXPECT_LE(sum, p->totalKib);
  auto after = hv_->physInfo();
  ASSERT_TRUE(after.ok()) << after.error().message;
  // Xen's free memory moves (scrubbing, dom0's balloon, other toolstacks) around the call, and
  // physinfo leaves out the pages Xen keeps back for mid-size allocations (1/128 of the heap),
  // which the nodes' figures include.
  constexpr uint64_t kSlackKib = 64 * 1024;
  uint64_t lo = std::min(p->freeKib, after->freeKib), hi = std::max(p->freeKib, after->freeKib);
  EXPECT_GE(sum + kSlackKib, lo) << "nodes' free " << sum << " KiB, physinfo's " << lo << "-" << hi << " KiB";
  EXPECT_LE(sum, hi + p->totalKib / 64 + kSlackKib) << "nodes' free " << sum << " KiB, physinfo's " << lo << "-" << hi << " KiB";
}

TEST_F(HypervisorConformance, Domain0IsListed) {
  auto list = hv_->listDomains();
  ASSERT_TRUE(list.ok()) << list.error().message;
  ASSERT_FALSE(list->empty());
  EXPECT_EQ(list->front().domid, 0u);
}

TEST_F(HypervisorConformance, CreateGivesAPausedDomainWithItsUuid) {
  Uuid uuid = Uuid::generate();
  DomId d = create(DomainKind::PV, 2, uuid);
  ASSERT_NE(d, 0u);
  DomainInfo i = info(d);
  EXPECT_EQ(i.domid, d);
  EXPECT_EQ(i.uuid, uuid);
  EXPECT_EQ(i.kind, DomainKind::PV);
  EXPECT_TRUE(i.paused);
  EXPECT_FALSE(i.shutdown);
  EXPECT_EQ(i.maxVcpuId, 1u);
  auto list = hv_->listDomains();
  ASSERT_TRUE(list.ok()) << list.error().message;
  bool found = false;
  for (const auto& e : *list) found = found || (e.domid == d && e.uuid == uuid);
  EXPECT_TRUE(found) << "domain " << d << " is not listed with its uuid";
}

TEST_F(HypervisorConformance, CreateKeepsTheKind) {
  DomId hvm = create(DomainKind::HVM);
  DomId pvh = create(DomainKind::PVH);
  ASSERT_NE(hvm, 0u);
  ASSERT_NE(pvh, 0u);
  EXPECT_EQ(info(hvm).kind, DomainKind::HVM);
  EXPECT_EQ(info(pvh).kind, DomainKind::PVH);
}

TEST_F(HypervisorConformance, DomainIdsIncrease) {
  DomId a = create();
  DomId b = create();
  ASSERT_NE(a, 0u);
  EXPECT_GT(b, a);
}

TEST_F(HypervisorConformance, SetMaxMemoryIsReflected) {
  DomId d = create();
  ASSERT_NE(d, 0u);
  ASSERT_TRUE(hv_->setMaxMemory(d, 48 * 1024).ok());
  EXPECT_EQ(info(d).maxMemKib, 48u * 1024);
}

TEST_F(HypervisorConformance, SetMaxVcpusWithinTheCreatedCount) {
  DomId d = create(DomainKind::PV, 2);
  ASSERT_NE(d, 0u);
  auto st = hv_->setMaxVcpus(d, 2);
  EXPECT_TRUE(st.ok()) << st.error().message;
}

TEST_F(HypervisorConformance, BuiltGuestRunsAndAccruesCpuTime) {
  DomId d = createBuilt();
  ASSERT_NE(d, 0u);
  EXPECT_TRUE(info(d).paused);
  ASSERT_TRUE(hv_->unpause(d).ok());
  DomainInfo i = info(d);
  EXPECT_FALSE(i.paused);
  EXPECT_FALSE(i.shutdown);
  EXPECT_GE(i.memKib, 1u);
  uint64_t t0 = i.cpuTimeNs;
  EXPECT_TRUE(waitUntil([&] { return cpuTime(d) > t0; })) << "CPU time did not grow while running";
}

TEST_F(HypervisorConformance, PauseStopsCpuAccrual) {
  DomId paused = createBuilt();
  DomId witness = createBuilt();
  ASSERT_NE(paused, 0u);
  ASSERT_NE(witness, 0u);
  ASSERT_TRUE(hv_->unpause(paused).ok());
  uint64_t start = cpuTime(paused);
  ASSERT_TRUE(waitUntil([&] { return cpuTime(paused) > start; }));
  ASSERT_TRUE(hv_->pause(paused).ok());
  EXPECT_TRUE(info(paused).paused);
  uint64_t frozen = cpuTime(paused);
  // Time passes for a running guest (the witness accrues twice) while the paused one stays still.
  ASSERT_TRUE(hv_->unpause(witness).ok());
  uint64_t w0 = cpuTime(witness);
  ASSERT_TRUE(waitUntil([&] { return cpuTime(witness) > w0; }));
  uint64_t w1 = cpuTime(witness);
  ASSERT_TRUE(waitUntil([&] { return cpuTime(witness) > w1; }));
  EXPECT_EQ(cpuTime(paused), frozen);
}

TEST_F(HypervisorConformance, VcpuInfoAndAffinityRoundTrip) {
  auto phys = hv_->physInfo();
  ASSERT_TRUE(phys.ok());
  const unsigned last = phys->nrCpus - 1;
  BuildResult build;
  DomId d = createBuilt(&build, 2);
  ASSERT_NE(d, 0u);
  auto v = hv_->vcpuInfo(d, 1);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->vcpu, 1u);

  CpuMap only(phys->nrCpus, false);
  only[last] = true;
  auto st = hv_->setVcpuAffinity(d, 0, only);
  ASSERT_TRUE(st.ok()) << st.error().message;
  auto got = hv_->vcpuAffinity(d, 0);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(formatCpuMap(*got), formatCpuMap(only));

  ASSERT_TRUE(hv_->unpause(d).ok());
  ASSERT_TRUE(waitUntil([&] {
    auto i = hv_->vcpuInfo(d, 0);
    return i.ok() && i->cpuTimeNs > 0;
  }));
  auto ran = hv_->vcpuInfo(d, 0);
  ASSERT_TRUE(ran.ok());
  EXPECT_TRUE(ran->online);
  EXPECT_EQ(ran->cpu, int(last)) << "vCPU 0 ran outside its hard affinity";
}

TEST_F(HypervisorConformance, VcpuInfoForAMissingVcpuFails) {
  DomId d = create(DomainKind::PV, 1);
  ASSERT_NE(d, 0u);
  EXPECT_FALSE(hv_->vcpuInfo(d, 7).ok());
}

TEST_F(HypervisorConformance, ShutdownShowsTheReason) {
  for (ShutdownReason reason : {ShutdownReason::Poweroff, ShutdownReason::Reboot, ShutdownReason::Crash}) {
    DomId d = createBuilt();
    ASSERT_NE(d, 0u);
    ASSERT_TRUE(hv_->unpause(d).ok());
    auto st = hv_->shutdown(d, reason);
    ASSERT_TRUE(st.ok()) << st.error().message;
    EXPECT_TRUE(waitUntil([&] { return info(d).shutdown; })) << shutdownReasonName(reason);
    EXPECT_EQ(info(d).shutdownReason, reason) << shutdownReasonName(reason);
  }
}

TEST_F(HypervisorConformance, DestroyedDomainIsGone) {
  DomId d = createBuilt();
  ASSERT_NE(d, 0u);
  ASSERT_TRUE(hv_->destroy(d).ok());
  created_.erase(d);
  // Xen may keep a dying domain around briefly while its pages are freed.
  EXPECT_TRUE(waitUntil([&] {
    auto i = hv_->domainInfo(d);
    return !i.ok() && i.error().code == ErrorCode::NoDomain;
  }));
  auto list = hv_->listDomains();
  ASSERT_TRUE(list.ok());
  for (const auto& e : *list) EXPECT_NE(e.domid, d);
}

TEST_F(HypervisorConformance, MappedMemoryIsTheGuestsMemory) {
  DomId d = createBuilt();
  ASSERT_NE(d, 0u);
  auto mem = hv_->mapMemory(d);
  ASSERT_TRUE(mem.ok()) << mem.error().message;
  EXPECT_EQ((*mem)->size(), memKib_ * 1024);
  ASSERT_NE((*mem)->data(), nullptr);
  volatile uint8_t first = (*mem)->data()[0];
  volatile uint8_t lastByte = (*mem)->data()[(*mem)->size() - 1];
  (void)first;
  (void)lastByte;
}

TEST_F(HypervisorConformance, ConsoleCarriesTheBootLines) {
  BuildResult build;
  DomId d = createBuilt(&build);
  ASSERT_NE(d, 0u);
  auto console = hv_->openConsole(d, build);
  ASSERT_TRUE(console.ok()) << console.error().message;
  ASSERT_TRUE(hv_->unpause(d).ok());
  std::string seen;
  auto deadline = Clock::now() + 20s;
  while (seen.find("Linux version") == std::string::npos && Clock::now() < deadline) {
    pollfd p{(*console)->pollFd(), POLLIN, 0};
    ::poll(&p, 1, 200);
    auto got = (*console)->read();
    ASSERT_TRUE(got.ok()) << got.error().message;
    seen += *got;
  }
  EXPECT_NE(seen.find("Linux version"), std::string::npos) << "console so far: " << seen;
}

// A PVH guest, not PV: its RAM is guest-physical, so a paused guest can be suspended by the
// toolstack and its pages come back byte for byte. A PV guest's page tables and p2m hold machine
// frame numbers, which a restore rewrites, and Xen refuses to save a PV Linux guest that did not
// suspend itself (the helper's save tests cover that path through xenstore).
TEST_F(HypervisorConformance, SaveAndRestoreKeepTheRam) {
  DomId d = createBuiltPvh();
  ASSERT_NE(d, 0u);
  ASSERT_TRUE(hv_->unpause(d).ok());
  uint64_t t0 = cpuTime(d);
  ASSERT_TRUE(waitUntil([&] { return cpuTime(d) > t0; }));
  ASSERT_TRUE(hv_->pause(d).ok());
  std::vector<uint8_t> before;
  {
    auto mem = hv_->mapMemory(d);
    ASSERT_TRUE(mem.ok()) << mem.error().message;
    before.assign((*mem)->data(), (*mem)->data() + (*mem)->size());
  }
  std::string path = BackendEnv::get().workDir() + "/save-" + std::to_string(d);
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  ASSERT_TRUE(fd.valid());
  auto saved = hv_->saveDomain(d, fd.get());
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  ASSERT_TRUE(hv_->destroy(d).ok());
  created_.erase(d);

  DomId r = createSized(DomainKind::PVH, 1, memKib_ + kHvmSlackKib);
  ASSERT_NE(r, 0u);
  ASSERT_EQ(::lseek(fd.get(), 0, SEEK_SET), 0);
  auto restored = hv_->restoreDomain(r, fd.get(), memKib_);
  ASSERT_TRUE(restored.ok()) << restored.error().message;
  EXPECT_EQ(info(r).kind, DomainKind::PVH);
  auto mem = hv_->mapMemory(r);
  ASSERT_TRUE(mem.ok()) << mem.error().message;
  ASSERT_EQ((*mem)->size(), before.size());
  size_t differing = 0, firstDiff = 0;
  for (size_t page = 0; page < before.size() / 4096; ++page)
    if (std::memcmp((*mem)->data() + page * 4096, before.data() + page * 4096, 4096) != 0 && differing++ == 0)
      firstDiff = page;
  EXPECT_EQ(differing, 0u) << "restored RAM differs in " << differing << " pages, the first at pfn " << firstDiff;
}

TEST_F(HypervisorConformance, UnknownDomainsGiveNoDomain) {
  const DomId ghost = 32000;
  auto isNoDomain = [](const Error& e) { return e.code == ErrorCode::NoDomain; };
  auto i = hv_->domainInfo(ghost);
  ASSERT_FALSE(i.ok());
  EXPECT_TRUE(isNoDomain(i.error())) << i.error().message;
  for (auto st : {hv_->pause(ghost), hv_->unpause(ghost), hv_->destroy(ghost),
                  hv_->shutdown(ghost, ShutdownReason::Poweroff), hv_->setMaxMemory(ghost, 1024)}) {
    ASSERT_FALSE(st.ok());
    EXPECT_TRUE(isNoDomain(st.error())) << st.error().message;
  }
  auto v = hv_->vcpuInfo(ghost, 0);
  ASSERT_FALSE(v.ok());
  EXPECT_TRUE(isNoDomain(v.error())) << v.error().message;
}

}  // namespace
}  // namespace xvirt::hv

// The simulated host is stopped after the last test, not at static destruction time.
int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  int rc = RUN_ALL_TESTS();
  xvirt::hv::BackendEnv::get().stop();
  return rc;
}
