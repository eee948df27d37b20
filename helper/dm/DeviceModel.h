// DeviceModel: the HVM guest's device model as a child of the helper — started with the command line
// of DeviceModelArgs (qemu-system-i386 on Xen, xvirt-sim-dm on the simulated host), its output in the
// guest log, ready once it writes device-model/DOMID/state = running, and watched: its death is reported.
#pragma once

#include <glib.h>
#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>

#include "common/GuestConfig.h"
#include "common/Result.h"
#include "helper/dm/DeviceModelArgs.h"
#include "hypervisor/Backend.h"
#include "hypervisor/XenStore.h"

namespace xvirt::helper {

class DeviceModel {
 public:
  // Starts it for `domid` and waits (up to `timeoutMs`) for it to report running. `onDeath` is called
  // from the main loop, with a sentence saying how it ended, if it exits before stop().
  static Result<std::unique_ptr<DeviceModel>> start(const GuestConfig& config, uint32_t domid,
                                                    const hv::DeviceModelProgram& program, hv::XenStore& xs, std::function<void(const std::string&)> onDeath,
                                                    int timeoutMs = 30000);
  // A PV guest's QEMU serving its qdisk backends (pvBackendCommand), started and watched alike.
  static Result<std::unique_ptr<DeviceModel>> startPvBackend(const GuestConfig& config, uint32_t domid,
                                                             hv::XenStore& xs,
                                                             std::function<void(const std::string&)> onDeath,
                                                             int timeoutMs = 30000);
  ~DeviceModel();  // stop()
  DeviceModel(const DeviceModel&) = delete;
  DeviceModel& operator=(const DeviceModel&) = delete;

  // SIGTERM, then SIGKILL if it is still there after a few seconds; reaps it. Idempotent.
  void stop();
  pid_t pid() const { return pid_; }

 private:
  DeviceModel() = default;
  static Result<std::unique_ptr<DeviceModel>> launch(const DeviceModelCommand& cmd, const std::string& name,
                                                     uint32_t domid, hv::XenStore& xs,
                                                     std::function<void(const std::string&)> onDeath, int timeoutMs);
  Status waitRunning(hv::XenStore& xs, uint32_t domid, int timeoutMs);
  static void onChildExit(GPid pid, gint status, gpointer self);

  std::string name_;       // "the device model /usr/bin/qemu-system-i386 of guest 'x'"
  pid_t pid_ = -1;
  int pidfd_ = -1;
  guint childWatch_ = 0;
  std::function<void(const std::string&)> onDeath_;
};

}  // namespace xvirt::helper
