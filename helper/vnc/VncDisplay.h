// VncDisplay: the guest's screen served over VNC by the helper (-vnc, <graphics type='vnc'>). On the
// simulated host, and for PV/PVH guests, the screen shows the guest's console text. The libvncserver
// implementation is a module (xvirt-helper-vnc.so) loaded only when VNC is asked for.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/GuestConfig.h"
#include "common/Result.h"

namespace xvirt::helper {

struct VncOptions {
  std::string listen = "127.0.0.1";  // IPv4 address to listen on
  int port = 5900;                   // TCP port; -1: the first free one from 5900
  std::string title;                 // the desktop name clients show
};

class VncDisplay {
 public:
  virtual ~VncDisplay() = default;
  // Console bytes (with CR/LF, backspace, tabs; terminal escape sequences are skipped).
  virtual void consoleOutput(std::string_view bytes) = 0;
  virtual int port() const = 0;
  // Keys typed at VNC clients, as the bytes a terminal would send (letters, Return as CR, BackSpace,
  // Tab, Escape). Called from the VNC thread: the handler must hand them to the main loop itself.
  virtual void setKeyHandler(std::function<void(std::string)> handler) = 0;
};

// Loads the module and starts serving; clients are served from a thread of the module's own.
Result<std::unique_ptr<VncDisplay>> openVncDisplay(const VncOptions& options);

// The display the helper itself serves for `config`'s VNC graphics, or null when it serves none: no
// VNC configured, or an HVM guest whose device model is QEMU, which serves its VNC (helperServesHvm
// is false then).
Result<std::unique_ptr<VncDisplay>> openGuestVnc(const GuestConfig& config, bool helperServesHvm);

}  // namespace xvirt::helper

// The module's entry point: a new display, or null with *error set.
extern "C" xvirt::helper::VncDisplay* xvirt_vnc_open(const xvirt::helper::VncOptions* options, std::string* error);
