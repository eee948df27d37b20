// Golden-file helpers for the domain XML tests: where the data lives, which inputs exist, and the
// parse/format flags a case's name selects (-inactive, -secure).
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "common/Strings.h"
#include "domain-xml/DomainXml.h"
#include "tests/lib/TestUtil.h"

namespace xvirt::dom::test {

inline std::filesystem::path goldenDir() { return xvirt::test::sourceRoot() / "tests/golden/domain-xml/xml"; }
inline std::filesystem::path examplesDir() { return xvirt::test::sourceRoot() / "examples"; }

inline bool isInputName(const std::string& f) { return endsWith(f, ".xml") && !endsWith(f, ".out.xml"); }

// Case names (file name without .xml), sorted.
inline std::vector<std::string> goldenCases() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(goldenDir(), ec)) {
    std::string f = e.path().filename().string();
    if (isInputName(f)) out.push_back(f.substr(0, f.size() - 4));
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline std::vector<std::filesystem::path> exampleXmls() {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(examplesDir(), ec))
    if (e.path().extension() == ".xml") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

using xvirt::test::slurp;

inline unsigned parseFlagsFor(const std::string& name) {
  return name.find("-inactive") != std::string::npos ? kParseInactive : 0u;
}
inline unsigned formatFlagsFor(const std::string& name) {
  unsigned f = 0;
  if (name.find("-inactive") != std::string::npos) f |= kFormatInactive;
  if (name.find("-secure") != std::string::npos) f |= kFormatSecure;
  return f;
}

}  // namespace xvirt::dom::test
