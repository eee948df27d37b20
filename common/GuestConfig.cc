#include "common/GuestConfig.h"

#include <set>

namespace xvirt {
namespace {

Json strList(const std::vector<std::string>& v) {
  Json a = Json::array();
  for (const auto& s : v) a.push(s);
  return a;
}

// Reads one JSON object, remembering which members were read so that unknown ones (typos) are
// reported instead of silently ignored.
class ObjectReader {
 public:
  ObjectReader(const Json& json, std::string path) : json_(json), path_(std::move(path)) {}

  Status checkObject() const {
    if (!json_.isObject()) return typeError(path_.empty() ? "the document" : path_, "an object");
    return okStatus();
  }

  Status str(const char* key, std::string& out, bool required = false) {
    const Json* v = member(key);
    if (!v) return required ? missing(key) : okStatus();
    if (!v->isString()) return typeError(name(key), "a string");
    out = v->asString();
    return okStatus();
  }

  Status oneOf(const char* key, std::string& out, std::initializer_list<const char*> allowed, bool required = false) {
    XVIRT_TRY(str(key, out, required));
    if (!member(key)) return okStatus();
    for (const char* a : allowed)
      if (out == a) return okStatus();
    std::string list;
    for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
    return makeError(ErrorCode::InvalidArgument,
                     "The GuestConfig member '" + name(key) + "' is '" + out + "', which is not one of " + list + ".");
  }

  template <typename T>
  Status uint(const char* key, T& out, bool required = false, uint64_t max = UINT32_MAX) {
    const Json* v = member(key);
    if (!v) return required ? missing(key) : okStatus();
    if (!v->isInt() || v->asInt() < 0 || static_cast<uint64_t>(v->asInt()) > max)
      return typeError(name(key), "a non-negative integer up to " + std::to_string(max));
    out = static_cast<T>(v->asInt());
    return okStatus();
  }

  Status sint(const char* key, int64_t& out, int64_t min, int64_t max) {
    const Json* v = member(key);
    if (!v) return okStatus();
    if (!v->isInt() || v->asInt() < min || v->asInt() > max)
      return typeError(name(key), "an integer from " + std::to_string(min) + " to " + std::to_string(max));
    out = v->asInt();
    return okStatus();
  }

  Status boolean(const char* key, bool& out) {
    const Json* v = member(key);
    if (!v) return okStatus();
    if (!v->isBool()) return typeError(name(key), "true or false");
    out = v->asBool();
    return okStatus();
  }

  Status strings(const char* key, std::vector<std::string>& out) {
    const Json* v = member(key);
    if (!v) return okStatus();
    if (!v->isArray()) return typeError(name(key), "an array of strings");
    out.clear();
    for (size_t i = 0; i < v->asArray().size(); ++i) {
      const Json& item = v->asArray()[i];
      if (!item.isString()) return typeError(name(key) + "[" + std::to_string(i) + "]", "a string");
      out.push_back(item.asString());
    }
    return okStatus();
  }

  // Calls fn(itemJson, itemPath) for each element of an array member.
  template <typename Fn>
  Status array(const char* key, Fn fn) {
    const Json* v = member(key);
    if (!v) return okStatus();
    if (!v->isArray()) return typeError(name(key), "an array");
    for (size_t i = 0; i < v->asArray().size(); ++i)
      XVIRT_TRY(fn(v->asArray()[i], name(key) + "[" + std::to_string(i) + "]"));
    return okStatus();
  }

  const Json* member(const char* key) {
    seen_.insert(key);
    const Json* v = json_.get(key);
    return v && !v->isNull() ? v : nullptr;
  }

  std::string name(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  Status finish() const {
    for (const auto& [k, v] : json_.asObject())
      if (!seen_.count(k))
        return makeError(ErrorCode::InvalidArgument, "The GuestConfig has an unknown member '" + name(k) + "'.");
    return okStatus();
  }

 private:
  Status missing(const char* key) const {
    return makeError(ErrorCode::InvalidArgument, "The GuestConfig lacks the required member '" + name(key) + "'.");
  }
  static Error typeError(const std::string& member, const std::string& what) {
    return makeError(ErrorCode::InvalidArgument, "The GuestConfig member '" + member + "' must be " + what + ".");
  }

  const Json& json_;
  std::string path_;
  std::set<std::string> seen_;
};

template <typename T, typename Fn>
Status readItem(const Json& json, const std::string& path, std::vector<T>& out, Fn fill) {
  ObjectReader r(json, path);
  XVIRT_TRY(r.checkObject());
  T item;
  XVIRT_TRY(fill(r, item));
  XVIRT_TRY(r.finish());
  out.push_back(std::move(item));
  return okStatus();
}

}  // namespace

Json GuestConfig::toJson() const {
  Json j = Json::object();
  j.set("version", kVersion);
  j.set("name", name);
  j.set("uuid", uuid);
  j.set("kind", kind);
  j.set("memoryKib", memoryKib);
  j.set("maxMemoryKib", maxMemoryKib);
  j.set("maxVcpus", maxVcpus);
  j.set("onlineVcpus", onlineVcpus);
  Json aff = Json::array();
  for (const auto& cpus : affinity) {
    Json a = Json::array();
    for (unsigned c : cpus) a.push(c);
    aff.push(std::move(a));
  }
  j.set("affinity", std::move(aff));
  j.set("kernel", kernel);
  j.set("ramdisk", ramdisk);
  j.set("cmdline", cmdline);
  j.set("bootloader", bootloader);
  j.set("bootloaderArgs", bootloaderArgs);
  j.set("firmware", firmware);
  j.set("firmwareType", firmwareType);
  j.set("bootOrder", strList(bootOrder));
  j.set("features", Json::object({{"pae", features.pae},
                                  {"acpi", features.acpi},
                                  {"apic", features.apic},
                                  {"hap", features.hap},
                                  {"viridian", features.viridian},
                                  {"hpet", features.hpet}}));
  j.set("localtime", localtime);
  j.set("rtcOffset", static_cast<long long>(rtcOffset));
  j.set("onPoweroff", onPoweroff);
  j.set("onReboot", onReboot);
  j.set("onCrash", onCrash);
  j.set("deviceModel", deviceModel);
  Json ds = Json::array();
  for (const auto& d : disks)
    ds.push(Json::object({{"vdev", d.vdev},
                          {"vdevNumber", d.vdevNumber},
                          {"backend", d.backend},
                          {"format", d.format},
                          {"path", d.path},
                          {"mode", d.mode},
                          {"cdrom", d.cdrom},
                          {"readonly", d.readonly},
                          {"shareable", d.shareable},
                          {"script", d.script}}));
  j.set("disks", std::move(ds));
  Json ns = Json::array();
  for (const auto& n : nics)
    ns.push(Json::object({{"devid", n.devid},
                          {"mac", n.mac},
                          {"bridge", n.bridge},
                          {"script", n.script},
                          {"model", n.model},
                          {"ip", n.ip},
                          {"vifname", n.vifname}}));
  j.set("nics", std::move(ns));
  Json cs = Json::array();
  for (const auto& c : chardevs) {
    Json o = Json::object({{"kind", c.kind}, {"port", c.port}, {"type", c.type}, {"path", c.path}});
    if (c.type == "tcp") {
      o.set("host", c.host);
      o.set("service", c.service);
      o.set("mode", c.mode);
      o.set("protocol", c.protocol);
    }
    cs.push(std::move(o));
  }
  j.set("chardevs", std::move(cs));
  Json gs = Json::array();
  for (const auto& g : graphics) {
    Json o = Json::object({{"type", g.type}});
    if (g.type == "vnc") {
      o.set("listen", g.listen);
      o.set("port", g.port);
      o.set("passwd", g.passwd);
    } else {
      o.set("display", g.display);
      o.set("xauthority", g.xauthority);
    }
    o.set("keymap", g.keymap);
    gs.push(std::move(o));
  }
  j.set("graphics", std::move(gs));
  Json dms = Json::array();
  for (const auto& dm : deviceModels)
    dms.push(Json::object({{"name", dm.name},
                           {"vifs", strList(dm.vifs)},
                           {"disks", strList(dm.disks)},
                           {"ui", dm.ui},
                           {"ide", dm.ide},
                           {"options", strList(dm.options)}}));
  j.set("deviceModels", std::move(dms));
  if (stubdom) {
    j.set("stubdom", Json::object({{"enabled", stubdom->enabled},
                                   {"kernel", stubdom->kernel},
                                   {"ramdisk", stubdom->ramdisk},
                                   {"cmdline", stubdom->cmdline},
                                   {"memoryKib", stubdom->memoryKib}}));
  } else {
    j.set("stubdom", nullptr);
  }
  return j;
}

Result<GuestConfig> GuestConfig::fromJson(const Json& json) {
  GuestConfig g;
  ObjectReader r(json, "");
  XVIRT_TRY(r.checkObject());
  int version = 0;
  XVIRT_TRY(r.uint("version", version, true));
  if (version != kVersion)
    return makeError(ErrorCode::InvalidArgument, "The GuestConfig has version " + std::to_string(version) +
                                                     ", and this helper reads version " + std::to_string(kVersion) + ".");
  XVIRT_TRY(r.str("name", g.name, true));
  if (g.name.empty()) return makeError(ErrorCode::InvalidArgument, "The GuestConfig member 'name' is empty.");
  XVIRT_TRY(r.str("uuid", g.uuid));
  XVIRT_TRY(r.oneOf("kind", g.kind, {"pv", "hvm", "pvh"}, true));
  XVIRT_TRY(r.uint("memoryKib", g.memoryKib, true, UINT64_C(1) << 52));
  g.maxMemoryKib = g.memoryKib;
  XVIRT_TRY(r.uint("maxMemoryKib", g.maxMemoryKib, false, UINT64_C(1) << 52));
  if (g.memoryKib == 0) return makeError(ErrorCode::InvalidArgument, "The GuestConfig member 'memoryKib' is 0.");
  if (g.maxMemoryKib < g.memoryKib)
    return makeError(ErrorCode::InvalidArgument, "The GuestConfig member 'maxMemoryKib' is below 'memoryKib'.");
  XVIRT_TRY(r.uint("maxVcpus", g.maxVcpus, false, 4096));
  g.onlineVcpus = g.maxVcpus;
  XVIRT_TRY(r.uint("onlineVcpus", g.onlineVcpus, false, 4096));
  if (g.maxVcpus == 0 || g.onlineVcpus == 0 || g.onlineVcpus > g.maxVcpus)
    return makeError(ErrorCode::InvalidArgument,
                     "The GuestConfig members 'onlineVcpus' and 'maxVcpus' must satisfy 1 <= onlineVcpus <= maxVcpus.");
  XVIRT_TRY(r.array("affinity", [&](const Json& item, const std::string& path) -> Status {
    if (!item.isArray()) return makeError(ErrorCode::InvalidArgument, "The GuestConfig member '" + path + "' must be an array of CPU numbers.");
    std::vector<unsigned> cpus;
    for (const auto& c : item.asArray()) {
      if (!c.isInt() || c.asInt() < 0 || c.asInt() >= 4096)
        return makeError(ErrorCode::InvalidArgument, "The GuestConfig member '" + path + "' must hold CPU numbers from 0 to 4095.");
      cpus.push_back(static_cast<unsigned>(c.asInt()));
    }
    g.affinity.push_back(std::move(cpus));
    return okStatus();
  }));
  if (g.affinity.size() > g.maxVcpus)
    return makeError(ErrorCode::InvalidArgument, "The GuestConfig member 'affinity' has more entries than 'maxVcpus'.");
  XVIRT_TRY(r.str("kernel", g.kernel));
  XVIRT_TRY(r.str("ramdisk", g.ramdisk));
  XVIRT_TRY(r.str("cmdline", g.cmdline));
  XVIRT_TRY(r.str("bootloader", g.bootloader));
  XVIRT_TRY(r.str("bootloaderArgs", g.bootloaderArgs));
  XVIRT_TRY(r.str("firmware", g.firmware));
  XVIRT_TRY(r.oneOf("firmwareType", g.firmwareType, {"", "rom", "pflash"}));
  XVIRT_TRY(r.strings("bootOrder", g.bootOrder));
  for (size_t i = 0; i < g.bootOrder.size(); ++i) {
    const auto& b = g.bootOrder[i];
    if (b != "hd" && b != "cdrom" && b != "network" && b != "fd")
      return makeError(ErrorCode::InvalidArgument, "The GuestConfig member 'bootOrder[" + std::to_string(i) + "]' is '" +
                                                       b + "', which is not one of hd, cdrom, network, fd.");
  }
  if (const Json* f = r.member("features")) {
    ObjectReader fr(*f, "features");
    XVIRT_TRY(fr.checkObject());
    XVIRT_TRY(fr.boolean("pae", g.features.pae));
    XVIRT_TRY(fr.boolean("acpi", g.features.acpi));
    XVIRT_TRY(fr.boolean("apic", g.features.apic));
    XVIRT_TRY(fr.boolean("hap", g.features.hap));
    XVIRT_TRY(fr.boolean("viridian", g.features.viridian));
    XVIRT_TRY(fr.boolean("hpet", g.features.hpet));
    XVIRT_TRY(fr.finish());
  }
  XVIRT_TRY(r.boolean("localtime", g.localtime));
  XVIRT_TRY(r.sint("rtcOffset", g.rtcOffset, -(INT64_C(1) << 40), INT64_C(1) << 40));
  auto actions = {"destroy", "restart", "preserve", "rename-restart", "coredump-destroy", "coredump-restart"};
  XVIRT_TRY(r.oneOf("onPoweroff", g.onPoweroff, actions));
  XVIRT_TRY(r.oneOf("onReboot", g.onReboot, actions));
  XVIRT_TRY(r.oneOf("onCrash", g.onCrash, actions));
  XVIRT_TRY(r.str("deviceModel", g.deviceModel));
  XVIRT_TRY(r.array("disks", [&](const Json& item, const std::string& path) {
    return readItem(item, path, g.disks, [](ObjectReader& d, GuestDisk& disk) -> Status {
      XVIRT_TRY(d.str("vdev", disk.vdev, true));
      XVIRT_TRY(d.uint("vdevNumber", disk.vdevNumber, true, (UINT64_C(2) << 28) - 1));
      XVIRT_TRY(d.oneOf("backend", disk.backend, {"phy", "qdisk"}, true));
      XVIRT_TRY(d.oneOf("format", disk.format, {"raw", "qcow", "qcow2", "vhd", "qed", "empty"}));
      XVIRT_TRY(d.str("path", disk.path));
      XVIRT_TRY(d.oneOf("mode", disk.mode, {"r", "w"}));
      XVIRT_TRY(d.boolean("cdrom", disk.cdrom));
      XVIRT_TRY(d.boolean("readonly", disk.readonly));
      XVIRT_TRY(d.boolean("shareable", disk.shareable));
      XVIRT_TRY(d.str("script", disk.script));
      if ((disk.mode == "r") != disk.readonly)
        return makeError(ErrorCode::InvalidArgument,
                         "The GuestConfig member '" + d.name("mode") + "' disagrees with '" + d.name("readonly") + "'.");
      return okStatus();
    });
  }));
  XVIRT_TRY(r.array("nics", [&](const Json& item, const std::string& path) {
    return readItem(item, path, g.nics, [](ObjectReader& n, GuestNic& nic) -> Status {
      XVIRT_TRY(n.uint("devid", nic.devid, true));
      XVIRT_TRY(n.str("mac", nic.mac, true));
      XVIRT_TRY(n.str("bridge", nic.bridge));
      XVIRT_TRY(n.str("script", nic.script));
      XVIRT_TRY(n.str("model", nic.model));
      XVIRT_TRY(n.str("ip", nic.ip));
      XVIRT_TRY(n.str("vifname", nic.vifname));
      return okStatus();
    });
  }));
  XVIRT_TRY(r.array("chardevs", [&](const Json& item, const std::string& path) {
    return readItem(item, path, g.chardevs, [](ObjectReader& c, GuestChardev& chr) -> Status {
      XVIRT_TRY(c.oneOf("kind", chr.kind, {"console", "serial"}, true));
      XVIRT_TRY(c.uint("port", chr.port));
      XVIRT_TRY(c.oneOf("type", chr.type, {"pty", "file", "null", "stdio", "tcp"}, true));
      XVIRT_TRY(c.str("path", chr.path));
      XVIRT_TRY(c.str("host", chr.host));
      XVIRT_TRY(c.str("service", chr.service));
      XVIRT_TRY(c.str("mode", chr.mode));
      XVIRT_TRY(c.str("protocol", chr.protocol));
      return okStatus();
    });
  }));
  XVIRT_TRY(r.array("graphics", [&](const Json& item, const std::string& path) {
    return readItem(item, path, g.graphics, [](ObjectReader& o, GuestGraphics& gfx) -> Status {
      XVIRT_TRY(o.oneOf("type", gfx.type, {"vnc", "sdl"}, true));
      XVIRT_TRY(o.str("listen", gfx.listen));
      int64_t port = -1;
      XVIRT_TRY(o.sint("port", port, -1, 65535));
      gfx.port = static_cast<int>(port);
      XVIRT_TRY(o.str("passwd", gfx.passwd));
      XVIRT_TRY(o.str("keymap", gfx.keymap));
      XVIRT_TRY(o.str("display", gfx.display));
      XVIRT_TRY(o.str("xauthority", gfx.xauthority));
      return okStatus();
    });
  }));
  XVIRT_TRY(r.array("deviceModels", [&](const Json& item, const std::string& path) {
    return readItem(item, path, g.deviceModels, [](ObjectReader& o, GuestDeviceModel& dm) -> Status {
      XVIRT_TRY(o.str("name", dm.name, true));
      XVIRT_TRY(o.strings("vifs", dm.vifs));
      XVIRT_TRY(o.strings("disks", dm.disks));
      XVIRT_TRY(o.boolean("ui", dm.ui));
      XVIRT_TRY(o.boolean("ide", dm.ide));
      XVIRT_TRY(o.strings("options", dm.options));
      return okStatus();
    });
  }));
  if (const Json* s = r.member("stubdom")) {
    ObjectReader sr(*s, "stubdom");
    XVIRT_TRY(sr.checkObject());
    GuestStubdom st;
    XVIRT_TRY(sr.boolean("enabled", st.enabled));
    XVIRT_TRY(sr.str("kernel", st.kernel));
    XVIRT_TRY(sr.str("ramdisk", st.ramdisk));
    XVIRT_TRY(sr.str("cmdline", st.cmdline));
    XVIRT_TRY(sr.uint("memoryKib", st.memoryKib, false, UINT64_C(1) << 52));
    XVIRT_TRY(sr.finish());
    g.stubdom = std::move(st);
  }
  XVIRT_TRY(r.finish());
  return g;
}

}  // namespace xvirt
