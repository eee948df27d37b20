// Tests for what both backends share (hypervisor/Hypervisor.cc): CPU sets and maps, shutdown
// reason names and the backend choice.
#include <gtest/gtest.h>

#include "hypervisor/Backend.h"
#include "hypervisor/Hypervisor.h"

namespace xvirt::hv {
namespace {

CpuMap mapOf(std::initializer_list<int> bits, unsigned n) {
  CpuMap m(n, false);
  for (int b : bits) m[size_t(b)] = true;
  return m;
}

TEST(FormatCpuMap, CollapsesRuns) {
  EXPECT_EQ(formatCpuMap(mapOf({0, 1, 2, 5}, 8)), "0-2,5");
  EXPECT_EQ(formatCpuMap(mapOf({3}, 8)), "3");
  EXPECT_EQ(formatCpuMap(mapOf({0, 2, 4, 6, 7}, 8)), "0,2,4,6-7");
  EXPECT_EQ(formatCpuMap(mapOf({}, 8)), "");
  EXPECT_EQ(formatCpuMap(CpuMap(4, true)), "0-3");
}

TEST(ParseCpuSet, RangesListsAndExclusions) {
  auto a = parseCpuSet("0-3,^2", 8);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(*a, mapOf({0, 1, 3}, 8));
  auto b = parseCpuSet("1,3-5", 8);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, mapOf({1, 3, 4, 5}, 8));
  auto c = parseCpuSet(" 1 , 3 - 4 , ^ 4 ", 8);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(*c, mapOf({1, 3}, 8));
  auto all = parseCpuSet("all", 4);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, CpuMap(4, true));
}

TEST(ParseCpuSet, RoundTripsWithFormat) {
  for (const char* text : {"0", "0-2,5", "1,3,5,7", "0-7"}) {
    auto m = parseCpuSet(text, 8);
    ASSERT_TRUE(m.ok()) << text;
    EXPECT_EQ(formatCpuMap(*m), text);
  }
}

TEST(ParseCpuSet, OutOfRangeNamesTheCpu) {
  auto r = parseCpuSet("0-8", 8);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
  EXPECT_NE(r.error().message.find("CPU 8"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("8 CPUs"), std::string::npos) << r.error().message;
}

TEST(ParseCpuSet, EmptyResultIsAnError) {
  auto r = parseCpuSet("^0", 4);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("selects no CPU"), std::string::npos) << r.error().message;
  EXPECT_FALSE(parseCpuSet("0-1,^0-1", 4).ok());
}

TEST(ParseCpuSet, JunkIsRejectedWithOneSentence) {
  for (const char* text : {"", "abc", "1-", "-1", "3-1", "1,,2", "1;2", "^", "0x1", "1-2-3"}) {
    auto r = parseCpuSet(text, 8);
    ASSERT_FALSE(r.ok()) << '"' << text << '"';
    EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
    const std::string& m = r.error().message;
    EXPECT_EQ(m.back(), '.') << m;
    EXPECT_EQ(m.find(". "), std::string::npos) << "not one sentence: " << m;
  }
}

TEST(ShutdownReasonName, XenNames) {
  EXPECT_STREQ(shutdownReasonName(ShutdownReason::Poweroff), "poweroff");
  EXPECT_STREQ(shutdownReasonName(ShutdownReason::Reboot), "reboot");
  EXPECT_STREQ(shutdownReasonName(ShutdownReason::Suspend), "suspend");
  EXPECT_STREQ(shutdownReasonName(ShutdownReason::Crash), "crash");
  EXPECT_STREQ(shutdownReasonName(ShutdownReason::Watchdog), "watchdog");
  EXPECT_STREQ(shutdownReasonName(ShutdownReason::SoftReset), "soft_reset");
}

TEST(BackendChoice, Parses) {
  EXPECT_EQ(*parseBackendChoice("auto"), BackendChoice::Auto);
  EXPECT_EQ(*parseBackendChoice("xen"), BackendChoice::Xen);
  EXPECT_EQ(*parseBackendChoice("SIM"), BackendChoice::Sim);
  auto bad = parseBackendChoice("kvm");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::InvalidArgument);
  EXPECT_NE(bad.error().message.find("\"kvm\""), std::string::npos);
}

TEST(BackendChoice, ExplicitChoicesStand) {
  EXPECT_EQ(resolveBackend(BackendChoice::Xen), BackendChoice::Xen);
  EXPECT_EQ(resolveBackend(BackendChoice::Sim), BackendChoice::Sim);
}

TEST(BackendChoice, AutoFollowsTheHost) {
  bool xenHost = ::access("/proc/xen/capabilities", F_OK) == 0 || ::access("/dev/xen/privcmd", F_OK) == 0;
  EXPECT_EQ(resolveBackend(BackendChoice::Auto), xenHost ? BackendChoice::Xen : BackendChoice::Sim);
}

TEST(OpenHypervisor, SimNeedsADirectory) {
  auto r = openHypervisor(BackendChoice::Sim, "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
}

TEST(BackendChoice, CommandLineNamesAreExact) {
  EXPECT_TRUE(isBackendChoiceName("auto"));
  EXPECT_TRUE(isBackendChoiceName("xen"));
  EXPECT_TRUE(isBackendChoiceName("sim"));
  EXPECT_FALSE(isBackendChoiceName("SIM"));
  EXPECT_FALSE(isBackendChoiceName("kvm"));
}

// Off Xen, the Xen backend is reached through its extern "C" entry point and refuses clearly.
TEST(OpenBackend, XenOffXenFailsWithASentence) {
  if (::access("/dev/xen/privcmd", F_OK) == 0) GTEST_SKIP() << "this host runs Xen";
  BackendOptions options;
  options.choice = BackendChoice::Xen;
  auto b = openBackend(options);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, ErrorCode::OperationFailed);
  EXPECT_NE(b.error().message.find("Cannot open the Xen control interface"), std::string::npos) << b.error().message;
}

}  // namespace
}  // namespace xvirt::hv
