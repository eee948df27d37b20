// Table layouts from the ACPI specification 6.x: 5.2.5.3 (RSDP), 5.2.6 (table header), 5.2.8 (XSDT),
// 5.2.9 (FADT), 5.2.11.1 (DSDT), 5.2.12 (MADT) and 5.2.12.2 (Processor Local APIC).
#include "hypervisor/PvhAcpi.h"

#include <cstring>
#include <string>

namespace xvirt::hv {

namespace {

constexpr size_t kHeaderBytes = 36;
constexpr size_t kFadtBytes = 268;  // revision 5 (ACPI 5.0): up to SLEEP_STATUS_REG
constexpr uint32_t kFadtHwReducedAcpi = 1u << 20;
constexpr uint16_t kBootArchNoVga = 1u << 2;
constexpr uint16_t kBootArchNoCmosRtc = 1u << 5;
constexpr uint32_t kLocalApicAddress = 0xfee00000;
constexpr uint32_t kMadtEntryEnabled = 1;

// A table being laid out in a little-endian byte buffer.
class Bytes {
 public:
  explicit Bytes(size_t size) : b_(size, 0) {}
  void put(size_t at, uint64_t value, size_t width) {
    for (size_t i = 0; i < width; ++i) b_[at + i] = uint8_t(value >> (8 * i));
  }
  void text(size_t at, const char* s, size_t width) {  // space-padded, as ACPI's ID fields are
    size_t n = std::strlen(s);
    for (size_t i = 0; i < width; ++i) b_[at + i] = uint8_t(i < n ? s[i] : ' ');
  }
  // Sets the byte at `at` so that bytes [from, from + len) sum to zero modulo 256.
  void checksum(size_t at, size_t from, size_t len) {
    uint8_t sum = 0;
    b_[at] = 0;
    for (size_t i = from; i < from + len; ++i) sum = uint8_t(sum + b_[i]);
    b_[at] = uint8_t(-sum);
  }
  std::vector<uint8_t> take() { return std::move(b_); }

 private:
  std::vector<uint8_t> b_;
};

// The common header of every table but the RSDP; the checksum is set once the body is written.
Bytes table(const char* signature, size_t length, uint8_t revision) {
  Bytes t(length);
  t.text(0, signature, 4);
  t.put(4, length, 4);
  t.put(8, revision, 1);
  t.text(10, "XVIRT", 6);   // OEMID
  t.text(16, "PVH", 8);     // OEM table ID
  t.put(24, 1, 4);          // OEM revision
  t.text(28, "XVRT", 4);    // creator ID
  t.put(32, 1, 4);          // creator revision
  return t;
}

std::vector<uint8_t> finish(Bytes t, size_t length) {
  t.checksum(9, 0, length);
  return t.take();
}

size_t align16(size_t n) { return (n + 15) & ~size_t(15); }

}  // namespace

Result<PvhAcpiTables> buildPvhAcpiTables(unsigned maxVcpus, unsigned onlineVcpus) {
  if (maxVcpus == 0 || maxVcpus > kPvhAcpiMaxVcpus)
    return makeError(ErrorCode::ConfigUnsupported, "A PVH guest can have 1 to " + std::to_string(kPvhAcpiMaxVcpus) +
                                                       " vCPUs, not " + std::to_string(maxVcpus) + ".");
  if (onlineVcpus == 0 || onlineVcpus > maxVcpus) onlineVcpus = maxVcpus;

  const size_t xsdtLen = kHeaderBytes + 2 * 8;
  const size_t madtLen = kHeaderBytes + 8 + 8 * size_t(maxVcpus);
  const size_t xsdtAt = 0;
  const size_t fadtAt = align16(xsdtAt + xsdtLen);
  const size_t dsdtAt = align16(fadtAt + kFadtBytes);
  const size_t madtAt = align16(dsdtAt + kHeaderBytes);
  const uint64_t base = kPvhAcpiTablesAddress;

  Bytes fadt = table("FACP", kFadtBytes, 5);
  fadt.put(40, base + dsdtAt, 4);                               // DSDT
  fadt.put(109, kBootArchNoVga | kBootArchNoCmosRtc, 2);        // IAPC_BOOT_ARCH
  fadt.put(112, kFadtHwReducedAcpi, 4);                         // Flags
  fadt.put(140, base + dsdtAt, 8);                              // X_DSDT

  Bytes dsdt = table("DSDT", kHeaderBytes, 2);  // revision 2: 64-bit AML integers; no AML at all

  Bytes madt = table("APIC", madtLen, 4);  // revision 4: a disabled entry is hot-pluggable
  madt.put(36, kLocalApicAddress, 4);
  madt.put(40, 0, 4);  // no PCAT_COMPAT: there is no 8259 pair
  for (unsigned i = 0; i < maxVcpus; ++i) {
    size_t e = kHeaderBytes + 8 + 8 * size_t(i);
    madt.put(e, 0, 1);                                        // Processor Local APIC
    madt.put(e + 1, 8, 1);                                    // its length
    madt.put(e + 2, i, 1);                                    // ACPI processor UID
    madt.put(e + 3, 2 * i, 1);                                // APIC ID, as Xen numbers vCPUs' local APICs
    madt.put(e + 4, i < onlineVcpus ? kMadtEntryEnabled : 0, 4);
  }

  Bytes xsdt = table("XSDT", xsdtLen, 1);
  xsdt.put(kHeaderBytes, base + fadtAt, 8);
  xsdt.put(kHeaderBytes + 8, base + madtAt, 8);

  PvhAcpiTables out;
  out.tables.assign(madtAt + madtLen, 0);
  auto place = [&](size_t at, std::vector<uint8_t> t) { std::memcpy(out.tables.data() + at, t.data(), t.size()); };
  place(xsdtAt, finish(std::move(xsdt), xsdtLen));
  place(fadtAt, finish(std::move(fadt), kFadtBytes));
  place(dsdtAt, finish(std::move(dsdt), kHeaderBytes));
  place(madtAt, finish(std::move(madt), madtLen));
  if (out.tables.size() > kPvhAcpiRegionBytes - (kPvhAcpiTablesAddress - kPvhAcpiRsdpAddress))
    return makeError(ErrorCode::Internal, "The PVH ACPI tables outgrew their page.");

  Bytes rsdp(36);
  rsdp.text(0, "RSD PTR ", 8);
  rsdp.text(9, "XVIRT", 6);
  rsdp.put(15, 2, 1);            // revision 2: the XSDT is used (there is no RSDT)
  rsdp.put(20, 36, 4);           // length
  rsdp.put(24, base + xsdtAt, 8);
  rsdp.checksum(8, 0, 20);       // ACPI 1.0 part
  rsdp.checksum(32, 0, 36);      // the whole structure
  out.rsdp = rsdp.take();
  return out;
}

}  // namespace xvirt::hv
