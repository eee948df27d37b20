// Test support for the C++ tests: waiting for a condition with a deadline (never a fixed sleep),
// private temporary directories, and where the source tree is. No gtest here: sanitizer and fuzz
// builds include it too.
#pragma once

#include <poll.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

#include "xvirt-config.h"

namespace xvirt::test {

// Re-checks `done` until it holds or `timeout` passes, with a short backoff between checks (1 ms,
// doubling to 50 ms): for conditions no event announces. Returns whether it held.
template <typename Pred>
bool waitUntil(Pred&& done, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int delayMs = 1;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    ::poll(nullptr, 0, delayMs);
    delayMs = std::min(delayMs * 2, 50);
  }
  return true;
}

// A new private directory /tmp/PREFIX-XXXXXX; empty when it cannot be made (callers assert).
inline std::string makeTempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  return ::mkdtemp(tmpl.data()) ? tmpl : std::string();
}

// Removes a directory tree; nothing happens for an empty path.
inline void removeTree(const std::string& path) {
  if (path.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

// A temporary directory that is removed with everything in it when the object goes.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix) : path_(makeTempDir(prefix)) {}
  ~TempDir() { removeTree(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The whole file, or "" when it cannot be read.
inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The source tree: $XVIRT_SOURCE_ROOT (meson's test environment sets it), else the configured one.
inline std::filesystem::path sourceRoot() {
  const char* root = std::getenv("XVIRT_SOURCE_ROOT");
  return std::filesystem::path(root && *root ? root : XVIRT_SOURCE_ROOT);
}

}  // namespace xvirt::test
