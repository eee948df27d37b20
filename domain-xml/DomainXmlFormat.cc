// Canonical domain XML, element for element as `virsh dumpxml` prints it on a libxl host.
#include <algorithm>
#include <map>

#include "common/Strings.h"
#include "domain-xml/DomainXml.h"
#include "domain-xml/DomainXmlFormatter.h"
#include "domain-xml/DomainXmlNode.h"
#include "domain-xml/DomainXmlValues.h"

namespace xvirt::dom {

void XmlOut::start(int level, std::string_view name, const Attrs& attrs) {
  out_.append(static_cast<size_t>(level) * 2, ' ');
  out_ += '<';
  out_ += name;
  for (const auto& [k, v] : attrs) out_ += " " + k + "='" + xmlEscapeAttr(v) + "'";
}
void XmlOut::openTag(int level, std::string_view name, const Attrs& attrs) {
  start(level, name, attrs);
  out_ += ">\n";
}
void XmlOut::closeTag(int level, std::string_view name) {
  out_.append(static_cast<size_t>(level) * 2, ' ');
  out_ += "</" + std::string(name) + ">\n";
}
void XmlOut::emptyTag(int level, std::string_view name, const Attrs& attrs) {
  start(level, name, attrs);
  out_ += "/>\n";
}
void XmlOut::textTag(int level, std::string_view name, const Attrs& attrs, std::string_view text) {
  start(level, name, attrs);
  out_ += ">" + xmlEscapeText(text) + "</" + std::string(name) + ">\n";
}

namespace {

std::string keptName(const std::string& xml) {
  size_t b = xml.find('<');
  if (b == std::string::npos) return {};
  size_t e = xml.find_first_of(" />\n\t", b + 1);
  return xml.substr(b + 1, e == std::string::npos ? std::string::npos : e - b - 1);
}

// Where each kept top-level element goes, as libvirt orders the children of <domain>.
enum Slot { AfterUuid, AfterMemory, AfterCputune, AfterFeatures, AfterLifecycle, AfterDevices };
const std::map<std::string, std::pair<Slot, int>>& keptSlots() {
  static const std::map<std::string, std::pair<Slot, int>> slots = {
      {"genid", {AfterUuid, 0}},          {"blkiotune", {AfterMemory, 0}}, {"memtune", {AfterMemory, 1}},
      {"resource", {AfterCputune, 0}},    {"sysinfo", {AfterCputune, 1}},  {"cpu", {AfterFeatures, 0}},
      {"on_lockfailure", {AfterLifecycle, 0}}, {"pm", {AfterLifecycle, 1}}, {"perf", {AfterLifecycle, 2}},
      {"seclabel", {AfterDevices, 0}},    {"keywrap", {AfterDevices, 1}}};
  return slots;
}

void writeKept(XmlOut& out, const DomainDef& def, Slot slot) {
  std::vector<std::pair<int, const std::string*>> items;
  for (const auto& xml : def.keptTopLevelXml) {
    auto it = keptSlots().find(keptName(xml));
    auto where = it == keptSlots().end() ? std::make_pair(AfterDevices, 9) : it->second;
    if (where.first == slot) items.emplace_back(where.second, &xml);
  }
  std::stable_sort(items.begin(), items.end(), [](auto& a, auto& b) { return a.first < b.first; });
  for (auto& [rank, xml] : items) out.raw(indentVerbatim(*xml, 1));
}

void writeMemory(XmlOut& out, const DomainDef& def) {
  if (def.maxMemoryKib)
    out.textTag(1, "maxMemory", {{"slots", std::to_string(def.maxMemorySlots)}, {"unit", "KiB"}},
                std::to_string(*def.maxMemoryKib));
  out.textTag(1, "memory", {{"unit", "KiB"}}, std::to_string(def.memoryKib));
  uint64_t current = def.currentMemoryKib ? def.currentMemoryKib : def.memoryKib;
  out.textTag(1, "currentMemory", {{"unit", "KiB"}}, std::to_string(current));
}

void writeVcpus(XmlOut& out, const DomainDef& def) {
  Attrs a{{"placement", def.vcpu.placement == VcpuPlacement::Auto ? "auto" : "static"}};
  if (!def.vcpu.cpuset.empty() && def.vcpu.placement == VcpuPlacement::Static) a.emplace_back("cpuset", def.vcpu.cpuset);
  if (def.vcpu.current && *def.vcpu.current != def.vcpu.max) a.emplace_back("current", std::to_string(*def.vcpu.current));
  out.textTag(1, "vcpu", a, std::to_string(def.vcpu.max));
  if (!def.vcpupins.empty()) {
    out.openTag(1, "cputune", {});
    for (const auto& p : def.vcpupins)
      out.emptyTag(2, "vcpupin", {{"vcpu", std::to_string(p.vcpu)}, {"cpuset", p.cpuset}});
    out.closeTag(1, "cputune");
  }
}

void writeOs(XmlOut& out, const DomainDef& def) {
  if (!def.bootloader.empty()) {
    out.textTag(1, "bootloader", {}, def.bootloader);
    if (!def.bootloaderArgs.empty()) out.textTag(1, "bootloader_args", {}, def.bootloaderArgs);
  }
  const auto& os = def.os;
  out.openTag(1, "os", {});
  const char* type = def.isHVM() ? "hvm" : def.isPVH() ? "xenpvh" : "linux";
  std::string machine = !os.machine.empty() ? os.machine : def.isHVM() ? "xenfv" : def.isPVH() ? "xenpvh" : "xenpv";
  out.textTag(2, "type", {{"arch", os.arch.empty() ? "x86_64" : os.arch}, {"machine", machine}}, type);
  if (!os.loader.empty()) {
    Attrs a;
    if (os.loaderReadonly) a.emplace_back("readonly", "yes");
    if (!os.loaderType.empty()) a.emplace_back("type", os.loaderType);
    out.textTag(2, "loader", a, os.loader);
  }
  if (!os.kernel.empty()) out.textTag(2, "kernel", {}, os.kernel);
  if (!os.initrd.empty()) out.textTag(2, "initrd", {}, os.initrd);
  if (!os.cmdline.empty()) out.textTag(2, "cmdline", {}, os.cmdline);
  for (const auto& dev : os.bootDevs) out.emptyTag(2, "boot", {{"dev", dev}});
  out.closeTag(1, "os");
}

void writeFeatures(XmlOut& out, const DomainDef& def) {
  const auto& f = def.features;
  // pae/acpi/apic/viridian have no "off" spelling in libvirt: absent means off.
  bool any = f.acpi.value_or(false) || f.apic.value_or(false) || f.pae.value_or(false) || f.hap.has_value() ||
             f.viridian.value_or(false) || !f.keptXml.empty();
  if (!any) return;
  out.openTag(1, "features", {});
  if (f.acpi.value_or(false)) out.emptyTag(2, "acpi", {});
  if (f.apic.value_or(false)) out.emptyTag(2, "apic", {});
  if (f.pae.value_or(false)) out.emptyTag(2, "pae", {});
  if (f.hap) out.emptyTag(2, "hap", {{"state", *f.hap ? "on" : "off"}});
  if (f.viridian.value_or(false)) out.emptyTag(2, "viridian", {});
  for (const auto& xml : f.keptXml) out.raw(indentVerbatim(xml, 2));
  out.closeTag(1, "features");
}

void writeClock(XmlOut& out, const DomainDef& def) {
  const auto& c = def.clock;
  std::string offset = c.offset.empty() ? "utc" : c.offset;
  Attrs a{{"offset", offset}};
  if ((offset == "utc" || offset == "localtime") && c.adjustmentReset) a.emplace_back("adjustment", "reset");
  if (offset == "variable") {
    a.emplace_back("adjustment", std::to_string(c.adjustment.value_or(0)));
    a.emplace_back("basis", c.basis.empty() ? "utc" : c.basis);
  }
  if (offset == "timezone") a.emplace_back("timezone", c.timezone);
  if (c.timersXml.empty() && !def.features.hpet) {
    out.emptyTag(1, "clock", a);
    return;
  }
  out.openTag(1, "clock", a);
  for (const auto& t : c.timersXml) out.raw(indentVerbatim(t, 2));
  if (def.features.hpet) out.emptyTag(2, "timer", {{"name", "hpet"}, {"present", *def.features.hpet ? "yes" : "no"}});
  out.closeTag(1, "clock");
}

bool needsXvirtNamespace(const DomainDef& def) {
  if (!def.deviceModels.empty() || def.stubdom) return true;
  return std::any_of(def.disks.begin(), def.disks.end(), [](const DiskDef& d) { return !d.script.empty(); });
}

void writeXvirt(XmlOut& out, const DomainDef& def) {
  if (!def.deviceModels.empty()) {
    out.openTag(1, "xvirt:device_models", {});
    for (const auto& dm : def.deviceModels) {
      Attrs a{{"name", dm.name}};
      if (dm.ui) a.emplace_back("ui", "yes");
      if (dm.ide) a.emplace_back("ide", "yes");
      if (dm.vifs.empty() && dm.disks.empty() && dm.options.empty()) {
        out.emptyTag(2, "xvirt:device_model", a);
        continue;
      }
      out.openTag(2, "xvirt:device_model", a);
      for (const auto& v : dm.vifs) out.emptyTag(3, "xvirt:vif", {{"name", v}});
      for (const auto& d : dm.disks) out.emptyTag(3, "xvirt:disk", {{"name", d}});
      for (const auto& o : dm.options) out.emptyTag(3, "xvirt:option", {{"value", o}});
      out.closeTag(2, "xvirt:device_model");
    }
    out.closeTag(1, "xvirt:device_models");
  }
  if (def.stubdom) {
    const auto& s = *def.stubdom;
    Attrs a;
    if (!s.override.empty()) a.emplace_back("override", s.override);
    if (s.kernel.empty() && s.ramdisk.empty() && s.cmdline.empty() && !s.memoryKib) {
      out.emptyTag(1, "xvirt:stubdomain", a);
      return;
    }
    out.openTag(1, "xvirt:stubdomain", a);
    if (!s.kernel.empty()) out.textTag(2, "xvirt:kernel", {}, s.kernel);
    if (!s.ramdisk.empty()) out.textTag(2, "xvirt:ramdisk", {}, s.ramdisk);
    if (!s.cmdline.empty()) out.textTag(2, "xvirt:cmdline", {}, s.cmdline);
    if (s.memoryKib) out.textTag(2, "xvirt:memory", {{"unit", "KiB"}}, std::to_string(*s.memoryKib));
    out.closeTag(1, "xvirt:stubdomain");
  }
}

}  // namespace

std::string formatDomainXml(const DomainDef& def, unsigned flags) {
  std::string s;
  XmlOut out(s);
  Attrs rootAttrs{{"type", def.type.empty() ? "xen" : def.type}};
  if (def.id >= 0 && !(flags & kFormatInactive)) rootAttrs.emplace_back("id", std::to_string(def.id));
  if (needsXvirtNamespace(def)) rootAttrs.emplace_back("xmlns:xvirt", kXvirtNamespace);
  out.openTag(0, "domain", rootAttrs);
  out.textTag(1, "name", {}, def.name);
  out.textTag(1, "uuid", {}, def.uuid.str());
  writeKept(out, def, AfterUuid);
  if (!def.title.empty()) out.textTag(1, "title", {}, def.title);
  if (!def.description.empty()) out.textTag(1, "description", {}, def.description);
  if (!def.metadataXml.empty()) out.raw(indentMetadata(def.metadataXml, 1));
  writeMemory(out, def);
  writeKept(out, def, AfterMemory);
  writeVcpus(out, def);
  writeKept(out, def, AfterCputune);
  writeOs(out, def);
  writeFeatures(out, def);
  writeKept(out, def, AfterFeatures);
  writeClock(out, def);
  out.textTag(1, "on_poweroff", {}, lifecycleActionName(def.onPoweroff));
  out.textTag(1, "on_reboot", {}, lifecycleActionName(def.onReboot));
  out.textTag(1, "on_crash", {}, lifecycleActionName(def.onCrash));
  writeKept(out, def, AfterLifecycle);
  formatDevices(out, def, flags);
  writeKept(out, def, AfterDevices);
  writeXvirt(out, def);
  out.closeTag(0, "domain");
  return s;
}

}  // namespace xvirt::dom
