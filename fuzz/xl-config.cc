// Fuzz target "xl-config": Xen's xl.cfg and xm config files (virsh domxml-from-native), then what
// xvirt derives from an accepted config: the domain XML, the xl/xm text back (domxml-to-native),
// which must parse again, and the GuestConfig a helper would receive.
//
// Input: one byte of options (bit 0: xm instead of xl), then the config text.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "domain-xml/DomainXml.h"
#include "domain-xml/GuestConfigBuilder.h"
#include "domain-xml/XlConfig.h"

using namespace xvirt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto format = (data[0] & 1) ? dom::NativeFormat::XenXm : dom::NativeFormat::XenXl;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  auto def = dom::parseXlConfig(text, format);
  if (!def) {
    if (def.error().message.empty()) std::abort();  // every refusal says why
    return 0;
  }
  (void)dom::formatDomainXml(*def, dom::kFormatSecure);
  if (auto native = dom::formatXlConfig(*def, format)) {
    auto again = dom::parseXlConfig(*native, format);
    if (!again) {
      std::fprintf(stderr, "The formatted config does not parse again: %s\n%s\n", again.error().message.c_str(),
                   native->c_str());
      std::abort();
    }
  }
  (void)dom::buildGuestConfig(*def);
  return 0;
}
