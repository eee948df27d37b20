// xl.cfg / xm config settings -> DomainDef. Each key is consumed once; a key nobody consumed is an
// error naming it and its line, unless it is listed as harmless (then it is ignored, as xl would
// ignore a setting that does not apply).
#include <algorithm>
#include <array>
#include <map>
#include <set>

#include "common/Strings.h"
#include "domain-xml/XlConfig.h"
#include "domain-xml/DomainXmlValues.h"
#include "domain-xml/GuestConfigBuilder.h"
#include "domain-xml/VdevName.h"
#include "domain-xml/XlConfigSyntax.h"
#include "domain-xml/XlDevices.h"

namespace xvirt::dom {
namespace {

// Keys that do not change what xvirt builds: scheduling weights, xend-era switches, values xvirt
// computes itself (shadow memory) and the device model flavour (xvirt runs its own).
constexpr std::array kHarmlessKeys = {
    "shadow_memory", "device_model_version", "on_xend_start", "on_xend_stop", "xen_platform_pci",
    "vncconsole", "monitor", "nographic", "cpu_weight", "cpu_cap", "pool", "tsc_mode", "nomigrate",
    "claim_mode", "max_grant_frames", "max_maptrack_frames", "max_event_channels", "opengl", "driver_domain",
    "seclabel", "autoballoon", "on_watchdog", "extid", "ostype"};

std::optional<uint64_t> parseHex(std::string_view s) {
  if (s.empty() || s.size() > 15) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return std::nullopt;
    v = v * 16 + static_cast<uint64_t>(d);
  }
  return v;
}

class Reader {
 public:
  Reader(std::vector<XlSetting> settings) : settings_(std::move(settings)) {
    for (auto& s : settings_) byKey_[s.key] = &s;
  }

  const XlSetting* take(const std::string& key) {
    auto it = byKey_.find(key);
    if (it == byKey_.end()) return nullptr;
    used_.insert(key);
    return it->second;
  }

  Error typeError(const XlSetting& s, const char* what) const {
    return xlLineError(s.line, "gives '" + s.key + "' a value that is not " + std::string(what));
  }

  Result<std::optional<std::string>> str(const std::string& key) {
    const XlSetting* s = take(key);
    if (!s) return std::optional<std::string>();
    if (s->isList) return typeError(*s, "a single string");
    return std::optional<std::string>(s->items[0].text);
  }

  Result<std::optional<uint64_t>> num(const std::string& key) {
    const XlSetting* s = take(key);
    if (!s) return std::optional<uint64_t>();
    if (s->isList) return typeError(*s, "a number");
    std::string_view t = trim(s->items[0].text);
    // xl reads numbers as C does, so 0x10 is sixteen.
    auto v = startsWith(t, "0x") ? parseHex(t.substr(2)) : parseUint(t);
    if (!v) return typeError(*s, "a non-negative whole number");
    return std::optional<uint64_t>(*v);
  }

  Result<std::optional<int64_t>> signedNum(const std::string& key) {
    const XlSetting* s = take(key);
    if (!s) return std::optional<int64_t>();
    if (s->isList) return typeError(*s, "a number");
    std::string_view t = trim(s->items[0].text);
    if (!t.empty() && t[0] == '+') t.remove_prefix(1);
    auto v = parseInt(t);
    if (!v) return typeError(*s, "a whole number");
    return std::optional<int64_t>(*v);
  }

  // Booleans are written 0/1 (xl), "0"/"1", or a word in older xm configs.
  Result<std::optional<bool>> boolean(const std::string& key) {
    const XlSetting* s = take(key);
    if (!s) return std::optional<bool>();
    if (s->isList) return typeError(*s, "0 or 1");
    std::string v = toLower(trim(s->items[0].text));
    if (v == "1" || v == "true" || v == "yes" || v == "on") return std::optional<bool>(true);
    if (v == "0" || v == "false" || v == "no" || v == "off") return std::optional<bool>(false);
    return typeError(*s, "0 or 1");
  }

  // A list of strings; a single string counts as a one-item list (xl accepts both for serial).
  const XlSetting* list(const std::string& key) { return take(key); }

  Status checkAllUsed() const {
    for (const auto& s : settings_) {
      if (used_.count(s.key)) continue;
      if (std::find_if(kHarmlessKeys.begin(), kHarmlessKeys.end(),
                       [&](const char* k) { return s.key == k; }) != kHarmlessKeys.end())
        continue;
      return makeError(ErrorCode::ConfigUnsupported, "Line " + std::to_string(s.line) + " of the config sets '" +
                                                         s.key + "', which xvirt does not support.");
    }
    return okStatus();
  }

  int lineOf(const std::string& key) const {
    auto it = byKey_.find(key);
    return it == byKey_.end() ? 0 : it->second->line;
  }

 private:
  std::vector<XlSetting> settings_;
  std::map<std::string, XlSetting*> byKey_;
  std::set<std::string> used_;
};

Result<LifecycleAction> parseAction(const std::string& v, int line, const std::string& key) {
  if (auto action = lifecycleActionFromName(v)) return *action;
  return xlLineError(line, "sets " + key + " to '" + v +
                               "', which is not one of destroy, restart, preserve, rename-restart, "
                               "coredump-destroy or coredump-restart");
}

Status parseOsType(Reader& r, NativeFormat format, DomainDef& def) {
  XVIRT_ASSIGN_OR_RETURN(auto type, r.str("type"));
  XVIRT_ASSIGN_OR_RETURN(auto builder, r.str("builder"));
  if (type && format == NativeFormat::XenXm)
    return xlLineError(r.lineOf("type"), "sets 'type', which xm configs spell builder=");
  if (type) {
    if (*type == "pv") def.os.type = OsType::PV;
    else if (*type == "hvm") def.os.type = OsType::HVM;
    else if (*type == "pvh") def.os.type = OsType::PVH;
    else return xlLineError(r.lineOf("type"), "sets type to '" + *type + "', which is not one of pv, hvm or pvh");
  } else if (builder) {
    if (*builder == "hvm") def.os.type = OsType::HVM;
    else if (*builder == "generic" || *builder == "linux") def.os.type = OsType::PV;
    else return xlLineError(r.lineOf("builder"), "sets builder to '" + *builder + "', which is not one of hvm, generic or linux");
  }
  def.os.machine = def.isHVM() ? "xenfv" : def.isPVH() ? "xenpvh" : "xenpv";
  return okStatus();
}

// The canonical spelling libvirt uses ("0-3,^1" -> "0,2-3"), so that XML round trips are stable.
Result<std::string> cpusetAt(const std::string& text, int line) {
  auto c = canonicalCpuset(text, "'cpus'");
  if (!c.ok()) return xlLineError(line, "sets cpus to '" + text + "', which is not a list of CPUs and ranges");
  return c;
}

Status parseMemoryAndCpus(Reader& r, DomainDef& def) {
  XVIRT_ASSIGN_OR_RETURN(auto memory, r.num("memory"));
  XVIRT_ASSIGN_OR_RETURN(auto maxmem, r.num("maxmem"));
  uint64_t mem = memory.value_or(128);  // xl's default
  if (mem == 0) return xlLineError(r.lineOf("memory"), "sets memory to 0 MiB");
  uint64_t max = maxmem.value_or(mem);
  if (max < mem)
    return xlLineError(r.lineOf("maxmem"), "sets maxmem (" + std::to_string(max) + " MiB) below memory (" +
                                               std::to_string(mem) + " MiB)");
  if (max > (uint64_t{1} << 32))
    return xlLineError(r.lineOf(maxmem ? "maxmem" : "memory"), "sets a memory size above 4 PiB");
  def.currentMemoryKib = mem * 1024;
  def.memoryKib = max * 1024;

  XVIRT_ASSIGN_OR_RETURN(auto vcpus, r.num("vcpus"));
  XVIRT_ASSIGN_OR_RETURN(auto maxvcpus, r.num("maxvcpus"));
  uint64_t online = vcpus.value_or(1);
  uint64_t maxv = maxvcpus.value_or(online);
  if (online == 0) return xlLineError(r.lineOf("vcpus"), "sets vcpus to 0");
  if (maxv < online)
    return xlLineError(r.lineOf("maxvcpus"), "sets maxvcpus below vcpus");
  if (maxv > 4096) return xlLineError(r.lineOf(maxvcpus ? "maxvcpus" : "vcpus"), "asks for more than 4096 vCPUs");
  def.vcpu.max = static_cast<unsigned>(maxv);
  if (online != maxv) def.vcpu.current = static_cast<unsigned>(online);

  if (const XlSetting* cpus = r.list("cpus")) {
    if (!cpus->isList) {
      // "all" is xl's spelling of no restriction.
      const std::string& text = cpus->items[0].text;
      if (text.find("node") != std::string::npos)
        return xlLineError(cpus->line, "pins to NUMA nodes in 'cpus', which is not supported");
      if (text != "all") {
        XVIRT_ASSIGN_OR_RETURN(def.vcpu.cpuset, cpusetAt(text, cpus->line));
      }
    } else {
      // One entry per vCPU, in order (xl.cfg: cpus = ["2", "3"] puts vCPU 0 on 2, vCPU 1 on 3).
      if (cpus->items.size() > def.vcpu.max)
        return xlLineError(cpus->line, "lists more 'cpus' entries than the guest has vCPUs");
      for (size_t i = 0; i < cpus->items.size(); ++i) {
        if (cpus->items[i].text == "all") continue;
        XVIRT_ASSIGN_OR_RETURN(std::string cpuset, cpusetAt(cpus->items[i].text, cpus->items[i].line));
        def.vcpupins.push_back({static_cast<unsigned>(i), cpuset});
      }
    }
  }
  return okStatus();
}

Status parseLifecycle(Reader& r, DomainDef& def) {
  struct {
    const char* key;
    LifecycleAction* slot;
  } actions[] = {{"on_poweroff", &def.onPoweroff}, {"on_reboot", &def.onReboot}, {"on_crash", &def.onCrash}};
  for (auto& a : actions) {
    XVIRT_ASSIGN_OR_RETURN(auto v, r.str(a.key));
    if (!v) continue;
    XVIRT_ASSIGN_OR_RETURN(*a.slot, parseAction(*v, r.lineOf(a.key), a.key));
    // libvirt (and so DomainDef) keeps core dumps for crashes.
    bool coredump = *a.slot == LifecycleAction::CoredumpDestroy || *a.slot == LifecycleAction::CoredumpRestart;
    if (coredump && std::string(a.key) != "on_crash")
      return xlLineError(r.lineOf(a.key), "sets " + std::string(a.key) + " to '" + *v + "', which only on_crash accepts");
  }
  return okStatus();
}

Status parseBoot(Reader& r, NativeFormat format, DomainDef& def) {
  XVIRT_ASSIGN_OR_RETURN(auto kernel, r.str("kernel"));
  XVIRT_ASSIGN_OR_RETURN(auto ramdisk, r.str("ramdisk"));
  XVIRT_ASSIGN_OR_RETURN(auto cmdline, r.str("cmdline"));
  XVIRT_ASSIGN_OR_RETURN(auto root, r.str("root"));
  XVIRT_ASSIGN_OR_RETURN(auto extra, r.str("extra"));
  bool kernelIsLoader = kernel && (format == NativeFormat::XenXm || endsWith(*kernel, "/hvmloader") ||
                                   *kernel == "hvmloader");
  if (def.isHVM() && kernelIsLoader) {
    // xm's HVM configs name hvmloader as the kernel; it is the firmware, not a guest kernel.
    def.os.loader = *kernel;
  } else if (kernel) {
    def.os.kernel = *kernel;
  }
  def.os.initrd = ramdisk.value_or("");
  // xl's rule: cmdline wins; otherwise "root=ROOT EXTRA", "root=ROOT" or EXTRA.
  if (cmdline) {
    def.os.cmdline = *cmdline;
  } else if (root && extra) {
    def.os.cmdline = "root=" + *root + " " + *extra;
  } else if (root) {
    def.os.cmdline = "root=" + *root;
  } else if (extra) {
    def.os.cmdline = *extra;
  }

  XVIRT_ASSIGN_OR_RETURN(auto bootloader, r.str("bootloader"));
  def.bootloader = bootloader.value_or("");
  for (const char* key : {"bootloader_args", "bootargs"}) {
    const XlSetting* args = r.list(key);
    if (!args) continue;
    std::vector<std::string> words;
    for (const auto& item : args->items) words.push_back(item.text);
    def.bootloaderArgs = join(words, " ");
  }

  XVIRT_ASSIGN_OR_RETURN(auto firmware, r.str("firmware"));
  XVIRT_ASSIGN_OR_RETURN(auto firmwareOverride, r.str("firmware_override"));
  XVIRT_ASSIGN_OR_RETURN(auto bios, r.str("bios"));
  XVIRT_ASSIGN_OR_RETURN(auto biosPath, r.str("bios_path_override"));
  auto setFirmwareKind = [&](const std::string& v, const std::string& key) -> Status {
    if (v == "ovmf" || v == "uefi") {
      def.os.loaderType = "pflash";
      if (def.os.loader.empty()) def.os.loader = kDefaultOvmf;
    } else if (v == "seabios" || v == "rombios" || v == "bios") {
      // The default BIOS: nothing to record.
    } else if (key == "firmware" && v.find('/') != std::string::npos) {
      def.os.loader = v;
    } else {
      return xlLineError(r.lineOf(key), "sets " + key + " to '" + v + "', which is not one of bios, seabios, rombios, uefi or ovmf");
    }
    return okStatus();
  };
  if (firmware) XVIRT_TRY(setFirmwareKind(*firmware, "firmware"));
  if (bios) XVIRT_TRY(setFirmwareKind(*bios, "bios"));
  if (firmwareOverride) def.os.loader = *firmwareOverride;
  if (biosPath) def.os.loader = *biosPath;
  if (!def.os.loaderType.empty() || !def.os.loader.empty()) def.os.loaderReadonly = def.os.loaderType == "pflash";

  XVIRT_ASSIGN_OR_RETURN(auto boot, r.str("boot"));
  if (boot) {
    for (char c : *boot) {
      const char* dev = c == 'c' ? "hd" : c == 'd' ? "cdrom" : c == 'n' ? "network" : c == 'a' ? "fd" : nullptr;
      if (!dev)
        return xlLineError(r.lineOf("boot"), "sets boot to '" + *boot + "', whose letter '" + std::string(1, c) +
                                                 "' is not one of a, c, d or n");
      def.os.bootDevs.push_back(dev);
    }
  } else if (def.isHVM()) {
    def.os.bootDevs.push_back("hd");  // xl's default boot order is "c"
  }

  XVIRT_ASSIGN_OR_RETURN(auto dm, r.str("device_model"));
  XVIRT_ASSIGN_OR_RETURN(auto dmOverride, r.str("device_model_override"));
  if (dm) def.emulator = *dm;
  if (dmOverride) def.emulator = *dmOverride;
  return okStatus();
}

Status parseFeaturesAndClock(Reader& r, DomainDef& def) {
  struct {
    const char* key;
    std::optional<bool>* slot;
    bool hvmDefault;  // xl turns pae, acpi and apic on unless told otherwise
  } feats[] = {{"pae", &def.features.pae, true},   {"acpi", &def.features.acpi, true},
               {"apic", &def.features.apic, true}, {"hap", &def.features.hap, false},
               {"hpet", &def.features.hpet, false}};
  for (auto& f : feats) {
    XVIRT_ASSIGN_OR_RETURN(auto v, r.boolean(f.key));
    if (!def.isHVM()) continue;  // PV configs often carry pae=1; it means nothing there
    if (v) *f.slot = *v;
    else if (f.hvmDefault) *f.slot = true;
  }
  if (const XlSetting* viridian = r.list("viridian")) {
    // viridian = 1, or a list of enlightenment groups (which all mean "on" here).
    bool on = viridian->isList ? !viridian->items.empty()
                               : (viridian->items[0].text != "0" && viridian->items[0].text != "false");
    if (def.isHVM()) def.features.viridian = on;
  }

  XVIRT_ASSIGN_OR_RETURN(auto localtime, r.boolean("localtime"));
  XVIRT_ASSIGN_OR_RETURN(auto offset, r.signedNum("rtc_timeoffset"));
  if (offset) {
    def.clock.offset = "variable";
    def.clock.adjustment = *offset;
    def.clock.basis = localtime.value_or(false) ? "localtime" : "utc";
  } else if (localtime) {
    def.clock.offset = *localtime ? "localtime" : "utc";
  }
  return okStatus();
}

Status parseGraphics(Reader& r, DomainDef& def) {
  // HVM-style top-level keys (also accepted for PV, as xm did).
  XVIRT_ASSIGN_OR_RETURN(auto vnc, r.boolean("vnc"));
  XVIRT_ASSIGN_OR_RETURN(auto sdl, r.boolean("sdl"));
  XVIRT_ASSIGN_OR_RETURN(auto listen, r.str("vnclisten"));
  XVIRT_ASSIGN_OR_RETURN(auto display, r.num("vncdisplay"));
  XVIRT_ASSIGN_OR_RETURN(auto unused, r.boolean("vncunused"));
  XVIRT_ASSIGN_OR_RETURN(auto passwd, r.str("vncpasswd"));
  XVIRT_ASSIGN_OR_RETURN(auto keymap, r.str("keymap"));
  XVIRT_ASSIGN_OR_RETURN(auto sdlDisplay, r.str("display"));
  XVIRT_ASSIGN_OR_RETURN(auto xauth, r.str("xauthority"));
  if (vnc.value_or(false)) {
    GraphicsDef g;
    g.listen = listen.value_or("");
    if (display && *display > 59635) return xlLineError(r.lineOf("vncdisplay"), "sets vncdisplay above 59635");
    g.autoport = unused.value_or(true) && !display;
    if (display) g.port = 5900 + static_cast<int>(*display);
    g.passwd = passwd.value_or("");
    g.keymap = keymap.value_or("");
    def.graphics.push_back(g);
  }
  if (sdl.value_or(false)) {
    GraphicsDef g;
    g.type = "sdl";
    g.display = sdlDisplay.value_or("");
    g.xauth = xauth.value_or("");
    g.keymap = keymap.value_or("");
    def.graphics.push_back(g);
  }
  if (const XlSetting* vfb = r.list("vfb")) {
    for (const auto& item : vfb->items) {
      XVIRT_ASSIGN_OR_RETURN(GraphicsDef g, parseXlVfb(item.text, item.line));
      if (g.keymap.empty() && keymap) g.keymap = *keymap;
      def.graphics.push_back(std::move(g));
    }
  }
  XVIRT_ASSIGN_OR_RETURN(auto stdvga, r.boolean("stdvga"));
  XVIRT_ASSIGN_OR_RETURN(auto videoram, r.num("videoram"));
  if (def.isHVM() && (stdvga || videoram)) {
    VideoDef v;
    v.model = stdvga.value_or(false) ? "vga" : "cirrus";
    if (videoram) v.vram = static_cast<unsigned>(*videoram * 1024);
    def.videos.push_back(v);
  }
  XVIRT_ASSIGN_OR_RETURN(auto usbdevice, r.str("usbdevice"));
  XVIRT_ASSIGN_OR_RETURN(auto usb, r.boolean("usb"));
  (void)usb;  // the USB controller follows from usbdevice
  if (usbdevice) {
    if (*usbdevice != "tablet" && *usbdevice != "mouse")
      return xlLineError(r.lineOf("usbdevice"), "sets usbdevice to '" + *usbdevice + "', which is not tablet or mouse");
    InputDef input;
    input.type = *usbdevice;
    input.bus = "usb";
    def.inputs.push_back(std::move(input));
  }
  return okStatus();
}

Status parseDevices(Reader& r, DomainDef& def) {
  if (const XlSetting* disks = r.list("disk")) {
    for (const auto& item : disks->items) {
      XVIRT_ASSIGN_OR_RETURN(DiskDef d, parseXlDisk(item.text, item.line));
      // Compare numbers, not names: xvda and 51712 are the same device.
      for (const auto& other : def.disks)
        if (vdevNumber(other.targetDev).value() == vdevNumber(d.targetDev).value())
          return xlLineError(item.line, "gives the disks '" + other.targetDev + "' and '" + d.targetDev +
                                            "' the same virtual device");
      def.disks.push_back(std::move(d));
    }
  }
  if (const XlSetting* vifs = r.list("vif")) {
    for (const auto& item : vifs->items) {
      XVIRT_ASSIGN_OR_RETURN(InterfaceDef nic, parseXlVif(item.text, item.line));
      // libvirt gives every NIC a MAC when it reads a definition; derive it from the UUID so the
      // same config always converts to the same XML.
      if (nic.mac.empty()) nic.mac = generateMac(def.uuid, static_cast<unsigned>(def.interfaces.size()));
      def.interfaces.push_back(std::move(nic));
    }
  }
  // A PV or PVH guest always has its xen console (libvirt shows it the same way). It has no
  // emulated serial port, so xvirt reads `serial` there as where that console goes.
  ChardevDef con;
  con.kind = ChardevDef::Kind::Console;
  con.type = "pty";
  con.targetType = "xen";
  if (const XlSetting* serial = r.list("serial")) {
    if (!def.isHVM() && serial->items.size() > 1)
      return xlLineError(serial->line, "lists several serial devices, and a PV or PVH guest has one console");
    for (const auto& item : serial->items) {
      bool present = false;
      XVIRT_ASSIGN_OR_RETURN(ChardevDef chr, parseXlSerial(item.text, item.line, &present));
      if (!present) continue;
      if (!def.isHVM()) {
        chr.kind = ChardevDef::Kind::Console;
        chr.targetType = "xen";
        con = std::move(chr);
        continue;
      }
      chr.targetPort = static_cast<int>(def.serials.size());
      def.serials.push_back(std::move(chr));
    }
  }
  if (!def.isHVM()) def.consoles.push_back(std::move(con));
  return okStatus();
}

Status parseXvirtExtensions(Reader& r, DomainDef& def) {
  if (const XlSetting* dms = r.list("device_models")) {
    if (!def.isHVM()) return xlLineError(dms->line, "sets device_models, which only an HVM guest can have");
    for (const auto& item : dms->items) {
      XVIRT_ASSIGN_OR_RETURN(DeviceModelDef dm, parseXlDeviceModel(item.text, item.line));
      for (const auto& other : def.deviceModels)
        if (other.name == dm.name)
          return xlLineError(item.line, "names two device models '" + dm.name + "'");
      def.deviceModels.push_back(std::move(dm));
    }
  }
  XVIRT_ASSIGN_OR_RETURN(auto override, r.str("device_model_stubdomain_override"));
  XVIRT_ASSIGN_OR_RETURN(auto kernel, r.str("stubdomain_kernel"));
  XVIRT_ASSIGN_OR_RETURN(auto ramdisk, r.str("stubdomain_ramdisk"));
  XVIRT_ASSIGN_OR_RETURN(auto cmdline, r.str("stubdomain_cmdline"));
  XVIRT_ASSIGN_OR_RETURN(auto memory, r.num("stubdomain_memory"));
  if (override || kernel || ramdisk || cmdline || memory) {
    if (override && *override != "0" && *override != "1")
      return xlLineError(r.lineOf("device_model_stubdomain_override"),
                         "sets device_model_stubdomain_override to '" + *override + "', which is not 0 or 1");
    StubdomDef st;
    st.override = override.value_or("");
    st.kernel = kernel.value_or("");
    st.ramdisk = ramdisk.value_or("");
    st.cmdline = cmdline.value_or("");
    if (memory) {
      if (*memory == 0) return xlLineError(r.lineOf("stubdomain_memory"), "sets stubdomain_memory to 0 MiB");
      st.memoryKib = *memory * 1024;
    }
    def.stubdom = std::move(st);
  }
  return okStatus();
}

}  // namespace

Result<NativeFormat> parseNativeFormat(std::string_view name) {
  if (name == "xen-xl") return NativeFormat::XenXl;
  if (name == "xen-xm") return NativeFormat::XenXm;
  return makeError(ErrorCode::InvalidArgument,
                   "The native format '" + std::string(name) + "' is not one of xen-xl or xen-xm.");
}

Result<DomainDef> parseXlConfig(std::string_view text, NativeFormat format) {
  XVIRT_ASSIGN_OR_RETURN(auto settings, parseXlSettings(text));
  Reader r(std::move(settings));
  DomainDef def;
  XVIRT_ASSIGN_OR_RETURN(auto name, r.str("name"));
  if (!name || name->empty())
    return makeError(ErrorCode::InvalidArgument, "The config has no 'name' setting, and every guest needs one.");
  def.name = *name;
  XVIRT_ASSIGN_OR_RETURN(auto uuid, r.str("uuid"));
  if (uuid) {
    auto u = Uuid::parse(*uuid);
    if (!u) return xlLineError(r.lineOf("uuid"), "sets uuid to '" + *uuid + "', which is not a UUID");
    def.uuid = *u;
  } else {
    def.uuid = Uuid::generate();
  }
  XVIRT_TRY(parseOsType(r, format, def));
  XVIRT_TRY(parseMemoryAndCpus(r, def));
  XVIRT_TRY(parseLifecycle(r, def));
  XVIRT_TRY(parseBoot(r, format, def));
  XVIRT_TRY(parseFeaturesAndClock(r, def));
  XVIRT_TRY(parseGraphics(r, def));
  XVIRT_TRY(parseDevices(r, def));
  XVIRT_TRY(parseXvirtExtensions(r, def));
  if (def.isPV() && def.os.kernel.empty() && def.bootloader.empty() && def.os.loader.empty())
    return makeError(ErrorCode::InvalidArgument,
                     "The config of the PV guest '" + def.name + "' names neither a kernel nor a bootloader.");
  XVIRT_TRY(r.checkAllUsed());
  return def;
}

}  // namespace xvirt::dom
