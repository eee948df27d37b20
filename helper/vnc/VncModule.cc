// Loading xvirt-helper-vnc.so: libvncserver and what it pulls in (zlib, libjpeg, libpng, gnutls...)
// are mapped only by helpers that serve VNC, so every other helper starts as fast as before.
#include <dlfcn.h>
#include <unistd.h>

#include "helper/HelperModule.h"
#include "helper/vnc/VncDisplay.h"

namespace xvirt::helper {

namespace {

constexpr const char* kModuleName = "xvirt-helper-vnc.so";

}  // namespace

Result<std::unique_ptr<VncDisplay>> openVncDisplay(const VncOptions& options) {
  std::string path = helperModulePath(kModuleName);
  void* module = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!module)
    return makeError(ErrorCode::ConfigUnsupported,
                     "VNC is not available: the helper's VNC module cannot be loaded (" + std::string(::dlerror()) + ").");
  using Open = VncDisplay* (*)(const VncOptions*, std::string*);
  auto open = reinterpret_cast<Open>(::dlsym(module, "xvirt_vnc_open"));
  if (!open) return makeError(ErrorCode::OperationFailed, "The helper's VNC module " + path + " lacks its entry point.");
  std::string error;
  VncDisplay* display = open(&options, &error);
  if (!display) return makeError(ErrorCode::OperationFailed, error);
  return std::unique_ptr<VncDisplay>(display);
}

Result<std::unique_ptr<VncDisplay>> openGuestVnc(const GuestConfig& config, bool helperServesHvm) {
  const GuestGraphics* vnc = nullptr;
  for (const auto& g : config.graphics)
    if (g.type == "vnc") {
      vnc = &g;
      break;
    }
  if (!vnc || (config.kind == "hvm" && !helperServesHvm)) return std::unique_ptr<VncDisplay>();
  VncOptions o;
  if (!vnc->listen.empty()) o.listen = vnc->listen;
  o.port = vnc->port;
  o.title = config.name;
  auto display = openVncDisplay(o);
  if (!display.ok())
    return makeError(display.error().code, "Guest '" + config.name + "': " + display.error().message);
  return display;
}

}  // namespace xvirt::helper
