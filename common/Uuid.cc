#include "common/Uuid.h"

#include <glib.h>

#include <cstdio>

namespace xvirt {

static int hexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<Uuid> Uuid::parse(std::string_view text) {
  Uuid u;
  size_t n = 0;
  size_t i = 0;
  // Dashes are allowed between byte pairs only, as libvirt's virUUIDParse allows.
  while (i < text.size() && n < 16) {
    if (text[i] == '-') {
      ++i;
      continue;
    }
    if (i + 1 >= text.size()) return std::nullopt;
    int hi = hexVal(text[i]), lo = hexVal(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    u.bytes[n++] = static_cast<uint8_t>(hi << 4 | lo);
    i += 2;
  }
  if (n != 16 || i != text.size()) return std::nullopt;
  return u;
}

Uuid Uuid::generate() {
  Uuid u;
  for (auto& b : u.bytes) b = static_cast<uint8_t>(g_random_int_range(0, 256));
  u.bytes[6] = static_cast<uint8_t>((u.bytes[6] & 0x0f) | 0x40);
  u.bytes[8] = static_cast<uint8_t>((u.bytes[8] & 0x3f) | 0x80);
  return u;
}

std::string Uuid::str() const {
  char buf[37];
  const auto& b = bytes;
  std::snprintf(buf, sizeof buf,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return buf;
}

bool Uuid::isNull() const {
  for (auto b : bytes)
    if (b) return false;
  return true;
}

}  // namespace xvirt
