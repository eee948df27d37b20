// DomainDef: one Xen guest's definition as libvirt users write it, independent of any text format.
// Parsed from and formatted to libvirt domain XML (DomainXml.h) and xl/xm configs (XlConfig.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/Uuid.h"

namespace xvirt::dom {

// os/type: "linux" and "xen" both mean PV (libvirt writes "xen" for a libxl host, "linux" is the
// legacy spelling); "hvm" is fully virtualised; "xenpvh" is PVH.
enum class OsType { PV, HVM, PVH };

enum class LifecycleAction { Destroy, Restart, Preserve, RenameRestart, CoredumpDestroy, CoredumpRestart };

enum class VcpuPlacement { Static, Auto };

struct VcpuDef {
  unsigned max = 1;                   // <vcpu>N</vcpu>
  std::optional<unsigned> current;    // <vcpu current='M'>; absent means all online
  std::string cpuset;                 // <vcpu cpuset='0-3,^2'>; empty means any host CPU
  VcpuPlacement placement = VcpuPlacement::Static;
};

struct VcpuPin {
  unsigned vcpu = 0;
  std::string cpuset;  // as written, e.g. "1" or "0-2"
};

struct OsDef {
  OsType type = OsType::PV;
  std::string arch = "x86_64";
  std::string machine;      // xenpv / xenfv / xenpvh; empty means the default for the type
  std::string kernel;
  std::string initrd;
  std::string cmdline;
  std::string loader;       // <loader> path (hvmloader, OVMF)
  std::string loaderType;   // "rom" or "pflash", if given
  bool loaderReadonly = false;
  std::vector<std::string> bootDevs;  // <boot dev='hd|cdrom|network|fd'/> in order
};

// A feature is either absent, or present as on/off (<hap state='off'/>).
struct FeaturesDef {
  std::optional<bool> pae, acpi, apic, hap, viridian, hpet;
  // hpet is libvirt's <clock><timer name='hpet' present='yes|no'/>, not a <features> child.
  std::vector<std::string> keptXml;  // harmless libvirt features (<pmu>, <vmport>...), verbatim
};

struct ClockDef {
  std::string offset;                 // "", "utc", "localtime", "variable", "timezone"
  std::optional<int64_t> adjustment;  // seconds, with offset='variable'
  std::string timezone;
  std::string basis;                  // "utc" or "localtime" with offset='variable'
  std::vector<std::string> timersXml; // <timer .../> elements kept verbatim
  bool adjustmentReset = false;      // adjustment='reset' with offset utc/localtime
};

struct DiskDef {
  std::string type = "file";       // file | block
  std::string device = "disk";     // disk | cdrom
  std::string driverName;          // phy | file | qemu | tap | tap2 (empty: decided by xvirt)
  std::string driverType;          // raw | qcow2 | qcow | vhd
  std::string source;              // file path or block device; empty for an empty cdrom
  std::string targetDev;           // xvda, hdc, sdb ...
  std::string targetBus;           // xen | ide | scsi (empty: derived from the target name)
  bool readonly = false;
  bool shareable = false;
  std::string script;              // <script path=.../> block script, if any
  std::vector<std::string> keptXml; // harmless children (<address>, <alias>), verbatim
};

struct InterfaceDef {
  std::string type = "bridge";     // bridge | ethernet | network
  std::string source;              // bridge name or network name
  std::string mac;                 // aa:bb:cc:dd:ee:ff (generated 00:16:3e:xx:xx:xx when absent)
  std::string script;
  std::string model;               // netfront | e1000 | rtl8139 (empty: netfront for PV)
  std::string target;              // vifN.M name, if given
  std::string ip;                  // <ip address=.../>
  std::vector<std::string> keptXml; // harmless children (<address>, <alias>), verbatim
};

// <console> and <serial>: both are character devices with a source and a target.
struct ChardevDef {
  enum class Kind { Console, Serial };
  Kind kind = Kind::Console;
  std::string type = "pty";        // pty | file | null | stdio | tcp
  std::string path;                // file path (type file) or pty path (live only)
  std::string host, service;       // tcp
  std::string mode;                // tcp: bind | connect
  std::string protocol;            // tcp: raw | telnet
  std::string targetType;          // console: xen | serial; serial: (empty)
  int targetPort = 0;
};

struct GraphicsDef {
  std::string type = "vnc";        // vnc | sdl
  std::string listen;              // address
  int port = -1;                   // -1 with autoport
  bool autoport = true;
  std::string passwd;              // never formatted without the SECURE flag
  std::string keymap;
  std::string display, xauth;      // sdl
};

struct InputDef {
  std::string type;                // mouse | tablet | keyboard
  std::string bus;                 // xen | ps2 | usb
  std::vector<std::string> keptXml; // harmless children (<address>, <alias>), verbatim
};

struct VideoDef {
  std::string model;               // cirrus | vga | xen
  std::optional<unsigned> vram;    // KiB
  std::optional<unsigned> heads;
};

// xvirt namespace (http://xvirt.org/schemas/domain/1.0): several device models for one HVM
// domain, from xl's device_models = [ 'name=qnet,vifs=nic1', 'name=qall,ui,ide' ].
struct DeviceModelDef {
  std::string name;
  std::vector<std::string> vifs;
  std::vector<std::string> disks;
  bool ui = false;
  bool ide = false;
  std::vector<std::string> options;  // other bare words, kept in order
};

// xvirt namespace: a stub domain runs the device model (xl's stubdomain_* options).
struct StubdomDef {
  std::string override;            // device_model_stubdomain_override: "1" / "0" as written
  std::string kernel, ramdisk, cmdline;
  std::optional<uint64_t> memoryKib;
};

struct DomainDef {
  std::string type = "xen";
  int id = -1;                     // live domain id; -1 when inactive (never parsed with INACTIVE)
  std::string name;
  Uuid uuid;                       // generated when the XML has none
  std::string title, description;
  std::string metadataXml;         // <metadata> children, verbatim

  uint64_t memoryKib = 0;          // <memory>: the maximum the guest may balloon to
  uint64_t currentMemoryKib = 0;   // <currentMemory>: the boot target (defaults to memory)
  std::optional<uint64_t> maxMemoryKib;  // <maxMemory slots=...>: hotplug ceiling
  unsigned maxMemorySlots = 0;

  VcpuDef vcpu;
  std::vector<VcpuPin> vcpupins;   // <cputune><vcpupin .../>

  OsDef os;
  std::string bootloader;          // e.g. /usr/lib/xen-4.17/bin/pygrub
  std::string bootloaderArgs;

  FeaturesDef features;
  ClockDef clock;
  LifecycleAction onPoweroff = LifecycleAction::Destroy;
  LifecycleAction onReboot = LifecycleAction::Restart;
  LifecycleAction onCrash = LifecycleAction::Destroy;

  std::string emulator;            // <devices><emulator>
  std::vector<DiskDef> disks;
  std::vector<InterfaceDef> interfaces;
  std::vector<ChardevDef> consoles;
  std::vector<ChardevDef> serials;
  std::vector<GraphicsDef> graphics;
  std::vector<InputDef> inputs;
  std::vector<VideoDef> videos;
  std::optional<std::string> memballoonModel;  // <memballoon model='xen|none'/>

  // Elements libvirt knows that xvirt does not act on but that are harmless; kept verbatim and
  // formatted back in place (e.g. <pm>, <seclabel>, <resource>, <sound> is NOT harmless).
  std::vector<std::string> keptTopLevelXml;
  std::vector<std::string> keptDeviceXml;

  std::vector<DeviceModelDef> deviceModels;  // xvirt namespace
  std::optional<StubdomDef> stubdom;         // xvirt namespace

  bool isPV() const { return os.type == OsType::PV; }
  bool isHVM() const { return os.type == OsType::HVM; }
  bool isPVH() const { return os.type == OsType::PVH; }
};

}  // namespace xvirt::dom
