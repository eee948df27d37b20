#include "common/Log.h"

#include <glib.h>

#include <atomic>
#include <cstdio>
#include <ctime>

namespace xvirt {

static std::atomic<int> g_verbosity{0};
static std::atomic<const char*> g_domain{"xvirt"};

void setLogVerbosity(int verbosity) { g_verbosity = verbosity; }
int logVerbosity() { return g_verbosity; }
void setLogDomain(const char* domain) { g_domain = domain; }

static GLogLevelFlags toGLib(LogLevel level) {
  switch (level) {
    case LogLevel::Error: return G_LOG_LEVEL_CRITICAL;  // G_LOG_LEVEL_ERROR would abort
    case LogLevel::Warning: return G_LOG_LEVEL_WARNING;
    case LogLevel::Info: return G_LOG_LEVEL_INFO;
    case LogLevel::Debug: return G_LOG_LEVEL_DEBUG;
  }
  return G_LOG_LEVEL_MESSAGE;
}

static const char* levelName(LogLevel level) {
  switch (level) {
    case LogLevel::Error: return "error";
    case LogLevel::Warning: return "warning";
    case LogLevel::Info: return "info";
    case LogLevel::Debug: return "debug";
  }
  return "?";
}

void logMessage(LogLevel level, const std::string& message) {
  int needed = level == LogLevel::Debug ? 2 : level == LogLevel::Info ? 1 : 0;
  if (g_verbosity < needed) return;
  // stderr gets a plain timestamped line (per-guest logs and test logs read it); the structured
  // fields go to the journal when stderr is connected to it.
  if (g_log_writer_is_journald(fileno(stderr))) {
    const GLogField fields[] = {
        {"MESSAGE", message.c_str(), -1},
        {"GLIB_DOMAIN", g_domain.load(), -1},
        {"PRIORITY", level == LogLevel::Error ? "3" : level == LogLevel::Warning ? "4"
                     : level == LogLevel::Info ? "6" : "7", -1},
    };
    g_log_writer_journald(toGLib(level), fields, G_N_ELEMENTS(fields), nullptr);
    return;
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char stamp[32];
  strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
  std::fprintf(stderr, "%s.%03ld %s[%d]: %s: %s\n", stamp, ts.tv_nsec / 1000000, g_domain.load(),
               static_cast<int>(getpid()), levelName(level), message.c_str());
}

}  // namespace xvirt
