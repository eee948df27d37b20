// Fuzz target "domain-xml": libvirt domain XML as a client defines it. Whatever parses must format,
// and the formatted document must parse again and format to the same text (the golden tests'
// idempotence rule, here over arbitrary input). A broken round trip aborts like a crash.
//
// Input: one byte of options (bit 0: kParseInactive; bit 1: RelaxNG validation first), then the XML.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "domain-xml/DomainXml.h"

using namespace xvirt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t options = data[0];
  std::string_view xml(reinterpret_cast<const char*>(data + 1), size - 1);
  unsigned flags = (options & 1) ? unsigned(dom::kParseInactive) : 0u;
  if (options & 2) flags |= dom::kParseValidate;

  auto def = dom::parseDomainXml(xml, flags);
  if (!def) {
    if (def.error().message.empty()) std::abort();  // every refusal says why
    return 0;
  }
  for (unsigned format : {0u, unsigned(dom::kFormatSecure), unsigned(dom::kFormatInactive)}) {
    std::string out = dom::formatDomainXml(*def, format);
    auto again = dom::parseDomainXml(out, flags & dom::kParseInactive);
    if (!again) {
      std::fprintf(stderr, "The formatted XML does not parse again: %s\n%s\n", again.error().message.c_str(), out.c_str());
      std::abort();
    }
    std::string twice = dom::formatDomainXml(*again, format);
    if (twice != out) {
      std::fprintf(stderr, "Formatting is not idempotent:\n--- first\n%s\n--- second\n%s\n", out.c_str(), twice.c_str());
      std::abort();
    }
  }
  return 0;
}
