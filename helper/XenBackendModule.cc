// The helper's real-Xen backend is a module (xvirt-helper-xen.so) loaded only when the helper runs on
// Xen: libxenctrl, libxenguest and the ten libraries they pull in cost every helper start-up time and
// resident memory, on the simulated host too, where none of them is used.
#include <dlfcn.h>
#include <unistd.h>

#include <string>

#include "helper/HelperModule.h"
#include "hypervisor/Backend.h"

namespace {

constexpr const char* kModuleName = "xvirt-helper-xen.so";

}  // namespace

// Takes the place of the backend's own definition at link time (so no object of hypervisor/xen/ and
// no Xen library is linked into the helper) and forwards to the same name in the module. The
// module's other references to xvirt code bind to the helper's own copies (the executable exports
// its symbols); this one is not exported, so the module's call stays its own.
extern "C" void xvirt_open_xen_hypervisor(xvirt::Result<std::unique_ptr<xvirt::hv::Hypervisor>>* out) {
  using xvirt::ErrorCode;
  using Open = void (*)(xvirt::Result<std::unique_ptr<xvirt::hv::Hypervisor>>*);
  static Open open = nullptr;
  if (!open) {
    std::string path = xvirt::helper::helperModulePath(kModuleName);
    void* module = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!module) {
      *out = xvirt::makeError(ErrorCode::OperationFailed,
                              "Cannot load the helper's Xen backend: " + std::string(::dlerror()) + ".");
      return;
    }
    void* sym = ::dlsym(module, xvirt::hv::kXenEntryPoint);
    if (!sym) {
      *out = xvirt::makeError(ErrorCode::OperationFailed, "The helper's Xen backend " + path + " lacks its entry point.");
      return;
    }
    open = reinterpret_cast<Open>(sym);
  }
  open(out);
}
