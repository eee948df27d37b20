// Handlers for `virsh domxml-from-native` and `domxml-to-native`: Xen's own config files ("xen-xl",
// "xen-xm") to and from libvirt domain XML, through DomainDef (domain-xml/XlConfig.h).
#include "domain-xml/DomainXml.h"
#include "domain-xml/XlConfig.h"
#include "driver/LibvirtRules.h"
#include "driver/api/Handlers.h"

namespace xvirt::driver::api {

namespace {

constexpr uint32_t kTextMax = rpc::kXdrStringMax;

struct NativeArgs {
  dom::NativeFormat format;
  std::string text;  // the config or the domain XML
};

// Both procedures take `str nativeFormat; str text; u32 flags`. libvirt answers an unknown format
// with VIR_ERR_INVALID_ARG; "xen-sxpr" (xend's s-expressions) is one libvirt knows but xvirt does not read.
Result<NativeArgs> nativeArgs(Call& c, const char* textWhat, const char* api) {
  std::string format = c.args.str(4096, "native format");
  std::string text = c.args.str(kTextMax, textWhat);
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  XVIRT_TRY(rules::checkFlags(flags, 0, api));
  if (format == "xen-sxpr")
    return makeError(ErrorCode::NoSupport, "The native format 'xen-sxpr' (xend) is not supported; use xen-xl or xen-xm.");
  XVIRT_ASSIGN_OR_RETURN(dom::NativeFormat fmt, dom::parseNativeFormat(format));
  return NativeArgs{fmt, std::move(text)};
}

}  // namespace

Status connectDomainXmlFromNative(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(NativeArgs a, nativeArgs(c, "native config", "virConnectDomainXMLFromNative"));
  XVIRT_ASSIGN_OR_RETURN(dom::DomainDef def, dom::parseXlConfig(a.text, a.format));
  c.ret.str(dom::formatDomainXml(def, dom::kFormatInactive | dom::kFormatSecure));
  return okStatus();
}

Status connectDomainXmlToNative(Call& c) {
  XVIRT_ASSIGN_OR_RETURN(NativeArgs a, nativeArgs(c, "domain XML", "virConnectDomainXMLToNative"));
  XVIRT_ASSIGN_OR_RETURN(dom::DomainDef def, dom::parseDomainXml(a.text, dom::kParseInactive));
  XVIRT_ASSIGN_OR_RETURN(std::string native, dom::formatXlConfig(def, a.format));
  c.ret.str(native);
  return okStatus();
}

}  // namespace xvirt::driver::api
