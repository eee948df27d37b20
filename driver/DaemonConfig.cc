// DaemonConfig: a small reader for the subset of libvirt's config syntax that libvirtd.conf's limits
// use. Lists and booleans are not needed by any setting xvirtd reads, so they are ignored with the name.
#include "driver/DaemonConfig.h"

#include <sys/resource.h>

#include <cerrno>
#include <limits>

#include "common/File.h"
#include "common/Log.h"
#include "common/Strings.h"

namespace xvirt::driver {

namespace {

struct Setting {
  const char* name;
  uint64_t min, max;
  unsigned DaemonConfig::*uintField;
  mode_t DaemonConfig::*modeField;  // a file mode: octal digits, given as a string or a number with a leading 0
};

constexpr Setting kSettings[] = {
    {"max_clients", 1, 1000000, &DaemonConfig::maxClients, nullptr},
    {"max_client_requests", 1, 10000, &DaemonConfig::maxClientRequests, nullptr},
    {"max_workers", 1, 1000, &DaemonConfig::maxWorkers, nullptr},
    {"keepalive_interval", 0, 86400, &DaemonConfig::keepaliveInterval, nullptr},
    {"keepalive_count", 0, 1000, &DaemonConfig::keepaliveCount, nullptr},
    {"unix_sock_rw_perms", 0, 0777, nullptr, &DaemonConfig::unixSockRwPerms},
    {"unix_sock_ro_perms", 0, 0777, nullptr, &DaemonConfig::unixSockRoPerms},
};

std::optional<uint64_t> parseOctal(std::string_view s) {
  if (s.empty() || s.size() > 6) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '7') return std::nullopt;
    v = v * 8 + uint64_t(c - '0');
  }
  return v;
}

}  // namespace

Result<DaemonConfig> parseDaemonConfig(const std::string& text, const std::string& fileName) {
  DaemonConfig c;
  unsigned lineNo = 0;
  for (const std::string& raw : split(text, '\n')) {
    ++lineNo;
    std::string_view line = trim(raw);
    if (line.empty() || line[0] == '#') continue;
    auto where = [&] { return "Line " + std::to_string(lineNo) + " of " + fileName; };
    auto eq = line.find('=');
    if (eq == std::string_view::npos)
      return makeError(ErrorCode::InvalidArgument, where() + " is not of the form 'name = value'.");
    std::string name(trim(line.substr(0, eq)));
    std::string_view value = trim(line.substr(eq + 1));
    if (auto hash = value.find('#'); hash != std::string_view::npos && value[0] != '"')
      value = trim(value.substr(0, hash));
    const Setting* s = nullptr;
    for (const auto& k : kSettings)
      if (name == k.name) s = &k;
    if (!s) {
      c.ignored.push_back(name);
      continue;
    }
    bool quoted = value.size() >= 2 && value.front() == '"' && value.back() == '"';
    if (quoted) value = value.substr(1, value.size() - 2);
    std::optional<uint64_t> v;
    if (s->modeField) v = parseOctal(value);
    else if (!quoted) v = parseUint(value);
    if (!v || *v < s->min || *v > s->max)
      return makeError(ErrorCode::InvalidArgument,
                       where() + ": " + name + " must be " + (s->modeField ? "an octal file mode such as \"0600\"" :
                       "a whole number from " + std::to_string(s->min) + " to " + std::to_string(s->max)) +
                       ", not '" + std::string(value) + "'.");
    if (s->uintField) c.*(s->uintField) = static_cast<unsigned>(*v);
    else c.*(s->modeField) = static_cast<mode_t>(*v);
  }
  return c;
}

Result<DaemonConfig> loadDaemonConfig(const std::string& path, bool mustExist) {
  auto text = readFile(path, 1u << 20);
  if (!text) {
    if (!mustExist && text.error().sysErrno == ENOENT) return DaemonConfig{};
    return text.error();
  }
  XVIRT_ASSIGN_OR_RETURN(DaemonConfig c, parseDaemonConfig(text.value(), path));
  if (!c.ignored.empty())
    logInfo(path + ": xvirtd ignores the settings " + join(c.ignored, ", ") + " (libvirtd's, not used here).");
  return c;
}

unsigned effectiveMaxClients(unsigned maxClients, unsigned reserve) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return maxClients;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  if (rl.rlim_cur == RLIM_INFINITY) return maxClients;
  uint64_t room = rl.rlim_cur > reserve * 2 ? rl.rlim_cur - reserve : rl.rlim_cur / 2;
  if (room >= maxClients) return maxClients;
  logWarning("max_clients " + std::to_string(maxClients) + " exceeds what the open-file limit (" +
             std::to_string(rl.rlim_cur) + ") allows; serving at most " + std::to_string(room) + " clients.");
  return static_cast<unsigned>(room);
}

}  // namespace xvirt::driver
