// Xen's own config files <-> DomainDef: xl.cfg ("xen-xl") and the legacy xm format ("xen-xm"),
// the two sides of `virsh domxml-from-native` / `domxml-to-native`.
#pragma once

#include <string>
#include <string_view>

#include "common/Result.h"
#include "domain-xml/DomainDef.h"

namespace xvirt::dom {

enum class NativeFormat { XenXl, XenXm };

// Where bios="ovmf" finds its firmware when bios_path_override does not say (Debian's ovmf package).
inline constexpr const char* kDefaultOvmf = "/usr/share/ovmf/OVMF.fd";
Result<NativeFormat> parseNativeFormat(std::string_view name);  // "xen-xl" | "xen-xm"

Result<DomainDef> parseXlConfig(std::string_view text, NativeFormat format);
Result<std::string> formatXlConfig(const DomainDef& def, NativeFormat format);

}  // namespace xvirt::dom
