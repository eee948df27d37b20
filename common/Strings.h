// Small string helpers shared by the XML, xl and command-line parsers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xvirt {

std::vector<std::string> split(std::string_view s, char sep);
std::string_view trim(std::string_view s);
bool startsWith(std::string_view s, std::string_view prefix);
bool endsWith(std::string_view s, std::string_view suffix);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
// Whole-string decimal parse; nullopt on any junk, sign error or overflow.
std::optional<uint64_t> parseUint(std::string_view s);
std::optional<int64_t> parseInt(std::string_view s);
std::string toLower(std::string_view s);

}  // namespace xvirt
