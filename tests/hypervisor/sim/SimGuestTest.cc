// The simulated guest through SimHypervisor and libxenstore: boot lines on the console ring, echo,
// CPU time, control/shutdown, memory/target, the XenbusState handshake, crash and destroy.
#include <sys/mman.h>

#include "tests/hypervisor/sim/SimFixture.h"

namespace xvirt::hv::sim::test {
namespace {

using SimGuestTest = SimFixture;

TEST_F(SimGuestTest, BootWritesLinesNamingTheKernelAndEchoesInput) {
  DomId d = buildGuest("console=hvc0 root=/dev/xvda1");
  EXPECT_EQ(build_.consoleMfn, 8192u / 4 - 1);
  EXPECT_EQ(build_.storeMfn, 8192u / 4 - 2);
  auto con = hyp_->openConsole(d, build_);
  ASSERT_TRUE(con.ok()) << con.error().message;
  ASSERT_TRUE(hyp_->unpause(d).ok());
  std::string out = readConsoleUntil(**con, "login: ");
  EXPECT_NE(out.find("Linux version"), std::string::npos) << out;
  EXPECT_NE(out.find("booting " + kernel_ + " (50000 bytes)"), std::string::npos) << out;
  EXPECT_NE(out.find("Command line: console=hvc0 root=/dev/xvda1"), std::string::npos) << out;
  auto n = (*con)->write("root\r");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 5u);
  EXPECT_NE(readConsoleUntil(**con, "root\r\n").find("root\r\n"), std::string::npos);
  auto info = hyp_->domainInfo(d);
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->shutdown);
  EXPECT_TRUE(info->running);
}

// A line typed while the guest is paused waits in the ring and is echoed once it runs again (the
// stress test's console readers waited for good on a guest another client had paused and resumed).
TEST_F(SimGuestTest, InputTypedWhilePausedIsEchoedAfterUnpause) {
  DomId d = buildGuest();
  auto con = hyp_->openConsole(d, build_);
  ASSERT_TRUE(con.ok()) << con.error().message;
  ASSERT_TRUE(hyp_->unpause(d).ok());
  readConsoleUntil(**con, "login: ");
  ASSERT_TRUE(hyp_->pause(d).ok());
  ASSERT_TRUE((*con)->write("typed-while-paused\r").ok());
  ASSERT_TRUE(hyp_->unpause(d).ok());
  std::string out = readConsoleUntil(**con, "typed-while-paused\r\n");
  EXPECT_NE(out.find("typed-while-paused\r\n"), std::string::npos) << out;
}

TEST_F(SimGuestTest, KernelOverwrittenAfterBuildCrashesTheGuest) {
  DomId d = buildGuest();
  {
    auto mem = hyp_->mapMemory(d);
    ASSERT_TRUE(mem.ok()) << mem.error().message;
    (*mem)->data()[kPvKernelOffset + 100] ^= 0xff;
  }
  auto con = hyp_->openConsole(d, build_);
  ASSERT_TRUE(con.ok());
  ASSERT_TRUE(hyp_->unpause(d).ok());
  EXPECT_NE(readConsoleUntil(**con, "halting").find("is not the one that was loaded"), std::string::npos);
  auto info = hyp_->domainInfo(d);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->shutdown);
  EXPECT_EQ(info->shutdownReason, ShutdownReason::Crash);
}

TEST_F(SimGuestTest, CpuTimeGrowsWhileRunningNotWhilePaused) {
  DomId d = buildGuest();
  ASSERT_TRUE(hyp_->setLoad(d, 100).ok());
  ASSERT_TRUE(hyp_->setLoad(0, 100).ok());  // dom0 serves as the clock below
  auto before = hyp_->domainInfo(d);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->cpuTimeNs, 0u);
  ASSERT_TRUE(hyp_->unpause(d).ok());
  EXPECT_TRUE(waitUntil([&] { return hyp_->domainInfo(d)->cpuTimeNs > 20'000'000; }));
  auto v0 = hyp_->vcpuInfo(d, 0);
  ASSERT_TRUE(v0.ok());
  EXPECT_TRUE(v0->running);
  EXPECT_GT(v0->cpuTimeNs, 0u);

  ASSERT_TRUE(hyp_->pause(d).ok());
  uint64_t paused = hyp_->domainInfo(d)->cpuTimeNs;
  uint64_t dom0 = hyp_->domainInfo(0)->cpuTimeNs;
  // Let dom0 (running at 100 %) accrue 50 ms: real time passed, the paused guest gained nothing.
  EXPECT_TRUE(waitUntil([&] { return hyp_->domainInfo(0)->cpuTimeNs > dom0 + 50'000'000; }));
  EXPECT_EQ(hyp_->domainInfo(d)->cpuTimeNs, paused);
  EXPECT_FALSE(hyp_->vcpuInfo(d, 0)->running);
}

TEST_F(SimGuestTest, VcpusRunOnCpusTheirAffinityAllows) {
  DomId d = buildGuest();
  auto phys = hyp_->physInfo();
  ASSERT_TRUE(phys.ok());
  CpuMap only1(phys->nrCpus, false);
  only1[1] = true;
  ASSERT_TRUE(hyp_->setVcpuAffinity(d, 0, only1).ok());
  ASSERT_TRUE(hyp_->setVcpuAffinity(d, 1, only1).ok());
  EXPECT_EQ(hyp_->vcpuInfo(d, 0)->cpu, 1);
  EXPECT_EQ(hyp_->vcpuInfo(d, 1)->cpu, 1);
  auto aff = hyp_->vcpuAffinity(d, 0);
  ASSERT_TRUE(aff.ok());
  EXPECT_EQ(*aff, only1);
  // Default affinity: all CPUs, rotating by vCPU number.
  auto fresh = hyp_->createDomain(CreateParams{});
  ASSERT_TRUE(fresh.ok());
  ASSERT_TRUE(hyp_->setMaxVcpus(*fresh, 2).ok());
  EXPECT_EQ(hyp_->vcpuInfo(*fresh, 0)->cpu, 0);
  EXPECT_EQ(hyp_->vcpuInfo(*fresh, 1)->cpu, 1);
  EXPECT_FALSE(hyp_->setVcpuAffinity(d, 0, CpuMap(phys->nrCpus, false)).ok());
  EXPECT_FALSE(hyp_->vcpuInfo(d, 7).ok());
}

struct ShutdownCase {
  const char* request;
  ShutdownReason reason;
};

class SimShutdownTest : public SimFixture, public ::testing::WithParamInterface<ShutdownCase> {};

TEST_P(SimShutdownTest, ControlShutdownShutsTheGuestDownWithThatReason) {
  DomId d = buildGuest();
  std::string dom = "/local/domain/" + std::to_string(d);
  ASSERT_TRUE(hyp_->unpause(d).ok());
  // As libxl: control/ belongs to the guest, so it can acknowledge.
  struct xs_permissions rw[1] = {{d, XS_PERM_NONE}};
  ASSERT_TRUE(xsWrite(dom + "/control/shutdown", ""));
  ASSERT_TRUE(xs_set_permissions(xs_, XBT_NULL, (dom + "/control/shutdown").c_str(), rw, 1));
  ASSERT_TRUE(xsWrite(dom + "/control/shutdown", GetParam().request));
  EXPECT_TRUE(waitUntil([&] { return hyp_->domainInfo(d)->shutdown; }));
  auto info = hyp_->domainInfo(d);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->shutdownReason, GetParam().reason);
  EXPECT_FALSE(info->running);
  EXPECT_EQ(xsRead(dom + "/control/shutdown"), "");  // the guest acknowledged
  EXPECT_FALSE(hyp_->unpause(d).ok());              // stays shut down until destroyed
}

INSTANTIATE_TEST_SUITE_P(Reasons, SimShutdownTest,
                         ::testing::Values(ShutdownCase{"poweroff", ShutdownReason::Poweroff},
                                           ShutdownCase{"reboot", ShutdownReason::Reboot},
                                           ShutdownCase{"halt", ShutdownReason::Poweroff},
                                           ShutdownCase{"suspend", ShutdownReason::Suspend}));

TEST_F(SimGuestTest, PausedGuestActsOnShutdownRequestWhenItRuns) {
  DomId d = buildGuest();
  std::string dom = "/local/domain/" + std::to_string(d);
  ASSERT_TRUE(xsWrite(dom + "/control/shutdown", "poweroff"));
  ASSERT_TRUE(hyp_->setLoad(0, 100).ok());
  uint64_t dom0 = hyp_->domainInfo(0)->cpuTimeNs;
  EXPECT_TRUE(waitUntil([&] { return hyp_->domainInfo(0)->cpuTimeNs > dom0 + 20'000'000; }));
  EXPECT_FALSE(hyp_->domainInfo(d)->shutdown);
  ASSERT_TRUE(hyp_->unpause(d).ok());
  EXPECT_TRUE(hyp_->domainInfo(d)->shutdown);
}

TEST_F(SimGuestTest, MemoryTargetIsHonouredWithinMaxMemory) {
  DomId d = buildGuest("", 8192);
  std::string dom = "/local/domain/" + std::to_string(d);
  ASSERT_TRUE(hyp_->unpause(d).ok());
  ASSERT_TRUE(xsWrite(dom + "/memory/target", "4096"));
  EXPECT_TRUE(waitUntil([&] { return hyp_->domainInfo(d)->memKib == 4096; }));
  ASSERT_TRUE(xsWrite(dom + "/memory/target", "999999"));
  EXPECT_TRUE(waitUntil([&] { return hyp_->domainInfo(d)->memKib == 8192; }));
}

TEST_F(SimGuestTest, CrashFaultCrashesARunningGuest) {
  DomId d = buildGuest();
  EXPECT_EQ(hyp_->crash(d).error().code, ErrorCode::OperationInvalid);  // not running yet
  ASSERT_TRUE(hyp_->unpause(d).ok());
  ASSERT_TRUE(hyp_->crash(d).ok());
  auto info = hyp_->domainInfo(d);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->shutdown);
  EXPECT_EQ(info->shutdownReason, ShutdownReason::Crash);
}

TEST_F(SimGuestTest, DestroyReleasesRamXenstoreTreeAndFiresReleaseDomain) {
  DomId d = buildGuest();
  std::string dom = "/local/domain/" + std::to_string(d);
  ASSERT_TRUE(xsWrite(dom + "/name", "guest"));
  ASSERT_TRUE(xs_watch(xs_, "@releaseDomain", "rel"));
  {  // the registration event
    unsigned n = 0;
    free(xs_read_watch(xs_, &n));
  }
  ASSERT_TRUE(pathExists(ramFilePath(dir_, d)));
  uint64_t freeBefore = hyp_->physInfo()->freeKib;
  ASSERT_TRUE(hyp_->destroy(d).ok());
  pollfd p{xs_fileno(xs_), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 10000), 1) << "@releaseDomain did not fire";
  unsigned n = 0;
  char** ev = xs_read_watch(xs_, &n);
  ASSERT_NE(ev, nullptr);
  EXPECT_STREQ(ev[XS_WATCH_PATH], "@releaseDomain");
  free(ev);
  EXPECT_FALSE(pathExists(ramFilePath(dir_, d)));
  EXPECT_EQ(xsRead(dom), "<absent>");
  EXPECT_EQ(hyp_->domainInfo(d).error().code, ErrorCode::NoDomain);
  EXPECT_EQ(hyp_->physInfo()->freeKib, freeBefore + 8192);
}

// Writes a vbd pair as libxl does: backend and frontend both Initialising, the guest owning its
// frontend directory.
void writeVbd(SimFixture& f, struct xs_handle* xs, DomId d, std::string& be, std::string& fe) {
  be = "/local/domain/0/backend/vbd/" + std::to_string(d) + "/51712";
  fe = "/local/domain/" + std::to_string(d) + "/device/vbd/51712";
  xs_transaction_t t = xs_transaction_start(xs);
  auto w = [&](const std::string& p, const std::string& v) {
    xs_write(xs, t, p.c_str(), v.data(), static_cast<unsigned>(v.size()));
  };
  w(be + "/frontend", fe);
  w(be + "/frontend-id", std::to_string(d));
  w(be + "/online", "1");
  w(fe + "/backend", be);
  w(fe + "/backend-id", "0");
  w(fe + "/virtual-device", "51712");
  struct xs_permissions feperm[2] = {{d, XS_PERM_NONE}, {0, XS_PERM_READ}};
  xs_set_permissions(xs, t, fe.c_str(), feperm, 2);
  xs_set_permissions(xs, t, (fe + "/backend").c_str(), feperm, 2);
  xs_set_permissions(xs, t, (fe + "/backend-id").c_str(), feperm, 2);
  xs_set_permissions(xs, t, (fe + "/virtual-device").c_str(), feperm, 2);
  w(fe + "/state", "1");
  xs_set_permissions(xs, t, (fe + "/state").c_str(), feperm, 2);
  w(be + "/state", "1");
  ASSERT_TRUE(xs_transaction_end(xs, t, false));
  (void)f;
}

TEST_F(SimGuestTest, XenbusHandshakeConnectsAndUnplugCloses) {
  DomId d = buildGuest();
  ASSERT_TRUE(hyp_->unpause(d).ok());
  std::string be, fe;
  writeVbd(*this, xs_, d, be, fe);
  EXPECT_TRUE(waitXs(be + "/state", "4"));
  EXPECT_TRUE(waitXs(fe + "/state", "4"));
  EXPECT_NE(xsRead(fe + "/ring-ref"), "<absent>");
  EXPECT_NE(xsRead(fe + "/event-channel"), "<absent>");
  // Unplug as `xl block-detach` asks.
  ASSERT_TRUE(xsWrite(be + "/online", "0"));
  ASSERT_TRUE(xsWrite(be + "/state", "5"));
  EXPECT_TRUE(waitXs(fe + "/state", "6"));
  EXPECT_TRUE(waitXs(be + "/state", "6"));
}

TEST_F(SimGuestTest, PausedOrStalledFrontendStopsAtInitWait) {
  DomId d = buildGuest();  // paused: the frontend cannot answer yet
  std::string be, fe;
  writeVbd(*this, xs_, d, be, fe);
  EXPECT_TRUE(waitXs(be + "/state", "2"));
  EXPECT_EQ(xsRead(fe + "/state"), "1");
  ASSERT_TRUE(hyp_->fault(Json::object({{"stall_frontend", d}})).ok());
  ASSERT_TRUE(hyp_->unpause(d).ok());
  EXPECT_EQ(xsRead(fe + "/state"), "1");  // unpause answers synchronously, but the frontend is stalled
  ASSERT_TRUE(hyp_->fault(Json::object({{"stall_frontend", d}, {"stall", false}})).ok());
  EXPECT_TRUE(waitXs(fe + "/state", "4"));
  EXPECT_TRUE(waitXs(be + "/state", "4"));
}

}  // namespace
}  // namespace xvirt::hv::sim::test
