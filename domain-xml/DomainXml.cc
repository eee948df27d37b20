// parseDomainXml: read the document (errors captured per call), validate when asked, then walk it.
#include "domain-xml/DomainXml.h"

#include <libxml/tree.h>

#include "domain-xml/DomainXmlNode.h"
#include "domain-xml/DomainXmlParser.h"

namespace xvirt::dom {

Result<DomainDef> parseDomainXml(std::string_view xml, unsigned flags) {
  XVIRT_ASSIGN_OR_RETURN(XmlDocPtr doc, readXmlDocument(xml, "The domain XML"));
  DomainXmlParser parser(flags);
  auto def = parser.parse(xmlDocGetRootElement(doc.get()));
  if (flags & kParseValidate) {
    auto valid = validateDomainXml(xml);
    // The parser's sentence is more precise than libxml2's RelaxNG report, so it wins when both fail.
    if (!valid.ok() && def.ok()) return valid.takeError();
  }
  return def;
}

}  // namespace xvirt::dom
