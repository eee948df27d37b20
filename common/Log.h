// Logging through GLib structured logging, so journald and G_MESSAGES_DEBUG work as users expect.
// setLogVerbosity() picks how much reaches stderr: 0 errors and warnings, 1 info, 2 debug.
#pragma once

#include <string>

namespace xvirt {

enum class LogLevel { Error, Warning, Info, Debug };

void setLogVerbosity(int verbosity);
int logVerbosity();
void setLogDomain(const char* domain);  // e.g. "xvirtd", "xvirt-helper"
void logMessage(LogLevel level, const std::string& message);

inline void logError(const std::string& m) { logMessage(LogLevel::Error, m); }
inline void logWarning(const std::string& m) { logMessage(LogLevel::Warning, m); }
inline void logInfo(const std::string& m) { logMessage(LogLevel::Info, m); }
inline void logDebug(const std::string& m) { logMessage(LogLevel::Debug, m); }

}  // namespace xvirt
