// CRC-32C, reflected, polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF (RFC 3720).
//
// The CRC register is linear over GF(2): running it over M from state s gives
// s * x^(8|M|) xor run(0, M) (mod P). Three lanes over consecutive blocks A, B, C are therefore joined
// as run(s, A) * x^(16L) xor run(0, B) * x^(8L) xor run(0, C), and two finished CRCs as
// crcA * x^(8 lenB) xor crcB (the pre- and post-inversions cancel out in that sum).
#include "common/Crc32c.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include <array>
#include <cstring>

namespace xvirt {

namespace {

constexpr uint32_t kPoly = 0x82F63B78u;

constexpr std::array<uint32_t, 256> makeTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kTable = makeTable();

// Product of two polynomials mod P in the reflected bit order (bit 31 is x^0).
constexpr uint32_t mulMod(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  for (uint32_t bit = 1u << 31; bit != 0; bit >>= 1) {
    if (a & bit) product ^= b;
    b = (b & 1) ? (b >> 1) ^ kPoly : b >> 1;  // b *= x
  }
  return product;
}

// x^(2^k) mod P for k = 0..63.
constexpr std::array<uint32_t, 64> makeSquares() {
  std::array<uint32_t, 64> t{};
  t[0] = 1u << 30;  // x^1
  for (size_t k = 1; k < t.size(); ++k) t[k] = mulMod(t[k - 1], t[k - 1]);
  return t;
}
constexpr auto kSquares = makeSquares();

// x^(8 * bytes) mod P.
constexpr uint32_t shiftBytes(uint64_t bytes) {
  uint32_t p = 1u << 31;  // x^0
  uint64_t bits = bytes;  // multiplied by 8 through the table index below
  for (size_t k = 3; bits != 0 && k < kSquares.size(); ++k, bits >>= 1)
    if (bits & 1) p = mulMod(kSquares[k], p);
  return p;
}

uint32_t softwareCrc(uint32_t c, const uint8_t* p, size_t len) {
  while (len--) c = kTable[(c ^ *p++) & 0xff] ^ (c >> 8);
  return c;
}

#if defined(__x86_64__)
constexpr size_t kLane = 4096;  // bytes per lane and block
constexpr uint32_t kShift1 = shiftBytes(kLane);
constexpr uint32_t kShift2 = shiftBytes(2 * kLane);

__attribute__((target("sse4.2"))) uint64_t lane(uint64_t c, const uint8_t* p, size_t len) {
  for (; len >= 8; p += 8, len -= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = __builtin_ia32_crc32di(c, v);
  }
  return c;
}

__attribute__((target("sse4.2"))) uint32_t hardwareCrc(uint32_t c, const uint8_t* p, size_t len) {
  uint64_t c0 = c;
  while (len >= 3 * kLane) {
    uint64_t c1 = 0, c2 = 0;
    for (size_t i = 0; i < kLane; i += 8) {
      uint64_t v0, v1, v2;
      std::memcpy(&v0, p + i, 8);
      std::memcpy(&v1, p + kLane + i, 8);
      std::memcpy(&v2, p + 2 * kLane + i, 8);
      c0 = __builtin_ia32_crc32di(c0, v0);
      c1 = __builtin_ia32_crc32di(c1, v1);
      c2 = __builtin_ia32_crc32di(c2, v2);
    }
    c0 = mulMod(kShift2, static_cast<uint32_t>(c0)) ^ mulMod(kShift1, static_cast<uint32_t>(c1)) ^ static_cast<uint32_t>(c2);
    p += 3 * kLane;
    len -= 3 * kLane;
  }
  c0 = lane(c0, p, len);
  p += len & ~size_t{7};
  len &= 7;
  uint32_t c32 = static_cast<uint32_t>(c0);
  while (len--) c32 = __builtin_ia32_crc32qi(c32, *p++);
  return c32;
}

// One cpuid, on the first CRC. __builtin_cpu_supports would link libgcc's CPU indicator, whose
// constructor runs a dozen cpuid instructions at every process start (each a VM exit in a guest):
// measurable in the helper's time to its monitor greeting.
bool haveSse42() {
  static const bool have = [] {
    unsigned eax, ebx, ecx, edx;
    return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_SSE4_2);
  }();
  return have;
}
#endif

}  // namespace

uint32_t crc32c(uint32_t crc, const void* data, size_t len) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t c = ~crc;
#if defined(__x86_64__)
  if (haveSse42()) return ~hardwareCrc(c, p, len);
#endif
  return ~softwareCrc(c, p, len);
}

uint32_t crc32cCombine(uint32_t crcA, uint32_t crcB, uint64_t lenB) { return mulMod(shiftBytes(lenB), crcA) ^ crcB; }

}  // namespace xvirt
