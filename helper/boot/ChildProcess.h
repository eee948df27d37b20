// ChildProcess: fork + exec of the helper's own children (the bootloader, the device model), with the
// helper's blocked signals restored in the child and an exec failure reported back as an Error.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "common/Result.h"

namespace xvirt::helper {

struct SpawnOptions {
  std::vector<std::string> argv;              // argv[0] is the program (a path, or a name on PATH)
  std::vector<std::string> env;               // "K=V"; empty: inherit the helper's environment
  std::function<void()> inChild;              // runs after fork, before exec (async-signal-safe calls only)
};

// Starts the program; returns its pid once exec succeeded. The child gets a default signal mask and
// dispositions, so a SIGTERM from the helper reaches it even though the helper blocks signals.
Result<pid_t> spawnChild(const SpawnOptions& options);

// "exited with status 1", "was killed by signal 9 (Killed)"
std::string describeWaitStatus(int status);

}  // namespace xvirt::helper
