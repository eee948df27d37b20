#include "domain-xml/GuestConfigBuilder.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "common/Strings.h"
#include "domain-xml/DomainXmlValues.h"
#include "domain-xml/VdevName.h"

namespace xvirt::dom {
namespace {

Error unsupported(const DomainDef& def, const std::string& what) {
  return makeError(ErrorCode::ConfigUnsupported, "The guest '" + def.name + "' " + what + ".");
}

Status buildCpus(const DomainDef& def, GuestConfig& g) {
  g.maxVcpus = def.vcpu.max;
  g.onlineVcpus = def.vcpu.current.value_or(def.vcpu.max);
  if (g.maxVcpus == 0 || g.onlineVcpus == 0 || g.onlineVcpus > g.maxVcpus)
    return unsupported(def, "has " + std::to_string(g.onlineVcpus) + " of " + std::to_string(g.maxVcpus) +
                                " vCPUs online, which is not between 1 and the maximum");
  std::vector<unsigned> all;
  if (!def.vcpu.cpuset.empty()) {
    XVIRT_ASSIGN_OR_RETURN(all, parseCpuset(def.vcpu.cpuset, "<vcpu>"));
  }
  std::vector<std::vector<unsigned>> aff(g.maxVcpus, all);
  for (const auto& pin : def.vcpupins) {
    if (pin.vcpu >= g.maxVcpus)
      return unsupported(def, "pins vCPU " + std::to_string(pin.vcpu) + ", but has only " +
                                  std::to_string(g.maxVcpus) + " vCPUs");
    // vcpupin wins over <vcpu cpuset>, as in libvirt.
    XVIRT_ASSIGN_OR_RETURN(aff[pin.vcpu], parseCpuset(pin.cpuset, "<vcpupin vcpu='" + std::to_string(pin.vcpu) + "'>"));
  }
  bool any = std::any_of(aff.begin(), aff.end(), [](const auto& v) { return !v.empty(); });
  if (any) g.affinity = std::move(aff);
  return okStatus();
}

Status buildDisks(const DomainDef& def, GuestConfig& g) {
  std::set<uint32_t> numbers;
  for (const auto& d : def.disks) {
    XVIRT_ASSIGN_OR_RETURN(GuestDisk disk, buildGuestDisk(def, d));
    if (!numbers.insert(disk.vdevNumber).second)
      return unsupported(def, "has two disks on the virtual device number " + std::to_string(disk.vdevNumber) +
                                  " (the second is '" + d.targetDev + "')");
    g.disks.push_back(std::move(disk));
  }
  return okStatus();
}

}  // namespace

Result<GuestDisk> buildGuestDisk(const DomainDef& def, const DiskDef& d) {
  GuestDisk disk;
  disk.vdev = d.targetDev;
  auto num = vdevNumber(d.targetDev);
  if (!num.ok()) return num.takeError();
  disk.vdevNumber = *num;
  disk.cdrom = d.device == "cdrom";
  disk.path = d.source;
  if (disk.path.empty() && !disk.cdrom) return unsupported(def, "has the disk '" + d.targetDev + "' without a source");
  disk.format = disk.path.empty() ? "empty" : d.driverType.empty() ? "raw" : d.driverType;
  if (d.driverType == "aio") disk.format = "raw";
  // blkback (phy) serves raw block devices and files; anything with an image format needs qdisk.
  if (d.driverName == "phy") {
    if (disk.format != "raw")
      return unsupported(def, "has the disk '" + d.targetDev + "' with driver phy and format " + disk.format +
                                  ", and phy serves raw data only");
    disk.backend = "phy";
  } else if (d.driverName == "qemu" || d.driverName == "file" || d.driverName == "tap" || d.driverName == "tap2") {
    disk.backend = "qdisk";
  } else if (d.driverName.empty()) {
    // A block script (xl's script=) implies the phy backend, as in xl: the script hands blkback its device.
    disk.backend = (d.type == "block" || !d.script.empty()) && disk.format == "raw" ? "phy" : "qdisk";
  } else {
    return unsupported(def, "has the disk '" + d.targetDev + "' with the driver '" + d.driverName +
                                "', which is not one of phy, file, qemu, tap or tap2");
  }
  if (disk.format == "empty") disk.backend = "qdisk";
  if (!d.script.empty() && disk.backend != "phy")
    return unsupported(def, "has the disk '" + d.targetDev + "' with a block script on the " + disk.backend +
                                " backend; a script hands blkback its device, so it needs driver phy and raw data");
  disk.readonly = d.readonly || disk.cdrom;
  disk.mode = disk.readonly ? "r" : "w";
  disk.shareable = d.shareable;
  disk.script = d.script;
  return disk;
}

namespace {

Status buildNics(const DomainDef& def, GuestConfig& g) {
  std::set<std::string> macs;
  for (const auto& n : def.interfaces)
    if (!n.mac.empty()) macs.insert(toLower(n.mac));
  for (size_t i = 0; i < def.interfaces.size(); ++i) {
    const InterfaceDef& n = def.interfaces[i];
    GuestNic nic;
    nic.devid = static_cast<unsigned>(i);
    nic.mac = toLower(n.mac);
    if (nic.mac.empty()) {
      for (unsigned salt = 0;; ++salt) {
        nic.mac = generateMac(def.uuid, static_cast<unsigned>(i) + salt * 0x10000u);
        if (macs.insert(nic.mac).second) break;
      }
    }
    // A libvirt <network> has no manager in xvirt; its name is taken as the bridge to join.
    if (n.type == "bridge" || n.type == "network") nic.bridge = n.source;
    else if (n.type != "ethernet")
      return unsupported(def, "has an interface of type '" + n.type + "', which is not bridge, network or ethernet");
    nic.script = n.script;
    nic.model = !n.model.empty() ? n.model : def.isHVM() ? "rtl8139" : "netfront";
    if (!def.isHVM() && nic.model != "netfront")
      return unsupported(def, "has an interface with the emulated model '" + nic.model +
                                  "', which only an HVM guest can have");
    nic.ip = n.ip;
    nic.vifname = n.target;
    g.nics.push_back(std::move(nic));
  }
  return okStatus();
}

GuestChardev chardev(const ChardevDef& c, const char* kind, unsigned port) {
  GuestChardev out;
  out.kind = kind;
  out.type = c.type;
  out.path = c.path;
  out.host = c.host;
  out.service = c.service;
  out.mode = c.mode;
  out.protocol = c.protocol;
  out.port = port;
  return out;
}

Status buildChardevs(const DomainDef& def, GuestConfig& g) {
  unsigned consolePort = 0;
  for (const auto& c : def.consoles) {
    // On HVM a <console target type='serial'> is libvirt's alias of the first serial port.
    if (def.isHVM() && c.targetType == "serial") continue;
    g.chardevs.push_back(chardev(c, "console", consolePort++));
  }
  if (!def.isHVM() && consolePort == 0) {
    ChardevDef pty;
    g.chardevs.push_back(chardev(pty, "console", 0));
  }
  unsigned serialPort = 0;
  for (const auto& s : def.serials) g.chardevs.push_back(chardev(s, "serial", serialPort++));
  for (const auto& c : g.chardevs) {
    if (c.type != "pty" && c.type != "file" && c.type != "null" && c.type != "stdio" && c.type != "tcp")
      return unsupported(def, "has a " + c.kind + " of type '" + c.type + "', which is not pty, file, null, stdio or tcp");
    if (c.type == "file" && c.path.empty()) return unsupported(def, "has a file " + c.kind + " without a path");
  }
  return okStatus();
}

}  // namespace

std::string generateMac(const Uuid& uuid, unsigned index) {
  uint32_t h = 2166136261u;  // FNV-1a
  auto mix = [&h](uint8_t b) {
    h ^= b;
    h *= 16777619u;
  };
  for (uint8_t b : uuid.bytes) mix(b);
  for (int i = 0; i < 4; ++i) mix(static_cast<uint8_t>(index >> (8 * i)));
  char buf[18];
  // The top bit of the fourth byte stays clear, as in libxl's own random MACs.
  snprintf(buf, sizeof buf, "00:16:3e:%02x:%02x:%02x", (h >> 16) & 0x7f, (h >> 8) & 0xff, h & 0xff);
  return buf;
}

Result<GuestConfig> buildGuestConfig(const DomainDef& def) {
  GuestConfig g;
  if (def.name.empty()) return makeError(ErrorCode::InvalidArgument, "The guest has no name.");
  g.name = def.name;
  g.uuid = def.uuid.str();
  g.kind = def.isHVM() ? "hvm" : def.isPVH() ? "pvh" : "pv";

  uint64_t current = def.currentMemoryKib ? def.currentMemoryKib : def.memoryKib;
  if (def.memoryKib == 0) return unsupported(def, "has no memory");
  if (current > def.memoryKib)
    return unsupported(def, "has currentMemory " + std::to_string(current) + " KiB above its memory " +
                                std::to_string(def.memoryKib) + " KiB");
  g.memoryKib = current;
  g.maxMemoryKib = def.memoryKib;
  XVIRT_TRY(buildCpus(def, g));

  g.kernel = def.os.kernel;
  g.ramdisk = def.os.initrd;
  g.cmdline = def.os.cmdline;
  g.bootloader = def.bootloader;
  g.bootloaderArgs = def.bootloaderArgs;
  if (def.isPV() && g.kernel.empty() && g.bootloader.empty() && def.os.loader.empty())
    g.bootloader = kFallbackBootloader;
  g.firmware = def.os.loader;
  g.firmwareType = def.os.loaderType;
  if (def.isHVM()) {
    g.bootOrder = def.os.bootDevs;
    if (g.bootOrder.empty()) g.bootOrder.push_back("hd");
  }
  g.features.pae = def.features.pae.value_or(false);
  g.features.acpi = def.features.acpi.value_or(false);
  g.features.apic = def.features.apic.value_or(false);
  g.features.hap = def.features.hap.value_or(true);
  g.features.viridian = def.features.viridian.value_or(false);
  g.features.hpet = def.features.hpet.value_or(false);

  const ClockDef& clock = def.clock;
  if (clock.offset == "localtime") {
    g.localtime = true;
  } else if (clock.offset == "variable") {
    g.localtime = clock.basis == "localtime";
    g.rtcOffset = clock.adjustment.value_or(0);
  } else if (!clock.offset.empty() && clock.offset != "utc") {
    return unsupported(def, "has the clock offset '" + clock.offset + "', which is not utc, localtime or variable");
  }
  g.onPoweroff = lifecycleActionName(def.onPoweroff);
  g.onReboot = lifecycleActionName(def.onReboot);
  g.onCrash = lifecycleActionName(def.onCrash);
  g.deviceModel = def.emulator;

  XVIRT_TRY(buildDisks(def, g));
  XVIRT_TRY(buildNics(def, g));
  XVIRT_TRY(buildChardevs(def, g));
  for (const auto& gfx : def.graphics) {
    GuestGraphics out;
    out.type = gfx.type;
    if (gfx.type == "vnc") {
      out.listen = gfx.listen;
      out.port = gfx.autoport ? -1 : gfx.port;
      out.passwd = gfx.passwd;
    } else if (gfx.type == "sdl") {
      out.display = gfx.display;
      out.xauthority = gfx.xauth;
    } else {
      return unsupported(def, "has graphics of type '" + gfx.type + "', which is not vnc or sdl");
    }
    out.keymap = gfx.keymap;
    g.graphics.push_back(std::move(out));
  }
  for (const auto& dm : def.deviceModels)
    g.deviceModels.push_back({dm.name, dm.vifs, dm.disks, dm.options, dm.ui, dm.ide});
  if (def.stubdom) {
    GuestStubdom st;
    st.enabled = def.stubdom->override != "0";
    st.kernel = def.stubdom->kernel;
    st.ramdisk = def.stubdom->ramdisk;
    st.cmdline = def.stubdom->cmdline;
    st.memoryKib = def.stubdom->memoryKib.value_or(0);
    g.stubdom = std::move(st);
  }
  return g;
}

}  // namespace xvirt::dom
