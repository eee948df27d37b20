// libvirt domain XML <-> DomainDef. Parsing checks the document against schemas/domain.rng when
// asked (VALIDATE) and always checks the semantics (duplicate targets, memory sizes, MACs, UUIDs).
#pragma once

#include <string>
#include <string_view>

#include "common/Result.h"
#include "domain-xml/DomainDef.h"

namespace xvirt::dom {

enum ParseFlags : unsigned {
  kParseValidate = 1u << 0,   // RelaxNG validation against schemas/domain.rng (VIR_DOMAIN_DEFINE_VALIDATE)
  kParseInactive = 1u << 1,   // ignore live-only data (id, pty paths)
};

enum FormatFlags : unsigned {
  kFormatSecure = 1u << 0,    // include secrets such as the VNC password (VIR_DOMAIN_XML_SECURE)
  kFormatInactive = 1u << 1,  // omit live-only data (VIR_DOMAIN_XML_INACTIVE)
};

// The XML namespace of xvirt's own elements (device models, stub domains).
inline constexpr const char* kXvirtNamespace = "http://xvirt.org/schemas/domain/1.0";

Result<DomainDef> parseDomainXml(std::string_view xml, unsigned flags = 0);
std::string formatDomainXml(const DomainDef& def, unsigned flags = 0);

// Validates a document against schemas/domain.rng; the error names the element and line.
Status validateDomainXml(std::string_view xml);

}  // namespace xvirt::dom
