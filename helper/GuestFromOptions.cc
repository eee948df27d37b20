#include "helper/GuestFromOptions.h"

#include <sys/stat.h>

#include <map>

#include "common/Uuid.h"
#include "domain-xml/VdevName.h"

namespace xvirt::helper {

static std::string letters(int index) {
  std::string s;
  for (int i = index + 1; i > 0; i = (i - 1) / 26) s.insert(s.begin(), static_cast<char>('a' + (i - 1) % 26));
  return s;
}

Result<GuestConfig> guestConfigFromOptions(const HelperOptions& o) {
  GuestConfig g;
  g.name = o.name;
  if (o.uuid.empty()) {
    g.uuid = Uuid::generate().str();
  } else {
    auto u = Uuid::parse(o.uuid);
    if (!u) return makeError(ErrorCode::InvalidArgument, "-uuid: '" + o.uuid + "' is not a valid UUID");
    g.uuid = u->str();
  }
  g.kind = o.machine == "xenfv" ? "hvm" : o.machine == "xenpvh" ? "pvh" : "pv";
  g.memoryKib = *o.memMb * 1024;
  g.maxMemoryKib = g.memoryKib;
  g.maxVcpus = o.maxVcpus ? o.maxVcpus : o.vcpus;
  g.onlineVcpus = o.vcpus;
  g.kernel = o.kernel;
  g.ramdisk = o.initrd;
  g.cmdline = o.append;
  if (g.kind == "pv" && g.kernel.empty()) g.bootloader = o.bootloader.empty() ? kDefaultPygrub : o.bootloader;
  if (g.kind == "hvm") {
    g.firmware = kDefaultHvmloader;
    g.features.pae = g.features.acpi = g.features.apic = true;
  }
  for (char c : o.boot.empty() ? std::string(g.kind == "hvm" ? "c" : "") : o.boot) {
    static const std::map<char, const char*> dev = {{'a', "fd"}, {'c', "hd"}, {'d', "cdrom"}, {'n', "network"}};
    g.bootOrder.push_back(dev.at(c));
  }

  // Drives: the bus follows qemu's rules for the machine (IDE for HVM, PV block for PV/PVH).
  std::map<std::string, std::vector<bool>> used;
  for (const auto& d : o.drives) {
    std::string bus = d.interface.empty() ? (g.kind == "hvm" ? "ide" : "xen") : d.interface;
    auto& slots = used[bus];
    slots.resize(26, false);
    int index = d.index;
    if (index < 0) {
      index = 0;
      while (index < 26 && slots[static_cast<size_t>(index)]) ++index;
    }
    if (index >= 26 || slots[static_cast<size_t>(index)])
      return makeError(ErrorCode::InvalidArgument, "-drive: no free slot for " + d.file + " on the " + bus + " bus");
    if (bus == "ide" && index > 3) return makeError(ErrorCode::InvalidArgument, "-drive: IDE has four slots (index 0-3)");
    slots[static_cast<size_t>(index)] = true;
    GuestDisk disk;
    disk.vdev = (bus == "ide" ? "hd" : bus == "scsi" ? "sd" : "xvd") + letters(index);
    auto number = dom::vdevNumber(disk.vdev);
    if (!number.ok()) return number.takeError();
    disk.vdevNumber = *number;
    disk.path = d.file;
    disk.format = d.format.empty() ? "raw" : d.format;
    struct stat st;
    disk.backend = (!d.file.empty() && ::stat(d.file.c_str(), &st) == 0 && S_ISBLK(st.st_mode)) ? "phy" : "qdisk";
    disk.cdrom = d.media == "cdrom";
    disk.readonly = d.readonly || disk.cdrom;
    disk.mode = disk.readonly ? "r" : "w";
    g.disks.push_back(std::move(disk));
  }

  XVIRT_ASSIGN_OR_RETURN(GuestChardev console, consoleFromSerial(o));
  g.chardevs.push_back(console);

  if (!o.vnc.empty() && o.vnc != "none") {
    GuestGraphics vnc;
    vnc.type = "vnc";
    auto colon = o.vnc.rfind(':');
    vnc.listen = o.vnc.substr(0, colon);
    vnc.port = 5900 + std::stoi(o.vnc.substr(colon + 1));
    g.graphics.push_back(vnc);
  }
  return g;
}

Result<GuestChardev> consoleFromSerial(const HelperOptions& o) {
  GuestChardev console;
  console.kind = "console";
  std::string serial = o.serial.empty() ? (o.nographic ? "stdio" : "pty") : o.serial;
  if (serial == "pty" || serial == "stdio" || serial == "null") {
    console.type = serial;
  } else if (serial == "none") {
    console.type = "null";
  } else if (serial.rfind("file:", 0) == 0) {
    console.type = "file";
    console.path = serial.substr(5);
  } else {
    return makeError(ErrorCode::InvalidArgument,
                     "-serial: '" + serial + "' is not one of pty, file:PATH, stdio or null");
  }
  return console;
}

Status applySerialOption(const HelperOptions& o, GuestConfig& g) {
  if (o.serial.empty() && !o.nographic) return okStatus();
  XVIRT_ASSIGN_OR_RETURN(GuestChardev console, consoleFromSerial(o));
  for (auto& c : g.chardevs)
    if (c.kind == "console" && c.port == console.port) {
      c = console;
      return okStatus();
    }
  g.chardevs.push_back(console);
  return okStatus();
}

}  // namespace xvirt::helper
