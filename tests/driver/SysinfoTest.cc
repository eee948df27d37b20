// driver/Sysinfo: libvirt's <sysinfo type='smbios'> from a DMI attribute tree (a temporary stand-in
// for /sys/class/dmi/id): order, escaping, absent and empty attributes, and the error without any.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "driver/Sysinfo.h"
#include "tests/lib/TestUtil.h"

namespace xvirt::driver {
namespace {

class SysinfoTest : public ::testing::Test {
 protected:
  void put(const std::string& file, const std::string& value) { std::ofstream(dir_.path() + "/" + file) << value; }
  xvirt::test::TempDir dir_{"xvirt-sysinfo"};
};

TEST_F(SysinfoTest, FormatsAsLibvirtDoes) {
  put("bios_vendor", "SeaBIOS\n");
  put("bios_version", "1.16.2-debian-1.16.2-1\n");
  put("bios_date", "04/01/2014\n");
  put("sys_vendor", "QEMU & Sons\n");
  put("product_name", "Standard PC (i440FX + PIIX, 1996)\n");
  put("product_serial", "\n");  // empty: left out
  put("board_vendor", "<none>\n");
  put("chassis_vendor", "QEMU\n");
  put("chassis_asset_tag", "A1\n");
  auto xml = sysinfoXml(dir_.path());
  ASSERT_TRUE(xml.ok()) << xml.error().message;
  EXPECT_EQ(*xml,
            "<sysinfo type='smbios'>\n"
            "  <bios>\n"
            "    <entry name='vendor'>SeaBIOS</entry>\n"
            "    <entry name='version'>1.16.2-debian-1.16.2-1</entry>\n"
            "    <entry name='date'>04/01/2014</entry>\n"
            "  </bios>\n"
            "  <system>\n"
            "    <entry name='manufacturer'>QEMU &amp; Sons</entry>\n"
            "    <entry name='product'>Standard PC (i440FX + PIIX, 1996)</entry>\n"
            "  </system>\n"
            "  <baseBoard>\n"
            "    <entry name='manufacturer'>&lt;none&gt;</entry>\n"
            "  </baseBoard>\n"
            "  <chassis>\n"
            "    <entry name='manufacturer'>QEMU</entry>\n"
            "    <entry name='asset'>A1</entry>\n"
            "  </chassis>\n"
            "</sysinfo>\n");
}

TEST_F(SysinfoTest, NoDmiIsLibxlsError) {
  auto xml = sysinfoXml(dir_.path() + "/missing");
  ASSERT_FALSE(xml.ok());
  EXPECT_EQ(xml.error().code, ErrorCode::ConfigUnsupported);
  EXPECT_EQ(xml.error().message, "unsupported configuration: Host SMBIOS information is not available");
}

}  // namespace
}  // namespace xvirt::driver
