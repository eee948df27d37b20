// BlockDevices: what xl's block hotplug script does for a vbd, in the helper. Linux's blkback serves
// only block devices and connects once `physical-device` (major:minor) is in its backend node, so a
// file-backed disk gets a loop device first. Used on real Xen only; the sim's backends need neither.
#pragma once

#include <map>
#include <string>

#include "common/Result.h"
#include "common/UniqueFd.h"

namespace xvirt::helper {

class BlockDevices {
 public:
  // The "major:minor" (hex, as blkback parses it) for `path`: the device itself when it is a block
  // device, else a loop device over the file, which stays attached while the helper holds it and
  // detaches by itself (autoclear) once blkback and the helper have both let go.
  Result<std::string> attach(const std::string& backendPath, const std::string& path, bool readonly);
  void release(const std::string& backendPath);  // after the backend closed, or the domain died
  void releaseAll() { loops_.clear(); }

 private:
  std::map<std::string, UniqueFd> loops_;  // backend path -> the loop device we configured
};

}  // namespace xvirt::helper
