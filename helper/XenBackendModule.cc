// The helper's real-Xen backend is a module (xvirt-helper-xen.so) loaded only when the helper runs on
// Xen: libxenctrl, libxenguest and the ten libraries they pull in cost every helper start-up time and
// resident memory, on the simulated host too, where none of them is used.
#include <dlfcn.h>
#include <unistd.h>

#include <string>

#include "helper/HelperModule.h"
#include "hypervisor/xen/XenctrlHypervisor.h"


namespace xvirt::hv {

namespace {

constexpr const char* kModuleName = "xvirt-helper-xen.so";
// openXenctrlHypervisor() as the module (built from hypervisor/xen/) defines it.
constexpr const char* kOpenSymbol = "_ZN5xvirt2hv21openXenctrlHypervisorEv";

}  // namespace

// Takes the place of the backend's own definition at link time (so no object of hypervisor/xen/ and
// no Xen library is linked into the helper) and forwards to it in the module. The module's other
// references to xvirt code bind to the helper's own copies (the executable exports its symbols).
Result<std::unique_ptr<Hypervisor>> openXenctrlHypervisor() {
  using Open = Result<std::unique_ptr<Hypervisor>> (*)();
  static Open open = nullptr;
  if (!open) {
    std::string path = helper::helperModulePath(kModuleName);
    void* module = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!module)
      return makeError(ErrorCode::OperationFailed, "Cannot load the helper's Xen backend: " + std::string(::dlerror()) + ".");
    void* sym = ::dlsym(module, kOpenSymbol);
    if (!sym)
      return makeError(ErrorCode::OperationFailed, "The helper's Xen backend " + path + " lacks its entry point.");
    open = reinterpret_cast<Open>(sym);
  }
  return open();
}

}  // namespace xvirt::hv
