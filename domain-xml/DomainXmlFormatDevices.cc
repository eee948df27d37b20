// <devices> in libvirt's order: emulator, disks, controllers, interfaces, serials, consoles, inputs,
// graphics, videos, memballoon.
#include "domain-xml/DomainXml.h"
#include "domain-xml/DomainXmlFormatter.h"
#include "domain-xml/DomainXmlNode.h"
#include "domain-xml/DomainXmlValues.h"

namespace xvirt::dom {

namespace {

void writeKeptChildren(XmlOut& out, const std::vector<std::string>& kept, int level) {
  for (const auto& xml : kept) out.raw(indentVerbatim(xml, level));
}

void writeDisk(XmlOut& out, const DiskDef& d) {
  out.openTag(2, "disk", {{"type", d.type}, {"device", d.device}});
  Attrs drv;
  if (!d.driverName.empty()) drv.emplace_back("name", d.driverName);
  if (!d.driverType.empty()) drv.emplace_back("type", d.driverType);
  if (!drv.empty()) out.emptyTag(3, "driver", drv);
  if (!d.source.empty()) out.emptyTag(3, "source", {{d.type == "block" ? "dev" : "file", d.source}});
  Attrs target{{"dev", d.targetDev}};
  if (!d.targetBus.empty()) target.emplace_back("bus", d.targetBus);
  out.emptyTag(3, "target", target);
  if (d.readonly) out.emptyTag(3, "readonly", {});
  if (d.shareable) out.emptyTag(3, "shareable", {});
  if (!d.script.empty()) out.emptyTag(3, "xvirt:script", {{"path", d.script}});
  writeKeptChildren(out, d.keptXml, 3);
  out.closeTag(2, "disk");
}

void writeInterface(XmlOut& out, const InterfaceDef& n, unsigned flags) {
  out.openTag(2, "interface", {{"type", n.type}});
  if (!n.mac.empty()) out.emptyTag(3, "mac", {{"address", n.mac}});
  if (n.type == "bridge" || n.type == "network") out.emptyTag(3, "source", {{n.type, n.source}});
  if (!n.ip.empty()) out.emptyTag(3, "ip", {{"address", n.ip}});
  if (!n.script.empty()) out.emptyTag(3, "script", {{"path", n.script}});
  if (!n.target.empty() && !((flags & kFormatInactive) && isLiveVifName(n.target)))
    out.emptyTag(3, "target", {{"dev", n.target}});
  if (!n.model.empty()) out.emptyTag(3, "model", {{"type", n.model}});
  writeKeptChildren(out, n.keptXml, 3);
  out.closeTag(2, "interface");
}

void writeChardev(XmlOut& out, const ChardevDef& c, const char* element, const std::string& targetType,
                  unsigned flags) {
  bool live = !(flags & kFormatInactive);
  Attrs a{{"type", c.type}};
  if (c.type == "pty" && live && !c.path.empty()) a.emplace_back("tty", c.path);
  out.openTag(2, element, a);
  if (c.type == "pty" && live && !c.path.empty()) out.emptyTag(3, "source", {{"path", c.path}});
  if (c.type == "file") out.emptyTag(3, "source", {{"path", c.path}});
  if (c.type == "tcp") {
    Attrs s{{"mode", c.mode.empty() ? "connect" : c.mode}};
    if (!c.host.empty()) s.emplace_back("host", c.host);
    s.emplace_back("service", c.service);
    out.emptyTag(3, "source", s);
    out.emptyTag(3, "protocol", {{"type", c.protocol.empty() ? "raw" : c.protocol}});
  }
  Attrs t;
  if (!targetType.empty()) t.emplace_back("type", targetType);
  t.emplace_back("port", std::to_string(c.targetPort));
  out.emptyTag(3, "target", t);
  out.closeTag(2, element);
}

void writeGraphics(XmlOut& out, const GraphicsDef& g, unsigned flags) {
  Attrs a{{"type", g.type}};
  if (g.type == "sdl") {
    if (!g.display.empty()) a.emplace_back("display", g.display);
    if (!g.xauth.empty()) a.emplace_back("xauth", g.xauth);
    out.emptyTag(2, "graphics", a);
    return;
  }
  if (g.port > 0 && (!g.autoport || !(flags & kFormatInactive)))
    a.emplace_back("port", std::to_string(g.port));
  else if (g.autoport)
    a.emplace_back("port", "-1");
  a.emplace_back("autoport", g.autoport ? "yes" : "no");
  if (!g.listen.empty()) a.emplace_back("listen", g.listen);
  if (!g.keymap.empty()) a.emplace_back("keymap", g.keymap);
  if (!g.passwd.empty() && (flags & kFormatSecure)) a.emplace_back("passwd", g.passwd);
  if (g.listen.empty()) {
    out.emptyTag(2, "graphics", a);
    return;
  }
  out.openTag(2, "graphics", a);
  out.emptyTag(3, "listen", {{"type", "address"}, {"address", g.listen}});
  out.closeTag(2, "graphics");
}

}  // namespace

void formatDevices(XmlOut& out, const DomainDef& def, unsigned flags) {
  out.openTag(1, "devices", {});
  if (!def.emulator.empty()) out.textTag(2, "emulator", {}, def.emulator);
  for (const auto& d : def.disks) writeDisk(out, d);
  writeKeptChildren(out, def.keptDeviceXml, 2);
  for (const auto& n : def.interfaces) writeInterface(out, n, flags);
  for (const auto& s : def.serials) writeChardev(out, s, "serial", s.targetType, flags);
  // libvirt shows the first serial port of an HVM guest again as its console.
  if (def.isHVM() && !def.serials.empty()) writeChardev(out, def.serials[0], "console", "serial", flags);
  for (const auto& c : def.consoles)
    writeChardev(out, c, "console", c.targetType.empty() ? "xen" : c.targetType, flags);
  for (const auto& in : def.inputs) {
    Attrs a{{"type", in.type}};
    if (!in.bus.empty()) a.emplace_back("bus", in.bus);
    if (in.keptXml.empty()) {
      out.emptyTag(2, "input", a);
    } else {
      out.openTag(2, "input", a);
      writeKeptChildren(out, in.keptXml, 3);
      out.closeTag(2, "input");
    }
  }
  for (const auto& g : def.graphics) writeGraphics(out, g, flags);
  for (size_t i = 0; i < def.videos.size(); ++i) {
    const auto& v = def.videos[i];
    Attrs a{{"type", v.model}};
    if (v.vram) a.emplace_back("vram", std::to_string(*v.vram));
    if (v.heads) a.emplace_back("heads", std::to_string(*v.heads));
    if (i == 0) a.emplace_back("primary", "yes");
    out.openTag(2, "video", {});
    out.emptyTag(3, "model", a);
    out.closeTag(2, "video");
  }
  if (def.memballoonModel) out.emptyTag(2, "memballoon", {{"model", *def.memballoonModel}});
  out.closeTag(1, "devices");
}

}  // namespace xvirt::dom
