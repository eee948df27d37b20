// ConsoleServer: carries one guest's PV console between the hypervisor's console ring and where the
// user wants it (a pty, a file, stdio or nowhere). Output is never lost while nobody reads: a bounded
// buffer keeps the newest bytes and counts what it had to drop.
#pragma once

#include <glib.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/Result.h"
#include "common/UniqueFd.h"
#include "hypervisor/Hypervisor.h"

namespace xvirt::helper {

struct ConsoleTarget {
  enum class Kind { Pty, File, Stdio, Null };
  Kind kind = Kind::Pty;
  std::string path;  // File: the log file

  // Parses qemu's -serial forms: "pty", "file:PATH", "stdio", "null", "none".
  static Result<ConsoleTarget> parse(std::string_view spec);
};

class ConsoleServer {
 public:
  static constexpr size_t kBufferLimit = 256u << 10;

  static Result<std::unique_ptr<ConsoleServer>> create(const ConsoleTarget& target, std::string label);
  ~ConsoleServer();

  // Connects the guest side; replaces any previous channel (a rebuilt domain after a reset).
  void attach(std::unique_ptr<hv::ConsoleChannel> channel);
  void detach();
  // Drains whatever the guest has written so far (used before exiting).
  void pump();
  // While no guest is attached, the bootloader borrows the console: its screen goes to the user
  // (showLocal) and it reads the user's keys itself (userInputFd, -1 when nobody can type).
  void showLocal(std::string_view bytes);
  // Everything shown to the user is also handed to `tap` (the VNC display's text screen).
  void setTap(std::function<void(std::string_view)> tap) { tap_ = std::move(tap); }
  // Input from elsewhere than the console target (keys typed over VNC) for the guest.
  void typeIn(std::string_view bytes);
  int userInputFd() const { return in_ ? in_.get() : -1; }

  const std::string& label() const { return label_; }
  std::string filename() const;        // "pty:/dev/pts/3", "file:/x.log", "stdio", "null"
  const std::string& ptyPath() const { return ptyPath_; }
  uint64_t droppedBytes() const { return dropped_; }
  uint64_t bytesFromGuest() const { return fromGuest_; }

 private:
  ConsoleServer(ConsoleTarget target, std::string label) : target_(std::move(target)), label_(std::move(label)) {}
  Status openTarget();
  static gboolean onGuest(gint fd, GIOCondition cond, gpointer self);
  static gboolean onUser(gint fd, GIOCondition cond, gpointer self);
  static gboolean onUserWritable(gint fd, GIOCondition cond, gpointer self);
  void deliver(std::string_view bytes);
  void flushPending();

  ConsoleTarget target_;
  std::string label_;
  std::string ptyPath_;
  UniqueFd out_;       // where guest output goes (pty master, file, stdout)
  UniqueFd in_;        // where user input comes from (pty master dup, stdin); may be invalid
  UniqueFd ptyKeep_;   // our own open slave: the master never sees HUP when users come and go
  std::unique_ptr<hv::ConsoleChannel> channel_;
  guint guestSource_ = 0;
  guint userSource_ = 0;
  guint writableSource_ = 0;
  std::string pending_;  // output the target could not take yet
  std::function<void(std::string_view)> tap_;
  uint64_t dropped_ = 0;
  uint64_t fromGuest_ = 0;
};

}  // namespace xvirt::helper
