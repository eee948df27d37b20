// LockedHypervisor: calls from several threads reach the backend one at a time, and results pass
// through unchanged.
#include "hypervisor/LockedHypervisor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "tests/driver/FakeHypervisor.h"

namespace xvirt::hv {
namespace {

// Counts how many callers are inside physInfo() at once; each call stays inside for a while.
class OverlapProbe final : public test::FakeHypervisor {
 public:
  std::atomic<int> inside{0};
  std::atomic<int> most{0};
  std::atomic<int> calls{0};

  Result<PhysInfo> physInfo() override {
    int now = ++inside;
    for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
    }
    auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
    while (std::chrono::steady_clock::now() < until) {
    }
    ++calls;
    --inside;
    return test::FakeHypervisor::physInfo();
  }
};

TEST(LockedHypervisor, SerialisesCallsFromManyThreads) {
  auto probe = std::make_unique<OverlapProbe>();
  OverlapProbe* p = probe.get();
  LockedHypervisor locked(std::move(probe));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) ASSERT_TRUE(locked.physInfo().ok());
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(p->calls.load(), 200);
  EXPECT_EQ(p->most.load(), 1);
}

TEST(LockedHypervisor, PassesResultsAndErrorsThrough) {
  LockedHypervisor locked(std::make_unique<test::FakeHypervisor>());
  EXPECT_EQ(locked.backendName(), "fake");
  auto info = locked.physInfo();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->nrCpus, 4u);
  EXPECT_FALSE(locked.domainInfo(7).ok());
}

}  // namespace
}  // namespace xvirt::hv
