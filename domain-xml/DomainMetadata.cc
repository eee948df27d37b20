// Metadata elements are kept verbatim and self-contained, so each one is found and replaced by
// parsing the children under a bare <metadata> root.
#include "domain-xml/DomainMetadata.h"

#include <libxml/tree.h>

#include <vector>

#include "domain-xml/DomainXmlNode.h"

namespace xvirt::dom {

namespace {

Result<XmlDocPtr> readKept(const std::string& metadataXml) {
  return readXmlDocument("<metadata>" + metadataXml + "</metadata>", "The domain's kept metadata");
}

}  // namespace

std::optional<std::string> findMetadataElement(const std::string& metadataXml, const std::string& uri) {
  auto doc = readKept(metadataXml);
  if (!doc.ok()) return std::nullopt;
  for (xmlNode* child : elementChildren(xmlDocGetRootElement(doc->get())))
    if (inNamespace(child, uri.c_str())) return dumpVerbatim(child);
  return std::nullopt;
}

Result<std::string> setMetadataElement(const std::string& metadataXml, const std::string& uri, const std::string& key,
                                       const std::string& xml) {
  XVIRT_ASSIGN_OR_RETURN(XmlDocPtr kept, readKept(metadataXml));
  std::vector<std::string> elements;
  for (xmlNode* child : elementChildren(xmlDocGetRootElement(kept.get())))
    if (!inNamespace(child, uri.c_str())) elements.push_back(dumpVerbatim(child));

  if (!xml.empty()) {
    if (xmlValidateNCName(reinterpret_cast<const xmlChar*>(key.c_str()), 0) != 0)
      return makeError(ErrorCode::InvalidArgument,
                       "invalid argument: the metadata key '" + key + "' is not a valid XML namespace prefix.");
    XVIRT_ASSIGN_OR_RETURN(XmlDocPtr doc, readXmlDocument(xml, "The metadata XML"));
    xmlNode* root = xmlDocGetRootElement(doc.get());
    xmlNs* ns = xmlNewNs(root, reinterpret_cast<const xmlChar*>(uri.c_str()), reinterpret_cast<const xmlChar*>(key.c_str()));
    if (!ns)
      return makeError(ErrorCode::InvalidArgument, "invalid argument: the metadata XML already declares the prefix '" +
                                                       key + "' for another namespace.");
    xmlSetNs(root, ns);
    elements.push_back(dumpVerbatim(root));
  }
  std::string out;
  for (const auto& e : elements) {
    if (!out.empty()) out += "\n";
    out += e;
  }
  return out;
}

}  // namespace xvirt::dom
