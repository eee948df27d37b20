// Crc32c: CRC-32C (Castagnoli), the checksum of save images. Uses the SSE4.2 crc32 instruction when
// the CPU has it, on three independent lanes at once (the instruction's latency is three times its
// issue rate), else a table sliced by eight; all give the same value.
#pragma once

#include <cstddef>
#include <cstdint>

namespace xvirt {

// Extends `crc` (0 to start) over `len` bytes: crc32c(crc32c(0, a), b) == crc32c(0, a + b).
uint32_t crc32c(uint32_t crc, const void* data, size_t len);

// The two implementations, which give the same values. crc32c uses the faster one on this machine,
// timed once on the first call (the crc32 instruction is the slow one under emulation: see .cc).
enum class Crc32cMethod { Sse42, Table };
Crc32cMethod crc32cMethod();
const char* crc32cMethodName(Crc32cMethod method);
// One implementation explicitly (Sse42 without SSE4.2 runs the table), for tests and benchmarks.
uint32_t crc32cWith(Crc32cMethod method, uint32_t crc, const void* data, size_t len);

// The CRC of a + b from crcA = crc32c(0, a), crcB = crc32c(0, b) and b's length, without the bytes:
// a writer that already knows the checksum of a part it wrote need not read it again.
uint32_t crc32cCombine(uint32_t crcA, uint32_t crcB, uint64_t lenB);

}  // namespace xvirt
