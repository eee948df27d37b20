// The xl.cfg syntax layer and the key handling of parseXlConfig (golden files cover whole configs).
#include <gtest/gtest.h>

#include "domain-xml/XlConfig.h"
#include "domain-xml/XlConfigSyntax.h"

using namespace xvirt::dom;

namespace {

std::string syntaxError(const char* text) {
  auto r = parseXlSettings(text);
  EXPECT_FALSE(r.ok()) << "accepted: " << text;
  return r.ok() ? "" : r.error().message;
}

}  // namespace

TEST(XlSyntax, ValuesListsAndComments) {
  auto r = parseXlSettings(
      "# a comment\n"
      "name = \"a \\\"b\\\"\"   # trailing comment\n"
      "memory=512; vcpus = 0x2\n"
      "disk = [ 'phy:/dev/x,xvda,w',\n"
      "         # inside a list\n"
      "         \"file:/y,xvdb,r\", ]\n"
      "rtc_timeoffset = -3600\n"
      "empty = []\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 6u);
  EXPECT_EQ((*r)[0].key, "name");
  EXPECT_EQ((*r)[0].items[0].text, "a \"b\"");
  EXPECT_TRUE((*r)[0].items[0].isString);
  EXPECT_EQ((*r)[1].items[0].text, "512");
  EXPECT_FALSE((*r)[1].items[0].isString);
  EXPECT_EQ((*r)[2].items[0].text, "0x2");
  EXPECT_TRUE((*r)[3].isList);
  ASSERT_EQ((*r)[3].items.size(), 2u);
  EXPECT_EQ((*r)[3].items[1].text, "file:/y,xvdb,r");
  EXPECT_EQ((*r)[3].items[1].line, 6);
  EXPECT_EQ((*r)[3].line, 4);
  EXPECT_EQ((*r)[4].items[0].text, "-3600");
  EXPECT_TRUE((*r)[5].isList);
  EXPECT_TRUE((*r)[5].items.empty());
}

TEST(XlSyntax, LaterSettingsReplaceAndPlusEqualsAppends) {
  auto r = parseXlSettings("memory = 1\nmemory = 2\ndisk = ['a']\ndisk += ['b']\nextra = 'x'\nextra += ' y'\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].items[0].text, "2");
  EXPECT_EQ((*r)[0].line, 2);
  EXPECT_EQ((*r)[1].items.size(), 2u);
  EXPECT_EQ((*r)[2].items[0].text, "x y");
}

TEST(XlSyntax, ErrorsNameTheLine) {
  EXPECT_EQ(syntaxError("name = 'a'\nmemory 512\n"),
            "Line 2 of the config has '5' after 'memory' where '=' was expected.");
  EXPECT_EQ(syntaxError("name = 'a\n"), "Line 1 of the config has a string for 'name' that is never closed with '.");
  EXPECT_EQ(syntaxError("\n\ndisk = [ 'a',\n 'b'\n"),
            "Line 3 of the config has a list for 'disk' that is never closed with ']'.");
  EXPECT_EQ(syntaxError("vnc = yes\n"),
            "Line 1 of the config gives 'vnc' the bare word 'yes', which is neither a number nor a quoted string.");
  EXPECT_EQ(syntaxError("x = 1 2\n"), "Line 1 of the config has '2' after the value of 'x' where the end of the line was expected.");
  EXPECT_EQ(syntaxError("= 3\n"), "Line 1 of the config starts with '=' where a setting name was expected.");
  EXPECT_EQ(syntaxError("disk = [ 'a' 'b' ]\n"),
            "Line 1 of the config has ''' in the list for 'disk' where ',' or ']' was expected.");
  EXPECT_EQ(syntaxError("disk = [ [ 'a' ] ]\n"), "Line 1 of the config has '[' where the value of 'disk' was expected.");
  EXPECT_EQ(syntaxError("name = \x01\n"), "Line 1 of the config has the byte 0x01 where the value of 'name' was expected.");
}

TEST(XlConfig, UnknownAndHarmlessKeys) {
  auto bad = parseXlConfig("name = 'a'\nkernel = '/k'\nfrobnicate = 1\n", NativeFormat::XenXl);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "Line 3 of the config sets 'frobnicate', which xvirt does not support.");
  auto ok = parseXlConfig("name = 'a'\nkernel = '/k'\ncpu_weight = 256\ndevice_model_version = 'qemu-xen'\n",
                          NativeFormat::XenXl);
  EXPECT_TRUE(ok.ok()) << ok.error().message;
}

TEST(XlConfig, CmdlineFromRootAndExtra) {
  auto both = parseXlConfig("name='a'\nkernel='/k'\nroot='/dev/xvda1'\nextra='ro quiet'\n", NativeFormat::XenXl);
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->os.cmdline, "root=/dev/xvda1 ro quiet");
  auto rootOnly = parseXlConfig("name='a'\nkernel='/k'\nroot='/dev/xvda1'\n", NativeFormat::XenXl);
  EXPECT_EQ(rootOnly->os.cmdline, "root=/dev/xvda1");
  auto cmdlineWins = parseXlConfig("name='a'\nkernel='/k'\nroot='/r'\ncmdline='c'\n", NativeFormat::XenXl);
  EXPECT_EQ(cmdlineWins->os.cmdline, "c");
}

TEST(XlConfig, MemoryAndVcpus) {
  auto d = parseXlConfig("name='a'\nkernel='/k'\nmemory=512\nmaxmem=1024\nvcpus=2\nmaxvcpus=4\ncpus='0-3,^1'\n",
                         NativeFormat::XenXl);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->currentMemoryKib, 512u * 1024);
  EXPECT_EQ(d->memoryKib, 1024u * 1024);
  EXPECT_EQ(d->vcpu.max, 4u);
  EXPECT_EQ(d->vcpu.current.value_or(0), 2u);
  EXPECT_EQ(d->vcpu.cpuset, "0,2-3");  // libvirt's canonical spelling
  auto pins = parseXlConfig("name='a'\nkernel='/k'\nvcpus=3\ncpus=['2','all','0-1']\n", NativeFormat::XenXl);
  ASSERT_TRUE(pins.ok());
  ASSERT_EQ(pins->vcpupins.size(), 2u);
  EXPECT_EQ(pins->vcpupins[1].vcpu, 2u);
  EXPECT_EQ(pins->vcpupins[1].cpuset, "0-1");
  auto low = parseXlConfig("name='a'\nkernel='/k'\nmemory=512\nmaxmem=256\n", NativeFormat::XenXl);
  ASSERT_FALSE(low.ok());
  EXPECT_EQ(low.error().message, "Line 4 of the config sets maxmem (256 MiB) below memory (512 MiB).");
}

TEST(XlConfig, NativeFormatNames) {
  EXPECT_TRUE(parseNativeFormat("xen-xl").ok());
  EXPECT_TRUE(parseNativeFormat("xen-xm").ok());
  auto bad = parseNativeFormat("xen-sxpr");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "The native format 'xen-sxpr' is not one of xen-xl or xen-xm.");
}

TEST(XlConfig, FormatDialects) {
  auto pvh = parseXlConfig("name='p'\ntype='pvh'\nkernel='/k'\n", NativeFormat::XenXl);
  ASSERT_TRUE(pvh.ok());
  auto xm = formatXlConfig(*pvh, NativeFormat::XenXm);
  ASSERT_FALSE(xm.ok());
  EXPECT_EQ(xm.error().message, "The guest 'p' is PVH, which the xm config format cannot express.");

  auto hvm = parseXlConfig("name='h'\ntype='hvm'\n", NativeFormat::XenXl);
  ASSERT_TRUE(hvm.ok());
  auto xmText = formatXlConfig(*hvm, NativeFormat::XenXm);
  ASSERT_TRUE(xmText.ok());
  EXPECT_NE(xmText->find("builder = \"hvm\"\n"), std::string::npos);
  EXPECT_NE(xmText->find("kernel = \"/usr/lib/xen/boot/hvmloader\"\n"), std::string::npos);
  EXPECT_NE(xmText->find("vnc = 0\nsdl = 0\n"), std::string::npos);
  auto xlText = formatXlConfig(*hvm, NativeFormat::XenXl);
  ASSERT_TRUE(xlText.ok());
  EXPECT_NE(xlText->find("type = \"hvm\"\n"), std::string::npos);
  EXPECT_EQ(xlText->find("kernel"), std::string::npos);

  // An xl HVM kernel that is hvmloader is the firmware, not a direct-boot kernel.
  auto loader = parseXlConfig("name='h'\ntype='hvm'\nkernel='/usr/lib/xen/boot/hvmloader'\n", NativeFormat::XenXl);
  ASSERT_TRUE(loader.ok());
  EXPECT_EQ(loader->os.loader, "/usr/lib/xen/boot/hvmloader");
  EXPECT_EQ(loader->os.kernel, "");
  auto direct = parseXlConfig("name='h'\ntype='hvm'\nkernel='/boot/vmlinuz'\n", NativeFormat::XenXl);
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(direct->os.kernel, "/boot/vmlinuz");
}
