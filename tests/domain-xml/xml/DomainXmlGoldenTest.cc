// Golden tests, libvirt style: NAME.xml -> NAME.out.xml (canonical, and formatting it again gives the
// same bytes) or NAME.err (the exact error). XVIRT_TEST_REGENERATE=1 rewrites the expected files
// (tests/lib/GoldenFile.h).
#include <gtest/gtest.h>

#include <set>

#include "domain-xml/DomainXml.h"
#include "tests/domain-xml/xml/GoldenFiles.h"
#include "tests/lib/GoldenFile.h"

namespace xvirt::dom::test {
namespace {

namespace fs = std::filesystem;

using xvirt::test::dropStaleGolden;
using xvirt::test::expectGoldenFile;

// UUIDs and MACs are generated when the XML has none; pin them so expected output is stable.
void pinGenerated(const DomainDef& again, DomainDef& def) {
  if (!(again.uuid == def.uuid)) def.uuid = Uuid{};
  for (size_t i = 0; i < def.interfaces.size() && i < again.interfaces.size(); ++i)
    if (def.interfaces[i].mac != again.interfaces[i].mac) {
      EXPECT_EQ(def.interfaces[i].mac.rfind("00:16:3e:", 0), 0u) << def.interfaces[i].mac;
      char buf[32];
      std::snprintf(buf, sizeof buf, "00:16:3e:00:00:%02zx", i + 1);
      def.interfaces[i].mac = buf;
    }
}

std::string errorText(const Error& e) { return std::string(errorCodeName(e.code)) + ": " + e.message + "\n"; }

class DomainXmlGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(DomainXmlGolden, MatchesExpected) {
  const std::string name = GetParam();
  const fs::path dir = goldenDir();
  const fs::path outPath = dir / (name + ".out.xml"), errPath = dir / (name + ".err");
  const std::string input = slurp(dir / (name + ".xml"));
  auto parsed = parseDomainXml(input, parseFlagsFor(name));
  if (!parsed.ok()) {
    expectGoldenFile(errPath, errorText(parsed.error()));
    dropStaleGolden(outPath);
    return;
  }
  auto again = parseDomainXml(input, parseFlagsFor(name));
  ASSERT_TRUE(again.ok());
  pinGenerated(*again, *parsed);
  std::string out = formatDomainXml(*parsed, formatFlagsFor(name));
  expectGoldenFile(outPath, out);
  dropStaleGolden(errPath);
  // Idempotence: the canonical form parses and formats to itself.
  auto reparsed = parseDomainXml(out, parseFlagsFor(name));
  ASSERT_TRUE(reparsed.ok()) << reparsed.error().message;
  EXPECT_EQ(formatDomainXml(*reparsed, formatFlagsFor(name)), out);
  // The persistent form (what xvirtd stores) is stable too, and still valid against the schema.
  const unsigned persistent = kFormatInactive | kFormatSecure;
  std::string stored = formatDomainXml(*parsed, persistent);
  auto restored = parseDomainXml(stored, kParseInactive | kParseValidate);
  ASSERT_TRUE(restored.ok()) << restored.error().message << "\n" << stored;
  EXPECT_EQ(formatDomainXml(*restored, persistent), stored);
}

INSTANTIATE_TEST_SUITE_P(Cases, DomainXmlGolden, ::testing::ValuesIn(goldenCases()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (auto& c : n)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

TEST(DomainXmlGoldenFiles, NoOrphansAndEnoughCases) {
  auto cases = goldenCases();
  std::set<std::string> names(cases.begin(), cases.end());
  EXPECT_GE(cases.size(), 30u);
  for (const auto& e : fs::directory_iterator(goldenDir())) {
    std::string f = e.path().filename().string();
    if (isInputName(f)) continue;
    std::string base;
    if (endsWith(f, ".out.xml")) base = f.substr(0, f.size() - 8);
    else if (endsWith(f, ".err")) base = f.substr(0, f.size() - 4);
    EXPECT_TRUE(!base.empty() && names.count(base)) << "unused golden file " << f;
  }
  for (const auto& n : cases) {
    bool out = fs::exists(goldenDir() / (n + ".out.xml")), err = fs::exists(goldenDir() / (n + ".err"));
    EXPECT_TRUE(out != err) << n << " needs exactly one of .out.xml and .err";
  }
}

}  // namespace
}  // namespace xvirt::dom::test
