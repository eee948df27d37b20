// Top-level domain XML parsing: <domain> and its children other than <devices>.
#include <algorithm>
#include <set>

#include "common/Strings.h"
#include "domain-xml/DomainXml.h"
#include "domain-xml/DomainXmlNode.h"
#include "domain-xml/DomainXmlParser.h"
#include "domain-xml/DomainXmlValues.h"

namespace xvirt::dom {

namespace {


// Harmless top-level elements: libvirt knows them, xvirt does not act on them, and the guest is the
// same either way (labels, host-side tuning, power-management hints). Kept verbatim.
constexpr std::string_view kKeptTop[] = {
    "genid", "blkiotune", "memtune", "resource", "sysinfo", "cpu",
    "on_lockfailure", "pm", "perf", "seclabel", "keywrap"};
// Elements whose being ignored would change the guest (memory backing, NUMA, I/O threads...).
constexpr std::string_view kRejectedTop[] = {
    "memoryBacking", "vcpus", "iothreads", "iothreadids", "defaultiothread", "numatune", "idmap",
    "launchSecurity", "throttlegroups"};
constexpr std::string_view kRejectedOs[] = {
    "firmware", "nvram", "dtb", "root", "init", "initarg", "initenv", "initdir", "inituser",
    "initgroup", "shim", "bootmenu", "smbios", "bios", "acpi"};
constexpr std::string_view kKeptFeatures[] = {
    "pmu", "vmport", "vmcoreinfo", "privnet", "pvspinlock", "kvm"};
constexpr std::string_view kRejectedFeatures[] = {
    "hyperv", "smm", "gic", "ioapic", "hpt", "htm", "nested-hv", "msrs", "ccf-assist", "xen",
    "cfpc", "sbbc", "ibs", "tcg", "async-teardown", "ras", "ps2", "aia", "capabilities"};
constexpr const char* kLibvirtXenNamespace = "http://libvirt.org/schemas/domain/xen/1.0";

}  // namespace

Error xmlError(std::string message) { return makeError(ErrorCode::XmlError, std::move(message)); }
Error unsupportedError(std::string message) {
  return makeError(ErrorCode::ConfigUnsupported, std::move(message));
}
Error rejectedElement(const xmlNode* node) {
  return unsupportedError("Element " + describe(node) +
                          " is not supported by xvirt, and ignoring it would change the guest.");
}
Error unknownElement(const xmlNode* node, const std::string& parent) {
  return xmlError("Element " + describe(node) + " is not a libvirt domain XML element inside <" + parent +
                  ">.");
}

Result<bool> parseYesNo(const std::string& value, const std::string& what, bool onOff) {
  if (value == "yes" || (onOff && value == "on")) return true;
  if (value == "no" || (onOff && value == "off")) return false;
  return xmlError("The value '" + value + "' of " + what + " is not " + (onOff ? "'on' or 'off'." : "'yes' or 'no'."));
}

Result<DomainDef> DomainXmlParser::parse(xmlNode* root) {
  if (nodeName(root) == "domain" && root->ns)
    return xmlError("The <domain> element is in the namespace '" + std::string(reinterpret_cast<const char*>(root->ns->href)) +
                    "', but libvirt domain XML uses no namespace for it.");
  if (nodeName(root) != "domain" || root->ns)
    return xmlError("The root element is " + describe(root) + ", but domain XML starts with <domain>.");
  auto type = attrOpt(root, "type");
  if (!type) return xmlError("The <domain> element has no type attribute; xvirt needs type='xen'.");
  if (*type != "xen")
    return unsupportedError("The domain type '" + *type + "' is not supported; xvirt runs Xen guests with type='xen'.");
  if (auto id = attrOpt(root, "id"); id && !(flags_ & kParseInactive)) {
    auto v = parseInt(trim(*id));
    if (!v || *v < -1 || *v > 0x7FEF)
      return xmlError("The id '" + *id + "' of <domain> is not a Xen domain id between 0 and 32751.");
    def_.id = static_cast<int>(*v);
  }
  std::set<std::string> seen;
  for (xmlNode* child : elementChildren(root)) {
    std::string name = nodeName(child);
    if (inNamespace(child, nullptr) && !contains(kKeptTop, name)) {
      if (!seen.insert(name).second)
        return xmlError("Element " + describe(child) + " appears more than once in <domain>.");
    }
    XVIRT_TRY(parseTopLevel(child));
  }
  XVIRT_TRY(applyDefaultsAndCheck());
  return std::move(def_);
}

Status DomainXmlParser::parseTopLevel(xmlNode* child) {
  std::string name = nodeName(child);
  if (inNamespace(child, kXvirtNamespace)) return parseXvirt(child);
  if (inNamespace(child, kLibvirtXenNamespace) || (child->ns && child->ns->href &&
                                                   std::string_view(reinterpret_cast<const char*>(child->ns->href))
                                                           .find("libvirt.org/schemas/domain/") != std::string_view::npos))
    return rejectedElement(child);
  if (child->ns)
    return xmlError("Element " + describe(child) + " is in the namespace '" +
                    reinterpret_cast<const char*>(child->ns->href) +
                    "', which xvirt does not know; put such data inside <metadata>.");
  if (name == "name") {
    def_.name = nodeText(child);
  } else if (name == "uuid") {
    std::string text(trim(nodeText(child)));
    auto uuid = Uuid::parse(text);
    if (!uuid) return xmlError("The <uuid> '" + text + "' at line " + std::to_string(lineOf(child)) + " is not a UUID.");
    def_.uuid = *uuid;
    haveUuid_ = true;
  } else if (name == "title") {
    def_.title = nodeText(child);
    if (def_.title.find('\n') != std::string::npos)
      return xmlError("The <title> at line " + std::to_string(lineOf(child)) + " spans several lines, but a title is one line.");
  } else if (name == "description") {
    def_.description = nodeText(child);
  } else if (name == "metadata") {
    std::string out;
    for (xmlNode* m : elementChildren(child)) {
      if (!out.empty()) out += "\n";
      out += dumpVerbatim(m);
    }
    def_.metadataXml = out;
  } else if (name == "memory" || name == "currentMemory" || name == "maxMemory") {
    return parseMemory(child);
  } else if (name == "vcpu") {
    return parseVcpu(child);
  } else if (name == "cputune") {
    return parseCputune(child);
  } else if (name == "bootloader") {
    def_.bootloader = std::string(trim(nodeText(child)));
  } else if (name == "bootloader_args") {
    def_.bootloaderArgs = nodeText(child);
  } else if (name == "os") {
    return parseOs(child);
  } else if (name == "features") {
    return parseFeatures(child);
  } else if (name == "clock") {
    return parseClock(child);
  } else if (name == "on_poweroff") {
    return parseLifecycle(child, def_.onPoweroff, false);
  } else if (name == "on_reboot") {
    return parseLifecycle(child, def_.onReboot, false);
  } else if (name == "on_crash") {
    return parseLifecycle(child, def_.onCrash, true);
  } else if (name == "devices") {
    return parseDevices(child);
  } else if (contains(kKeptTop, name)) {
    def_.keptTopLevelXml.push_back(dumpVerbatim(child));
  } else if (contains(kRejectedTop, name)) {
    return rejectedElement(child);
  } else {
    return unknownElement(child, "domain");
  }
  return okStatus();
}

Status DomainXmlParser::parseMemory(xmlNode* node) {
  std::string name = nodeName(node);
  std::string what = "<" + name + "> at line " + std::to_string(lineOf(node));
  XVIRT_ASSIGN_OR_RETURN(uint64_t kib, parseScaledKib(nodeText(node), attr(node, "unit"), what));
  if (name == "memory") {
    def_.memoryKib = kib;
    haveMemory_ = true;
  } else if (name == "currentMemory") {
    def_.currentMemoryKib = kib;
    haveCurrentMemory_ = true;
  } else {
    auto slots = attrOpt(node, "slots");
    auto n = slots ? parseUint(trim(*slots)) : std::nullopt;
    if (!n || *n == 0 || *n > 255)
      return xmlError("The slots attribute of " + what + " must be a number from 1 to 255.");
    def_.maxMemoryKib = kib;
    def_.maxMemorySlots = static_cast<unsigned>(*n);
  }
  return okStatus();
}

Status DomainXmlParser::parseVcpu(xmlNode* node) {
  std::string what = "<vcpu> at line " + std::to_string(lineOf(node));
  auto max = parseUint(trim(nodeText(node)));
  if (!max || *max == 0 || *max > 512)
    return xmlError("The vCPU count '" + std::string(trim(nodeText(node))) + "' of " + what +
                    " is not a number from 1 to 512.");
  def_.vcpu.max = static_cast<unsigned>(*max);
  if (auto cur = attrOpt(node, "current")) {
    auto n = parseUint(trim(*cur));
    if (!n || *n == 0 || *n > *max)
      return xmlError("The current attribute '" + *cur + "' of " + what + " is not a number from 1 to the " +
                      std::to_string(*max) + " vCPUs the domain has.");
    def_.vcpu.current = static_cast<unsigned>(*n);
  }
  if (auto placement = attrOpt(node, "placement")) {
    if (*placement == "static") def_.vcpu.placement = VcpuPlacement::Static;
    else if (*placement == "auto") def_.vcpu.placement = VcpuPlacement::Auto;
    else return xmlError("The placement '" + *placement + "' of " + what + " is not 'static' or 'auto'.");
  }
  if (auto cpuset = attrOpt(node, "cpuset")) {
    XVIRT_ASSIGN_OR_RETURN(def_.vcpu.cpuset, canonicalCpuset(*cpuset, what));
  }
  // libvirt: with placement='auto' the host decides, so a cpuset would be misleading.
  if (def_.vcpu.placement == VcpuPlacement::Auto) def_.vcpu.cpuset.clear();
  return okStatus();
}

Status DomainXmlParser::parseCputune(xmlNode* node) {
  for (xmlNode* c : elementChildren(node)) {
    if (nodeName(c) != "vcpupin" || c->ns) return rejectedElement(c);
    std::string what = describe(c);
    auto vcpu = parseUint(trim(attr(c, "vcpu")));
    if (!vcpu || *vcpu >= 512) return xmlError("The vcpu attribute of " + what + " is not a vCPU number.");
    auto cpuset = attrOpt(c, "cpuset");
    if (!cpuset) return xmlError("Element " + what + " has no cpuset attribute.");
    VcpuPin pin;
    pin.vcpu = static_cast<unsigned>(*vcpu);
    XVIRT_ASSIGN_OR_RETURN(pin.cpuset, canonicalCpuset(*cpuset, what));
    for (const auto& p : def_.vcpupins)
      if (p.vcpu == pin.vcpu)
        return xmlError("Element " + what + " pins vCPU " + std::to_string(pin.vcpu) + " a second time.");
    def_.vcpupins.push_back(pin);
  }
  return okStatus();
}

Status DomainXmlParser::parseOs(xmlNode* node) {
  if (attrOpt(node, "firmware"))
    return unsupportedError("The firmware attribute of <os> at line " + std::to_string(lineOf(node)) +
                            " is not supported; name the firmware with <loader>.");
  bool haveType = false;
  for (xmlNode* c : elementChildren(node)) {
    std::string name = nodeName(c);
    if (c->ns) return unknownElement(c, "os");
    if (name == "type") {
      haveType = true;
      std::string t(trim(nodeText(c)));
      if (t == "linux" || t == "xen") def_.os.type = OsType::PV;
      else if (t == "hvm") def_.os.type = OsType::HVM;
      else if (t == "xenpvh") def_.os.type = OsType::PVH;
      else
        return unsupportedError("The OS type '" + t + "' of " + describe(c) +
                                " is not one of linux, xen (PV), hvm and xenpvh.");
      if (auto arch = attrOpt(c, "arch")) {
        if (*arch != "x86_64" && *arch != "i686")
          return unsupportedError("The arch '" + *arch + "' of " + describe(c) + " is not x86_64 or i686.");
        def_.os.arch = *arch;
      }
      def_.os.machine = attr(c, "machine");
    } else if (name == "loader") {
      def_.os.loader = std::string(trim(nodeText(c)));
      def_.os.loaderType = attr(c, "type");
      if (!def_.os.loaderType.empty() && def_.os.loaderType != "rom" && def_.os.loaderType != "pflash")
        return xmlError("The type '" + def_.os.loaderType + "' of " + describe(c) + " is not 'rom' or 'pflash'.");
      if (auto ro = attrOpt(c, "readonly")) {
        XVIRT_ASSIGN_OR_RETURN(def_.os.loaderReadonly, parseYesNo(*ro, "the readonly attribute of " + describe(c)));
      }
    } else if (name == "kernel") {
      def_.os.kernel = std::string(trim(nodeText(c)));
    } else if (name == "initrd") {
      def_.os.initrd = std::string(trim(nodeText(c)));
    } else if (name == "cmdline") {
      def_.os.cmdline = nodeText(c);
    } else if (name == "boot") {
      std::string dev = attr(c, "dev");
      if (dev != "hd" && dev != "cdrom" && dev != "network" && dev != "fd")
        return xmlError("The dev '" + dev + "' of " + describe(c) + " is not hd, cdrom, network or fd.");
      if (std::find(def_.os.bootDevs.begin(), def_.os.bootDevs.end(), dev) != def_.os.bootDevs.end())
        return xmlError("Element " + describe(c) + " names boot device '" + dev + "' a second time.");
      def_.os.bootDevs.push_back(dev);
    } else if (contains(kRejectedOs, name)) {
      return rejectedElement(c);
    } else {
      return unknownElement(c, "os");
    }
  }
  if (!haveType) return xmlError("The <os> element at line " + std::to_string(lineOf(node)) + " has no <type>.");
  return okStatus();
}

Status DomainXmlParser::parseFeatures(xmlNode* node) {
  auto& f = def_.features;
  for (xmlNode* c : elementChildren(node)) {
    std::string name = nodeName(c);
    if (c->ns) return unknownElement(c, "features");
    if (name == "pae") f.pae = true;
    else if (name == "acpi") f.acpi = true;
    else if (name == "viridian") f.viridian = true;
    else if (name == "apic") {
      if (attrOpt(c, "eoi")) return unsupportedError("The eoi attribute of " + describe(c) + " is not supported by Xen.");
      f.apic = true;
    } else if (name == "hap") {
      f.hap = true;
      if (auto state = attrOpt(c, "state")) {
        XVIRT_ASSIGN_OR_RETURN(f.hap, parseYesNo(*state, "the state attribute of " + describe(c), true));
      }
    } else if (name == "hpet") {
      return xmlError("Element " + describe(c) +
                      " is not a libvirt feature; write <clock><timer name='hpet' present='yes'/></clock>.");
    } else if (contains(kKeptFeatures, name)) {
      f.keptXml.push_back(dumpVerbatim(c));
    } else if (contains(kRejectedFeatures, name)) {
      return rejectedElement(c);
    } else {
      return unknownElement(c, "features");
    }
  }
  return okStatus();
}

Status DomainXmlParser::parseClock(xmlNode* node) {
  auto& clock = def_.clock;
  std::string what = "<clock> at line " + std::to_string(lineOf(node));
  clock.offset = attrOpt(node, "offset").value_or("utc");
  auto adjustment = attrOpt(node, "adjustment");
  if (clock.offset == "utc" || clock.offset == "localtime") {
    if (adjustment) {
      if (*adjustment != "reset")
        return xmlError("The adjustment '" + *adjustment + "' of " + what + " must be 'reset' with offset='" +
                        clock.offset + "'.");
      clock.adjustmentReset = true;
    }
  } else if (clock.offset == "variable") {
    auto v = parseInt(trim(adjustment.value_or("0")));
    if (!v) return xmlError("The adjustment '" + *adjustment + "' of " + what + " is not a number of seconds.");
    clock.adjustment = *v;
    clock.basis = attrOpt(node, "basis").value_or("utc");
    if (clock.basis != "utc" && clock.basis != "localtime")
      return xmlError("The basis '" + clock.basis + "' of " + what + " is not 'utc' or 'localtime'.");
  } else if (clock.offset == "timezone") {
    clock.timezone = attr(node, "timezone");
    if (clock.timezone.empty()) return xmlError("Element " + what + " has offset='timezone' but no timezone attribute.");
  } else {
    return xmlError("The offset '" + clock.offset + "' of " + what + " is not utc, localtime, variable or timezone.");
  }
  for (xmlNode* c : elementChildren(node)) {
    if (nodeName(c) != "timer" || c->ns) return unknownElement(c, "clock");
    if (attr(c, "name") == "hpet") {
      auto present = attrOpt(c, "present");
      def_.features.hpet = true;
      if (present) {
        XVIRT_ASSIGN_OR_RETURN(def_.features.hpet, parseYesNo(*present, "the present attribute of " + describe(c)));
      }
    } else {
      clock.timersXml.push_back(dumpVerbatim(c));
    }
  }
  return okStatus();
}

Status DomainXmlParser::parseLifecycle(xmlNode* node, LifecycleAction& out, bool crash) {
  std::string text(trim(nodeText(node)));
  auto action = lifecycleActionFromName(text);
  if (!action || (!crash && (*action == LifecycleAction::CoredumpDestroy ||
                                  *action == LifecycleAction::CoredumpRestart)))
    return xmlError("The action '" + text + "' of " + describe(node) + " is not one of destroy, restart, " +
                    "rename-restart, preserve" + (crash ? ", coredump-destroy, coredump-restart." : "."));
  out = *action;
  return okStatus();
}

Status DomainXmlParser::parseXvirt(xmlNode* node) {
  std::string name = nodeName(node);
  if (name == "device_models") return parseDeviceModels(node);
  if (name == "stubdomain") return parseStubdomain(node);
  return xmlError("Element " + describe(node) + " is not an xvirt element; xvirt knows device_models and stubdomain.");
}

Status DomainXmlParser::parseDeviceModels(xmlNode* node) {
  for (xmlNode* m : elementChildren(node)) {
    if (!inNamespace(m, kXvirtNamespace) || nodeName(m) != "device_model")
      return unknownElement(m, "xvirt:device_models");
    DeviceModelDef dm;
    dm.name = attr(m, "name");
    if (dm.name.empty()) return xmlError("Element " + describe(m) + " has no name attribute.");
    for (const auto& d : def_.deviceModels)
      if (d.name == dm.name) return xmlError("Element " + describe(m) + " repeats the device model name '" + dm.name + "'.");
    if (auto ui = attrOpt(m, "ui")) { XVIRT_ASSIGN_OR_RETURN(dm.ui, parseYesNo(*ui, "the ui attribute of " + describe(m))); }
    if (auto ide = attrOpt(m, "ide")) { XVIRT_ASSIGN_OR_RETURN(dm.ide, parseYesNo(*ide, "the ide attribute of " + describe(m))); }
    for (xmlNode* c : elementChildren(m)) {
      std::string cn = nodeName(c);
      if (!inNamespace(c, kXvirtNamespace)) return unknownElement(c, "xvirt:device_model");
      if (cn == "vif" || cn == "disk") {
        std::string v = attr(c, "name");
        if (v.empty()) return xmlError("Element " + describe(c) + " has no name attribute.");
        (cn == "vif" ? dm.vifs : dm.disks).push_back(v);
      } else if (cn == "option") {
        auto v = attrOpt(c, "value");
        if (!v || v->empty()) return xmlError("Element " + describe(c) + " has no value attribute.");
        dm.options.push_back(*v);
      } else {
        return unknownElement(c, "xvirt:device_model");
      }
    }
    def_.deviceModels.push_back(std::move(dm));
  }
  return okStatus();
}

Status DomainXmlParser::parseStubdomain(xmlNode* node) {
  StubdomDef stub;
  stub.override = attr(node, "override");
  if (!stub.override.empty() && stub.override != "0" && stub.override != "1")
    return xmlError("The override attribute '" + stub.override + "' of " + describe(node) + " is not '0' or '1'.");
  for (xmlNode* c : elementChildren(node)) {
    std::string cn = nodeName(c);
    if (!inNamespace(c, kXvirtNamespace)) return unknownElement(c, "xvirt:stubdomain");
    if (cn == "kernel") stub.kernel = std::string(trim(nodeText(c)));
    else if (cn == "ramdisk") stub.ramdisk = std::string(trim(nodeText(c)));
    else if (cn == "cmdline") stub.cmdline = nodeText(c);
    else if (cn == "memory") {
      XVIRT_ASSIGN_OR_RETURN(uint64_t kib, parseScaledKib(nodeText(c), attr(c, "unit"), describe(c)));
      if (kib == 0) return xmlError("The size of " + describe(c) + " must be greater than zero.");
      stub.memoryKib = kib;
    } else {
      return unknownElement(c, "xvirt:stubdomain");
    }
  }
  def_.stubdom = std::move(stub);
  return okStatus();
}

}  // namespace xvirt::dom
