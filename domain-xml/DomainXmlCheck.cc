// Defaults libvirt's libxl driver fills in, and the semantic checks no schema can express.
#include <algorithm>
#include <set>

#include "domain-xml/DomainXml.h"
#include "domain-xml/DomainXmlParser.h"
#include "domain-xml/DomainXmlValues.h"

namespace xvirt::dom {

namespace {
const char* osTypeName(OsType t) {
  switch (t) {
    case OsType::PV: return "PV";
    case OsType::HVM: return "HVM";
    case OsType::PVH: return "PVH";
  }
  return "?";
}
const char* defaultMachine(OsType t) {
  switch (t) {
    case OsType::PV: return "xenpv";
    case OsType::HVM: return "xenfv";
    case OsType::PVH: return "xenpvh";
  }
  return "";
}
}  // namespace

Status DomainXmlParser::applyDefaultsAndCheck() {
  if (def_.name.empty()) return xmlError("The <domain> has no <name>, and every domain needs one.");
  XVIRT_TRY(checkDomainName(def_.name));
  if (!haveUuid_) def_.uuid = Uuid::generate();
  XVIRT_TRY(checkMemory());
  XVIRT_TRY(checkVcpus());
  XVIRT_TRY(checkOs());
  XVIRT_TRY(checkDevices());
  return okStatus();
}

Status DomainXmlParser::checkMemory() {
  if (!haveMemory_) return xmlError("The <domain> has no <memory>, so its size is unknown.");
  if (def_.memoryKib == 0) return xmlError("The <memory> of the domain is 0, but a guest needs memory.");
  if (!haveCurrentMemory_) def_.currentMemoryKib = def_.memoryKib;
  if (def_.currentMemoryKib == 0) return xmlError("The <currentMemory> of the domain is 0, but a guest needs memory.");
  if (def_.currentMemoryKib > def_.memoryKib)
    return xmlError("The <currentMemory> of " + std::to_string(def_.currentMemoryKib) + " KiB is larger than the <memory> of " +
                    std::to_string(def_.memoryKib) + " KiB it may balloon up to.");
  if (def_.maxMemoryKib && *def_.maxMemoryKib < def_.memoryKib)
    return xmlError("The <maxMemory> of " + std::to_string(*def_.maxMemoryKib) + " KiB is smaller than the <memory> of " +
                    std::to_string(def_.memoryKib) + " KiB.");
  // Xen tracks guest memory in 4 KiB pages with a 32-bit page count per allocation call (16 TiB).
  constexpr uint64_t kXenMaxKib = 16ull << 30;
  if (def_.memoryKib > kXenMaxKib)
    return xmlError("The <memory> of " + std::to_string(def_.memoryKib) + " KiB is larger than the 16 TiB a Xen guest can have.");
  return okStatus();
}

Status DomainXmlParser::checkVcpus() {
  for (const auto& pin : def_.vcpupins)
    if (pin.vcpu >= def_.vcpu.max)
      return xmlError("A <vcpupin> names vCPU " + std::to_string(pin.vcpu) + ", but the domain has only " +
                      std::to_string(def_.vcpu.max) + " vCPUs.");
  if (def_.vcpu.current && *def_.vcpu.current == def_.vcpu.max) def_.vcpu.current.reset();
  return okStatus();
}

Status DomainXmlParser::checkOs() {
  auto& os = def_.os;
  if (os.machine.empty()) os.machine = defaultMachine(os.type);
  if (os.machine != defaultMachine(os.type)) {
    if (os.machine == "xenpv" || os.machine == "xenfv" || os.machine == "xenpvh")
      return xmlError(std::string("The machine '") + os.machine + "' of <os><type> does not fit a " + osTypeName(os.type) +
                      " guest, which uses machine '" + defaultMachine(os.type) + "'.");
    return unsupportedError("The machine '" + os.machine + "' of <os><type> is not one of xenpv, xenfv and xenpvh.");
  }
  if (def_.isPV() && os.kernel.empty() && def_.bootloader.empty()) def_.bootloader = kDefaultBootloader;
  // pygrub cannot start a PVH guest, so there is no default to fall back on.
  if (def_.isPVH() && os.kernel.empty() && def_.bootloader.empty())
    return xmlError("The <os> of a PVH guest has no <kernel>, and without a <bootloader> Xen cannot boot it.");
  if (def_.isHVM()) {
    if (os.loader.empty()) os.loader = kDefaultHvmLoader;
    if (os.bootDevs.empty()) os.bootDevs.push_back("hd");
  }
  if (!os.initrd.empty() && os.kernel.empty())
    return xmlError("The <os> has an <initrd> but no <kernel> to go with it.");
  if (!def_.isHVM() && !os.loader.empty() && def_.isPV())
    return xmlError("The <os> of a PV guest has a <loader>, which only HVM guests use.");
  return okStatus();
}

Status DomainXmlParser::checkDevices() {
  std::set<std::string> targets;
  for (const auto& d : def_.disks) {
    if (!targets.insert(d.targetDev).second)
      return xmlError("The disk target '" + d.targetDev + "' is used by more than one <disk>.");
    if (!def_.isHVM() && d.targetBus != "xen")
      return unsupportedError("The disk target '" + d.targetDev + "' uses the " + d.targetBus +
                              " bus, but PV and PVH guests only have xen disks (xvd*).");
  }
  std::set<std::string> macs;
  for (const auto& n : def_.interfaces) {
    if (!macs.insert(n.mac).second)
      return xmlError("The MAC address '" + n.mac + "' is used by more than one <interface>.");
    if (!def_.isHVM() && !n.model.empty() && n.model != "netfront")
      return unsupportedError("The interface model '" + n.model + "' needs an emulated NIC, which only HVM guests have.");
  }
  if (!def_.isHVM() && !def_.serials.empty())
    return unsupportedError("A <serial> device needs an emulated serial port, which only HVM guests have; use <console>.");
  std::set<int> ports;
  for (const auto& s : def_.serials)
    if (!ports.insert(s.targetPort).second)
      return xmlError("The serial port " + std::to_string(s.targetPort) + " is used by more than one <serial>.");
  // libvirt's compatibility rule: on HVM the first console may just mirror the first serial port.
  if (def_.isHVM() && !def_.consoles.empty() &&
      (def_.consoles[0].targetType == "serial" || def_.consoles[0].targetType.empty())) {
    ChardevDef first = def_.consoles[0];
    def_.consoles.erase(def_.consoles.begin());
    if (def_.serials.empty()) {
      first.kind = ChardevDef::Kind::Serial;
      first.targetType.clear();
      def_.serials.push_back(std::move(first));
    }
  }
  for (auto& c : def_.consoles) {
    if (c.targetType.empty()) c.targetType = "xen";
    if (c.targetType == "serial")
      return unsupportedError("A <console> with target type 'serial' needs an HVM guest with a <serial>; use target type 'xen'.");
  }
  for (auto& in : def_.inputs) {
    if (in.bus.empty()) in.bus = !def_.isHVM() ? "xen" : (in.type == "tablet" ? "usb" : "ps2");
    if (in.type == "tablet" && in.bus != "usb")
      return unsupportedError("A tablet <input> needs bus='usb', not bus='" + in.bus + "'.");
    if (in.bus != "xen" && !def_.isHVM())
      return unsupportedError("An <input> on bus '" + in.bus + "' needs an HVM guest; PV and PVH guests use bus='xen'.");
  }
  for (auto& v : def_.videos) {
    if (!v.heads) v.heads = 1;
    // libvirt's libxl driver defaults for qemu-xen: 16 MiB for vga/xen, 8 MiB for cirrus.
    if (!v.vram && def_.isHVM()) v.vram = v.model == "cirrus" ? 8192 : 16384;
  }
  if (!def_.memballoonModel) def_.memballoonModel = "xen";
  return okStatus();
}

}  // namespace xvirt::dom
