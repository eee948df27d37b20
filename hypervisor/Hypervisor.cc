// Shared by both backends: CPU maps, shutdown reason names, backend choice.
#include "hypervisor/Hypervisor.h"

#include <unistd.h>

#include <optional>

#include "common/Strings.h"
#include "hypervisor/sim/SimHypervisor.h"
#include "hypervisor/Backend.h"

namespace xvirt::hv {

const char* shutdownReasonName(ShutdownReason r) {
  // The names xl and libxl print for SHUTDOWN_* codes.
  switch (r) {
    case ShutdownReason::Poweroff: return "poweroff";
    case ShutdownReason::Reboot: return "reboot";
    case ShutdownReason::Suspend: return "suspend";
    case ShutdownReason::Crash: return "crash";
    case ShutdownReason::Watchdog: return "watchdog";
    case ShutdownReason::SoftReset: return "soft_reset";
  }
  return "unknown";
}

std::string formatCpuMap(const CpuMap& map) {
  std::string out;
  size_t i = 0;
  while (i < map.size()) {
    if (!map[i]) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end + 1 < map.size() && map[end + 1]) ++end;
    if (!out.empty()) out += ',';
    out += std::to_string(i);
    if (end > i) out += '-' + std::to_string(end);
    i = end + 1;
  }
  return out;
}

namespace {

struct CpuRange {
  unsigned first = 0;
  unsigned last = 0;
};

Error badCpuSet(std::string_view text) {
  return makeError(ErrorCode::InvalidArgument,
                   "The CPU set \"" + std::string(text) +
                       "\" is not valid: expected CPU numbers, ranges N-M and exclusions ^N separated by commas.");
}

// "N" or "N-M" with optional spaces around the dash.
std::optional<CpuRange> parseRange(std::string_view item) {
  size_t dash = item.find('-');
  auto first = parseUint(trim(item.substr(0, dash)));
  if (!first || *first > 0xffffffu) return std::nullopt;
  if (dash == std::string_view::npos) return CpuRange{unsigned(*first), unsigned(*first)};
  auto last = parseUint(trim(item.substr(dash + 1)));
  if (!last || *last > 0xffffffu || *last < *first) return std::nullopt;
  return CpuRange{unsigned(*first), unsigned(*last)};
}

}  // namespace

Result<CpuMap> parseCpuSet(std::string_view text, unsigned nrCpus) {
  CpuMap map(nrCpus, false);
  std::string_view all = trim(text);
  if (all == "all") {
    if (nrCpus == 0) return makeError(ErrorCode::InvalidArgument, "The CPU set \"all\" selects no CPU: the host has none.");
    return CpuMap(nrCpus, true);
  }
  if (all.empty()) return badCpuSet(text);
  for (const std::string& raw : split(all, ',')) {
    std::string_view item = trim(raw);
    bool exclude = !item.empty() && item.front() == '^';
    if (exclude) item = trim(item.substr(1));
    auto range = parseRange(item);
    if (!range) return badCpuSet(text);
    if (range->last >= nrCpus)
      return makeError(ErrorCode::InvalidArgument,
                       "CPU " + std::to_string(range->last) + " in the CPU set \"" + std::string(text) +
                           "\" is out of range: the host has " + std::to_string(nrCpus) + " CPUs.");
    for (unsigned c = range->first; c <= range->last; ++c) map[c] = !exclude;
  }
  bool any = false;
  for (bool b : map) any = any || b;
  if (!any)
    return makeError(ErrorCode::InvalidArgument, "The CPU set \"" + std::string(text) + "\" selects no CPU.");
  return map;
}

Result<BackendChoice> parseBackendChoice(std::string_view text) {
  std::string t = toLower(trim(text));
  if (t == "auto") return BackendChoice::Auto;
  if (t == "xen") return BackendChoice::Xen;
  if (t == "sim") return BackendChoice::Sim;
  return makeError(ErrorCode::InvalidArgument,
                   "Unknown hypervisor backend \"" + std::string(text) + "\": expected auto, xen or sim.");
}

BackendChoice resolveBackend(BackendChoice choice) {
  if (choice != BackendChoice::Auto) return choice;
  // The same two signs of a Xen dom0 that libxl and the xen init scripts check for.
  if (::access("/proc/xen/capabilities", F_OK) == 0 || ::access("/dev/xen/privcmd", F_OK) == 0)
    return BackendChoice::Xen;
  return BackendChoice::Sim;
}

Result<std::unique_ptr<Hypervisor>> openHypervisor(BackendChoice choice, const std::string& simDir) {
  switch (resolveBackend(choice)) {
    case BackendChoice::Xen: {
      Result<std::unique_ptr<Hypervisor>> opened = makeError(ErrorCode::Internal, "The Xen backend did not answer.");
      xvirt_open_xen_hypervisor(&opened);
      return opened;
    }
    case BackendChoice::Sim:
      if (simDir.empty())
        return makeError(ErrorCode::InvalidArgument, "The simulated Xen host needs a runtime directory.");
      return openSimHypervisor(simDir);
    case BackendChoice::Auto: break;
  }
  return makeError(ErrorCode::Internal, "No hypervisor backend was chosen.");
}

}  // namespace xvirt::hv
