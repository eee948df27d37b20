// DomainManager: a domain's title, description and namespaced <metadata> elements
// (virDomainSetMetadata / virDomainGetMetadata), in the live or the persistent definition.
#include "domain-xml/DomainMetadata.h"
#include "driver/LibvirtRules.h"
#include "driver/domain/DomainManager.h"

namespace xvirt::driver {

namespace {

using rules::invalidArg;

Error unknownType(int type) { return invalidArg("unknown metadata type '" + std::to_string(type) + "'"); }

Error notFound() {
  return makeError(ErrorCode::NoMetadata, "metadata not found: Requested metadata element is not present");
}

}  // namespace

Status DomainManager::setMetadata(const DomainRef& ref, int type, const std::optional<std::string>& metadata,
                                  const std::optional<std::string>& key, const std::optional<std::string>& uri,
                                  unsigned metadataFlags) {
  // The argument checks of libvirt's public virDomainSetMetadata, which raw clients skip.
  switch (type) {
    case flags::kMetadataTitle:
      if (metadata && metadata->find('\n') != std::string::npos) return invalidArg("metadata title can't contain newlines");
      [[fallthrough]];
    case flags::kMetadataDescription:
      if (uri) return invalidArg("uri in virDomainSetMetadata must be NULL");
      if (key) return invalidArg("key in virDomainSetMetadata must be NULL");
      break;
    case flags::kMetadataElement:
      if (!uri) return invalidArg("uri in virDomainSetMetadata must not be NULL");
      if (metadata && !key) return invalidArg("key in virDomainSetMetadata must not be NULL");
      break;
    default:
      break;
  }
  XVIRT_TRY(rules::checkFlags(metadataFlags, affect::kAll, "virDomainSetMetadata"));
  if (type != flags::kMetadataDescription && type != flags::kMetadataTitle && type != flags::kMetadataElement)
    return unknownType(type);

  std::string value = metadata.value_or("");
  XVIRT_TRY(modifyDefinitions(ref, metadataFlags & affect::kAll, "setMetadata",
                              [&](dom::DomainDef& def, bool /*live*/, int /*domid*/) -> Status {
                                if (type == flags::kMetadataTitle) def.title = value;
                                else if (type == flags::kMetadataDescription) def.description = value;
                                else {
                                  XVIRT_ASSIGN_OR_RETURN(def.metadataXml,
                                                         dom::setMetadataElement(def.metadataXml, *uri, key.value_or(""), value));
                                }
                                return okStatus();
                              }));
  if (auto dom = list_.byUuid(ref.uuid)) {
    DomainRef now;
    {
      std::lock_guard lock(dom->mu());
      now = refOf(*dom);
    }
    events_.metadata(now, type, type == flags::kMetadataElement ? uri : std::optional<std::string>{});
  }
  return okStatus();
}

Result<std::string> DomainManager::getMetadata(const DomainRef& ref, int type, const std::optional<std::string>& uri,
                                               unsigned metadataFlags) const {
  if ((type == flags::kMetadataTitle || type == flags::kMetadataDescription) && uri)
    return invalidArg("uri in virDomainGetMetadata must be NULL");
  if (type == flags::kMetadataElement && !uri) return invalidArg("uri in virDomainGetMetadata must not be NULL");
  XVIRT_TRY(rules::checkFlags(metadataFlags, affect::kAll, "virDomainGetMetadata"));
  XVIRT_ASSIGN_OR_RETURN(DomainDefinitions d, definitions(ref));
  XVIRT_ASSIGN_OR_RETURN(bool live, rules::resolveAffectRead(metadataFlags, d.active(), d.persistent.has_value()));
  const dom::DomainDef& def = live && d.live ? *d.live : *d.persistent;
  switch (type) {
    case flags::kMetadataTitle:
      if (def.title.empty()) return notFound();
      return def.title;
    case flags::kMetadataDescription:
      if (def.description.empty()) return notFound();
      return def.description;
    case flags::kMetadataElement: {
      auto element = dom::findMetadataElement(def.metadataXml, *uri);
      if (!element) return notFound();
      return *element;
    }
    default:
      return unknownType(type);
  }
}

}  // namespace xvirt::driver
