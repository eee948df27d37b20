#include "helper/HelperOptions.h"

#include <map>

#include "common/Strings.h"
#include "hypervisor/Hypervisor.h"

namespace xvirt::helper {

const char* helperUsage() {
  return "usage: xvirt-helper [options]\n"
         "Guest (qemu-xen style):\n"
         "  -name NAME            guest name (also guest=NAME,...)\n"
         "  -uuid UUID            guest UUID\n"
         "  -M xenpv|xenfv|xenpvh machine: PV, HVM, PVH\n"
         "  -m MB                 memory in MiB\n"
         "  -smp N[,maxcpus=M]    virtual CPUs\n"
         "  -kernel FILE          direct kernel boot (PV, PVH, HVM)\n"
         "  -initrd FILE          initial ramdisk\n"
         "  -append CMDLINE       kernel command line\n"
         "  -hda/-hdb/-hdc/-hdd FILE, -cdrom FILE\n"
         "  -drive file=F[,if=ide|scsi|xen][,index=N][,format=F][,media=disk|cdrom][,readonly=on]\n"
         "  -boot ORDER           boot order for HVM (c, d, n)\n"
         "  -serial pty|file:PATH|stdio|null\n"
         "  -nographic            no graphics; console on the serial target\n"
         "  -vnc ADDR:N|none      VNC server on port 5900+N\n"
         "Process:\n"
         "  -S                    build the guest paused; start it with the monitor's cont\n"
         "  -qmp unix:PATH,server[,nowait]  monitor socket\n"
         "  -pidfile FILE, -daemonize\n"
         "  --config FILE.json    guest from a GuestConfig document (as xvirtd writes it)\n"
         "  --restore FILE        bring a saved guest back (with --config: a compatible replacement config)\n"
         "  --hypervisor auto|xen|sim, --sim-dir DIR, --bootloader PATH, --log FILE, -v\n";
}

static Result<std::map<std::string, std::string>> parseKeyValues(const std::string& opt, std::string_view text,
                                                                 const char* firstKey) {
  std::map<std::string, std::string> kv;
  bool first = true;
  for (const auto& part : split(text, ',')) {
    if (part.empty()) continue;
    auto eq = part.find('=');
    if (eq == std::string::npos) {
      if (first && firstKey) {
        kv[firstKey] = part;
      } else {
        kv[part] = "on";  // qemu's bare flags: "server", "nowait", "readonly"
      }
    } else {
      kv[part.substr(0, eq)] = part.substr(eq + 1);
    }
    first = false;
  }
  (void)opt;
  return kv;
}

static bool isOn(const std::string& v) { return v == "on" || v == "yes" || v == "true" || v == "1"; }

namespace {

Error invalid(const std::string& opt, const std::string& why) { return makeError(ErrorCode::InvalidArgument, opt + ": " + why); }

Status parseMemory(HelperOptions& o, const std::string& opt, const std::string& val) {
  std::string v = val;
  if (startsWith(v, "size=")) v = v.substr(5);
  uint64_t mult = 1;
  if (!v.empty() && (v.back() == 'M' || v.back() == 'm')) v.pop_back();
  else if (!v.empty() && (v.back() == 'G' || v.back() == 'g')) { v.pop_back(); mult = 1024; }
  auto mb = parseUint(v);
  if (!mb || *mb == 0 || *mb > (1ull << 32)) return invalid(opt, "invalid memory size '" + val + "'");
  o.memMb = *mb * mult;
  return okStatus();
}

Status parseSmp(HelperOptions& o, const std::string& opt, const std::string& val) {
  XVIRT_ASSIGN_OR_RETURN(auto kv, parseKeyValues(opt, val, "cpus"));
  auto n = parseUint(kv["cpus"]);
  if (!n || *n == 0 || *n > 128) return invalid(opt, "invalid number of CPUs '" + val + "'");
  o.vcpus = static_cast<unsigned>(*n);
  if (kv.count("maxcpus")) {
    auto m = parseUint(kv["maxcpus"]);
    if (!m || *m < *n || *m > 128) return invalid(opt, "maxcpus must be at least cpus and at most 128");
    o.maxVcpus = static_cast<unsigned>(*m);
  }
  return okStatus();
}

Status parseDrive(HelperOptions& o, const std::string& opt, const std::string& val) {
  XVIRT_ASSIGN_OR_RETURN(auto kv, parseKeyValues(opt, val, nullptr));
  DriveOption d;
  for (const auto& [k, v] : kv) {
    if (k == "file") d.file = v;
    else if (k == "if") d.interface = v;
    else if (k == "index") {
      auto n = parseUint(v);
      if (!n || *n > 25) return invalid(opt, "invalid index '" + v + "'");
      d.index = static_cast<int>(*n);
    } else if (k == "format") d.format = v;
    else if (k == "media") d.media = v;
    else if (k == "readonly") d.readonly = isOn(v);
    else return invalid(opt, "unknown drive option '" + k + "'");
  }
  if (d.interface != "" && d.interface != "ide" && d.interface != "scsi" && d.interface != "xen")
    return invalid(opt, "unsupported interface '" + d.interface + "' (use ide, scsi or xen)");
  if (d.media != "disk" && d.media != "cdrom") return invalid(opt, "media must be disk or cdrom");
  if (d.file.empty() && d.media != "cdrom") return invalid(opt, "a disk drive needs file=");
  if (d.media == "cdrom") d.readonly = true;
  o.drives.push_back(std::move(d));
  return okStatus();
}

Status parseQmp(HelperOptions& o, const std::string& opt, const std::string& val) {
  if (!startsWith(val, "unix:")) return invalid(opt, "only unix:PATH,server[,nowait] monitors are supported");
  XVIRT_ASSIGN_OR_RETURN(auto kv, parseKeyValues(opt, std::string_view(val).substr(5), "path"));
  o.qmpPath = kv["path"];
  if (o.qmpPath.empty()) return invalid(opt, "the monitor socket path is empty");
  if (!kv.count("server") || !isOn(kv["server"])) return invalid(opt, "the helper serves the monitor: add ',server'");
  for (const auto& [k, v] : kv)
    if (k != "path" && k != "server" && k != "nowait" && k != "wait") return invalid(opt, "unknown monitor option '" + k + "'");
  return okStatus();
}

using Apply = Status (*)(HelperOptions& o, const std::string& opt, const std::string& val);

// One row per spelling. A guest option describes the guest, so it cannot be combined with
// --config or --restore. qemu accepts --opt for -opt: names spelled with "--" here are taken as they are.
struct OptionSpec {
  std::string_view name;
  bool takesValue;
  bool guest;
  Apply apply;
};

// An option whose value is kept as given, and one that only switches something on.
template <std::string HelperOptions::*Member>
Status set(HelperOptions& o, const std::string&, const std::string& val) {
  o.*Member = val;
  return okStatus();
}
template <bool HelperOptions::*Member>
Status on(HelperOptions& o, const std::string&, const std::string&) {
  o.*Member = true;
  return okStatus();
}

const OptionSpec kOptions[] = {
    {"-name", true, true, [](HelperOptions& o, const std::string& opt, const std::string& val) -> Status {
       XVIRT_ASSIGN_OR_RETURN(auto kv, parseKeyValues(opt, val, "guest"));
       o.name = kv["guest"];
       if (o.name.empty()) return invalid(opt, "the guest name is empty");
       return okStatus();
     }},
    {"-uuid", true, true, set<&HelperOptions::uuid>},
    {"-M", true, true, [](HelperOptions& o, const std::string& opt, const std::string& val) -> Status {
       XVIRT_ASSIGN_OR_RETURN(auto kv, parseKeyValues(opt, val, "type"));
       o.machine = kv["type"];
       if (o.machine != "xenpv" && o.machine != "xenfv" && o.machine != "xenpvh")
         return invalid(opt, "unsupported machine type '" + o.machine + "' (use xenpv, xenfv or xenpvh)");
       return okStatus();
     }},
    {"-machine", true, true, nullptr},  // as -M
    {"-m", true, true, parseMemory},
    {"-smp", true, true, parseSmp},
    {"-kernel", true, true, set<&HelperOptions::kernel>},
    {"-initrd", true, true, set<&HelperOptions::initrd>},
    {"-append", true, true, set<&HelperOptions::append>},
    {"-hda", true, true, [](HelperOptions& o, const std::string& opt, const std::string& val) -> Status {
       o.drives.push_back(DriveOption{val, "", opt[3] - 'a', "", "disk", false});
       return okStatus();
     }},
    {"-hdb", true, true, nullptr},  // as -hda, index from the name
    {"-hdc", true, true, nullptr},
    {"-hdd", true, true, nullptr},
    {"-cdrom", true, true, [](HelperOptions& o, const std::string&, const std::string& val) -> Status {
       o.drives.push_back(DriveOption{val, "", 2, "", "cdrom", true});
       return okStatus();
     }},
    {"-drive", true, true, parseDrive},
    {"-boot", true, true, [](HelperOptions& o, const std::string& opt, const std::string& val) -> Status {
       XVIRT_ASSIGN_OR_RETURN(auto kv, parseKeyValues(opt, val, "order"));
       o.boot = kv["order"];
       for (char ch : o.boot)
         if (ch != 'a' && ch != 'c' && ch != 'd' && ch != 'n') return invalid(opt, "invalid boot device '" + std::string(1, ch) + "'");
       return okStatus();
     }},
    {"-serial", true, false, set<&HelperOptions::serial>},
    {"-vnc", true, false, [](HelperOptions& o, const std::string& opt, const std::string& val) -> Status {
       o.vnc = val;
       if (val == "none") return okStatus();
       auto colon = val.rfind(':');
       if (colon == std::string::npos || !parseUint(std::string_view(val).substr(colon + 1)))
         return invalid(opt, "expected ADDR:DISPLAY, e.g. 0.0.0.0:1");
       return okStatus();
     }},
    {"-qmp", true, false, parseQmp},
    {"-pidfile", true, false, set<&HelperOptions::pidfile>},
    {"--config", true, false, set<&HelperOptions::configFile>},
    {"--restore", true, false, set<&HelperOptions::restoreFile>},
    {"--hypervisor", true, false, [](HelperOptions& o, const std::string& opt, const std::string& val) -> Status {
       if (!hv::isBackendChoiceName(val)) return invalid(opt, "use auto, xen or sim");
       o.hypervisor = val;
       return okStatus();
     }},
    {"--sim-dir", true, false, set<&HelperOptions::simDir>},
    {"--bootloader", true, true, set<&HelperOptions::bootloader>},
    {"--log", true, false, set<&HelperOptions::logFile>},
    {"-S", false, false, on<&HelperOptions::startPaused>},
    {"-nographic", false, false, on<&HelperOptions::nographic>},
    {"-daemonize", false, false, on<&HelperOptions::daemonize>},
    {"-v", false, false, [](HelperOptions& o, const std::string&, const std::string&) -> Status {
       ++o.verbosity;
       return okStatus();
     }},
    {"-h", false, false, on<&HelperOptions::help>},
    {"-help", false, false, nullptr},  // as -h
    {"--help", false, false, nullptr},
    {"--version", false, false, on<&HelperOptions::version>},
    {"-version", false, false, nullptr},  // as --version
};

const OptionSpec* findOption(std::string_view name) {
  for (const OptionSpec& spec : kOptions)
    if (spec.name == name) return &spec;
  return nullptr;
}

// A row without a handler spells the option of the nearest row above that has one.
Apply handlerOf(const OptionSpec* spec) {
  while (!spec->apply) --spec;
  return spec->apply;
}

}  // namespace

Result<HelperOptions> parseHelperOptions(const std::vector<std::string>& args) {
  HelperOptions o;
  bool sawGuestOption = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string opt = args[i];
    if (startsWith(opt, "--") && !findOption(opt)) opt = opt.substr(1);
    const OptionSpec* spec = findOption(opt);
    if (!spec) return invalid(opt, "invalid option");
    std::string val;
    if (spec->takesValue) {
      if (i + 1 >= args.size()) return invalid(opt, "requires an argument");
      val = args[++i];
    }
    sawGuestOption = sawGuestOption || spec->guest;
    XVIRT_TRY(handlerOf(spec)(o, opt, val));
  }
  if (o.help || o.version) return o;

  // Contradictions, refused before anything is built.
  if (!o.configFile.empty() && sawGuestOption)
    return makeError(ErrorCode::InvalidArgument, "--config: the guest comes from the file; do not combine it with guest options such as -m or -kernel");
  // --restore with --config: the config replaces the image's (compatible changes only, docs/save-image.md).
  if (!o.restoreFile.empty() && sawGuestOption)
    return makeError(ErrorCode::InvalidArgument, "--restore: the guest comes from the saved image; do not combine it with guest options");
  if (o.configFile.empty() && o.restoreFile.empty()) {
    if (o.name.empty()) return makeError(ErrorCode::InvalidArgument, "-name: a guest name is required");
    if (!o.memMb) o.memMb = 128;  // qemu's default
    if (!o.initrd.empty() && o.kernel.empty())
      return makeError(ErrorCode::InvalidArgument, "-initrd: only allowed with the -kernel option");
    if (!o.append.empty() && o.kernel.empty())
      return makeError(ErrorCode::InvalidArgument, "-append: only allowed with the -kernel option");
    if (!o.kernel.empty() && !o.bootloader.empty())
      return makeError(ErrorCode::InvalidArgument, "--bootloader: a guest boots either a -kernel or through a bootloader, not both");
    if (o.machine != "xenpv" && !o.bootloader.empty())
      return makeError(ErrorCode::InvalidArgument, "--bootloader: only PV guests (-M xenpv) use a bootloader");
    if (o.machine == "xenpvh" && o.kernel.empty())
      return makeError(ErrorCode::InvalidArgument, "-M xenpvh: a PVH guest needs -kernel");
    if (o.machine == "xenpv" && o.kernel.empty() && o.drives.empty())
      return makeError(ErrorCode::InvalidArgument, "-M xenpv: a PV guest needs -kernel, or a disk for the pygrub bootloader");
  }
  if (o.daemonize && (o.serial == "stdio" || (o.nographic && o.serial.empty())))
    return makeError(ErrorCode::InvalidArgument, "-daemonize: cannot be used with a console on stdio");
  if (o.nographic && !o.vnc.empty() && o.vnc != "none")
    return makeError(ErrorCode::InvalidArgument, "-nographic: cannot be combined with -vnc");
  std::map<std::string, int> seen;  // one drive per bus slot
  for (const auto& d : o.drives) {
    std::string slot = (d.interface.empty() ? "default" : d.interface) + std::to_string(d.index);
    if (d.index >= 0 && seen[slot]++)
      return makeError(ErrorCode::InvalidArgument, "-drive: two drives use index " + std::to_string(d.index));
  }
  return o;
}

}  // namespace xvirt::helper
