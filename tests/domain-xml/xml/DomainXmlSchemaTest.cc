// schemas/domain.rng against the data: every accepted golden input, every canonical output and every
// example validates; every *-invalid.xml input fails validation with an error naming a line.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "domain-xml/DomainXml.h"
#include "tests/domain-xml/xml/GoldenFiles.h"

namespace xvirt::dom::test {
namespace {

namespace fs = std::filesystem;

TEST(DomainXmlSchema, AcceptedGoldenInputsAndOutputsValidate) {
  size_t checked = 0;
  for (const auto& name : goldenCases()) {
    if (fs::exists(goldenDir() / (name + ".err"))) continue;
    auto in = validateDomainXml(slurp(goldenDir() / (name + ".xml")));
    EXPECT_TRUE(in.ok()) << name << ".xml: " << (in.ok() ? "" : in.error().message);
    auto out = validateDomainXml(slurp(goldenDir() / (name + ".out.xml")));
    EXPECT_TRUE(out.ok()) << name << ".out.xml: " << (out.ok() ? "" : out.error().message);
    ++checked;
  }
  EXPECT_GE(checked, 20u);
}

TEST(DomainXmlSchema, InvalidInputsFailValidation) {
  size_t checked = 0;
  for (const auto& name : goldenCases()) {
    if (name.find("-invalid") == std::string::npos) continue;
    auto st = validateDomainXml(slurp(goldenDir() / (name + ".xml")));
    ASSERT_FALSE(st.ok()) << name << ".xml validates, but its name says it must not";
    EXPECT_EQ(st.error().code, ErrorCode::XmlError);
    EXPECT_NE(st.error().message.find("line"), std::string::npos) << st.error().message;
    ++checked;
  }
  EXPECT_GE(checked, 3u);
}

TEST(DomainXmlSchema, ExamplesValidateAndParseWithValidateFlag) {
  auto examples = exampleXmls();
  EXPECT_GE(examples.size(), 2u);
  for (const auto& p : examples) {
    std::string xml = slurp(p);
    auto st = validateDomainXml(xml);
    EXPECT_TRUE(st.ok()) << p << ": " << (st.ok() ? "" : st.error().message);
    auto def = parseDomainXml(xml, kParseValidate);
    ASSERT_TRUE(def.ok()) << p << ": " << def.error().message;
    EXPECT_TRUE(validateDomainXml(formatDomainXml(*def)).ok()) << p;
  }
}

TEST(DomainXmlSchema, ValidateFlagRejectsWhatOnlyTheSchemaCatches) {
  // An attribute the parser ignores (as libvirt does) but the schema does not allow.
  const char* xml =
      "<domain type='xen'>\n  <name>x</name>\n  <memory colour='red'>1024</memory>\n"
      "  <os><type>linux</type><kernel>/k</kernel></os>\n</domain>\n";
  EXPECT_TRUE(parseDomainXml(xml).ok());
  auto r = parseDomainXml(xml, kParseValidate);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("<memory> at line 3"), std::string::npos) << r.error().message;
}

TEST(DomainXmlSchema, MalformedDocumentNamesTheLine) {
  auto st = validateDomainXml("<domain type='xen'>\n<name>x</nam>\n</domain>");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("line 2"), std::string::npos) << st.error().message;
}

TEST(DomainXmlSchema, ConcurrentValidationAndParsing) {
  // The schema is compiled once and shared; parses capture their errors per call.
  const std::string good = slurp(examplesDir() / "demo-pv.xml");
  const std::string bad = "<domain type='xen'>\n<name>x</name>\n<vcpu>zero</vcpu>\n</domain>";
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        if (!validateDomainXml(good).ok()) ++failures;
        if (validateDomainXml(bad).ok()) ++failures;
        auto r = parseDomainXml("<domain type='xen'><name>x</name></oops>");
        if (r.ok() || r.error().message.find("line 1") == std::string::npos) ++failures;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace xvirt::dom::test
