// libxml2 helpers for the domain XML parser and formatter: reading a document with its errors
// captured per call (never printed), attribute/child access, and verbatim copies of kept elements.
#pragma once

#include <libxml/tree.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/CHandle.h"
#include "common/Result.h"

namespace xvirt::dom {

// Parses a whole document; a malformed one gives "... is not well-formed at line N: ...".
// `what` names the document in the message, e.g. "The domain XML".
Result<XmlDocPtr> readXmlDocument(std::string_view xml, std::string_view what);

long lineOf(const xmlNode* node);
std::string nodeName(const xmlNode* node);  // local name
// "<disk> at line 12": how messages name an element.
std::string describe(const xmlNode* node);
bool inNamespace(const xmlNode* node, const char* href);  // nullptr: no namespace
std::optional<std::string> attrOpt(const xmlNode* node, const char* name);
std::string attr(const xmlNode* node, const char* name);  // "" when absent
std::string nodeText(const xmlNode* node);                 // text content, untrimmed
std::vector<xmlNode*> elementChildren(const xmlNode* node);

// A self-contained copy of an element (namespaces declared on it, formatting blanks removed),
// serialised at indentation level 0. Stored in DomainDef::kept*Xml.
std::string dumpVerbatim(const xmlNode* node);
// Serialises stored verbatim XML indented for `level` (2 spaces each), ending in a newline.
// Text content is never re-indented, so formatting it again gives the same bytes.
std::string indentVerbatim(const std::string& xml, int level);
// Same for <metadata>: `childrenXml` holds its children; the result is the whole element.
std::string indentMetadata(const std::string& childrenXml, int level);

}  // namespace xvirt::dom
