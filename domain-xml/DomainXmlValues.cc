#include "domain-xml/DomainXmlValues.h"

#include <glib.h>

#include <algorithm>
#include <climits>
#include <cstdio>

#include "common/Strings.h"

namespace xvirt::dom {

namespace {
constexpr std::pair<LifecycleAction, const char*> kLifecycleNames[] = {
    {LifecycleAction::Destroy, "destroy"},
    {LifecycleAction::Restart, "restart"},
    {LifecycleAction::Preserve, "preserve"},
    {LifecycleAction::RenameRestart, "rename-restart"},
    {LifecycleAction::CoredumpDestroy, "coredump-destroy"},
    {LifecycleAction::CoredumpRestart, "coredump-restart"},
};
}  // namespace

const char* lifecycleActionName(LifecycleAction action) {
  for (const auto& [a, name] : kLifecycleNames)
    if (a == action) return name;
  return "destroy";
}

std::optional<LifecycleAction> lifecycleActionFromName(std::string_view name) {
  for (const auto& [a, n] : kLifecycleNames)
    if (name == n) return a;
  return std::nullopt;
}

namespace {

bool ieq(std::string_view a, std::string_view b) { return toLower(a) == toLower(b); }

// The byte multiplier of a libvirt unit suffix, or 0 when the suffix is unknown.
uint64_t unitScale(std::string_view unit) {
  if (unit.empty()) return 1024;
  if (ieq(unit, "b") || ieq(unit, "byte") || ieq(unit, "bytes")) return 1;
  uint64_t base;
  if (unit.size() == 1 || ieq(unit.substr(1), "iB"))
    base = 1024;
  else if (unit.size() == 2 && (unit[1] == 'b' || unit[1] == 'B'))
    base = 1000;
  else
    return 0;
  int power;
  switch (unit[0] | 0x20) {
    case 'k': power = 1; break;
    case 'm': power = 2; break;
    case 'g': power = 3; break;
    case 't': power = 4; break;
    case 'p': power = 5; break;
    case 'e': power = 6; break;
    default: return 0;
  }
  uint64_t scale = 1;
  for (int i = 0; i < power; ++i) scale *= base;
  return scale;
}

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<uint64_t> parseScaledKib(std::string_view value, std::string_view unit, std::string_view what) {
  std::string_view v = trim(value);
  auto n = parseUint(v);
  if (!n)
    return makeError(ErrorCode::XmlError, "The value '" + std::string(value) + "' of " + std::string(what) +
                                              " is not a non-negative whole number.");
  uint64_t scale = unitScale(trim(unit));
  if (scale == 0)
    return makeError(ErrorCode::XmlError, "The unit '" + std::string(unit) + "' of " + std::string(what) +
                                              " is not one of b, KiB, KB, MiB, MB, GiB, GB, TiB, TB.");
  // libvirt's bound: sizes are byte counts that must fit an off_t.
  const uint64_t limit = static_cast<uint64_t>(LLONG_MAX);
  if (*n > limit / scale)
    return makeError(ErrorCode::XmlError, "The size " + std::string(v) + " " + std::string(unit) + " of " +
                                              std::string(what) + " is too large.");
  uint64_t bytes = *n * scale;
  return bytes / 1024 + (bytes % 1024 ? 1 : 0);
}

Result<std::string> parseMac(std::string_view text) {
  auto bad = [&](const char* why) {
    return makeError(ErrorCode::XmlError,
                     "The MAC address '" + std::string(text) + "' " + why + ".");
  };
  auto parts = split(text, ':');
  if (parts.size() != 6) return bad("does not have six octets separated by ':'");
  unsigned octets[6];
  for (size_t i = 0; i < 6; ++i) {
    const auto& p = parts[i];
    if (p.empty() || p.size() > 2) return bad("has an octet that is not one or two hex digits");
    unsigned v = 0;
    for (char c : p) {
      int d = hexDigit(c);
      if (d < 0) return bad("has an octet that is not one or two hex digits");
      v = v * 16 + static_cast<unsigned>(d);
    }
    octets[i] = v;
  }
  if (octets[0] & 1) return bad("is a multicast address, but a network interface needs a unicast one");
  if (std::all_of(octets, octets + 6, [](unsigned o) { return o == 0; }))
    return bad("is all zeroes, which no network interface can use");
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", octets[0], octets[1], octets[2],
                octets[3], octets[4], octets[5]);
  return std::string(buf);
}

std::string generateXenMac() {
  char buf[32];
  std::snprintf(buf, sizeof buf, "00:16:3e:%02x:%02x:%02x", static_cast<unsigned>(g_random_int_range(0, 128)),
                static_cast<unsigned>(g_random_int_range(0, 256)), static_cast<unsigned>(g_random_int_range(1, 256)));
  return buf;
}

Result<std::vector<unsigned>> parseCpuset(std::string_view text, std::string_view what) {
  auto bad = [&](const std::string& why) {
    return makeError(ErrorCode::XmlError, "The cpuset '" + std::string(text) + "' of " + std::string(what) +
                                              " " + why + ".");
  };
  std::vector<bool> set(kMaxCpus, false);
  bool any = false;
  auto parseCpu = [&](std::string_view s) -> std::optional<unsigned> {
    auto n = parseUint(trim(s));
    if (!n || *n >= kMaxCpus) return std::nullopt;
    return static_cast<unsigned>(*n);
  };
  std::vector<std::pair<unsigned, unsigned>> excluded;
  for (const auto& rawItem : split(text, ',')) {
    std::string_view item = trim(rawItem);
    if (item.empty()) return bad("has an empty item");
    bool negate = item[0] == '^';
    if (negate) item.remove_prefix(1);
    size_t dash = item.find('-');
    std::optional<unsigned> lo, hi;
    if (dash == std::string_view::npos) {
      lo = hi = parseCpu(item);
    } else {
      if (negate) return bad("excludes a range, but '^' takes a single CPU");
      lo = parseCpu(item.substr(0, dash));
      hi = parseCpu(item.substr(dash + 1));
    }
    if (!lo || !hi)
      return bad("has the item '" + std::string(item) + "', which is not a CPU number below " +
                 std::to_string(kMaxCpus) + " or a range of them");
    if (*lo > *hi) return bad("has the range '" + std::string(item) + "', whose start is above its end");
    if (negate) {
      excluded.emplace_back(*lo, *hi);
      continue;
    }
    for (unsigned c = *lo; c <= *hi; ++c) set[c] = true;
    any = true;
  }
  for (auto [lo, hi] : excluded)
    for (unsigned c = lo; c <= hi; ++c) set[c] = false;
  std::vector<unsigned> out;
  for (unsigned c = 0; c < kMaxCpus; ++c)
    if (set[c]) out.push_back(c);
  if (!any || out.empty()) return bad("selects no CPU at all");
  return out;
}

std::string formatCpuset(const std::vector<unsigned>& cpus) {
  std::string out;
  for (size_t i = 0; i < cpus.size();) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(cpus[i]);
    if (j > i) out += "-" + std::to_string(cpus[j]);
    i = j + 1;
  }
  return out;
}

Result<std::string> canonicalCpuset(std::string_view text, std::string_view what) {
  XVIRT_ASSIGN_OR_RETURN(auto cpus, parseCpuset(text, what));
  return formatCpuset(cpus);
}

bool isValidDiskTarget(std::string_view dev) {
  std::string_view letters;
  unsigned maxDisk, maxPart;
  if (startsWith(dev, "xvd")) {
    dev.remove_prefix(3);
    maxDisk = (1u << 20) - 1;
    maxPart = 255;
  } else if (startsWith(dev, "hd")) {
    dev.remove_prefix(2);
    maxDisk = 3;
    maxPart = 63;
  } else if (startsWith(dev, "sd")) {
    dev.remove_prefix(2);
    maxDisk = 15;
    maxPart = 15;
  } else {
    return false;
  }
  size_t n = 0;
  while (n < dev.size() && dev[n] >= 'a' && dev[n] <= 'z') ++n;
  if (n == 0 || n > 4) return false;
  // Bijective base 26, as Xen numbers xvda..xvdz, xvdaa...
  uint64_t disk = 0;
  for (size_t i = 0; i < n; ++i) disk = disk * 26 + static_cast<uint64_t>(dev[i] - 'a' + 1);
  disk -= 1;
  if (disk > maxDisk) return false;
  std::string_view part = dev.substr(n);
  if (part.empty()) return true;
  if (part[0] == '0') return false;
  auto p = parseUint(part);
  return p && *p >= 1 && *p <= maxPart;
}

std::string busForDiskTarget(std::string_view dev) {
  if (startsWith(dev, "hd")) return "ide";
  if (startsWith(dev, "sd")) return "scsi";
  return "xen";
}

bool isLiveVifName(std::string_view s) {
  if (!startsWith(s, "vif")) return false;
  s.remove_prefix(3);
  if (endsWith(s, "-emu")) s.remove_suffix(4);
  size_t dot = s.find('.');
  if (dot == std::string_view::npos) return false;
  return parseUint(s.substr(0, dot)).has_value() && parseUint(s.substr(dot + 1)).has_value();
}

Status checkDomainName(std::string_view name) {
  if (name.empty())
    return makeError(ErrorCode::XmlError, "The domain <name> is empty.");
  if (name.size() > 250)
    return makeError(ErrorCode::XmlError, "The domain <name> is longer than 250 characters.");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '+' || c == '-';
    if (!ok)
      return makeError(ErrorCode::XmlError,
                       "The domain <name> '" + std::string(name) +
                           "' contains a character other than letters, digits, '.', '_', '+' and '-'.");
  }
  if (name[0] == '.' || name[0] == '-')
    return makeError(ErrorCode::XmlError,
                     "The domain <name> '" + std::string(name) + "' starts with '" + name[0] +
                         "', which names of files and Xen domains must not.");
  if (name == "Domain-0")
    return makeError(ErrorCode::XmlError, "The domain <name> 'Domain-0' is reserved for Xen's control domain.");
  return okStatus();
}

static std::string escape(std::string_view s, bool attr) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '\'': out += "&apos;"; break;
      case '"': out += "&quot;"; break;
      case '\n': out += attr ? "&#10;" : "\n"; break;
      case '\r': out += "&#13;"; break;
      case '\t': out += attr ? "&#9;" : "\t"; break;
      default:
        if (c < 0x20) break;  // not representable in XML 1.0
        out += ch;
    }
  }
  return out;
}

std::string xmlEscapeText(std::string_view s) { return escape(s, false); }
std::string xmlEscapeAttr(std::string_view s) { return escape(s, true); }

}  // namespace xvirt::dom
