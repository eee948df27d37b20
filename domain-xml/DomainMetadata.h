// The namespaced elements under a domain's <metadata> (DomainDef::metadataXml), as
// virDomainGetMetadata and virDomainSetMetadata see them: one element per namespace URI.
#pragma once

#include <optional>
#include <string>

#include "common/Result.h"

namespace xvirt::dom {

// The element in namespace `uri`, self-contained (its namespace declared on it); nullopt if none.
std::optional<std::string> findMetadataElement(const std::string& metadataXml, const std::string& uri);

// metadataXml with the element in namespace `uri` replaced by `xml`, whose root element is put into
// that namespace with the prefix `key` (libvirt's virXMLInjectNamespace), or removed when `xml` is
// empty. XmlError for XML that does not parse; InvalidArgument for a key that is not an XML name.
Result<std::string> setMetadataElement(const std::string& metadataXml, const std::string& uri, const std::string& key,
                                       const std::string& xml);

}  // namespace xvirt::dom
