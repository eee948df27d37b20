#include "domain-xml/DomainXmlNode.h"

#include <utility>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#include <climits>
#include <memory>

#include "common/Strings.h"
#include "domain-xml/DomainXmlValues.h"

namespace xvirt::dom {

namespace {

struct ErrorCollector {
  bool have = false;
  long line = 0;
  std::string message;
};

// Structured error callback: keeps the first error of this parse only, so concurrent parses in
// other threads never see each other's errors and nothing reaches stderr.
void collectError(void* userData, xmlErrorPtr err) {
  auto* ctxt = static_cast<xmlParserCtxtPtr>(userData);
  auto* collector = ctxt ? static_cast<ErrorCollector*>(ctxt->_private) : nullptr;
  if (!collector || !err || err->level == XML_ERR_WARNING || collector->have) return;
  collector->have = true;
  collector->line = err->line;
  std::string msg = err->message ? std::string(trim(err->message)) : std::string("unknown error");
  if (!msg.empty() && msg.back() == '.') msg.pop_back();
  if (!msg.empty() && msg[0] >= 'A' && msg[0] <= 'Z') msg[0] = static_cast<char>(msg[0] - 'A' + 'a');
  collector->message = msg;
}

using ParserCtxtPtr = std::unique_ptr<xmlParserCtxt, CDeleter<xmlFreeParserCtxt>>;
using XmlBufferPtr = std::unique_ptr<xmlBuffer, CDeleter<xmlBufferFree>>;

void stripBlanks(xmlNode* node) {
  bool hasElement = false;
  for (xmlNode* c = node->children; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE) hasElement = true;
  for (xmlNode* c = node->children; c;) {
    xmlNode* next = c->next;
    if (c->type == XML_ELEMENT_NODE) {
      stripBlanks(c);
    } else if (hasElement && (c->type == XML_TEXT_NODE || c->type == XML_COMMENT_NODE) &&
               (c->type == XML_COMMENT_NODE || xmlIsBlankNode(c))) {
      // Formatting whitespace and comments between elements: libvirt drops both too.
      xmlUnlinkNode(c);
      xmlFreeNode(c);
    }
    c = next;
  }
}

std::string dumpNode(xmlDoc* doc, xmlNode* node, int level) {
  XmlBufferPtr buf(xmlBufferCreate());
  if (!buf || xmlNodeDump(buf.get(), doc, node, level, 1) < 0) return {};
  return std::string(reinterpret_cast<const char*>(xmlBufferContent(buf.get())),
                     static_cast<size_t>(xmlBufferLength(buf.get())));
}

}  // namespace

Result<XmlDocPtr> readXmlDocument(std::string_view xml, std::string_view what) {
  if (xml.size() > INT_MAX)
    return makeError(ErrorCode::XmlError, std::string(what) + " is too large to parse.");
  ParserCtxtPtr ctxt(xmlNewParserCtxt());
  if (!ctxt) return makeError(ErrorCode::Internal, "Could not allocate an XML parser context.");
  ErrorCollector collector;
  ctxt->_private = &collector;
  ctxt->sax->serror = collectError;
  // No network, no entity substitution (XXE), and errors only through collectError.
  XmlDocPtr doc(xmlCtxtReadMemory(ctxt.get(), xml.data(), static_cast<int>(xml.size()), "domain.xml",
                                  nullptr, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  if (!doc || !ctxt->wellFormed || collector.have) {
    if (!collector.have)
      return makeError(ErrorCode::XmlError, std::string(what) + " is not well-formed.");
    return makeError(ErrorCode::XmlError, std::string(what) + " is not well-formed at line " +
                                              std::to_string(collector.line) + ": " + collector.message + ".");
  }
  if (doc->intSubset || doc->extSubset)
    return makeError(ErrorCode::XmlError,
                     std::string(what) + " has a document type declaration, which domain XML never has.");
  if (!xmlDocGetRootElement(doc.get()))
    return makeError(ErrorCode::XmlError, std::string(what) + " has no root element.");
  return doc;
}

long lineOf(const xmlNode* node) { return node ? xmlGetLineNo(node) : 0; }

std::string nodeName(const xmlNode* node) {
  return node && node->name ? reinterpret_cast<const char*>(node->name) : "";
}

std::string describe(const xmlNode* node) {
  std::string prefix;
  if (node && node->ns && node->ns->prefix) prefix = std::string(reinterpret_cast<const char*>(node->ns->prefix)) + ":";
  return "<" + prefix + nodeName(node) + "> at line " + std::to_string(lineOf(node));
}

bool inNamespace(const xmlNode* node, const char* href) {
  if (!href) return node->ns == nullptr;
  return node->ns && node->ns->href && xmlStrEqual(node->ns->href, BAD_CAST href);
}

std::optional<std::string> attrOpt(const xmlNode* node, const char* name) {
  XmlCharPtr v(xmlGetNoNsProp(node, BAD_CAST name));
  if (!v) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(v.get()));
}

std::string attr(const xmlNode* node, const char* name) { return attrOpt(node, name).value_or(""); }

std::string nodeText(const xmlNode* node) {
  XmlCharPtr v(xmlNodeGetContent(node));
  return v ? std::string(reinterpret_cast<const char*>(v.get())) : std::string();
}

std::vector<xmlNode*> elementChildren(const xmlNode* node) {
  std::vector<xmlNode*> out;
  for (xmlNode* c = node->children; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE) out.push_back(c);
  return out;
}

std::string dumpVerbatim(const xmlNode* node) {
  XmlDocPtr doc(xmlNewDoc(BAD_CAST "1.0"));
  if (!doc) return {};
  xmlNode* copy = xmlDocCopyNode(const_cast<xmlNode*>(node), doc.get(), 1);
  if (!copy) return {};
  xmlDocSetRootElement(doc.get(), copy);
  stripBlanks(copy);
  return dumpNode(doc.get(), copy, 0);
}

namespace {

std::string qualifiedName(const xmlNs* ns, const xmlChar* name) {
  std::string out;
  if (ns && ns->prefix) out = std::string(reinterpret_cast<const char*>(ns->prefix)) + ":";
  return out + reinterpret_cast<const char*>(name);
}

// Writes an element the way libvirt writes its own (single quotes, two-space indentation), so a kept
// <controller> or <pm> looks like the rest of the document. Mixed content falls back to libxml2.
void writeElement(std::string& out, xmlDoc* doc, xmlNode* node, int level) {
  std::string pad(static_cast<size_t>(level) * 2, ' ');
  bool hasElement = false, hasText = false;
  for (xmlNode* c = node->children; c; c = c->next) {
    if (c->type == XML_ELEMENT_NODE) hasElement = true;
    else if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE || c->type == XML_ENTITY_REF_NODE) hasText = true;
  }
  if (hasElement && hasText) {
    out += pad + dumpNode(doc, node, level) + "\n";
    return;
  }
  out += pad + "<" + qualifiedName(node->ns, node->name);
  for (xmlNs* ns = node->nsDef; ns; ns = ns->next) {
    out += ns->prefix ? " xmlns:" + std::string(reinterpret_cast<const char*>(ns->prefix)) : std::string(" xmlns");
    out += "='" + xmlEscapeAttr(ns->href ? reinterpret_cast<const char*>(ns->href) : "") + "'";
  }
  for (xmlAttr* a = node->properties; a; a = a->next) {
    XmlCharPtr v(xmlNodeListGetString(doc, a->children, 1));
    out += " " + qualifiedName(a->ns, a->name) + "='" +
           xmlEscapeAttr(v ? reinterpret_cast<const char*>(v.get()) : "") + "'";
  }
  if (hasText) {
    out += ">" + xmlEscapeText(nodeText(node)) + "</" + qualifiedName(node->ns, node->name) + ">\n";
  } else if (!hasElement) {
    out += "/>\n";
  } else {
    out += ">\n";
    for (xmlNode* c = node->children; c; c = c->next)
      if (c->type == XML_ELEMENT_NODE) writeElement(out, doc, c, level + 1);
    out += pad + "</" + qualifiedName(node->ns, node->name) + ">\n";
  }
}

}  // namespace

std::string indentVerbatim(const std::string& xml, int level) {
  std::string pad(static_cast<size_t>(level) * 2, ' ');
  auto doc = readXmlDocument(xml, "Kept XML");
  if (!doc.ok()) return pad + xml + "\n";  // set by code, not parsed: emit as given
  xmlNode* root = xmlDocGetRootElement(doc->get());
  stripBlanks(root);
  std::string out;
  writeElement(out, doc->get(), root, level);
  return out;
}

std::string indentMetadata(const std::string& childrenXml, int level) {
  std::string pad(static_cast<size_t>(level) * 2, ' ');
  auto doc = readXmlDocument("<metadata>" + childrenXml + "</metadata>", "Kept metadata");
  if (!doc.ok()) return pad + "<metadata>\n" + pad + "  " + childrenXml + "\n" + pad + "</metadata>\n";
  xmlNode* root = xmlDocGetRootElement(doc->get());
  stripBlanks(root);
  return pad + dumpNode(doc->get(), root, level) + "\n";
}

}  // namespace xvirt::dom
