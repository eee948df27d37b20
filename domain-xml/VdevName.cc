#include "domain-xml/VdevName.h"

#include <cctype>
#include <optional>

#include "common/Strings.h"

namespace xvirt::dom {
namespace {

constexpr uint32_t kXvdMajor = 202;
constexpr uint32_t kScsiMajor = 8;
constexpr uint32_t kIdeMajor0 = 3;   // hda, hdb
constexpr uint32_t kIdeMajor1 = 22;  // hdc, hdd
constexpr uint32_t kExtended = 1u << 28;
constexpr uint32_t kReserved = 2u << 28;
// The extended xvd encoding keeps 20 bits of disk and 8 of partition.
constexpr unsigned kExtMaxDisk = (1u << 20) - 1;
constexpr unsigned kExtMaxPart = 255;

Error badVdev(std::string_view name, std::string_view why) {
  return makeError(ErrorCode::InvalidArgument,
                   "The virtual device name '" + std::string(name) + "' is not valid: " + std::string(why) + ".");
}

// Decimal without leading zeros (libxl would read "01" differently from "1" in names like d01).
std::optional<unsigned> parseIndex(std::string_view s, unsigned max) {
  if (s.empty() || s.size() > 9 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  auto v = parseUint(s);
  if (!v || *v > max) return std::nullopt;
  return static_cast<unsigned>(*v);
}

// Bijective base-26 letters -> index; nullopt when too large.
std::optional<unsigned> parseLetters(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < 'a' || c > 'z') return std::nullopt;
    v = v * 26 + static_cast<uint64_t>(c - 'a' + 1);
  }
  return static_cast<unsigned>(v - 1);
}

Result<uint32_t> encode(std::string_view name, VdevBus bus, unsigned disk, unsigned part) {
  switch (bus) {
    case VdevBus::Xvd:
      if (disk < 16 && part < 16) return (kXvdMajor << 8) | (disk << 4) | part;
      if (disk > kExtMaxDisk) return badVdev(name, "xvd disks stop at index 1048575");
      if (part > kExtMaxPart) return badVdev(name, "partitions stop at 255");
      return kExtended | (disk << 8) | part;
    case VdevBus::Scsi:
      if (disk >= 16) return badVdev(name, "sd disks stop at sdp");
      if (part >= 16) return badVdev(name, "sd partitions stop at 15");
      return (kScsiMajor << 8) | (disk << 4) | part;
    case VdevBus::Ide:
      if (disk >= 4) return badVdev(name, "hd disks stop at hdd");
      if (part >= 64) return badVdev(name, "hd partitions stop at 63");
      if (disk < 2) return (kIdeMajor0 << 8) | (disk << 6) | part;
      return (kIdeMajor1 << 8) | ((disk - 2) << 6) | part;
  }
  return badVdev(name, "the bus is unknown");
}

}  // namespace

std::string vdevDiskLetters(unsigned disk) {
  std::string out;
  uint64_t v = static_cast<uint64_t>(disk) + 1;
  while (v > 0) {
    --v;
    out.insert(out.begin(), static_cast<char>('a' + v % 26));
    v /= 26;
  }
  return out;
}

Result<VdevInfo> parseVdev(std::string_view name) {
  if (name.empty()) return badVdev(name, "it is empty");
  VdevInfo info;
  if (std::isdigit(static_cast<unsigned char>(name[0]))) {
    auto n = parseUint(name);
    if (!n || *n == 0) return badVdev(name, "it is neither a device name nor a positive number");
    if (*n >= kReserved) return badVdev(name, "numbers from 536870912 (2<<28) up are reserved");
    auto back = vdevName(static_cast<uint32_t>(*n));
    if (!back.ok()) return badVdev(name, "the number does not belong to an xvd, sd or hd device");
    auto parsed = parseVdev(*back);
    if (!parsed.ok()) return parsed;
    // The raw number wins: the canonical name may map back to a different encoding otherwise.
    parsed->number = static_cast<uint32_t>(*n);
    return parsed;
  }
  std::string_view rest;
  if (name[0] == 'd') {  // d<disk>[p<part>]: xvd numbering
    info.bus = VdevBus::Xvd;
    std::string_view s = name.substr(1);
    size_t p = s.find('p');
    auto disk = parseIndex(s.substr(0, p), kExtMaxDisk);
    if (!disk) return badVdev(name, "d must be followed by a disk number");
    info.disk = *disk;
    if (p != std::string_view::npos) {
      auto part = parseIndex(s.substr(p + 1), kExtMaxPart);
      if (!part) return badVdev(name, "p must be followed by a partition number up to 255");
      info.partition = *part;
    }
  } else {
    if (startsWith(name, "xvd")) {
      info.bus = VdevBus::Xvd;
      rest = name.substr(3);
    } else if (startsWith(name, "sd")) {
      info.bus = VdevBus::Scsi;
      rest = name.substr(2);
    } else if (startsWith(name, "hd")) {
      info.bus = VdevBus::Ide;
      rest = name.substr(2);
    } else {
      return badVdev(name, "it must start with xvd, sd, hd or d, or be a number");
    }
    size_t letters = 0;
    while (letters < rest.size() && rest[letters] >= 'a' && rest[letters] <= 'z') ++letters;
    auto disk = parseLetters(rest.substr(0, letters));
    if (!disk) return badVdev(name, "the disk letters are missing or too many");
    info.disk = *disk;
    if (letters < rest.size()) {
      auto part = parseIndex(rest.substr(letters), kExtMaxPart);
      if (!part) return badVdev(name, "the partition must be a number up to 255");
      info.partition = *part;
    }
  }
  XVIRT_ASSIGN_OR_RETURN(info.number, encode(name, info.bus, info.disk, info.partition));
  return info;
}

Result<uint32_t> vdevNumber(std::string_view name) {
  XVIRT_ASSIGN_OR_RETURN(VdevInfo info, parseVdev(name));
  return info.number;
}

Result<std::string> vdevName(uint32_t n) {
  auto bad = [n]() {
    return makeError(ErrorCode::InvalidArgument,
                     "The virtual device number " + std::to_string(n) + " is not an xvd, sd or hd device.");
  };
  if (n >= kReserved || n == 0) return bad();
  auto withPart = [](std::string base, unsigned part) {
    return part ? base + std::to_string(part) : base;
  };
  if (n & kExtended) {
    unsigned disk = (n >> 8) & kExtMaxDisk, part = n & 0xff;
    return withPart("xvd" + vdevDiskLetters(disk), part);
  }
  uint32_t major = n >> 8;
  switch (major) {
    case kXvdMajor: return withPart("xvd" + vdevDiskLetters((n >> 4) & 0xf), n & 0xf);
    case kScsiMajor: return withPart("sd" + vdevDiskLetters((n >> 4) & 0xf), n & 0xf);
    case kIdeMajor0:
    case kIdeMajor1: {
      // Each IDE major carries two disks (master and slave); index bits 2-3 are unused.
      unsigned idx = (n >> 6) & 0x3;
      if (idx >= 2) return bad();
      return withPart("hd" + vdevDiskLetters(idx + (major == kIdeMajor1 ? 2 : 0)), n & 0x3f);
    }
    default: return bad();
  }
}

}  // namespace xvirt::dom
