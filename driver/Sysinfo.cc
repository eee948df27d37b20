// The host's SMBIOS facts from /sys/class/dmi/id, formatted as libvirt's virSysinfoFormat does.
// dmidecode (what libvirt runs) also reads the processor (type 4) and memory device (type 17)
// tables; the kernel exports those only as raw tables readable by root, so they are not reported.
#include "driver/Sysinfo.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "domain-xml/DomainXmlValues.h"

namespace xvirt::driver {

namespace {

struct Field {
  const char* entry;  // libvirt's <entry name='...'>
  const char* file;   // the attribute in /sys/class/dmi/id
};

struct Section {
  const char* element;
  std::initializer_list<Field> fields;
};

// In libvirt's order of sections and entries (virSysinfoBIOSFormat, virSysinfoSystemFormat,
// virSysinfoBaseBoardFormat, virSysinfoChassisFormat). Entries the kernel does not export
// (baseBoard location, chassis sku) cannot appear.
const Section kSections[] = {
    {"bios", {{"vendor", "bios_vendor"}, {"version", "bios_version"}, {"date", "bios_date"}, {"release", "bios_release"}}},
    {"system",
     {{"manufacturer", "sys_vendor"},
      {"product", "product_name"},
      {"version", "product_version"},
      {"serial", "product_serial"},
      {"uuid", "product_uuid"},
      {"sku", "product_sku"},
      {"family", "product_family"}}},
    {"baseBoard",
     {{"manufacturer", "board_vendor"},
      {"product", "board_name"},
      {"version", "board_version"},
      {"serial", "board_serial"},
      {"asset", "board_asset_tag"}}},
    {"chassis",
     {{"manufacturer", "chassis_vendor"},
      {"version", "chassis_version"},
      {"serial", "chassis_serial"},
      {"asset", "chassis_asset_tag"}}},
};

// One attribute's value without its trailing newline; empty when absent or unreadable (serial
// numbers and the UUID are root's only).
std::string readAttribute(const std::string& dir, const char* file) {
  std::ifstream in(dir + "/" + file);
  if (!in) return "";
  std::string value;
  std::getline(in, value);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\r' || value.back() == '\t')) value.pop_back();
  return value;
}

}  // namespace

std::string dmiDirectory() {
  if (const char* env = std::getenv("XVIRT_DMI_DIR"); env && *env) return env;
  return "/sys/class/dmi/id";
}

Result<std::string> sysinfoXml(const std::string& dmiDir) {
  std::ostringstream out;
  bool any = false;
  out << "<sysinfo type='smbios'>\n";
  for (const Section& s : kSections) {
    std::ostringstream entries;
    for (const Field& f : s.fields) {
      std::string v = readAttribute(dmiDir, f.file);
      if (v.empty()) continue;
      entries << "    <entry name='" << f.entry << "'>" << dom::xmlEscapeText(v) << "</entry>\n";
    }
    if (entries.tellp() == 0) continue;
    any = true;
    out << "  <" << s.element << ">\n" << entries.str() << "  </" << s.element << ">\n";
  }
  out << "</sysinfo>\n";
  if (!any)
    return makeError(ErrorCode::ConfigUnsupported, "unsupported configuration: Host SMBIOS information is not available");
  return out.str();
}

}  // namespace xvirt::driver
