// DomainDef -> xl.cfg / xm config text, in one canonical key order so that parse(format(x))
// formats back to the same text. xl gets xl's spellings (type=, cmdline=, key=value disks);
// xm gets xm's (builder='hvm' with kernel=hvmloader, extra=, positional disks with prefixes).
#include "common/Strings.h"
#include "domain-xml/DomainXmlValues.h"
#include "domain-xml/XlConfig.h"
#include "domain-xml/XlConfigSyntax.h"
#include "domain-xml/XlDevices.h"

namespace xvirt::dom {
namespace {

class Writer {
 public:
  void str(const std::string& key, const std::string& value) { out_ += key + " = " + quoteXlString(value) + "\n"; }
  void num(const std::string& key, uint64_t value) { out_ += key + " = " + std::to_string(value) + "\n"; }
  void snum(const std::string& key, int64_t value) { out_ += key + " = " + std::to_string(value) + "\n"; }
  void list(const std::string& key, const std::vector<std::string>& items) {
    if (items.empty()) return;
    if (items.size() == 1) {
      out_ += key + " = [ " + quoteXlString(items[0]) + " ]\n";
      return;
    }
    // One item per line, with xl's trailing comma, so that diffs of long lists stay readable.
    out_ += key + " = [\n";
    for (const auto& item : items) out_ += "    " + quoteXlString(item) + ",\n";
    out_ += "]\n";
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

uint64_t mib(uint64_t kib) { return (kib + 1023) / 1024; }

}  // namespace

Result<std::string> formatXlConfig(const DomainDef& def, NativeFormat format) {
  const bool xm = format == NativeFormat::XenXm;
  const bool hvm = def.isHVM();
  if (xm && def.isPVH())
    return makeError(ErrorCode::ConfigUnsupported,
                     "The guest '" + def.name + "' is PVH, which the xm config format cannot express.");
  if (def.name.empty()) return makeError(ErrorCode::InvalidArgument, "The guest has no name to write into a config.");
  Writer w;
  w.str("name", def.name);
  if (!def.uuid.isNull()) w.str("uuid", def.uuid.str());
  if (xm) {
    if (hvm) w.str("builder", "hvm");
  } else {
    w.str("type", hvm ? "hvm" : def.isPVH() ? "pvh" : "pv");
  }

  uint64_t current = def.currentMemoryKib ? def.currentMemoryKib : def.memoryKib;
  w.num("memory", mib(current));
  if (mib(def.memoryKib) > mib(current)) w.num("maxmem", mib(def.memoryKib));
  w.num("vcpus", def.vcpu.current.value_or(def.vcpu.max));
  if (def.vcpu.current && *def.vcpu.current != def.vcpu.max) w.num("maxvcpus", def.vcpu.max);
  if (!def.vcpupins.empty()) {
    // The per-vCPU list (xl, and xend since Xen 4.0); vCPUs without a pin get the domain-wide cpuset.
    unsigned last = 0;
    for (const auto& p : def.vcpupins) last = std::max(last, p.vcpu);
    std::vector<std::string> cpus(last + 1, def.vcpu.cpuset.empty() ? "all" : def.vcpu.cpuset);
    for (const auto& p : def.vcpupins) cpus[p.vcpu] = p.cpuset;
    w.list("cpus", cpus);
  } else if (!def.vcpu.cpuset.empty()) {
    w.str("cpus", def.vcpu.cpuset);
  }
  w.str("on_poweroff", lifecycleActionName(def.onPoweroff));
  w.str("on_reboot", lifecycleActionName(def.onReboot));
  w.str("on_crash", lifecycleActionName(def.onCrash));

  if (def.clock.offset == "localtime") {
    w.num("localtime", 1);
  } else if (def.clock.offset == "utc") {
    // UTC is xl's default and libvirt's too: nothing to write.
  } else if (def.clock.offset == "variable") {
    if (def.clock.basis == "localtime") w.num("localtime", 1);
    w.snum("rtc_timeoffset", def.clock.adjustment.value_or(0));
  } else if (!def.clock.offset.empty()) {
    return makeError(ErrorCode::ConfigUnsupported, "The clock offset '" + def.clock.offset + "' of the guest '" +
                                                       def.name + "' has no xl or xm spelling.");
  }

  if (hvm) {
    // xl turns pae, acpi and apic on when absent, libvirt reads an absent feature as off: be explicit.
    w.num("pae", def.features.pae.value_or(false));
    w.num("acpi", def.features.acpi.value_or(false));
    w.num("apic", def.features.apic.value_or(false));
    if (def.features.hap) w.num("hap", *def.features.hap);
    if (def.features.viridian) w.num("viridian", *def.features.viridian);
    if (def.features.hpet) w.num("hpet", *def.features.hpet);
    std::string boot;
    for (const auto& dev : def.os.bootDevs) {
      if (dev == "hd") boot += 'c';
      else if (dev == "cdrom") boot += 'd';
      else if (dev == "network") boot += 'n';
      else if (dev == "fd") boot += 'a';
    }
    if (!boot.empty()) w.str("boot", boot);
    if (def.os.loaderType == "pflash") {
      w.str("bios", "ovmf");
      if (!def.os.loader.empty() && def.os.loader != kDefaultOvmf) w.str("bios_path_override", def.os.loader);
    } else if (!def.os.loader.empty() && (xm || !endsWith(def.os.loader, "/hvmloader"))) {
      // xl finds its own hvmloader; only another firmware is worth naming.
      w.str(xm ? "kernel" : "firmware_override", def.os.loader);
    } else if (xm) {
      // xend needed hvmloader named as the kernel of every HVM guest.
      w.str("kernel", "/usr/lib/xen/boot/hvmloader");
    }
    if (!def.emulator.empty()) w.str(xm ? "device_model" : "device_model_override", def.emulator);
    for (const auto& v : def.videos) {
      if (v.model == "vga") w.num("stdvga", 1);
      if (v.vram) w.num("videoram", (*v.vram + 1023) / 1024);
      break;  // xl has one emulated video card
    }
    for (const auto& in : def.inputs) {
      if (in.bus == "usb" && (in.type == "tablet" || in.type == "mouse")) {
        w.str("usbdevice", in.type);
        break;
      }
    }
  } else {
    if (!def.os.loader.empty()) w.str("firmware", def.os.loader);
    if (!def.emulator.empty()) w.str(xm ? "device_model" : "device_model_override", def.emulator);
  }
  if (!hvm || !xm) {
    if (!def.os.kernel.empty()) w.str("kernel", def.os.kernel);
  }
  if (!def.os.initrd.empty()) w.str("ramdisk", def.os.initrd);
  if (!def.os.cmdline.empty()) w.str(xm ? "extra" : "cmdline", def.os.cmdline);
  if (!def.bootloader.empty()) w.str("bootloader", def.bootloader);
  if (!def.bootloaderArgs.empty()) {
    if (xm) w.str("bootargs", def.bootloaderArgs);
    else w.list("bootloader_args", split(def.bootloaderArgs, ' '));
  }

  if (hvm) {
    // HVM guests take their display from top-level keys; PV guests from vfb entries.
    for (const auto& g : def.graphics) {
      if (g.type == "vnc") {
        w.num("vnc", 1);
        if (!g.listen.empty()) w.str("vnclisten", g.listen);
        if (g.autoport || g.port < 5900) {
          w.num("vncunused", 1);
        } else {
          w.num("vncunused", 0);
          w.num("vncdisplay", static_cast<uint64_t>(g.port - 5900));
        }
        if (!g.passwd.empty()) w.str("vncpasswd", g.passwd);
        if (!g.keymap.empty()) w.str("keymap", g.keymap);
      } else if (g.type == "sdl") {
        w.num("sdl", 1);
        if (!g.display.empty()) w.str("display", g.display);
        if (!g.xauth.empty()) w.str("xauthority", g.xauth);
      }
    }
    if (xm) {
      // xm wrote both switches explicitly.
      bool vnc = false, sdl = false;
      for (const auto& g : def.graphics) (g.type == "vnc" ? vnc : sdl) = true;
      if (!vnc) w.num("vnc", 0);
      if (!sdl) w.num("sdl", 0);
    }
  } else {
    std::vector<std::string> vfbs;
    for (const auto& g : def.graphics) {
      XVIRT_ASSIGN_OR_RETURN(std::string spec, formatXlVfb(g));
      vfbs.push_back(std::move(spec));
    }
    w.list("vfb", vfbs);
  }

  std::vector<std::string> serials;
  for (const auto& s : def.serials) serials.push_back(formatXlSerial(s));
  if (!hvm && !def.consoles.empty() && def.consoles[0].type != "pty") {
    // The PV console's destination (see the import side).
    serials.assign(1, formatXlSerial(def.consoles[0]));
  }
  if (serials.size() == 1) w.str("serial", serials[0]);
  else w.list("serial", serials);

  std::vector<std::string> disks, vifs, dms;
  for (const auto& d : def.disks) {
    XVIRT_ASSIGN_OR_RETURN(std::string spec, formatXlDisk(d, format));
    disks.push_back(std::move(spec));
  }
  for (const auto& n : def.interfaces) vifs.push_back(formatXlVif(n, format, hvm));
  for (const auto& dm : def.deviceModels) dms.push_back(formatXlDeviceModel(dm));
  w.list("disk", disks);
  w.list("vif", vifs);
  w.list("device_models", dms);
  if (def.stubdom) {
    const StubdomDef& st = *def.stubdom;
    if (st.override == "0" || st.override == "1") w.num("device_model_stubdomain_override", st.override == "1");
    else if (!st.override.empty()) w.str("device_model_stubdomain_override", st.override);
    if (!st.kernel.empty()) w.str("stubdomain_kernel", st.kernel);
    if (!st.ramdisk.empty()) w.str("stubdomain_ramdisk", st.ramdisk);
    if (!st.cmdline.empty()) w.str("stubdomain_cmdline", st.cmdline);
    if (st.memoryKib) w.num("stubdomain_memory", mib(*st.memoryKib));
  }
  return w.take();
}

}  // namespace xvirt::dom
