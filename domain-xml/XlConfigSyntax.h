// The syntax layer of xl.cfg / xm configs: `key = value` settings whose values are numbers, quoted
// strings or [ lists ]. XlConfigImport.cc gives the settings their meaning.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/Result.h"

namespace xvirt::dom {

struct XlScalar {
  std::string text;       // dequoted string, or a number as written
  bool isString = false;
  int line = 0;
};

struct XlSetting {
  std::string key;
  int line = 0;           // the line of the key
  bool isList = false;
  std::vector<XlScalar> items;  // exactly one item unless isList
};

// Settings in file order; a later `key = ...` replaces an earlier one, `key += ...` appends to it.
Result<std::vector<XlSetting>> parseXlSettings(std::string_view text);

// Quotes a string for an xl config (double quotes, backslash escapes where needed).
std::string quoteXlString(std::string_view s);

}  // namespace xvirt::dom
