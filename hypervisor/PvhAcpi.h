// The ACPI tables a PVH guest boots with. A PVH domain has no firmware, so the toolstack writes them
// into guest memory and points hvm_start_info.rsdp_paddr at the RSDP, as libxl does with libacpi
// (libxl__dom_load_acpi). Without a MADT a PVH Linux knows of one CPU only and never starts the
// others; without a FADT it assumes a PC's legacy devices. Pure data: no Xen headers here.
#pragma once

#include <cstdint>
#include <vector>

#include "common/Result.h"

namespace xvirt::hv {

// libxl's ACPI_INFO_PHYSICAL_ADDRESS: the bottom of a PVH guest's MMIO hole, just above its low RAM.
inline constexpr uint64_t kPvhAcpiRsdpAddress = 0xfc000000;
// The other tables, on the next page.
inline constexpr uint64_t kPvhAcpiTablesAddress = 0xfc001000;
// What the guest's e820 reserves as ACPI: both pages, whatever the vCPU count, so that a restore
// lays out the same memory map without knowing the tables.
inline constexpr uint64_t kPvhAcpiRegionBytes = 0x2000;
// Xen's HVM_MAX_VCPUS; local APIC IDs are 2 × vCPU and must fit the MADT's 8-bit field.
inline constexpr unsigned kPvhAcpiMaxVcpus = 128;

struct PvhAcpiTables {
  std::vector<uint8_t> rsdp;    // placed at kPvhAcpiRsdpAddress
  std::vector<uint8_t> tables;  // XSDT, FADT, DSDT, MADT, placed at kPvhAcpiTablesAddress
};

// maxVcpus local APICs, the first onlineVcpus of them enabled (the rest present but disabled, which
// ACPI calls hot-pluggable). A hardware-reduced FADT (no PM blocks, no SCI), no VGA, no CMOS RTC, no
// I/O APIC: a PVH domain emulates only the local APIC. The DSDT has no AML.
Result<PvhAcpiTables> buildPvhAcpiTables(unsigned maxVcpus, unsigned onlineVcpus);

}  // namespace xvirt::hv
