// Unit tests for the value syntax of domain XML: units, MACs, UUIDs, cpusets, disk targets, names.
#include <gtest/gtest.h>

#include "common/Uuid.h"
#include "domain-xml/DomainXml.h"
#include "domain-xml/DomainXmlValues.h"

namespace xvirt::dom {
namespace {

uint64_t kib(const char* v, const char* unit) {
  auto r = parseScaledKib(v, unit, "<memory>");
  EXPECT_TRUE(r.ok()) << v << " " << unit << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : 0;
}

TEST(Units, LibvirtScales) {
  EXPECT_EQ(kib("1024", ""), 1024u);
  EXPECT_EQ(kib("1024", "KiB"), 1024u);
  EXPECT_EQ(kib("1024", "k"), 1024u);
  EXPECT_EQ(kib("2048", "b"), 2u);
  EXPECT_EQ(kib("2048", "bytes"), 2u);
  EXPECT_EQ(kib("1", "bytes"), 1u);  // rounded up
  EXPECT_EQ(kib("1024", "KB"), 1000u);
  EXPECT_EQ(kib("1", "KB"), 1u);     // 1000 bytes round up to 1 KiB
  EXPECT_EQ(kib("256", "M"), 262144u);
  EXPECT_EQ(kib("256", "MiB"), 262144u);
  EXPECT_EQ(kib("1", "MB"), 977u);   // 1000000 / 1024 = 976.56
  EXPECT_EQ(kib("2", "G"), 2097152u);
  EXPECT_EQ(kib("2", "GiB"), 2097152u);
  EXPECT_EQ(kib("1", "GB"), 976563u);
  EXPECT_EQ(kib("1", "T"), 1073741824u);
  EXPECT_EQ(kib("1", "TiB"), 1073741824u);
  EXPECT_EQ(kib("1", "TB"), 976562500u);
  EXPECT_EQ(kib("1", "gib"), 2097152u / 2);  // case-insensitive, as libvirt
  EXPECT_EQ(kib(" 64 ", "MiB"), 65536u);
}

TEST(Units, Rejections) {
  EXPECT_FALSE(parseScaledKib("12", "parsecs", "<memory>").ok());
  EXPECT_FALSE(parseScaledKib("-1", "KiB", "<memory>").ok());
  EXPECT_FALSE(parseScaledKib("1.5", "GiB", "<memory>").ok());
  EXPECT_FALSE(parseScaledKib("", "KiB", "<memory>").ok());
  EXPECT_FALSE(parseScaledKib("99999999999999999999", "KiB", "<memory>").ok());
  auto big = parseScaledKib("9000000", "TiB", "<memory> at line 4");
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().message, "The size 9000000 TiB of <memory> at line 4 is too large.");
  EXPECT_TRUE(parseScaledKib("8388607", "TiB", "<memory>").ok());
}

TEST(Mac, ParsesAndCanonicalises) {
  auto m = parseMac("00:16:3E:5d:c7:9e");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, "00:16:3e:5d:c7:9e");
  EXPECT_EQ(*parseMac("0:16:3e:1:2:3"), "00:16:3e:01:02:03");
}

TEST(Mac, Rejections) {
  EXPECT_FALSE(parseMac("00:16:3e:5d:c7").ok());
  EXPECT_FALSE(parseMac("00:16:3e:5d:c7:9e:01").ok());
  EXPECT_FALSE(parseMac("00:16:3e:5d:c7:9g").ok());
  EXPECT_FALSE(parseMac("00:16:3e:5d:c7:100").ok());
  EXPECT_FALSE(parseMac("00-16-3e-5d-c7-9e").ok());
  EXPECT_FALSE(parseMac("").ok());
  auto mc = parseMac("01:00:5e:00:00:01");
  ASSERT_FALSE(mc.ok());
  EXPECT_NE(mc.error().message.find("multicast"), std::string::npos);
  EXPECT_FALSE(parseMac("00:00:00:00:00:00").ok());
}

TEST(Mac, GeneratedUsesXenOui) {
  for (int i = 0; i < 50; ++i) {
    std::string m = generateXenMac();
    EXPECT_EQ(m.rfind("00:16:3e:", 0), 0u);
    EXPECT_TRUE(parseMac(m).ok()) << m;
  }
}

TEST(UuidInXml, ParsedGeneratedAndRejected) {
  auto def = parseDomainXml(
      "<domain type='xen'><name>u</name><uuid>4DEA22B3-1D52-D8F3-2516-782E98AB3FA0</uuid>"
      "<memory>1024</memory><os><type>hvm</type></os></domain>");
  ASSERT_TRUE(def.ok()) << def.error().message;
  EXPECT_EQ(def->uuid.str(), "4dea22b3-1d52-d8f3-2516-782e98ab3fa0");
  auto gen = parseDomainXml("<domain type='xen'><name>u</name><memory>1024</memory><os><type>hvm</type></os></domain>");
  ASSERT_TRUE(gen.ok());
  EXPECT_FALSE(gen->uuid.isNull());
  auto bad = parseDomainXml(
      "<domain type='xen'><name>u</name><uuid>4dea22b3-1d52-d8f3-2516</uuid><memory>1</memory></domain>");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "The <uuid> '4dea22b3-1d52-d8f3-2516' at line 1 is not a UUID.");
}

TEST(Cpuset, CanonicalLikeLibvirt) {
  EXPECT_EQ(*canonicalCpuset("0-3,^2", "x"), "0-1,3");
  EXPECT_EQ(*canonicalCpuset("3,1,2,7", "x"), "1-3,7");
  EXPECT_EQ(*canonicalCpuset(" 0 , 4-5 ", "x"), "0,4-5");
  EXPECT_EQ(*canonicalCpuset("4095", "x"), "4095");
  EXPECT_EQ(formatCpuset({0, 1, 2, 5, 7, 8}), "0-2,5,7-8");
}

TEST(Cpuset, Rejections) {
  for (const char* bad : {"", ",", "a", "3-1", "0-", "-1", "^0", "0,^0", "4096", "1-2-3", "^1-2", "0,,1"}) {
    auto r = parseCpuset(bad, "<vcpu>");
    EXPECT_FALSE(r.ok()) << "'" << bad << "' was accepted";
    if (!r.ok()) {
      EXPECT_NE(r.error().message.find("<vcpu>"), std::string::npos);
    }
  }
}

TEST(DiskTarget, XenNames) {
  for (const char* ok : {"xvda", "xvdz", "xvdaa", "xvda1", "xvdb15", "xvdc255", "hda", "hdd", "hdc63", "sda", "sdp", "sdb15"})
    EXPECT_TRUE(isValidDiskTarget(ok)) << ok;
  for (const char* bad : {"", "xvd", "vda", "hde", "sdq", "xvda0", "xvda256", "xvdA", "sda16", "hda64", "xvda1x", "fda"})
    EXPECT_FALSE(isValidDiskTarget(bad)) << bad;
  EXPECT_EQ(busForDiskTarget("xvdb"), "xen");
  EXPECT_EQ(busForDiskTarget("hdc"), "ide");
  EXPECT_EQ(busForDiskTarget("sda"), "scsi");
}

TEST(LiveVifName, ToolstackNames) {
  EXPECT_TRUE(isLiveVifName("vif7.0"));
  EXPECT_TRUE(isLiveVifName("vif12.3-emu"));
  EXPECT_FALSE(isLiveVifName("vif-eth3"));
  EXPECT_FALSE(isLiveVifName("vif7"));
  EXPECT_FALSE(isLiveVifName("nic1"));
}

TEST(DomainName, Rules) {
  EXPECT_TRUE(checkDomainName("demo-pv_1.2+x").ok());
  EXPECT_FALSE(checkDomainName("").ok());
  EXPECT_FALSE(checkDomainName("a/b").ok());
  EXPECT_FALSE(checkDomainName("a b").ok());
  EXPECT_FALSE(checkDomainName(".hidden").ok());
  EXPECT_FALSE(checkDomainName("-x").ok());
  EXPECT_FALSE(checkDomainName("Domain-0").ok());
  EXPECT_FALSE(checkDomainName(std::string(251, 'a')).ok());
}

TEST(Escape, LikeLibvirt) {
  EXPECT_EQ(xmlEscapeText("a<b>&'\"c"), "a&lt;b&gt;&amp;&apos;&quot;c");
  EXPECT_EQ(xmlEscapeText(std::string("x\x01y\n")), "xy\n");
  EXPECT_EQ(xmlEscapeAttr("a\nb\tc"), "a&#10;b&#9;c");
}

}  // namespace
}  // namespace xvirt::dom
