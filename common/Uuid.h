// Uuid: 16 raw bytes, parsed from and printed as the 8-4-4-4-12 hex form libvirt and Xen use.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace xvirt {

struct Uuid {
  std::array<uint8_t, 16> bytes{};

  static std::optional<Uuid> parse(std::string_view text);  // accepts with or without dashes
  static Uuid generate();                                   // random, version 4
  std::string str() const;
  bool isNull() const;
  friend bool operator==(const Uuid&, const Uuid&) = default;
  friend auto operator<=>(const Uuid&, const Uuid&) = default;
};

}  // namespace xvirt
