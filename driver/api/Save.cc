// Handlers of the save and restore procedures: save and restore with and without flags, managed
// save, and the save-image XML procedures. Each decodes its args struct as remote_protocol.x lays
// it out; flag checks and libvirt's error rules live in the domain manager (DomainSave.cc).
#include "driver/LibvirtRules.h"
#include "driver/api/Args.h"
#include "driver/api/Handlers.h"

namespace xvirt::driver::api {

namespace {

using Dom = DomainRef;
constexpr uint32_t kPathMax = 4096;
constexpr uint32_t kXmlMax = rpc::kXdrStringMax;

}  // namespace

Status domainSave(Call& c) {  // remote_domain_save_args { dom; to; }
  Dom d = Dom::decode(c.args);
  std::string to = c.args.str(kPathMax, "save file");
  XVIRT_TRY(c.args.finish());
  return c.ctx.domains.save(d, to, "", 0);
}

Status domainSaveFlags(Call& c) {  // { dom; to; remote_string dxml; flags; }
  Dom d = Dom::decode(c.args);
  std::string to = c.args.str(kPathMax, "save file");
  auto xml = c.args.optStr(kXmlMax, "domain XML");
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  return c.ctx.domains.save(d, to, xml.value_or(""), flags);
}

Status domainRestore(Call& c) {  // { from; }
  std::string from = c.args.str(kPathMax, "save file");
  XVIRT_TRY(c.args.finish());
  XVIRT_TRY(c.ctx.domains.restore(from, "", 0));
  return okStatus();
}

Status domainRestoreFlags(Call& c) {  // { from; remote_string dxml; flags; }
  std::string from = c.args.str(kPathMax, "save file");
  auto xml = c.args.optStr(kXmlMax, "domain XML");
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  XVIRT_TRY(c.ctx.domains.restore(from, xml.value_or(""), flags));
  return okStatus();
}

Status domainManagedSave(Call& c) {  // { dom; flags; }
  XVIRT_ASSIGN_OR_RETURN(auto a, domFlagsArgs(c));
  return c.ctx.domains.managedSave(a.first, a.second);
}

Status domainHasManagedSaveImage(Call& c) {  // { dom; flags; } -> { result; }
  XVIRT_ASSIGN_OR_RETURN(auto a, domFlagsArgs(c));
  XVIRT_TRY(rules::checkFlags(a.second, 0, "virDomainHasManagedSaveImage"));
  return boolRet(c, c.ctx.domains.hasManagedSave(a.first));
}

Status domainManagedSaveRemove(Call& c) {  // { dom; flags; }
  XVIRT_ASSIGN_OR_RETURN(auto a, domFlagsArgs(c));
  return c.ctx.domains.managedSaveRemove(a.first, a.second);
}

Status domainSaveImageGetXmlDesc(Call& c) {  // { file; flags; } -> { xml; }
  std::string file = c.args.str(kPathMax, "save file");
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  XVIRT_ASSIGN_OR_RETURN(std::string xml, c.ctx.domains.saveImageXml(file, flags));
  c.ret.str(xml);
  return okStatus();
}

Status domainSaveImageDefineXml(Call& c) {  // { file; dxml; flags; }
  std::string file = c.args.str(kPathMax, "save file");
  std::string xml = c.args.str(kXmlMax, "domain XML");
  uint32_t flags = c.args.u32();
  XVIRT_TRY(c.args.finish());
  return c.ctx.domains.saveImageDefineXml(file, xml, flags);
}

}  // namespace xvirt::driver::api
