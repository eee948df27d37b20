// VdevName: every numbering example of Xen's docs/man/xen-vbd-interface.7.pandoc, both directions, and the rejected ranges.
#include <gtest/gtest.h>

#include "domain-xml/VdevName.h"

using namespace xvirt::dom;

namespace {

uint32_t num(const char* name) {
  auto r = vdevNumber(name);
  EXPECT_TRUE(r.ok()) << name << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : 0;
}

std::string name(uint32_t n) {
  auto r = vdevName(n);
  EXPECT_TRUE(r.ok()) << n;
  return r.ok() ? *r : "";
}

}  // namespace

TEST(VdevName, XvdDisks) {
  EXPECT_EQ(num("xvda"), 51712u);
  EXPECT_EQ(num("xvdb"), 51728u);
  EXPECT_EQ(num("xvda1"), 51713u);
  EXPECT_EQ(num("xvdp15"), (202u << 8) | (15u << 4) | 15u);
  // Disk 16 onwards uses the extended encoding.
  EXPECT_EQ(num("xvdq"), (1u << 28) | (16u << 8));
  EXPECT_EQ(num("xvdz"), (1u << 28) | (25u << 8));
  EXPECT_EQ(num("xvdaa"), (1u << 28) | (26u << 8));
  // A partition above 15 also needs it.
  EXPECT_EQ(num("xvda16"), (1u << 28) | 16u);
  EXPECT_EQ(num("xvdtq37"), (1u << 28) | (536u << 8) | 37u);
}

TEST(VdevName, IdeAndScsi) {
  EXPECT_EQ(num("hda"), 768u);
  EXPECT_EQ(num("hdb"), (3u << 8) | (1u << 6));
  EXPECT_EQ(num("hdc"), 5632u);
  EXPECT_EQ(num("hdd"), (22u << 8) | (1u << 6));
  EXPECT_EQ(num("hdc2"), 5634u);
  EXPECT_EQ(num("hda63"), 768u + 63u);
  EXPECT_EQ(num("sda"), 2048u);
  EXPECT_EQ(num("sdb3"), (8u << 8) | (1u << 4) | 3u);
  EXPECT_EQ(num("sdp15"), (8u << 8) | (15u << 4) | 15u);
}

TEST(VdevName, DiskPartitionForm) {
  EXPECT_EQ(num("d0p0"), 51712u);
  EXPECT_EQ(num("d0"), 51712u);
  EXPECT_EQ(num("d1p2"), 51730u);
  EXPECT_EQ(num("d16p0"), (1u << 28) | (16u << 8));
  EXPECT_EQ(num("d536p37"), num("xvdtq37"));
}

TEST(VdevName, RawNumbers) {
  EXPECT_EQ(num("51712"), 51712u);
  EXPECT_EQ(num("768"), 768u);
  EXPECT_EQ(num("268439552"), (1u << 28) | (16u << 8));
  auto info = parseVdev("5634");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->bus, VdevBus::Ide);
  EXPECT_EQ(info->disk, 2u);
  EXPECT_EQ(info->partition, 2u);
}

TEST(VdevName, NumbersToNames) {
  EXPECT_EQ(name(51712), "xvda");
  EXPECT_EQ(name(51728), "xvdb");
  EXPECT_EQ(name(768), "hda");
  EXPECT_EQ(name(5632), "hdc");
  EXPECT_EQ(name(5634), "hdc2");
  EXPECT_EQ(name(2048), "sda");
  EXPECT_EQ(name(2067), "sdb3");
  EXPECT_EQ(name((1u << 28) | (16u << 8)), "xvdq");
  EXPECT_EQ(name((1u << 28) | (536u << 8) | 37u), "xvdtq37");
  EXPECT_EQ(vdevDiskLetters(0), "a");
  EXPECT_EQ(vdevDiskLetters(25), "z");
  EXPECT_EQ(vdevDiskLetters(26), "aa");
  EXPECT_EQ(vdevDiskLetters(701), "zz");
  EXPECT_EQ(vdevDiskLetters(702), "aaa");
}

TEST(VdevName, RoundTripsEveryXvdDiskUpTo1000) {
  for (unsigned d = 0; d < 1000; ++d) {
    std::string n = "xvd" + vdevDiskLetters(d);
    auto info = parseVdev(n);
    ASSERT_TRUE(info.ok()) << n;
    EXPECT_EQ(info->disk, d);
    EXPECT_EQ(name(info->number), n);
  }
}

TEST(VdevName, Rejected) {
  for (const char* bad : {"", "xvd", "hde", "sdq", "hda64", "sda16", "xvda256", "vda", "xvdA", "xvda-1", "d", "dp1",
                          "d0p", "d01", "xvda01", "0", "536870912", "4294967295", "99999999999", "12x", "1234"}) {
    auto r = parseVdev(bad);
    EXPECT_FALSE(r.ok()) << "accepted '" << bad << "'";
    if (!r.ok()) {
      EXPECT_NE(r.error().message.find("is not valid"), std::string::npos) << r.error().message;
    }
  }
  // Reserved ranges and unknown majors have no name.
  EXPECT_FALSE(vdevName(2u << 28).ok());
  EXPECT_FALSE(vdevName(0).ok());
  EXPECT_FALSE(vdevName(7u << 8).ok());
  EXPECT_FALSE(vdevName((3u << 8) | (2u << 6)).ok());  // major 3 carries hda/hdb only
}

TEST(VdevName, ErrorNamesTheDevice) {
  auto r = parseVdev("hde");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "The virtual device name 'hde' is not valid: hd disks stop at hdd.");
  auto reserved = parseVdev("536870912");
  ASSERT_FALSE(reserved.ok());
  EXPECT_EQ(reserved.error().message,
            "The virtual device name '536870912' is not valid: numbers from 536870912 (2<<28) up are reserved.");
}
