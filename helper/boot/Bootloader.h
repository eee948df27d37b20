// Bootloader: runs a PV guest's bootloader (Debian's pygrub by default) against its boot disk as
// libxl does, with its menu relayed to the guest's console, and hands back the kernel it chose.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/GuestConfig.h"
#include "common/Result.h"

namespace xvirt::helper {

class ConsoleServer;

// Where Xen's toolstack keeps its private programs: a bootloader given by name is looked for here first.
inline constexpr const char* kXenPrivateBinDir = "/usr/lib/xen-4.17/bin";

struct BootloaderRequest {
  std::string program;       // absolute path, or a name on PATH
  std::string extraArgs;     // the config's bootloader_args, split as a shell would
  std::string cmdline;       // appended to the chosen entry's arguments (--args)
  std::string disk;          // the boot disk's host path
  bool interactive = true;   // false: boot the default entry without a menu (-q)
  std::string outputFile;    // pygrub writes its answer here (it must exist beforehand)
  std::string outputDir;     // and copies the kernel and ramdisk here
};

// The bootloader's argv, in libxl's order: program, --args, -q, --output, --output-format=simple0,
// --output-directory, the extra arguments, the disk. Pure, so it is tested without running anything.
Result<std::vector<std::string>> bootloaderArgv(const BootloaderRequest& request);

struct BootChoice {
  std::string kernel, ramdisk, cmdline;
};
// Parses the "simple0" answer: NUL-terminated "kernel PATH", "ramdisk PATH", "args ..." items.
Result<BootChoice> parseBootloaderOutput(std::string_view output);

// One run of the bootloader; its temporary directory (answer, kernel, ramdisk) lives as long as
// this object, so the build can read the files, and is removed with it.
class BootloaderRun {
 public:
  // Runs the bootloader of `config` against its first disk, relaying the menu to `console` (may be
  // null) until the bootloader exits. Errors name the guest, the disk and the bootloader's message.
  static Result<std::unique_ptr<BootloaderRun>> run(const GuestConfig& config, ConsoleServer* console);
  ~BootloaderRun();
  BootloaderRun(const BootloaderRun&) = delete;
  BootloaderRun& operator=(const BootloaderRun&) = delete;

  const BootChoice& choice() const { return choice_; }

 private:
  BootloaderRun() = default;
  std::string tmpDir_;
  BootChoice choice_;
};

}  // namespace xvirt::helper
