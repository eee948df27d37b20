// xvirt-domxml: converts between libvirt domain XML and Xen's xl/xm configs, prints the GuestConfig
// a helper would receive, and validates domain XML; the offline face of `virsh domxml-*-native`.
#include <cstdio>
#include <cstring>
#include <string>

#include "common/File.h"
#include "common/GuestConfig.h"
#include "domain-xml/GuestConfigBuilder.h"
#include "domain-xml/DomainXml.h"
#include "domain-xml/XlConfig.h"

namespace {

using namespace xvirt;
using namespace xvirt::dom;

constexpr const char* kUsage =
    "usage: xvirt-domxml from-native xen-xl|xen-xm FILE      xl/xm config -> domain XML\n"
    "       xvirt-domxml to-native xen-xl|xen-xm FILE.xml    domain XML -> xl/xm config\n"
    "       xvirt-domxml guestconfig FILE.xml|FILE.cfg       the helper's GuestConfig JSON\n"
    "       xvirt-domxml validate FILE.xml                   check against schemas/domain.rng\n";

int fail(const std::string& message) {
  fprintf(stderr, "xvirt-domxml: %s\n", message.c_str());
  return 1;
}

int print(const std::string& text) {
  fputs(text.c_str(), stdout);
  if (!text.empty() && text.back() != '\n') fputc('\n', stdout);
  return 0;
}

Result<DomainDef> loadXml(const std::string& path) {
  XVIRT_ASSIGN_OR_RETURN(std::string text, readFile(path));
  return parseDomainXml(text);
}

Result<DomainDef> loadAny(const std::string& path) {
  if (path.size() > 4 && path.compare(path.size() - 4, 4, ".cfg") == 0) {
    XVIRT_ASSIGN_OR_RETURN(std::string text, readFile(path));
    return parseXlConfig(text, NativeFormat::XenXl);
  }
  return loadXml(path);
}

int run(int argc, char** argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 1 : 0;
  }
  std::string cmd = argv[1];
  if ((cmd == "from-native" || cmd == "to-native") && argc == 4) {
    auto format = parseNativeFormat(argv[2]);
    if (!format.ok()) return fail(format.error().message);
    if (cmd == "from-native") {
      auto text = readFile(argv[3]);
      if (!text.ok()) return fail(text.error().message);
      auto def = parseXlConfig(*text, *format);
      if (!def.ok()) return fail(std::string(argv[3]) + ": " + def.error().message);
      // The user's own config: keep its secrets (vncpasswd), as the file itself does.
      return print(formatDomainXml(*def, kFormatInactive | kFormatSecure));
    }
    auto def = loadXml(argv[3]);
    if (!def.ok()) return fail(std::string(argv[3]) + ": " + def.error().message);
    auto out = formatXlConfig(*def, *format);
    if (!out.ok()) return fail(out.error().message);
    return print(*out);
  }
  if (cmd == "guestconfig" && argc == 3) {
    auto def = loadAny(argv[2]);
    if (!def.ok()) return fail(std::string(argv[2]) + ": " + def.error().message);
    auto gc = buildGuestConfig(*def);
    if (!gc.ok()) return fail(gc.error().message);
    return print(gc->toJson().dump(false));
  }
  if (cmd == "validate" && argc == 3) {
    auto text = readFile(argv[2]);
    if (!text.ok()) return fail(text.error().message);
    auto st = validateDomainXml(*text);
    if (!st.ok()) return fail(std::string(argv[2]) + ": " + st.error().message);
    return print(std::string(argv[2]) + " validates");
  }
  fputs(kUsage, stderr);
  return 1;
}

}  // namespace

int main(int argc, char** argv) { return run(argc, argv); }
