// Hotplug: the helper's live device commands — disk_add/disk_remove, nic_add/nic_remove,
// blockdev-change-medium, query-block/query-nics (docs/hotplug.md). Live tuning is LiveTuning.h.
#pragma once

#include <glib.h>

#include <functional>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <string>

#include "common/Json.h"
#include "common/Result.h"
#include "helper/HotplugScripts.h"
#include "helper/monitor/MonitorServer.h"
#include "hypervisor/XenStore.h"

namespace xvirt::helper {

class Guest;

// Devices are written to xenstore as libxl writes them (XenstoreLayout.h); completion is noticed
// through xenstore watches on a connection of Hotplug's own, from the GLib main loop, so the monitor
// never blocks while a guest's frontend takes its time. A device whose backend directory vanishes
// (xenstore-rm, another toolstack) is reported as DEVICE_DELETED.
class Hotplug {
 public:
  using Emit = std::function<void(const std::string& event, Json data)>;

  Hotplug(Guest& guest, hv::XenStore& xs, std::unique_ptr<hv::XenStore> watchXs, Emit emit);
  ~Hotplug();
  Hotplug(const Hotplug&) = delete;
  Hotplug& operator=(const Hotplug&) = delete;

  // Follows the guest's domain: call once it is built, and again after it was built anew (reset).
  void domainChanged();

  // How long disk/nic commands wait for the guest by default, and the most a caller may ask for.
  static constexpr unsigned kDefaultTimeoutMs = 10000;
  static constexpr unsigned kMaxTimeoutMs = 25000;

  // The commands (helper/HelperCommands.cc): add and remove answer once the guest took the change.
  void diskAdd(const Json& args, MonitorServer::Reply reply);
  void nicAdd(const Json& args, MonitorServer::Reply reply);
  void deviceRemove(const std::string& kind, const Json& args, MonitorServer::Reply reply);
  QmpResult changeMedium(const Json& args);
  QmpResult queryBlock();
  QmpResult queryNics();

 private:
  struct Device {
    std::string kind;     // disk | nic
    std::string name;     // xvdb, or the NIC's devid
    std::string type;     // vbd | qdisk | vif
    uint32_t devid = 0;
    std::string backend, frontend;
    std::string mac;      // NICs: how xvirtd tells them apart
  };
  struct Pending {
    bool adding = false;
    Device dev;
    MonitorServer::Reply reply;  // empty once answered (a removal that timed out may still finish)
    guint timer = 0;
    unsigned timeoutMs = kDefaultTimeoutMs;
    Json result;                 // what a successful add returns
  };

  Status requireDomain() const;
  void startWaiting(Pending p);
  void scanDevices();
  void reconcile();
  bool settle(Pending& p);  // true when the operation finished (well or badly)
  void finishRemoval(Pending& p);
  void onTimeout(const std::string& key);
  void forget(const Device& dev);
  int state(const std::string& dir);
  std::string backendValue(const Device& dev, const char* key);  // "" when absent
  std::string describe(const Device& dev) const;
  static Json eventData(const Device& dev);
  Device* findDevice(const std::string& kind, const Json& args);
  // Real Xen: the hotplug script of each vif, and of each vbd that names one, `online` / `add` once
  // its backend waits for the frontend (once per backend), as libxl runs it (helper/HotplugScripts.h).
  void runHotplugScripts();
  // The device's script, if it has one to run: a vif always (vif-bridge by default), a vbd with a
  // `script` node.
  std::optional<ScriptedDevice> scriptedDevice(const Device& dev);
  void watchDomain(bool on);
  static gboolean onWatch(gint fd, GIOCondition cond, gpointer self);

  Guest& guest_;
  hv::XenStore& xs_;
  std::unique_ptr<hv::XenStore> watchXs_;
  Emit emit_;
  int domid_ = -1;
  guint watchSource_ = 0;
  std::string token_;
  std::map<std::string, Device> devices_;   // by backend path
  std::map<std::string, Pending> pending_;  // by backend path
  std::set<std::string> scriptsRun_;        // backend paths whose `online` / `add` script was started
};

}  // namespace xvirt::helper
