// libvirt's domain states, state reasons and lifecycle event codes live in driver/LibvirtConstants.h;
// here is how virsh prints a state.
#pragma once

#include "driver/LibvirtConstants.h"

namespace xvirt::driver {

const char* domainStateName(DomainState s);  // "running", "shut off", ... as virsh prints them

}  // namespace xvirt::driver
