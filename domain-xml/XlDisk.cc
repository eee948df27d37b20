// xl's disk spec parser. Like libxlu's lexer it walks comma-separated parameters: key=value pairs,
// bare flags, and positional parameters filling target, format, vdev, access in order (target,
// vdev, access once a deprecated format prefix such as phy: has been seen). target= eats the rest.
#include <array>
#include <optional>

#include "common/Strings.h"
#include "domain-xml/VdevName.h"
#include "domain-xml/XlDevices.h"

namespace xvirt::dom {
namespace {

constexpr std::array kFormats = {"raw", "qcow", "qcow2", "vhd", "qed", "empty"};

bool isFormat(std::string_view s) {
  for (const char* f : kFormats)
    if (s == f) return true;
  return false;
}

struct DiskState {
  std::string spec;
  int line = 0;
  std::optional<std::string> target, format, vdev, access, backendtype, script;
  std::string prefixDriver;  // from phy:/file:/tap:/tap2:
  bool hadPrefix = false;
  bool cdrom = false;

  Error err(const std::string& what) const {
    return xlLineError(line, "has the disk '" + spec + "', which " + what);
  }

  Status setOnce(std::optional<std::string>& slot, std::string_view name, std::string value) {
    if (slot) return err("gives " + std::string(name) + " twice");
    slot = std::move(value);
    return okStatus();
  }

  // Strips deprecated prefixes ("phy:", "tap:aio:", "ioemu:") from a positional parameter.
  Result<std::string> stripPrefixes(std::string tok) {
    for (;;) {
      size_t colon = tok.find(':');
      if (colon == std::string::npos) return tok;
      std::string p = tok.substr(0, colon);
      if (p == "phy" || p == "file" || p == "tap" || p == "tap2") {
        prefixDriver = p;
      } else if (p == "aio") {
        format = "raw";
      } else if (p == "raw" || p == "qcow" || p == "qcow2" || p == "vhd") {
        format = p;
      } else if (p == "ioemu" || p == "tapdisk") {
        // ioemu: only told xend to also emulate the disk; xvirt decides that from the vdev.
      } else if (colon + 1 < tok.size() && tok[colon + 1] == '/' && !p.empty() &&
                 p.find('/') == std::string::npos) {
        return err("starts with the unknown prefix '" + p + ":'");
      } else {
        return tok;  // hdc:cdrom, or a path with a colon in it
      }
      hadPrefix = true;
      tok.erase(0, colon + 1);
    }
  }

  Status setVdev(std::string v) {
    size_t colon = v.find(':');
    if (colon != std::string::npos) {
      std::string kind = v.substr(colon + 1);
      if (kind == "cdrom") {
        cdrom = true;
      } else if (kind != "disk") {
        return err("has the unknown device type '" + kind + "' after its vdev");
      }
      v.erase(colon);
    }
    return setOnce(vdev, "vdev", std::move(v));
  }

  // True when a value in the format slot is really a vdev: the legacy form target,vdev,access
  // without a prefix (e.g. ",hdc:cdrom,r" for an empty cdrom, or "/img,xvda,w").
  static bool looksLikeVdev(std::string_view v) {
    std::string_view name = v.substr(0, v.find(':'));
    return !name.empty() && !isFormat(name) && parseVdev(name).ok();
  }

  Status positional(std::string tok) {
    XVIRT_ASSIGN_OR_RETURN(tok, stripPrefixes(std::move(tok)));
    if (!target) {
      target = std::move(tok);
    } else if (!hadPrefix && !format && !vdev) {
      if (tok.empty()) {
        format = std::string();
      } else if (isFormat(tok)) {
        format = std::move(tok);
      } else if (looksLikeVdev(tok)) {
        hadPrefix = true;  // from here on the slots are vdev, access
        return setVdev(std::move(tok));
      } else {
        return err("has the unknown format '" + tok + "'");
      }
    } else if (!vdev) {
      return setVdev(std::move(tok));
    } else if (!access) {
      access = std::move(tok);
    } else {
      return err("has too many positional parameters ('" + tok + "' is one too many)");
    }
    return okStatus();
  }

  Status keyValue(const std::string& key, std::string value) {
    if (key == "format") {
      if (!isFormat(value)) return err("has the unknown format '" + value + "'");
      return setOnce(format, key, std::move(value));
    }
    if (key == "vdev") return setVdev(std::move(value));
    if (key == "access") return setOnce(access, key, std::move(value));
    if (key == "devtype") {
      if (value == "cdrom") {
        cdrom = true;
      } else if (value != "disk") {
        return err("has the unknown devtype '" + value + "'");
      }
      return okStatus();
    }
    if (key == "backendtype") {
      if (value != "phy" && value != "qdisk" && value != "tap")
        return err("has the backendtype '" + value + "', which is not one of phy, qdisk or tap");
      return setOnce(backendtype, key, std::move(value));
    }
    if (key == "script") return setOnce(script, key, std::move(value));
    if (key == "backend")
      return err("sets backend=, and driver domains are not supported");
    return err("has the unknown parameter '" + key + "'");
  }

  Status flag(const std::string& word, bool* handled) {
    *handled = true;
    if (word == "cdrom") {
      cdrom = true;
    } else if (word == "discard" || word == "no-discard" || word == "trusted" || word == "untrusted") {
      // Hints to the backend that do not change what the guest sees.
    } else if (word == "direct-io-safe" || word == "colo") {
      return err("sets '" + word + "', which is not supported");
    } else {
      *handled = false;
    }
    return okStatus();
  }
};

}  // namespace

Result<DiskDef> parseXlDisk(std::string_view spec, int line) {
  DiskState st;
  st.spec = std::string(spec);
  st.line = line;
  size_t pos = 0;
  bool done = spec.empty();
  while (!done) {
    size_t comma = spec.find(',', pos);
    std::string_view raw = spec.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    std::string tok(trim(raw));
    if (startsWith(tok, "target=")) {
      // target= takes the rest of the spec, commas included.
      size_t t = spec.find("target=", pos) + 7;
      XVIRT_TRY(st.setOnce(st.target, "target", std::string(spec.substr(t))));
      break;
    }
    size_t eq = tok.find('=');
    bool handled = false;
    if (eq != std::string::npos && eq > 0 && tok.find('/') > eq) {
      XVIRT_TRY(st.keyValue(std::string(trim(tok.substr(0, eq))), std::string(trim(tok.substr(eq + 1)))));
    } else {
      XVIRT_TRY(st.flag(tok, &handled));
      if (!handled) XVIRT_TRY(st.positional(tok));
    }
    if (comma == std::string_view::npos) done = true;
    pos = comma + 1;
  }

  if (!st.vdev || st.vdev->empty()) return st.err("names no vdev");
  auto vdev = parseVdev(*st.vdev);
  if (!vdev.ok()) {
    // VdevName's sentence ends in the reason ("...is not valid: hd disks stop at hdd."); reuse it.
    const std::string& m = vdev.error().message;
    size_t r = m.find("is not valid: ");
    std::string reason = r == std::string::npos ? "it is not valid" : m.substr(r + 14, m.size() - r - 15);
    return st.err("has the vdev '" + *st.vdev + "', which is not valid: " + reason);
  }

  DiskDef d;
  // libvirt's <target dev> takes names only: d0p1, xvda1 and 51713 all become the canonical name.
  d.targetDev = vdevName(vdev->number).value();
  d.device = st.cdrom ? "cdrom" : "disk";
  d.source = st.target.value_or("");
  std::string format = st.format.value_or("");
  if (format == "empty") {
    if (!d.source.empty()) return st.err("has format=empty but also a target");
    format.clear();
  }
  if (d.source.empty() && !st.cdrom) return st.err("has no target, and only a cdrom may be empty");
  if (!d.source.empty()) d.driverType = format.empty() ? "raw" : format;

  if (st.backendtype) {
    d.driverName = *st.backendtype == "qdisk" ? "qemu" : *st.backendtype;
  } else {
    d.driverName = st.prefixDriver;
  }
  bool block = d.driverName == "phy" || (d.driverName.empty() && startsWith(d.source, "/dev/"));
  d.type = block ? "block" : "file";
  switch (vdev->bus) {
    case VdevBus::Xvd: d.targetBus = "xen"; break;
    case VdevBus::Ide: d.targetBus = "ide"; break;
    case VdevBus::Scsi: d.targetBus = "scsi"; break;
  }

  std::string access = st.access.value_or("");
  if (access == "r" || access == "ro") {
    d.readonly = true;
  } else if (access == "w!") {
    d.shareable = true;
  } else if (!access.empty() && access != "w" && access != "rw") {
    return st.err("has the access mode '" + access + "', which is not one of r, ro, w, rw or w!");
  }
  if (st.cdrom) d.readonly = true;  // Xen's cdroms are always read-only
  d.script = st.script.value_or("");
  return d;
}

Result<std::string> formatXlDisk(const DiskDef& d, NativeFormat format) {
  std::string access = d.readonly ? "r" : (d.shareable ? "w!" : "w");
  if (format == NativeFormat::XenXm) {
    if (d.source.find(',') != std::string::npos)
      return makeError(ErrorCode::ConfigUnsupported, "The disk '" + d.targetDev + "' has the path '" + d.source +
                                                         "', whose comma the xm disk syntax cannot express.");
    // The parser reads a parameter with '=' before any '/' as key=value (parseXlDisk), so such a
    // path, written after its prefix, would come back as an unknown key.
    size_t eq = d.source.find('=');
    if (eq != std::string::npos && d.source.find('/') > eq)
      return makeError(ErrorCode::ConfigUnsupported, "The disk '" + d.targetDev + "' has the path '" + d.source +
                                                         "', whose '=' the xm disk syntax cannot express.");
    std::string out;
    if (!d.source.empty()) {
      std::string type = d.driverType.empty() ? "raw" : d.driverType;
      if (d.driverName == "tap" || d.driverName == "tap2") {
        out = d.driverName + ":" + (type == "raw" ? "aio" : type) + ":";
      } else if (d.driverName == "phy" || d.driverName == "file") {
        out = d.driverName + ":";
      } else if (type != "raw") {
        out = type + ":";
      } else {
        out = d.type == "block" ? "phy:" : "file:";
      }
      out += d.source;
    }
    out += "," + d.targetDev + (d.device == "cdrom" ? ":cdrom" : "") + "," + access;
    return out;
  }
  std::vector<std::string> parts;
  if (d.source.empty()) {
    parts.push_back("format=empty");
  } else if (!d.driverType.empty()) {
    parts.push_back("format=" + d.driverType);
  }
  parts.push_back("vdev=" + d.targetDev);
  parts.push_back(std::string("access=") + (d.readonly ? "ro" : "rw"));
  if (d.device == "cdrom") parts.push_back("devtype=cdrom");
  if (d.driverName == "phy") {
    parts.push_back("backendtype=phy");
  } else if (d.driverName == "qemu") {
    parts.push_back("backendtype=qdisk");
  } else if (d.driverName == "tap" || d.driverName == "tap2") {
    parts.push_back("backendtype=tap");
  }
  if (!d.script.empty()) parts.push_back("script=" + d.script);
  if (!d.source.empty()) parts.push_back("target=" + d.source);
  return join(parts, ", ");
}

}  // namespace xvirt::dom
