// The PVH ACPI tables, read back the way a guest's ACPI code walks them: RSDP → XSDT → FADT → DSDT,
// and the MADT's local APICs. Addresses are guest-physical; the tables blob sits at
// kPvhAcpiTablesAddress.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "hypervisor/PvhAcpi.h"

namespace xvirt::hv {
namespace {

uint64_t le(const uint8_t* p, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i) v |= uint64_t(p[i]) << (8 * i);
  return v;
}

uint8_t sum(const uint8_t* p, size_t n) {
  uint8_t s = 0;
  for (size_t i = 0; i < n; ++i) s = uint8_t(s + p[i]);
  return s;
}

// The table at guest address `addr` inside the blob, checked for its signature and checksum.
const uint8_t* tableAt(const PvhAcpiTables& t, uint64_t addr, const char* signature) {
  EXPECT_GE(addr, kPvhAcpiTablesAddress);
  size_t off = size_t(addr - kPvhAcpiTablesAddress);
  EXPECT_LT(off + 36, t.tables.size() + 1);
  const uint8_t* p = t.tables.data() + off;
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(p), 4), signature);
  size_t len = size_t(le(p + 4, 4));
  EXPECT_LE(off + len, t.tables.size()) << signature;
  EXPECT_EQ(sum(p, len), 0) << signature << " checksum";
  return p;
}

TEST(PvhAcpi, TheTablesChainFromTheRsdp) {
  auto t = buildPvhAcpiTables(4, 2);
  ASSERT_TRUE(t.ok()) << t.error().message;
  ASSERT_EQ(t->rsdp.size(), 36u);
  const uint8_t* r = t->rsdp.data();
  EXPECT_EQ(std::memcmp(r, "RSD PTR ", 8), 0);
  EXPECT_EQ(sum(r, 20), 0) << "RSDP checksum";
  EXPECT_EQ(sum(r, 36), 0) << "RSDP extended checksum";
  EXPECT_EQ(r[15], 2) << "revision 2, so the guest uses the XSDT";
  EXPECT_EQ(le(r + 20, 4), 36u);
  EXPECT_LE(kPvhAcpiTablesAddress + t->tables.size(), kPvhAcpiRsdpAddress + kPvhAcpiRegionBytes);

  const uint8_t* xsdt = tableAt(*t, le(r + 24, 8), "XSDT");
  ASSERT_EQ(le(xsdt + 4, 4), 36u + 16);
  const uint8_t* fadt = tableAt(*t, le(xsdt + 36, 8), "FACP");
  const uint8_t* madt = tableAt(*t, le(xsdt + 44, 8), "APIC");

  EXPECT_TRUE(le(fadt + 112, 4) & (1u << 20)) << "hardware-reduced ACPI";
  EXPECT_EQ(le(fadt + 109, 2), (1u << 2) | (1u << 5)) << "no VGA, no CMOS RTC";
  EXPECT_EQ(le(fadt + 40, 4), le(fadt + 140, 8)) << "DSDT and X_DSDT agree";
  tableAt(*t, le(fadt + 140, 8), "DSDT");

  EXPECT_EQ(le(madt + 36, 4), 0xfee00000u);
  ASSERT_EQ(le(madt + 4, 4), 44u + 4 * 8);
  for (unsigned i = 0; i < 4; ++i) {
    const uint8_t* e = madt + 44 + 8 * i;
    EXPECT_EQ(e[0], 0) << "Processor Local APIC";
    EXPECT_EQ(e[1], 8);
    EXPECT_EQ(e[2], i) << "processor UID";
    EXPECT_EQ(e[3], 2 * i) << "Xen gives vCPU i the local APIC ID 2i";
    EXPECT_EQ(le(e + 4, 4), i < 2 ? 1u : 0u) << "vCPU " << i << " enabled only when online";
  }
}

TEST(PvhAcpi, AllVcpusOnlineByDefaultAndTheLargestFits) {
  auto t = buildPvhAcpiTables(kPvhAcpiMaxVcpus, 0);
  ASSERT_TRUE(t.ok()) << t.error().message;
  const uint8_t* xsdt = tableAt(*t, le(t->rsdp.data() + 24, 8), "XSDT");
  const uint8_t* madt = tableAt(*t, le(xsdt + 44, 8), "APIC");
  const uint8_t* last = madt + 44 + 8 * (kPvhAcpiMaxVcpus - 1);
  EXPECT_EQ(last[3], 2 * (kPvhAcpiMaxVcpus - 1));
  EXPECT_EQ(le(last + 4, 4), 1u);
}

TEST(PvhAcpi, TooManyVcpusIsRefused) {
  auto t = buildPvhAcpiTables(kPvhAcpiMaxVcpus + 1, 0);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("1 to 128 vCPUs"), std::string::npos) << t.error().message;
}

}  // namespace
}  // namespace xvirt::hv
