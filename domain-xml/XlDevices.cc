// vif, vfb, serial and device_models specs of xl/xm configs. Keys follow xl.cfg(5) and
// xl-network-configuration(5); libvirt's xen_common converter decides the DomainDef mapping.
#include <cctype>

#include "common/Strings.h"
#include "domain-xml/XlDevices.h"

namespace xvirt::dom {

Error xlLineError(int line, const std::string& what) {
  return makeError(ErrorCode::InvalidArgument, "Line " + std::to_string(line) + " of the config " + what + ".");
}

bool isValidMac(std::string_view mac) {
  if (mac.size() != 17) return false;
  for (size_t i = 0; i < mac.size(); ++i) {
    if (i % 3 == 2) {
      if (mac[i] != ':') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(mac[i]))) {
      return false;
    }
  }
  return true;
}

namespace {

struct KeyValue {
  std::string key, value;
  bool bare = false;
};

std::vector<KeyValue> splitSpec(std::string_view spec) {
  std::vector<KeyValue> out;
  for (const auto& part : split(spec, ',')) {
    std::string_view t = trim(part);
    if (t.empty()) continue;
    size_t eq = t.find('=');
    if (eq == std::string_view::npos) {
      out.push_back({std::string(t), {}, true});
    } else {
      out.push_back({std::string(trim(t.substr(0, eq))), std::string(trim(t.substr(eq + 1))), false});
    }
  }
  return out;
}

}  // namespace

Result<InterfaceDef> parseXlVif(std::string_view spec, int line) {
  auto err = [&](const std::string& what) {
    return xlLineError(line, "has the vif '" + std::string(spec) + "', which " + what);
  };
  InterfaceDef nic;
  nic.type = "ethernet";
  for (const auto& kv : splitSpec(spec)) {
    if (kv.bare) return err("has '" + kv.key + "' where key=value was expected");
    if (kv.key == "mac") {
      if (!isValidMac(kv.value)) return err("has the MAC address '" + kv.value + "', which is not six hex pairs");
      nic.mac = toLower(kv.value);
    } else if (kv.key == "bridge") {
      nic.type = "bridge";
      nic.source = kv.value;
    } else if (kv.key == "script") {
      nic.script = kv.value;
    } else if (kv.key == "model") {
      nic.model = kv.value;
    } else if (kv.key == "type") {
      // type=ioemu (xm's emulated NIC) is the HVM default; type=vif/netfront is PV only.
      if (kv.value == "vif" || kv.value == "netfront") {
        if (nic.model.empty()) nic.model = "netfront";
      } else if (kv.value != "ioemu") {
        return err("has the type '" + kv.value + "', which is not one of ioemu, vif or netfront");
      }
    } else if (kv.key == "ip") {
      nic.ip = kv.value;
    } else if (kv.key == "vifname") {
      nic.target = kv.value;
    } else if (kv.key == "accel" || kv.key == "gatewaydev" || kv.key == "devid") {
      // Obsolete (accel) or only meaningful to scripts xvirt does not run with them.
    } else if (kv.key == "backend") {
      return err("sets backend=, and driver domains are not supported");
    } else if (kv.key == "rate") {
      return err("sets rate=, and rate limits are not supported");
    } else {
      return err("has the unknown key '" + kv.key + "'");
    }
  }
  return nic;
}

std::string formatXlVif(const InterfaceDef& nic, NativeFormat format, bool hvm) {
  std::vector<std::string> parts;
  if (!nic.mac.empty()) parts.push_back("mac=" + nic.mac);
  // A libvirt network has no xl spelling; its name is the closest thing to a bridge.
  if ((nic.type == "bridge" || nic.type == "network") && !nic.source.empty()) parts.push_back("bridge=" + nic.source);
  if (!nic.script.empty()) parts.push_back("script=" + nic.script);
  if (hvm) {
    if (nic.model == "netfront") {
      parts.push_back(format == NativeFormat::XenXm ? "type=netfront" : "type=vif");
    } else {
      if (!nic.model.empty()) parts.push_back("model=" + nic.model);
      if (format == NativeFormat::XenXm) parts.push_back("type=ioemu");
    }
  } else if (!nic.model.empty() && nic.model != "netfront") {
    parts.push_back("model=" + nic.model);
  }
  if (!nic.ip.empty()) parts.push_back("ip=" + nic.ip);
  if (!nic.target.empty()) parts.push_back("vifname=" + nic.target);
  return join(parts, ",");
}

Result<GraphicsDef> parseXlVfb(std::string_view spec, int line) {
  auto err = [&](const std::string& what) {
    return xlLineError(line, "has the vfb '" + std::string(spec) + "', which " + what);
  };
  GraphicsDef vnc, sdl;
  sdl.type = "sdl";
  bool isVnc = false, isSdl = false;
  int display = -1;
  bool unused = true;
  for (const auto& kv : splitSpec(spec)) {
    if (kv.bare) return err("has '" + kv.key + "' where key=value was expected");
    if (kv.key == "vnc" || kv.key == "type") {
      if (kv.key == "type" && kv.value == "sdl") isSdl = true;
      else isVnc = kv.value == "1" || kv.value == "vnc";
    } else if (kv.key == "sdl") {
      isSdl = kv.value == "1";
    } else if (kv.key == "vnclisten") {
      vnc.listen = kv.value;
    } else if (kv.key == "vncdisplay") {
      auto n = parseUint(kv.value);
      if (!n || *n > 59635) return err("has the vncdisplay '" + kv.value + "', which is not a display number");
      display = static_cast<int>(*n);
    } else if (kv.key == "vncunused") {
      unused = kv.value != "0";
    } else if (kv.key == "vncpasswd") {
      vnc.passwd = kv.value;
    } else if (kv.key == "keymap") {
      vnc.keymap = sdl.keymap = kv.value;
    } else if (kv.key == "display") {
      sdl.display = kv.value;
    } else if (kv.key == "xauthority") {
      sdl.xauth = kv.value;
    } else if (kv.key == "opengl") {
      // Rendering detail of the SDL window.
    } else {
      return err("has the unknown key '" + kv.key + "'");
    }
  }
  if (isVnc && isSdl) return err("enables both vnc and sdl, which need two vfb entries");
  if (!isVnc && !isSdl) return err("enables neither vnc nor sdl");
  if (isSdl) return sdl;
  vnc.autoport = unused && display < 0;
  if (display >= 0) vnc.port = 5900 + display;
  return vnc;
}

Result<std::string> formatXlVfb(const GraphicsDef& g) {
  std::vector<std::string> parts;
  if (g.type == "sdl") {
    parts.push_back("sdl=1");
    if (!g.display.empty()) parts.push_back("display=" + g.display);
    if (!g.xauth.empty()) parts.push_back("xauthority=" + g.xauth);
  } else {
    parts.push_back("vnc=1");
    if (!g.listen.empty()) parts.push_back("vnclisten=" + g.listen);
    if (g.autoport || g.port < 5900) {
      parts.push_back("vncunused=1");
    } else {
      parts.push_back("vncunused=0");
      parts.push_back("vncdisplay=" + std::to_string(g.port - 5900));
    }
    if (!g.passwd.empty()) parts.push_back("vncpasswd=" + g.passwd);
  }
  if (!g.keymap.empty()) parts.push_back("keymap=" + g.keymap);
  for (const auto& part : parts)
    if (part.find(',') != std::string::npos)
      return makeError(ErrorCode::ConfigUnsupported, "The " + g.type + " display has the value '" + part +
                                                         "', whose comma the xl vfb syntax cannot express.");
  return join(parts, ",");
}

Result<ChardevDef> parseXlSerial(std::string_view spec, int line, bool* present) {
  ChardevDef chr;
  chr.kind = ChardevDef::Kind::Serial;
  chr.targetType.clear();
  *present = true;
  auto err = [&](const std::string& what) {
    return xlLineError(line, "has the serial device '" + std::string(spec) + "', which " + what);
  };
  if (spec == "none") {
    *present = false;
  } else if (spec == "pty" || spec == "null" || spec == "stdio") {
    chr.type = std::string(spec);
  } else if (startsWith(spec, "file:")) {
    chr.type = "file";
    chr.path = std::string(spec.substr(5));
    if (chr.path.empty()) return err("names no file");
  } else if (startsWith(spec, "tcp:") || startsWith(spec, "telnet:")) {
    bool telnet = startsWith(spec, "telnet:");
    chr.type = "tcp";
    chr.protocol = telnet ? "telnet" : "raw";
    auto opts = split(spec.substr(spec.find(':') + 1), ',');
    std::string addr = opts[0];
    size_t colon = addr.rfind(':');
    if (colon == std::string::npos || colon + 1 == addr.size()) return err("has no port");
    chr.host = addr.substr(0, colon);
    chr.service = addr.substr(colon + 1);
    chr.mode = "connect";
    for (size_t i = 1; i < opts.size(); ++i) {
      if (opts[i] == "server") chr.mode = "bind";
      else if (opts[i] != "nowait") return err("has the unknown option '" + opts[i] + "'");
    }
  } else {
    return err("is not one of pty, null, stdio, none, file:PATH, tcp:HOST:PORT or telnet:HOST:PORT");
  }
  return chr;
}

std::string formatXlSerial(const ChardevDef& chr) {
  if (chr.type == "file") return "file:" + chr.path;
  if (chr.type == "tcp") {
    std::string out = (chr.protocol == "telnet" ? "telnet:" : "tcp:") + chr.host + ":" + chr.service;
    if (chr.mode == "bind") out += ",server,nowait";
    return out;
  }
  return chr.type;
}

Result<DeviceModelDef> parseXlDeviceModel(std::string_view spec, int line) {
  auto err = [&](const std::string& what) {
    return xlLineError(line, "has the device model '" + std::string(spec) + "', which " + what);
  };
  DeviceModelDef dm;
  for (const auto& kv : splitSpec(spec)) {
    if (kv.bare) {
      if (kv.key == "ui") dm.ui = true;
      else if (kv.key == "ide") dm.ide = true;
      else dm.options.push_back(kv.key);
    } else if (kv.key == "name") {
      dm.name = kv.value;
    } else if (kv.key == "vifs" || kv.key == "disks") {
      // Several devices are joined with ';' or given by repeating the key.
      auto& list = kv.key == "vifs" ? dm.vifs : dm.disks;
      for (const auto& item : split(kv.value, ';'))
        if (!trim(item).empty()) list.emplace_back(trim(item));
    } else {
      return err("has the unknown key '" + kv.key + "'");
    }
  }
  if (dm.name.empty()) return err("has no name=");
  return dm;
}

std::string formatXlDeviceModel(const DeviceModelDef& dm) {
  std::vector<std::string> parts{"name=" + dm.name};
  if (!dm.vifs.empty()) parts.push_back("vifs=" + join(dm.vifs, ";"));
  if (!dm.disks.empty()) parts.push_back("disks=" + join(dm.disks, ";"));
  if (dm.ui) parts.push_back("ui");
  if (dm.ide) parts.push_back("ide");
  for (const auto& o : dm.options) parts.push_back(o);
  return join(parts, ",");
}

}  // namespace xvirt::dom
