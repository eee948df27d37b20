// Guest: the one Xen domain a helper owns. Builds it from a GuestConfig (create, memory, vCPUs,
// kernel, xenstore tree, devices), runs and pauses it, follows its shutdowns (on_poweroff,
// on_reboot, on_crash) and destroys it, leaving no xenstore tree behind.
#pragma once

#include <glib.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/GuestConfig.h"
#include "common/Json.h"
#include "common/Result.h"
#include "hypervisor/Backend.h"
#include "hypervisor/Hypervisor.h"
#include "hypervisor/XenStore.h"
#include "helper/BlockDevices.h"
#include "helper/XenstoreLayout.h"

namespace xvirt::saveimg {
struct SaveImageInfo;
}

namespace xvirt::helper {

class ConsoleServer;
class DeviceModel;

// The run states query-status reports (QEMU's names).
enum class RunState { Prelaunch, Running, Paused, Shutdown };
const char* runStateName(RunState s);

// Why the helper ends; also its exit status (docs/helper.md).
enum class ExitReason : int {
  Poweroff = 0,        // the guest powered off (or halted) and on_poweroff said destroy
  Error = 1,           // the helper failed
  RebootRequested = 2, // the guest rebooted and on_reboot said destroy
  Crashed = 3,         // the guest crashed and on_crash said destroy
  Destroyed = 4,       // quit, SIGTERM/SIGINT/SIGQUIT: the domain was destroyed on request
  Vanished = 5,        // the domain disappeared behind the helper's back
  Saved = 6,           // saved with `save` and destroyed afterwards
  DeviceModelDied = 7, // the HVM guest's device model exited; the guest cannot run without it
  HostLost = 8,        // the hypervisor itself went away (xvirt-simxen killed, host restarted)
};

class Guest {
 public:
  // Events go to the monitor; `exit` is called once when the helper should end.
  struct Callbacks {
    std::function<void(const std::string& event, Json data)> event;
    std::function<void(ExitReason)> exit;
  };

  // The backend must outlive the guest; xs is the guest's own xenstore connection.
  Guest(GuestConfig config, const hv::Backend& backend, hv::XenStore& xs, ConsoleServer* console, Callbacks callbacks);
  ~Guest();

  // Creates and builds the domain, paused. Nothing is left behind on failure.
  Status build();
  // Creates the domain from a verified save image instead (helper/save/GuestRestore.cc), paused;
  // devices come from the image's xenstore record unless the config replaced the image's.
  Status restore(int imageFd, const saveimg::SaveImageInfo& image, bool configReplaced);
  Status cont();     // unpause (first start or resume)
  Status stop();     // pause
  // Brings back a guest that suspended itself for a save (hypervisor and xenstore); it stays paused.
  Status cancelSuspend();
  Status powerdown();  // asks the guest to power off (control/shutdown)
  Status reset();    // destroy and build again in this process, then run if it was running
  // Destroys the domain and removes its xenstore tree (idempotent).
  void destroy();

  RunState state() const { return state_; }
  int domid() const { return domid_; }
  const GuestConfig& config() const { return config_; }
  hv::Hypervisor& hypervisor() { return hv_; }
  hv::XenStore& xenstore() { return xs_; }
  // Hotplug and tuning keep the config in step with the live guest, so a rebuild (reset) keeps them.
  GuestConfig& mutableConfig() { return config_; }
  uint32_t hostCpus() const { return hostCpus_; }
  // The xenstore view of a disk, with the block device blkback needs on real Xen set up.
  Result<VbdDevice> vbdFor(const GuestDisk& disk);
  // On real Xen, blkback's block device for a vbd without a script of its own (a loop device for a
  // file); nothing elsewhere. Also for the disks a restore writes back.
  Status prepareVbd(VbdDevice& vbd);
  BlockDevices& blockDevices() { return blockDevices_; }
  // On real Xen a PV guest's qdisk disks are served by a QEMU of its own (DeviceModel::startPvBackend):
  // started when the first one appears, at build or by disk_add; the sim's backends need none.
  Status ensurePvBackend();

  Json queryDomain();
  Result<Json> queryCpus();

 private:
  Status buildDomain();
  Status createShell();   // create, max memory, max vCPUs: an empty paused domain
  Status publish();       // xenstore tree, devices, introduce, console, watch
  Status restoreDomain(int imageFd, const saveimg::SaveImageInfo& image, bool configReplaced);
  Status loadKernel();
  // The RAM the domain is built with (and restored with): the configured memory, less the video RAM
  // an HVM device model populates itself.
  uint64_t builtRamKib() const;
  Status writeDevices();
  Status applyAffinity();
  void watchDomain();
  void unwatchDomain();
  void runBlockScriptsDown(hv::DomId domid);  // real Xen, at a destroy: `remove` for scripted vbds
  static gboolean onWatch(gint fd, GIOCondition cond, gpointer self);
  static gboolean onHostCheck(gpointer self);
  void checkDomain();
  void hostLost(const std::string& why);
  void handleShutdown(hv::ShutdownReason reason);
  static gboolean onDeviceModelDeath(gpointer self);
  void setState(RunState s);

  GuestConfig config_;
  hv::Hypervisor& hv_;
  hv::DeviceModelProgram deviceModel_;
  hv::XenStore& xs_;
  ConsoleServer* console_;
  Callbacks cb_;
  int domid_ = -1;
  hv::BuildResult build_;
  RunState state_ = RunState::Prelaunch;
  guint watchSource_ = 0;
  guint hostCheckSource_ = 0;
  unsigned hypervisorFailures_ = 0;  // consecutive failed checks of our domain
  std::string watchToken_;
  uint32_t hostCpus_ = 0;
  BlockDevices blockDevices_;
  bool ending_ = false;
  std::function<Status()> deviceWriter_;  // set by restore: the image's devices instead of the config's
  std::unique_ptr<DeviceModel> dm_;  // HVM only
  std::unique_ptr<DeviceModel> pvBackend_;  // PV with qdisk disks, on real Xen only
  std::string dmDeath_;              // why the device model ended, until the main loop acts on it
};

}  // namespace xvirt::helper
