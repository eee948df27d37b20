// validateDomainXml: RelaxNG validation against schemas/domain.rng, compiled once per process.
#include <libxml/relaxng.h>

#include <cstdlib>
#include <mutex>

#include "common/Strings.h"
#include "domain-xml/DomainXml.h"
#include "domain-xml/DomainXmlNode.h"
#include "xvirt-config.h"

namespace xvirt::dom {

namespace {

using RelaxNGPtr = std::unique_ptr<xmlRelaxNG, CDeleter<xmlRelaxNGFree>>;
using RelaxNGParserCtxtPtr = std::unique_ptr<xmlRelaxNGParserCtxt, CDeleter<xmlRelaxNGFreeParserCtxt>>;
using RelaxNGValidCtxtPtr = std::unique_ptr<xmlRelaxNGValidCtxt, CDeleter<xmlRelaxNGFreeValidCtxt>>;

struct FirstError {
  bool have = false;
  std::string message;
  long line = 0;
  std::string element;  // from the first error that names a node: libxml2's interleave errors often do not
};

void collect(void* data, xmlErrorPtr err) {
  auto* first = static_cast<FirstError*>(data);
  if (!err || err->level == XML_ERR_WARNING) return;
  if (!first->have) {
    first->have = true;
    first->line = err->line;
    std::string msg = err->message ? std::string(trim(err->message)) : "unknown error";
    if (!msg.empty() && msg.back() == '.') msg.pop_back();
    if (!msg.empty() && msg[0] >= 'A' && msg[0] <= 'Z') msg[0] = static_cast<char>(msg[0] - 'A' + 'a');
    first->message = msg;
  }
  if (first->element.empty() && err->node) {
    auto* node = static_cast<xmlNode*>(err->node);
    if (node->type == XML_ELEMENT_NODE) {
      first->element = describe(node);
      first->line = lineOf(node);
    }
  }
}

struct Schema {
  RelaxNGPtr rng;
  std::string loadError;
  std::mutex mutex;  // a compiled RelaxNG is only documented as safe for one validation at a time
};

Schema& schema() {
  static Schema* s = [] {
    auto* sc = new Schema;  // lives for the whole process, like libvirt's cached schemas
    const char* env = std::getenv("XVIRT_SCHEMA_DIR");
    std::string path = std::string(env && *env ? env : XVIRT_SCHEMA_DIR) + "/domain.rng";
    FirstError err;
    RelaxNGParserCtxtPtr pctxt(xmlRelaxNGNewParserCtxt(path.c_str()));
    if (!pctxt) {
      sc->loadError = "Could not read the domain XML schema " + path + ".";
      return sc;
    }
    xmlRelaxNGSetParserStructuredErrors(pctxt.get(), collect, &err);
    sc->rng.reset(xmlRelaxNGParse(pctxt.get()));
    if (!sc->rng)
      sc->loadError = "The domain XML schema " + path + " does not compile" +
                      (err.have ? ": " + err.message + " (line " + std::to_string(err.line) + ")." : ".");
    return sc;
  }();
  return *s;
}

}  // namespace

Status validateDomainXml(std::string_view xml) {
  XVIRT_ASSIGN_OR_RETURN(XmlDocPtr doc, readXmlDocument(xml, "The domain XML"));
  Schema& s = schema();
  if (!s.rng) return makeError(ErrorCode::Internal, s.loadError);
  std::lock_guard lock(s.mutex);
  RelaxNGValidCtxtPtr vctxt(xmlRelaxNGNewValidCtxt(s.rng.get()));
  if (!vctxt) return makeError(ErrorCode::Internal, "Could not allocate a RelaxNG validation context.");
  FirstError err;
  xmlRelaxNGSetValidStructuredErrors(vctxt.get(), collect, &err);
  int rc = xmlRelaxNGValidateDoc(vctxt.get(), doc.get());
  if (rc == 0) return okStatus();
  std::string where = !err.element.empty() ? "element " + err.element : "line " + std::to_string(err.line);
  std::string why = err.have ? err.message : "validation failed";
  // libxml2 reports a bad child of an interleave only as "extra element X in interleave".
  if (startsWith(why, "extra element ") && endsWith(why, " in interleave"))
    why = "it, or something inside it, is not allowed there by schemas/domain.rng";
  return makeError(ErrorCode::XmlError, "The domain XML does not match the xvirt schema at " + where + ": " + why + ".");
}

}  // namespace xvirt::dom
