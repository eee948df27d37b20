// Where the helper's optional modules (xvirt-helper-xen.so, xvirt-helper-vnc.so) are found: beside
// the executable (the build tree), else where they are installed. Only for the helper's own sources,
// which helper/meson.build compiles with XVIRT_HELPER_MODULE_DIR.
#pragma once

#include <unistd.h>

#include <string>

#include "common/File.h"

#ifndef XVIRT_HELPER_MODULE_DIR
#error "helper/meson.build defines XVIRT_HELPER_MODULE_DIR"
#endif

namespace xvirt::helper {

inline std::string helperModulePath(const std::string& name) {
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = '\0';
    std::string beside = dirName(self) + "/" + name;
    if (::access(beside.c_str(), R_OK) == 0) return beside;
  }
  return std::string(XVIRT_HELPER_MODULE_DIR) + "/" + name;
}

}  // namespace xvirt::helper
