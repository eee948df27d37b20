// HelperOptions: xvirt-helper's command line — the qemu-xen style options it descends from
// (-name, -M, -m, -kernel, -hda, -serial, -qmp, -S ...) plus --config, --restore and --hypervisor.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/Result.h"

namespace xvirt::helper {

struct DriveOption {
  std::string file;
  std::string interface;  // ide | scsi | xen (empty: by machine)
  int index = -1;
  std::string format;     // raw | qcow2 ...
  std::string media = "disk";  // disk | cdrom
  bool readonly = false;
};

struct HelperOptions {
  // Guest, qemu style.
  std::string name;
  std::string uuid;
  std::string machine = "xenpv";  // xenpv | xenfv | xenpvh
  std::optional<uint64_t> memMb;
  unsigned vcpus = 1;
  unsigned maxVcpus = 0;          // 0: same as vcpus
  std::string kernel, initrd, append;
  std::string bootloader;         // --bootloader PATH (pygrub by default for PV without -kernel)
  std::vector<DriveOption> drives;
  std::string serial;             // pty | file:PATH | stdio | null ("" = default)
  bool nographic = false;
  std::string vnc;                // "ADDR:N" or "none"
  std::string boot;               // -boot order (c, d, n)

  // Process.
  bool startPaused = false;       // -S
  std::string qmpPath;            // -qmp unix:PATH,server[,nowait]
  std::string pidfile;
  bool daemonize = false;
  std::string configFile;         // --config FILE.json (GuestConfig from xvirtd)
  std::string restoreFile;        // --restore FILE
  std::string hypervisor = "auto";  // auto | xen | sim
  std::string simDir;             // --sim-dir (default: $XVIRT_SIM_DIR, then the per-user/system dir)
  std::string logFile;            // --log FILE (stderr otherwise)
  int verbosity = 0;
  bool help = false;
  bool version = false;
};

// Parses argv (without argv[0]). Errors name the option, as qemu's do ("-foo: invalid option").
Result<HelperOptions> parseHelperOptions(const std::vector<std::string>& args);

const char* helperUsage();

}  // namespace xvirt::helper
