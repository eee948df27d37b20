// <devices> parsing: every device kind xvirt drives, harmless kept devices, and refusals.
#include <arpa/inet.h>

#include <algorithm>

#include "common/Strings.h"
#include "domain-xml/DomainXml.h"
#include "domain-xml/DomainXmlNode.h"
#include "domain-xml/DomainXmlParser.h"
#include "domain-xml/DomainXmlValues.h"

namespace xvirt::dom {

namespace {


// Device elements of libvirt's schema that would change the guest if ignored.
constexpr std::string_view kRejectedDevices[] = {
    "hostdev", "filesystem", "sound", "redirdev", "smartcard", "tpm", "parallel", "channel",
    "watchdog", "rng", "panic", "shmem", "memory", "iommu", "vsock", "crypto", "hub", "lease",
    "redirfilter", "audio", "pstore", "nvram"};
// Children of a device that only say where libvirt placed it: harmless, kept verbatim.
constexpr std::string_view kKeptDeviceChildren[] = {"address", "alias"};

}  // namespace

Status DomainXmlParser::parseDevices(xmlNode* node) {
  bool haveEmulator = false, haveBalloon = false;
  for (xmlNode* c : elementChildren(node)) {
    std::string name = nodeName(c);
    if (c->ns) return unknownElement(c, "devices");
    if (name == "emulator") {
      if (haveEmulator) return xmlError("Element " + describe(c) + " appears more than once in <devices>.");
      haveEmulator = true;
      def_.emulator = std::string(trim(nodeText(c)));
    } else if (name == "disk") {
      XVIRT_TRY(parseDisk(c));
    } else if (name == "interface") {
      XVIRT_TRY(parseInterface(c));
    } else if (name == "console") {
      XVIRT_TRY(parseChardev(c, ChardevDef::Kind::Console));
    } else if (name == "serial") {
      XVIRT_TRY(parseChardev(c, ChardevDef::Kind::Serial));
    } else if (name == "graphics") {
      XVIRT_TRY(parseGraphics(c));
    } else if (name == "input") {
      XVIRT_TRY(parseInput(c));
    } else if (name == "video") {
      XVIRT_TRY(parseVideo(c));
    } else if (name == "memballoon") {
      if (haveBalloon) return xmlError("Element " + describe(c) + " appears more than once in <devices>.");
      haveBalloon = true;
      XVIRT_TRY(parseMemballoon(c));
    } else if (name == "controller") {
      // Controllers are implied by the disks on Xen (xenbus, the emulated IDE/USB buses).
      def_.keptDeviceXml.push_back(dumpVerbatim(c));
    } else if (contains(kRejectedDevices, name)) {
      return rejectedElement(c);
    } else {
      return unknownElement(c, "devices");
    }
  }
  return okStatus();
}

Status DomainXmlParser::parseDisk(xmlNode* node) {
  DiskDef disk;
  std::string what = describe(node);
  disk.type = attrOpt(node, "type").value_or("file");
  if (disk.type != "file" && disk.type != "block")
    return unsupportedError("The disk type '" + disk.type + "' of " + what + " is not supported; use 'file' or 'block'.");
  disk.device = attrOpt(node, "device").value_or("disk");
  if (disk.device != "disk" && disk.device != "cdrom")
    return unsupportedError("The disk device '" + disk.device + "' of " + what + " is not supported; use 'disk' or 'cdrom'.");
  bool haveTarget = false;
  for (xmlNode* c : elementChildren(node)) {
    std::string name = nodeName(c);
    if (inNamespace(c, kXvirtNamespace) && name == "script") {
      disk.script = attr(c, "path");
      if (disk.script.empty()) return xmlError("Element " + describe(c) + " has no path attribute.");
      continue;
    }
    if (c->ns) return unknownElement(c, "disk");
    if (name == "driver") {
      disk.driverName = attr(c, "name");
      disk.driverType = attr(c, "type");
      if (!disk.driverName.empty() && !contains({"phy", "file", "qemu", "tap", "tap2"}, disk.driverName))
        return unsupportedError("The driver name '" + disk.driverName + "' of " + describe(c) +
                                " is not one of phy, file, qemu, tap and tap2.");
      if (!disk.driverType.empty() && !contains({"raw", "qcow", "qcow2", "vhd"}, disk.driverType))
        return unsupportedError("The driver type '" + disk.driverType + "' of " + describe(c) +
                                " is not one of raw, qcow, qcow2 and vhd.");
    } else if (name == "source") {
      const char* key = disk.type == "file" ? "file" : "dev";
      auto src = attrOpt(c, key);
      if (!src || src->empty())
        return xmlError("Element " + describe(c) + " of a " + disk.type + " disk needs a " + key + " attribute.");
      disk.source = *src;
    } else if (name == "target") {
      haveTarget = true;
      disk.targetDev = attr(c, "dev");
      disk.targetBus = attr(c, "bus");
      if (!isValidDiskTarget(disk.targetDev))
        return xmlError("The target dev '" + disk.targetDev + "' of " + describe(c) +
                        " is not a Xen disk name such as xvda, hdc or sdb.");
      if (!disk.targetBus.empty() && !contains({"xen", "ide", "scsi"}, disk.targetBus))
        return unsupportedError("The target bus '" + disk.targetBus + "' of " + describe(c) + " is not xen, ide or scsi.");
    } else if (name == "readonly") {
      disk.readonly = true;
    } else if (name == "shareable") {
      disk.shareable = true;
    } else if (contains(kKeptDeviceChildren, name)) {
      disk.keptXml.push_back(dumpVerbatim(c));
    } else if (contains({"boot", "backingStore", "iotune", "encryption", "auth", "blockio", "geometry",
                         "serial", "wwn", "vendor", "product", "transient", "mirror", "throttlefilters"},
                        name)) {
      return rejectedElement(c);
    } else {
      return unknownElement(c, "disk");
    }
  }
  if (!haveTarget) return xmlError("Element " + what + " has no <target>.");
  if (disk.source.empty() && disk.device != "cdrom")
    return xmlError("Element " + what + " has no <source>; only a cdrom may be empty.");
  if (disk.driverName == "phy" && !disk.driverType.empty() && disk.driverType != "raw")
    return unsupportedError("Element " + what + " uses the phy driver with format '" + disk.driverType +
                            "', but phy only serves raw disks.");
  if (disk.targetBus.empty()) disk.targetBus = busForDiskTarget(disk.targetDev);
  // xl's default disk format is raw, and libvirt's libxl driver writes it out.
  if (disk.driverType.empty()) disk.driverType = "raw";
  def_.disks.push_back(std::move(disk));
  return okStatus();
}

Status DomainXmlParser::parseInterface(xmlNode* node) {
  InterfaceDef nic;
  std::string what = describe(node);
  nic.type = attrOpt(node, "type").value_or("");
  if (nic.type != "bridge" && nic.type != "ethernet" && nic.type != "network")
    return unsupportedError("The interface type '" + nic.type + "' of " + what +
                            " is not supported; use bridge, ethernet or network.");
  for (xmlNode* c : elementChildren(node)) {
    std::string name = nodeName(c);
    if (c->ns) return unknownElement(c, "interface");
    if (name == "mac") {
      XVIRT_ASSIGN_OR_RETURN(nic.mac, parseMac(attr(c, "address")));
    } else if (name == "source") {
      if (nic.type == "ethernet") return xmlError("Element " + describe(c) + " has no meaning for an ethernet interface.");
      const char* key = nic.type == "bridge" ? "bridge" : "network";
      nic.source = attr(c, key);
      if (nic.source.empty()) return xmlError("Element " + describe(c) + " has no " + key + " attribute.");
    } else if (name == "script") {
      nic.script = attr(c, "path");
      if (nic.script.empty()) return xmlError("Element " + describe(c) + " has no path attribute.");
    } else if (name == "model") {
      nic.model = attr(c, "type");
      if (!contains({"netfront", "e1000", "rtl8139"}, nic.model))
        return unsupportedError("The model '" + nic.model + "' of " + describe(c) + " is not netfront, e1000 or rtl8139.");
    } else if (name == "target") {
      nic.target = attr(c, "dev");
      if ((flags_ & kParseInactive) && isLiveVifName(nic.target)) nic.target.clear();
    } else if (name == "ip") {
      if (!nic.ip.empty()) return unsupportedError("Element " + describe(c) + " is a second <ip>; Xen takes one address per interface.");
      nic.ip = attr(c, "address");
      unsigned char buf[16];
      if (inet_pton(AF_INET, nic.ip.c_str(), buf) != 1 && inet_pton(AF_INET6, nic.ip.c_str(), buf) != 1)
        return xmlError("The address '" + nic.ip + "' of " + describe(c) + " is not an IPv4 or IPv6 address.");
      if (attrOpt(c, "prefix") || attrOpt(c, "peer"))
        return unsupportedError("Element " + describe(c) + " has a prefix or peer, which Xen interfaces do not take.");
    } else if (contains(kKeptDeviceChildren, name)) {
      nic.keptXml.push_back(dumpVerbatim(c));
    } else if (contains({"virtualport", "bandwidth", "filterref", "link", "mtu", "backenddomain", "driver",
                         "boot", "rom", "vlan", "port", "coalesce", "tune", "teaming", "guest", "backend",
                         "route", "downscript", "portForward", "acpi", "trustGuestRxFilters"},
                        name)) {
      return rejectedElement(c);
    } else {
      return unknownElement(c, "interface");
    }
  }
  if (nic.type != "ethernet" && nic.source.empty())
    return xmlError("Element " + what + " of type '" + nic.type + "' has no <source>.");
  if (nic.mac.empty()) nic.mac = generateXenMac();
  def_.interfaces.push_back(std::move(nic));
  return okStatus();
}

Status DomainXmlParser::parseChardev(xmlNode* node, ChardevDef::Kind kind) {
  ChardevDef chr;
  chr.kind = kind;
  std::string what = describe(node);
  chr.type = attrOpt(node, "type").value_or("pty");
  if (!contains({"pty", "file", "null", "stdio", "tcp"}, chr.type))
    return unsupportedError("The character device type '" + chr.type + "' of " + what +
                            " is not supported; use pty, file, null, stdio or tcp.");
  bool live = !(flags_ & kParseInactive);
  if (chr.type == "pty" && live) chr.path = attr(node, "tty");
  for (xmlNode* c : elementChildren(node)) {
    std::string name = nodeName(c);
    if (c->ns) return unknownElement(c, nodeName(node));
    if (name == "source") {
      if (chr.type == "pty") {
        if (live && attrOpt(c, "path")) chr.path = attr(c, "path");
      } else if (chr.type == "file") {
        chr.path = attr(c, "path");
      } else if (chr.type == "tcp") {
        chr.host = attr(c, "host");
        chr.service = attr(c, "service");
        chr.mode = attrOpt(c, "mode").value_or("connect");
        if (chr.mode != "bind" && chr.mode != "connect")
          return xmlError("The mode '" + chr.mode + "' of " + describe(c) + " is not 'bind' or 'connect'.");
        auto port = parseUint(chr.service);
        if (!port || *port == 0 || *port > 65535)
          return xmlError("The service '" + chr.service + "' of " + describe(c) + " is not a TCP port number.");
      }
    } else if (name == "protocol") {
      chr.protocol = attr(c, "type");
      if (chr.protocol != "raw" && chr.protocol != "telnet")
        return xmlError("The protocol '" + chr.protocol + "' of " + describe(c) + " is not 'raw' or 'telnet'.");
    } else if (name == "target") {
      chr.targetType = attr(c, "type");
      if (auto port = attrOpt(c, "port")) {
        auto p = parseUint(trim(*port));
        if (!p || *p > 63) return xmlError("The port '" + *port + "' of " + describe(c) + " is not a number from 0 to 63.");
        chr.targetPort = static_cast<int>(*p);
      }
      bool ok = kind == ChardevDef::Kind::Console ? contains({"", "xen", "serial"}, chr.targetType)
                                                  : contains({"", "isa-serial"}, chr.targetType);
      if (!ok)
        return unsupportedError("The target type '" + chr.targetType + "' of " + describe(c) + " is not supported; use " +
                                (kind == ChardevDef::Kind::Console ? "xen or serial." : "isa-serial."));
      for (xmlNode* m : elementChildren(c))
        if (nodeName(m) != "model" || attr(m, "name") != "isa-serial") return unknownElement(m, "target");
    } else if (contains(kKeptDeviceChildren, name)) {
      continue;  // aliases and addresses of consoles are recomputed by whoever needs them
    } else if (name == "log") {
      return rejectedElement(c);
    } else {
      return unknownElement(c, nodeName(node));
    }
  }
  if (chr.type == "file" && chr.path.empty())
    return xmlError("Element " + what + " of type 'file' has no <source path=...>.");
  if (chr.type == "tcp") {
    if (chr.service.empty()) return xmlError("Element " + what + " of type 'tcp' has no <source service=...>.");
    if (chr.protocol.empty()) chr.protocol = "raw";
  }
  (kind == ChardevDef::Kind::Console ? def_.consoles : def_.serials).push_back(std::move(chr));
  return okStatus();
}

Status DomainXmlParser::parseGraphics(xmlNode* node) {
  GraphicsDef g;
  std::string what = describe(node);
  g.type = attr(node, "type");
  if (g.type != "vnc" && g.type != "sdl")
    return unsupportedError("The graphics type '" + g.type + "' of " + what + " is not supported; use vnc or sdl.");
  for (const auto& other : def_.graphics)
    if (other.type == g.type) return unsupportedError("Element " + what + " is a second " + g.type + " display; Xen offers one.");
  if (g.type == "sdl") {
    g.display = attr(node, "display");
    g.xauth = attr(node, "xauth");
    g.port = -1;
    g.autoport = false;
    if (!elementChildren(node).empty()) return unknownElement(elementChildren(node)[0], "graphics");
    def_.graphics.push_back(std::move(g));
    return okStatus();
  }
  auto port = attrOpt(node, "port");
  g.autoport = true;
  g.port = -1;
  if (port) {
    auto p = parseInt(trim(*port));
    if (!p || (*p != -1 && (*p < 5900 || *p > 65535)))
      return xmlError("The port '" + *port + "' of " + what + " is not -1 or a VNC port from 5900 to 65535.");
    g.port = static_cast<int>(*p);
    g.autoport = g.port == -1;
  }
  if (auto autoport = attrOpt(node, "autoport")) {
    XVIRT_ASSIGN_OR_RETURN(g.autoport, parseYesNo(*autoport, "the autoport attribute of " + what));
  }
  if (g.autoport && (flags_ & kParseInactive)) g.port = -1;
  if (!g.autoport && g.port == -1) return xmlError("Element " + what + " has autoport='no' but no port.");
  g.listen = attr(node, "listen");
  g.keymap = attr(node, "keymap");
  g.passwd = attr(node, "passwd");
  bool haveListen = false;
  for (xmlNode* c : elementChildren(node)) {
    if (c->ns || nodeName(c) != "listen") return unknownElement(c, "graphics");
    if (haveListen) return unsupportedError("Element " + describe(c) + " is a second <listen>; xvirt listens on one address.");
    haveListen = true;
    std::string type = attr(c, "type");
    if (type != "address")
      return unsupportedError("The listen type '" + type + "' of " + describe(c) + " is not supported; use type='address'.");
    std::string addr = attr(c, "address");
    if (!g.listen.empty() && !addr.empty() && addr != g.listen)
      return xmlError("The address '" + addr + "' of " + describe(c) + " differs from the listen attribute '" + g.listen +
                      "' of its <graphics>.");
    if (!addr.empty()) g.listen = addr;
  }
  def_.graphics.push_back(std::move(g));
  return okStatus();
}

Status DomainXmlParser::parseInput(xmlNode* node) {
  InputDef in;
  std::string what = describe(node);
  in.type = attr(node, "type");
  in.bus = attr(node, "bus");
  if (!contains({"mouse", "tablet", "keyboard"}, in.type))
    return unsupportedError("The input type '" + in.type + "' of " + what + " is not mouse, tablet or keyboard.");
  if (!in.bus.empty() && !contains({"xen", "ps2", "usb"}, in.bus))
    return unsupportedError("The input bus '" + in.bus + "' of " + what + " is not xen, ps2 or usb.");
  for (xmlNode* c : elementChildren(node)) {
    if (c->ns || !contains(kKeptDeviceChildren, nodeName(c))) return unknownElement(c, "input");
    in.keptXml.push_back(dumpVerbatim(c));
  }
  def_.inputs.push_back(std::move(in));
  return okStatus();
}

Status DomainXmlParser::parseVideo(xmlNode* node) {
  VideoDef v;
  bool haveModel = false;
  for (xmlNode* c : elementChildren(node)) {
    std::string name = nodeName(c);
    if (c->ns) return unknownElement(c, "video");
    if (name == "model") {
      haveModel = true;
      v.model = attr(c, "type");
      if (!contains({"cirrus", "vga", "xen"}, v.model))
        return unsupportedError("The video model '" + v.model + "' of " + describe(c) + " is not cirrus, vga or xen.");
      for (const char* key : {"vram", "heads"}) {
        if (auto s = attrOpt(c, key)) {
          auto n = parseUint(trim(*s));
          if (!n || *n == 0 || *n > (1u << 20))
            return xmlError("The " + std::string(key) + " '" + *s + "' of " + describe(c) + " is not a positive number.");
          (std::string(key) == "vram" ? v.vram : v.heads) = static_cast<unsigned>(*n);
        }
      }
    } else if (name == "alias" || name == "address" || name == "driver") {
      continue;  // placement details libvirt recomputes
    } else {
      return unknownElement(c, "video");
    }
  }
  if (!haveModel) return xmlError("Element " + describe(node) + " has no <model>.");
  def_.videos.push_back(std::move(v));
  return okStatus();
}

Status DomainXmlParser::parseMemballoon(xmlNode* node) {
  std::string model = attr(node, "model");
  if (model != "xen" && model != "none")
    return unsupportedError("The memballoon model '" + model + "' of " + describe(node) + " is not 'xen' or 'none'.");
  for (xmlNode* c : elementChildren(node))
    if (c->ns || !contains(kKeptDeviceChildren, nodeName(c))) return unknownElement(c, "memballoon");
  def_.memballoonModel = model;
  return okStatus();
}

}  // namespace xvirt::dom
