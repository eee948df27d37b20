// Xen's own config files <-> DomainDef: xl.cfg ("xen-xl") and the legacy xm format ("xen-xm"),
// the two sides of `virsh domxml-from-native` / `domxml-to-native`.
#pragma once

#include <string>
#include <string_view>

#include "common/Result.h"
#include "domain-xml/DomainDef.h"

namespace xvirt::dom {

enum class NativeFormat { XenXl, XenXm };
Result<NativeFormat> parseNativeFormat(std::string_view name);  // "xen-xl" | "xen-xm"

Result<DomainDef> parseXlConfig(std::string_view text, NativeFormat format);
Result<std::string> formatXlConfig(const DomainDef& def, NativeFormat format);

}  // namespace xvirt::dom
