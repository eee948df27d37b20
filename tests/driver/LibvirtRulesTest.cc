// driver/LibvirtRules against libvirt 9.0's own wording: virCheckFlags (src/internal.h) reports only
// the unknown bits in hex, virDomainObjCheckActive and virDomainObjUpdateModificationImpact
// (src/conf/domain_conf.c) their OPERATION_INVALID sentences, each with virErrorMsg's prefix.
#include <gtest/gtest.h>

#include "driver/ErrorMap.h"
#include "driver/LibvirtRules.h"

namespace xvirt::driver::rules {
namespace {

TEST(LibvirtRules, CheckFlagsReportsTheUnknownBitsInHex) {
  EXPECT_TRUE(checkFlags(0, 0, "virDomainGetState").ok());
  EXPECT_TRUE(checkFlags(0x3, 0x3, "virDomainOpenConsole").ok());
  auto st = checkFlags(0x100 | 0x1, 0x1f, "virDomainShutdownFlags");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(libvirtErrorNumber(st.error().code), virerr::kInvalidArg);
  EXPECT_EQ(st.error().message, "invalid argument: unsupported flags (0x100) in function libxlDomainShutdownFlags");
  // 4096 is 0x1000, never "0x4096".
  EXPECT_EQ(checkFlags(0x1000, 0x7f, "virDomainUndefineFlags").error().message,
            "invalid argument: unsupported flags (0x1000) in function libxlDomainUndefineFlags");
  EXPECT_EQ(checkFlags(0xffffffffu, 0, "virConnectDomainXMLFromNative").error().message,
            "invalid argument: unsupported flags (0xffffffff) in function libxlConnectDomainXMLFromNative");
}

TEST(LibvirtRules, StateRulesUseLibvirtsSentences) {
  EXPECT_TRUE(requireActive(true).ok());
  EXPECT_TRUE(requireInactive(false).ok());
  EXPECT_TRUE(requirePersistent(true, "undefine").ok());
  auto notRunning = requireActive(false);
  EXPECT_EQ(libvirtErrorNumber(notRunning.error().code), virerr::kOperationInvalid);
  EXPECT_EQ(notRunning.error().message, "Requested operation is not valid: domain is not running");
  auto running = requireInactive(true);
  EXPECT_EQ(libvirtErrorNumber(running.error().code), virerr::kOperationInvalid);
  EXPECT_EQ(running.error().message, "Requested operation is not valid: domain is already running");
  auto transient = requirePersistent(false, "undefine");
  EXPECT_EQ(libvirtErrorNumber(transient.error().code), virerr::kOperationInvalid);
  EXPECT_EQ(transient.error().message, "Requested operation is not valid: cannot undefine transient domain");
  EXPECT_EQ(requirePersistent(false, "do managed save for").error().message,
            "Requested operation is not valid: cannot do managed save for transient domain");
}

TEST(LibvirtRules, AffectCurrentMeansLiveWhileRunning) {
  auto a = resolveAffect(affect::kCurrent, true, true);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->live);
  EXPECT_FALSE(a->config);
  a = resolveAffect(affect::kCurrent, false, true);
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->live);
  EXPECT_TRUE(a->config);
  a = resolveAffect(affect::kLive | affect::kConfig | 0x100, true, true);  // other bits are not read
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->live && a->config);
}

TEST(LibvirtRules, AffectErrorsAreLibvirts) {
  EXPECT_EQ(resolveAffect(affect::kLive, false, true).error().message,
            "Requested operation is not valid: domain is not running");
  auto transient = resolveAffect(affect::kConfig, true, false);
  EXPECT_EQ(libvirtErrorNumber(transient.error().code), virerr::kOperationInvalid);
  EXPECT_EQ(transient.error().message,
            "Requested operation is not valid: transient domains do not have any persistent config");
  auto both = resolveAffectRead(affect::kLive | affect::kConfig, true, true);
  EXPECT_EQ(libvirtErrorNumber(both.error().code), virerr::kInvalidArg);
  EXPECT_EQ(both.error().message,
            "invalid argument: Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive");
  auto live = resolveAffectRead(affect::kCurrent, true, false);
  ASSERT_TRUE(live.ok());
  EXPECT_TRUE(*live);
}

}  // namespace
}  // namespace xvirt::driver::rules
