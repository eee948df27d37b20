// The parser under ASan/UBSan (see meson.build): every golden input and example, every truncation
// of them at a stride, byte flips, and hand-made garbage must give a value or an error, never a crash.
#include <gtest/gtest.h>

#include "domain-xml/DomainXml.h"
#include "tests/domain-xml/xml/GoldenFiles.h"

namespace xvirt::dom::test {
namespace {

std::vector<std::string> corpus() {
  std::vector<std::string> out;
  for (const auto& name : goldenCases()) out.push_back(slurp(goldenDir() / (name + ".xml")));
  for (const auto& p : exampleXmls()) out.push_back(slurp(p));
  return out;
}

// Parses, and when that works formats and re-parses, checking the round trip holds.
void exercise(const std::string& xml) {
  for (unsigned flags : {0u, unsigned(kParseInactive)}) {
    auto def = parseDomainXml(xml, flags);
    if (!def.ok()) {
      EXPECT_FALSE(def.error().message.empty());
      continue;
    }
    std::string out = formatDomainXml(*def, kFormatSecure);
    auto again = parseDomainXml(out, flags);
    ASSERT_TRUE(again.ok()) << again.error().message << "\n" << out;
    EXPECT_EQ(formatDomainXml(*again, kFormatSecure), out);
  }
}

TEST(DomainXmlFuzz, CorpusParses) {
  auto all = corpus();
  ASSERT_GE(all.size(), 10u);
  for (const auto& xml : all) {
    exercise(xml);
    (void)validateDomainXml(xml);
  }
}

TEST(DomainXmlFuzz, Truncations) {
  for (const auto& xml : corpus())
    for (size_t n = 0; n < xml.size(); n += 3) exercise(xml.substr(0, n));
}

TEST(DomainXmlFuzz, ByteFlips) {
  uint32_t state = 12345;  // fixed seed: the same flips every run
  const char replacements[] = "<>&'\"/=x0 \n\xff";
  for (const auto& xml : corpus()) {
    for (int i = 0; i < 150 && !xml.empty(); ++i) {
      state = state * 1664525u + 1013904223u;
      std::string mutated = xml;
      mutated[state % mutated.size()] = replacements[(state >> 16) % (sizeof replacements - 1)];
      exercise(mutated);
    }
  }
}

TEST(DomainXmlFuzz, Garbage) {
  const std::vector<std::string> inputs = {
      "", " ", "<", "<domain", "<domain/>", "<domain type='xen'/>", "\xef\xbb\xbf<domain/>",
      std::string("<domain type='xen'>\0</domain>", 28), "<?xml version='1.0'?>",
      "<!DOCTYPE domain [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;'>]>"
      "<domain type='xen'><name>&b;</name></domain>",
      "<domain type='xen'><name>x</name><memory unit='EiB'>18446744073709551615</memory></domain>",
      "<domain type='xen'><name>x</name><memory>1</memory><vcpu cpuset='0-4095,^0-4095'>1</vcpu></domain>",
      "<domain type='xen'><name>x</name><memory>1</memory><metadata><a:b xmlns:a='u'>&lt;</a:b></metadata></domain>",
      "<domain type='xen' id='99999999999999999999'><name>x</name></domain>",
      "<x:domain xmlns:x='urn:x' type='xen'/>",
      std::string(10000, '<'),
      "<domain type='xen'>" + std::string(3000, ' ') + "<name>" + std::string(5000, 'n') + "</name></domain>",
  };
  for (const auto& xml : inputs) exercise(xml);
  std::string deep = "<domain type='xen'><name>d</name><memory>1</memory><metadata>";
  for (int i = 0; i < 200; ++i) deep += "<a:x xmlns:a='urn:a'>";
  for (int i = 0; i < 200; ++i) deep += "</a:x>";
  exercise(deep + "</metadata><os><type>hvm</type></os></domain>");
}

}  // namespace
}  // namespace xvirt::dom::test
