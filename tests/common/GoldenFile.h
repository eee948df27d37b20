// Golden-file plumbing shared by the golden tests: where tests/golden lives, comparing output with
// an expected file (or rewriting it with XVIRT_TEST_REGENERATE=1), and failing on files no case read.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include "common/File.h"
#include "xvirt-config.h"

namespace xvirt::test {

inline bool regenerateGolden() {
  const char* v = std::getenv("XVIRT_TEST_REGENERATE");
  return v && *v && std::string(v) != "0";
}

// tests/golden/SUB under $XVIRT_SOURCE_ROOT (or the configured source root).
inline std::filesystem::path goldenPath(const std::string& sub) {
  const char* root = std::getenv("XVIRT_SOURCE_ROOT");
  return std::filesystem::path(root && *root ? root : XVIRT_SOURCE_ROOT) / "tests/golden" / sub;
}

// Compares `actual` with the file, or rewrites it when regenerating; records the file as used.
inline void expectGoldenFile(const std::filesystem::path& path, const std::string& actual, std::set<std::string>& used) {
  used.insert(path.filename().string());
  if (regenerateGolden()) {
    ASSERT_TRUE(writeFileAtomic(path.string(), actual).ok()) << path;
    return;
  }
  auto expected = readFile(path.string());
  ASSERT_TRUE(expected.ok()) << "missing expected file " << path << " (run with XVIRT_TEST_REGENERATE=1); actual:\n"
                             << actual;
  EXPECT_EQ(*expected, actual) << "in " << path;
}

// Every file in `dir` must have been read by some case (not checked while regenerating).
inline void expectNoUnusedGoldenFiles(const std::filesystem::path& dir, const std::set<std::string>& used) {
  if (regenerateGolden()) return;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    EXPECT_TRUE(used.count(entry.path().filename().string())) << "unused golden file " << entry.path();
  }
}

}  // namespace xvirt::test
