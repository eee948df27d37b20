// SimHost: starting the simulated Xen host (xvirt-simxen) on demand for a runtime directory, the way
// a toolstack finds a hypervisor already there: detached, outliving whoever started it.
#pragma once

#include <string>

#include "common/Result.h"

namespace xvirt::hv {

// Starts xvirt-simxen for `dir` unless one already serves it, and returns once both its xenstore
// and hypercall sockets accept connections. The binary is $XVIRT_SIMXEN, else xvirt-simxen beside
// the running executable, else the build tree's, else the one on PATH.
Status ensureSimHost(const std::string& dir);

// Whether both sockets of `dir` accept connections now.
bool simHostRunning(const std::string& dir);

// The xvirt-simxen binary ensureSimHost would start ("" when none is found).
std::string findSimxenBinary();
// The stand-in device model for HVM guests, found the same way ($XVIRT_SIM_DM first).
std::string findSimDeviceModelBinary();

}  // namespace xvirt::hv
