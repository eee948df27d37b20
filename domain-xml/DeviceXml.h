// One device element (<disk> or <interface>) as virsh attach-device / detach-device / update-device
// and attach-disk / attach-interface send it, parsed with the same rules as inside a domain.
#pragma once

#include <string>
#include <string_view>

#include "common/Result.h"
#include "domain-xml/DomainDef.h"

namespace xvirt::dom {

struct DeviceDef {
  enum class Kind { Disk, Interface };
  Kind kind = Kind::Disk;
  DiskDef disk;
  InterfaceDef nic;
  bool macGiven = false;  // the <interface> named its MAC (else the parser made one up)
};

// Parses a single device element. Anything else (a whole <domain>, <hostdev>, <console>...) is
// refused with a sentence naming the element.
Result<DeviceDef> parseDeviceXml(std::string_view xml);

}  // namespace xvirt::dom
