// The golden-file harness of every golden test (domain XML, native formats, device model): where
// tests/golden lives, comparing output with an expected file, and failing on files no case read.
//
// One rule: XVIRT_TEST_REGENERATE=1 rewrites the expected files (and removes the ones a case no
// longer produces); without it a mismatch fails, with gtest's line diff. tests/README.md.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include "common/File.h"
#include "tests/lib/TestUtil.h"

namespace xvirt::test {

inline bool regenerateGolden() {
  const char* v = std::getenv("XVIRT_TEST_REGENERATE");
  return v && std::string(v) == "1";
}

// tests/golden/SUB in the source tree.
inline std::filesystem::path goldenPath(const std::string& sub) { return sourceRoot() / "tests/golden" / sub; }

// Compares `actual` with the file, or rewrites it when regenerating.
inline void expectGoldenFile(const std::filesystem::path& path, const std::string& actual) {
  if (regenerateGolden()) {
    ASSERT_TRUE(writeFileAtomic(path.string(), actual).ok()) << path;
    return;
  }
  ASSERT_TRUE(std::filesystem::exists(path))
      << "missing expected file " << path << " (run with XVIRT_TEST_REGENERATE=1); actual:\n" << actual;
  EXPECT_EQ(slurp(path), actual) << "in " << path << " (XVIRT_TEST_REGENERATE=1 rewrites it)";
}

// The same, recording the file as read for expectNoUnusedGoldenFiles.
inline void expectGoldenFile(const std::filesystem::path& path, const std::string& actual, std::set<std::string>& used) {
  used.insert(path.filename().string());
  expectGoldenFile(path, actual);
}

// An expected file a case no longer produces (an .err once the input is accepted, say): removed
// when regenerating; otherwise the check for unused files reports it.
inline void dropStaleGolden(const std::filesystem::path& path) {
  if (!regenerateGolden()) return;
  std::error_code ec;
  std::filesystem::remove(path, ec);
}

// Every file in `dir` must have been read by some case (not checked while regenerating).
inline void expectNoUnusedGoldenFiles(const std::filesystem::path& dir, const std::set<std::string>& used) {
  if (regenerateGolden()) return;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    EXPECT_TRUE(used.count(entry.path().filename().string())) << "unused golden file " << entry.path();
  }
}

}  // namespace xvirt::test
