// Argument order and spelling follow libxl__build_device_model_args_new (Xen 4.17) for a qemu-xen
// device model in dom0: our facts, our code (docs/device-model.md lists what is covered).
#include "helper/dm/DeviceModelArgs.h"

#include "common/Strings.h"
#include "domain-xml/VdevName.h"

namespace xvirt::helper {

namespace {

// qemu's block driver name for a disk format (libxl__qemu_disk_format_string).
const char* qemuFormat(const GuestDisk& d) {
  if (d.backend == "phy") return "raw";
  if (d.format == "qcow") return "qcow";
  if (d.format == "qcow2") return "qcow2";
  if (d.format == "vhd") return "vpc";
  if (d.format == "qed") return "qed";
  return "raw";
}

char bootLetter(const std::string& dev) {
  if (dev == "fd") return 'a';
  if (dev == "cdrom") return 'd';
  if (dev == "network") return 'n';
  return 'c';
}

}  // namespace

Result<DeviceModelCommand> deviceModelCommand(const GuestConfig& g, const DeviceModelContext& ctx) {
  if (g.kind != "hvm")
    return makeError(ErrorCode::Internal, "Guest '" + g.name + "' is not HVM, so it has no emulated devices.");
  DeviceModelCommand cmd;
  auto& a = cmd.argv;
  std::string d = std::to_string(ctx.domid);
  a = {ctx.emulator.empty() ? (g.deviceModel.empty() ? kDefaultDeviceModel : g.deviceModel) : ctx.emulator,
       "-xen-domid", d, "-no-shutdown"};
  cmd.env.push_back("XEN_QEMU_CONSOLE_LIMIT=1048576");  // XSA-180: bound what the guest can log
  if (!ctx.qmpPath.empty()) {
    a.insert(a.end(), {"-chardev", "socket,id=libxl-cmd,path=" + ctx.qmpPath + ",server=on,wait=off", "-mon",
                       "chardev=libxl-cmd,mode=control"});
  }
  a.insert(a.end(), {"-nodefaults", "-no-user-config", "-name", g.name});

  const GuestGraphics* vnc = nullptr;
  const GuestGraphics* sdl = nullptr;
  for (const auto& gr : g.graphics) {
    if (gr.type == "vnc" && !vnc) vnc = &gr;
    else if (gr.type == "sdl" && !sdl) sdl = &gr;
  }
  if (vnc) {
    std::string listen = vnc->listen.empty() ? "127.0.0.1" : vnc->listen;
    // A port below 5900 (or none) asks for the first free display, as libxl's findunused does.
    int display = vnc->port >= 5900 ? vnc->port - 5900 : 0;
    std::string arg = listen + ":" + std::to_string(display);
    if (!vnc->passwd.empty()) arg += ",password=on";
    if (vnc->port < 5900) arg += ",to=99";
    a.insert(a.end(), {"-vnc", arg});
  } else {
    a.insert(a.end(), {"-vnc", "none"});
  }
  a.insert(a.end(), {"-display", "none"});
  if (sdl) {
    a.push_back("-sdl");
    if (!sdl->display.empty()) cmd.env.push_back("DISPLAY=" + sdl->display);
    if (!sdl->xauthority.empty()) cmd.env.push_back("XAUTHORITY=" + sdl->xauthority);
  }
  std::string keymap = vnc ? vnc->keymap : sdl ? sdl->keymap : "";
  if (!keymap.empty()) a.insert(a.end(), {"-k", keymap});

  if (!g.kernel.empty()) a.insert(a.end(), {"-kernel", g.kernel});
  if (!g.ramdisk.empty()) a.insert(a.end(), {"-initrd", g.ramdisk});
  if (!g.cmdline.empty()) a.insert(a.end(), {"-append", g.cmdline});

  for (const auto& disk : g.disks)
    if (!disk.cdrom && startsWith(disk.vdev, "sd")) {
      a.insert(a.end(), {"-device", "lsi53c895a"});
      break;
    }
  for (const auto& c : g.chardevs) {
    if (c.kind != "serial") continue;
    if (c.type == "pty" || c.type == "null" || c.type == "stdio") a.insert(a.end(), {"-serial", c.type});
    else if (c.type == "file") a.insert(a.end(), {"-serial", "file:" + c.path});
    else if (c.type == "tcp")
      a.insert(a.end(), {"-serial", "tcp:" + c.host + ":" + c.service + (c.mode == "bind" ? ",server=on,wait=off" : "")});
    else
      return makeError(ErrorCode::ConfigUnsupported,
                       "The serial device type '" + c.type + "' of guest '" + g.name + "' is not supported by the device model.");
  }
  if (!vnc && !sdl) a.push_back("-nographic");
  a.insert(a.end(), {"-device", "cirrus-vga,vgamem_mb=" + std::to_string(kVideoMemKib / 1024)});
  if (!g.bootOrder.empty()) {
    std::string order;
    for (const auto& dev : g.bootOrder) order += bootLetter(dev);
    a.insert(a.end(), {"-boot", "order=" + order});
  }
  if (!g.features.acpi) a.push_back("-no-acpi");
  if (g.maxVcpus > 1)
    a.insert(a.end(), {"-smp", std::to_string(g.onlineVcpus) + ",maxcpus=" + std::to_string(g.maxVcpus)});
  for (const auto& n : g.nics) {
    std::string id = std::to_string(n.devid);
    std::string model = n.model.empty() || n.model == "netfront" ? "rtl8139" : n.model;
    std::string ifname = (n.vifname.empty() ? "vif" + d + "." + id : n.vifname) + "-emu";
    a.insert(a.end(), {"-device", model + ",id=nic" + id + ",netdev=net" + id + ",mac=" + n.mac, "-netdev",
                       "type=tap,id=net" + id + ",ifname=" + ifname + ",br=" + n.bridge + ",script=no,downscript=no"});
  }
  if (g.nics.empty()) a.insert(a.end(), {"-net", "none"});
  a.insert(a.end(), {"-machine", "xenfv,suppress-vmdesc=on"});
  uint64_t maxKib = std::max(g.maxMemoryKib, g.memoryKib);
  a.insert(a.end(), {"-m", std::to_string((maxKib - std::min(maxKib, kVideoMemKib)) / 1024)});
  cmd.env.push_back("XEN_DOMAIN_ID=" + d);

  for (const auto& disk : g.disks) {
    XVIRT_ASSIGN_OR_RETURN(dom::VdevInfo v, dom::parseVdev(disk.vdev));
    std::string number = std::to_string(v.number);
    std::string unit = std::to_string(v.disk);
    const char* format = qemuFormat(disk);
    if (disk.cdrom) {
      if (v.disk > 3) continue;  // only the first four disks can be emulated CD-ROMs; PV only
      std::string id = "ide-" + number;
      std::string drive = "if=none,readonly=on,id=" + id;
      if (!disk.path.empty()) drive += ",file=" + disk.path + ",format=" + format;
      a.insert(a.end(), {"-drive", drive, "-device",
                         "ide-cd,id=" + id + ",drive=" + id + ",bus=ide." + std::to_string(v.disk / 2) +
                             ",unit=" + std::to_string(v.disk % 2)});
    } else if (v.bus == dom::VdevBus::Scsi) {
      std::string id = "scsi0-hd" + unit;
      a.insert(a.end(), {"-drive",
                         "file=" + disk.path + ",id=" + id + ",format=" + format + ",if=none,readonly=" +
                             (disk.readonly ? "on" : "off") + ",cache=writeback",
                         "-device", "scsi-hd,drive=" + id + ",scsi-id=" + unit});
    } else if (v.disk < 4) {
      if (disk.readonly)
        return makeError(ErrorCode::ConfigUnsupported, "Disk " + disk.vdev + " of guest '" + g.name +
                                                           "' is read-only, but qemu-xen cannot emulate read-only IDE disks.");
      a.insert(a.end(), {"-drive", "file=" + disk.path + ",if=ide,index=" + unit + ",media=disk,format=" + format +
                                       ",cache=writeback"});
    }
    // Other disks are reachable through PV drivers only, as with libxl.
  }
  return cmd;
}

Result<DeviceModelCommand> pvBackendCommand(const GuestConfig& g, const DeviceModelContext& ctx) {
  if (g.kind != "pv")
    return makeError(ErrorCode::Internal, "Guest '" + g.name + "' is not PV; its device model serves its backends.");
  DeviceModelCommand cmd;
  cmd.argv = {ctx.emulator.empty() ? (g.deviceModel.empty() ? kDefaultDeviceModel : g.deviceModel) : ctx.emulator,
              "-xen-domid", std::to_string(ctx.domid), "-xen-attach", "-name", g.name, "-nodefaults",
              "-no-user-config", "-vnc", "none", "-display", "none", "-machine", "xenpv"};
  cmd.env.push_back("XEN_QEMU_CONSOLE_LIMIT=1048576");
  return cmd;
}

bool needsPvBackend(const GuestConfig& g) {
  if (g.kind != "pv") return false;
  for (const auto& d : g.disks)
    if (d.backend == "qdisk") return true;
  return false;
}

}  // namespace xvirt::helper
