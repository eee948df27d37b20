// Crc32c: CRC-32C (Castagnoli), the checksum of save images. Uses the SSE4.2 crc32 instruction when
// the CPU has it (about 8 bytes per 3 cycles), else a table; both give the same value.
#pragma once

#include <cstddef>
#include <cstdint>

namespace xvirt {

// Extends `crc` (0 to start) over `len` bytes: crc32c(crc32c(0, a), b) == crc32c(0, a + b).
uint32_t crc32c(uint32_t crc, const void* data, size_t len);

}  // namespace xvirt
