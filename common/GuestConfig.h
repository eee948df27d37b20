// GuestConfig: everything a per-guest helper needs to build and run one Xen guest, as plain data.
// xvirtd derives it from the domain definition and hands it over as JSON (helper --config FILE.json).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/Json.h"
#include "common/Result.h"

namespace xvirt {

struct GuestDisk {
  std::string vdev;          // xvda, hdc, ...
  uint32_t vdevNumber = 0;   // xenstore virtual-device number
  std::string backend;       // phy | qdisk
  std::string format = "raw";  // raw | qcow | qcow2 | vhd | qed | empty; absent in JSON reads as raw
  std::string path;          // empty for an empty cdrom
  std::string mode = "w";    // r | w
  bool cdrom = false;
  bool readonly = false;
  bool shareable = false;
  std::string script;        // block script, if any
};

struct GuestNic {
  unsigned devid = 0;
  std::string mac;
  std::string bridge;        // empty for a routed/ethernet NIC
  std::string script;
  std::string model;         // netfront, or the emulated model (e1000, rtl8139) on HVM
  std::string ip;
  std::string vifname;
};

struct GuestChardev {
  std::string kind;          // console | serial
  std::string type;          // pty | file | null | stdio | tcp
  std::string path;          // file path (type file)
  std::string host, service, mode, protocol;  // tcp
  unsigned port = 0;         // console/serial index
};

struct GuestGraphics {
  std::string type;          // vnc | sdl
  std::string listen;
  int port = -1;             // -1: pick a free one
  std::string passwd;
  std::string keymap;
  std::string display, xauthority;  // sdl
};

struct GuestDeviceModel {
  std::string name;
  std::vector<std::string> vifs, disks, options;
  bool ui = false, ide = false;
};

struct GuestStubdom {
  bool enabled = true;
  std::string kernel, ramdisk, cmdline;
  uint64_t memoryKib = 0;    // 0: the helper's default
};

struct GuestFeatures {
  bool pae = false, acpi = false, apic = false, hap = true, viridian = false, hpet = false;
};

struct GuestConfig {
  static constexpr int kVersion = 1;

  std::string name;
  std::string uuid;
  std::string kind = "pv";              // pv | hvm | pvh
  uint64_t memoryKib = 0;               // boot target
  uint64_t maxMemoryKib = 0;            // balloon ceiling
  unsigned maxVcpus = 1;
  unsigned onlineVcpus = 1;
  std::vector<std::vector<unsigned>> affinity;  // per vCPU; empty list (or missing entry) = any CPU
  std::string kernel, ramdisk, cmdline;
  std::string bootloader, bootloaderArgs;
  std::string firmware;                 // hvmloader / OVMF path
  std::string firmwareType;             // "" | rom | pflash
  std::vector<std::string> bootOrder;   // hd | cdrom | network | fd
  GuestFeatures features;
  bool localtime = false;
  int64_t rtcOffset = 0;                // seconds
  std::string onPoweroff = "destroy", onReboot = "restart", onCrash = "destroy";
  std::string deviceModel;              // emulator path
  std::vector<GuestDisk> disks;
  std::vector<GuestNic> nics;
  std::vector<GuestChardev> chardevs;
  std::vector<GuestGraphics> graphics;
  std::vector<GuestDeviceModel> deviceModels;
  std::optional<GuestStubdom> stubdom;

  // Members in a fixed order, every member present, so documents diff cleanly.
  Json toJson() const;
  // Checks every member's type and value; the error names the member (e.g. "disks[1].vdevNumber").
  static Result<GuestConfig> fromJson(const Json& json);
};

}  // namespace xvirt
