// Golden tests for the device model's command line (tests/golden/device-model): NAME.json is a
// GuestConfig, NAME.args the expected environment ("env K=V" lines) and argv (one per line), for
// domain 7; err-NAME.json gives err-NAME.err with the error sentence. XVIRT_TEST_REGENERATE=1
// rewrites expected files; a file no case reads fails the test.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>

#include "common/File.h"
#include "tests/lib/GoldenFile.h"
#include "common/GuestConfig.h"
#include "common/Json.h"
#include "common/Strings.h"
#include "helper/dm/DeviceModelArgs.h"

namespace fs = std::filesystem;
using namespace xvirt;
using namespace xvirt::helper;
using namespace xvirt::test;

namespace {

std::string render(const DeviceModelCommand& cmd) {
  std::string out;
  for (const auto& e : cmd.env) out += "env " + e + "\n";
  for (const auto& a : cmd.argv) out += a + "\n";
  return out;
}

TEST(DeviceModelGolden, EveryConfigGivesItsCommandLine) {
  fs::path dir = goldenPath("device-model");
  std::vector<fs::path> inputs;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".json") inputs.push_back(entry.path());
  std::sort(inputs.begin(), inputs.end());
  ASSERT_GE(inputs.size(), 3u);
  std::set<std::string> used;
  for (const auto& input : inputs) {
    SCOPED_TRACE(input.string());
    used.insert(input.filename().string());
    auto text = readFile(input.string());
    ASSERT_TRUE(text.ok());
    auto json = Json::parse(*text);
    ASSERT_TRUE(json.ok()) << json.error().message;
    auto config = GuestConfig::fromJson(*json);
    ASSERT_TRUE(config.ok()) << config.error().message;
    DeviceModelContext ctx;
    ctx.domid = 7;
    ctx.qmpPath = "/run/xvirt/qmp-dm-7";
    auto cmd = deviceModelCommand(*config, ctx);
    std::string stem = input.stem().string();
    if (stem.rfind("err-", 0) == 0) {
      ASSERT_FALSE(cmd.ok()) << "expected an error for " << stem;
      expectGoldenFile(dir / (stem + ".err"), cmd.error().message + "\n", used);
      continue;
    }
    ASSERT_TRUE(cmd.ok()) << cmd.error().message;
    expectGoldenFile(dir / (stem + ".args"), render(*cmd), used);
    // Pure: the same config gives the same command line.
    auto again = deviceModelCommand(*config, ctx);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(render(*again), render(*cmd));
  }
  expectNoUnusedGoldenFiles(dir, used);
}

TEST(DeviceModelGolden, RefusesNonHvmGuests) {
  GuestConfig g;
  g.name = "pv";
  g.kind = "pv";
  auto cmd = deviceModelCommand(g, DeviceModelContext{});
  ASSERT_FALSE(cmd.ok());
  EXPECT_EQ(cmd.error().message, "Guest 'pv' is not HVM, so it has no emulated devices.");
}

// A PV guest's own QEMU for its qdisk disks: the command line libxl gives a "QEMU for PV".
TEST(DeviceModelGolden, PvGuestWithQdiskGetsItsOwnBackendQemu) {
  GuestConfig g;
  g.name = "pv1";
  g.kind = "pv";
  EXPECT_FALSE(needsPvBackend(g));
  GuestDisk phy;
  phy.backend = "phy";
  g.disks.push_back(phy);
  EXPECT_FALSE(needsPvBackend(g)) << "blkback serves phy disks";
  GuestDisk qdisk;
  qdisk.backend = "qdisk";
  g.disks.push_back(qdisk);
  EXPECT_TRUE(needsPvBackend(g));
  DeviceModelContext ctx;
  ctx.domid = 7;
  auto cmd = pvBackendCommand(g, ctx);
  ASSERT_TRUE(cmd.ok()) << cmd.error().message;
  EXPECT_EQ(join(cmd->argv, " "), std::string(kDefaultDeviceModel) +
                                      " -xen-domid 7 -xen-attach -name pv1 -nodefaults -no-user-config -vnc none"
                                      " -display none -machine xenpv");
  GuestConfig hvm = g;
  hvm.kind = "hvm";
  EXPECT_FALSE(needsPvBackend(hvm)) << "an HVM guest's device model serves its disks";
  EXPECT_FALSE(pvBackendCommand(hvm, ctx).ok());
}

}  // namespace
