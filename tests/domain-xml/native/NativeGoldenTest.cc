// Golden tests for the native formats and GuestConfig (tests/golden/domain-xml/{xl,xm,guestconfig}).
// NAME.cfg -> NAME.out.cfg (formatXlConfig, then idempotent) and NAME.xml (formatDomainXml, then
// back to the same config); errors in NAME.err. XVIRT_TEST_REGENERATE=1 rewrites expected files
// (tests/lib/GoldenFile.h); a file no case reads fails the test.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>

#include "common/File.h"
#include "common/Strings.h"
#include "common/GuestConfig.h"
#include "domain-xml/GuestConfigBuilder.h"
#include "domain-xml/DomainXml.h"
#include "domain-xml/XlConfig.h"
#include "tests/lib/GoldenFile.h"

namespace fs = std::filesystem;
using namespace xvirt;
using namespace xvirt::dom;
using namespace xvirt::test;

namespace {

fs::path goldenDir(const std::string& sub) { return xvirt::test::goldenPath("domain-xml/" + sub); }

// A config without a uuid gets a random one; pin it so the outputs are stable. (Such inputs must
// give their NICs MACs, since missing ones are derived from the uuid.)
void pinGeneratedUuid(const std::string& text, NativeFormat format, DomainDef& def) {
  auto again = parseXlConfig(text, format);
  if (again.ok() && again->uuid != def.uuid) def.uuid = *Uuid::parse("5eed0000-0000-4000-8000-000000000000");
}

std::vector<fs::path> inputs(const fs::path& dir, const std::string& ext) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (endsWith(name, ext) && !endsWith(name, ".out.cfg")) out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// One case; ASSERTs return from here, so a broken case does not hide the ones after it.
void runNativeCase(const fs::path& dir, const fs::path& in, NativeFormat format, std::set<std::string>& used) {
  SCOPED_TRACE(in.string());
  used.insert(in.filename().string());
  std::string stem = in.stem().string();
  fs::path errPath = dir / (stem + ".err"), outPath = dir / (stem + ".out.cfg"), xmlPath = dir / (stem + ".xml");
  auto text = readFile(in.string());
  ASSERT_TRUE(text.ok()) << in;
  auto def = parseXlConfig(*text, format);
  if (!def.ok()) {
    expectGoldenFile(errPath, def.error().message + "\n", used);
    dropStaleGolden(outPath);
    dropStaleGolden(xmlPath);
    return;
  }
  dropStaleGolden(errPath);
  pinGeneratedUuid(*text, format, *def);
  auto out = formatXlConfig(*def, format);
  ASSERT_TRUE(out.ok()) << out.error().message;
  expectGoldenFile(outPath, *out, used);
  // Idempotent: the canonical output reads back to itself.
  auto def2 = parseXlConfig(*out, format);
  ASSERT_TRUE(def2.ok()) << def2.error().message;
  auto out2 = formatXlConfig(*def2, format);
  ASSERT_TRUE(out2.ok());
  EXPECT_EQ(*out, *out2) << "not idempotent";
  std::string xml = formatDomainXml(*def, kFormatInactive | kFormatSecure);
  expectGoldenFile(xmlPath, xml, used);
  // xl/xm -> XML -> xl/xm comes back to the canonical config.
  auto fromXml = parseDomainXml(xml, kParseInactive | kParseValidate);
  ASSERT_TRUE(fromXml.ok()) << fromXml.error().message;
  auto back = formatXlConfig(*fromXml, format);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*out, *back) << "config -> XML -> config changed the config";
}

void runNativeDir(const std::string& sub, NativeFormat format) {
  fs::path dir = goldenDir(sub);
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  std::set<std::string> used;
  auto cases = inputs(dir, ".cfg");
  EXPECT_FALSE(cases.empty());
  for (const auto& in : cases) runNativeCase(dir, in, format, used);
  expectNoUnusedGoldenFiles(dir, used);
}

void checkGuestConfig(const Result<DomainDef>& def, const fs::path& dir, const std::string& stem,
                      std::set<std::string>& used) {
  fs::path errPath = dir / (stem + ".err"), jsonPath = dir / (stem + ".json");
  Result<GuestConfig> gc = def.ok() ? buildGuestConfig(*def) : Result<GuestConfig>(def.error());
  if (!gc.ok()) {
    expectGoldenFile(errPath, gc.error().message + "\n", used);
    dropStaleGolden(jsonPath);
    return;
  }
  dropStaleGolden(errPath);
  std::string json = gc->toJson().dump(false) + "\n";
  expectGoldenFile(jsonPath, json, used);
  // The helper's side: the document reads back to the same config.
  auto parsed = Json::parse(json);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  auto back = GuestConfig::fromJson(*parsed);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->toJson().dump(false) + "\n", json);
}

}  // namespace

TEST(NativeGolden, XlConfigs) { runNativeDir("xl", NativeFormat::XenXl); }
TEST(NativeGolden, XmConfigs) { runNativeDir("xm", NativeFormat::XenXm); }

static void runGuestConfigCase(const fs::path& dir, const fs::path& in, std::set<std::string>& used) {
  SCOPED_TRACE(in.string());
  used.insert(in.filename().string());
  std::string stem = in.stem().string();
  auto text = readFile(in.string());
  ASSERT_TRUE(text.ok()) << in;
  if (in.extension() == ".cfg") {
    auto def = parseXlConfig(*text, NativeFormat::XenXl);
    if (def.ok()) pinGeneratedUuid(*text, NativeFormat::XenXl, *def);
    checkGuestConfig(def, dir, stem, used);
    return;
  }
  checkGuestConfig(parseDomainXml(*text, kParseValidate), dir, stem, used);
}

TEST(NativeGolden, GuestConfigs) {
  fs::path dir = goldenDir("guestconfig");
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  std::set<std::string> used;
  // NAME.cfg (xl) inputs exercise the builder without the XML side; NAME.xml are the main cases.
  for (const auto& in : inputs(dir, ".cfg")) runGuestConfigCase(dir, in, used);
  for (const auto& in : inputs(dir, ".xml")) runGuestConfigCase(dir, in, used);
  expectNoUnusedGoldenFiles(dir, used);
}
