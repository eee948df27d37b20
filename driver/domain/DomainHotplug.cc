// The domain side of device hotplug: running helper commands for the hotplug and tuning handlers,
// and following the helper's DEVICE_ADDED / DEVICE_DELETED events — also for devices removed behind
// xvirtd's back (xenstore-rm of the backend), which libxl's users never hear about (docs/hotplug.md).
#include <algorithm>
#include <chrono>

#include "common/Log.h"
#include "common/Strings.h"
#include "domain-xml/VdevName.h"
#include "driver/LibvirtRules.h"
#include "driver/domain/DomainManager.h"
#include "driver/monitor/HelperClient.h"

namespace xvirt::driver {

// Longer than the helper's own longest wait (25 s), so its timeout error is the one users see.
static constexpr std::chrono::seconds kHelperCommandTimeout{40};

Result<std::shared_ptr<MonitorClient>> DomainManager::runningHelper(const DomainRef& ref) {
  XVIRT_ASSIGN_OR_RETURN(auto dom, find(ref));
  std::shared_ptr<MonitorClient> monitor;
  {
    std::lock_guard lock(dom->mu());
    XVIRT_TRY(rules::requireActive(dom->isActive()));
    monitor = dom->monitor;
  }
  if (!monitor)
    return makeError(ErrorCode::OperationFailed, "The helper of domain '" + ref.name + "' is not reachable.");
  return monitor;
}

Result<Json> DomainManager::helperCall(const DomainRef& ref, const std::function<Result<Json>(HelperClient&)>& call) {
  XVIRT_ASSIGN_OR_RETURN(auto monitor, runningHelper(ref));
  HelperClient helper(*monitor, kHelperCommandTimeout);
  return call(helper);
}

static bool sameDisk(const dom::DiskDef& d, const std::string& name) {
  if (d.targetDev == name) return true;
  auto a = dom::vdevNumber(d.targetDev);
  auto b = dom::vdevNumber(name);
  return a.ok() && b.ok() && *a == *b;
}

DomainManager::HelperDevices DomainManager::queryHelperDevices(MonitorClient& monitor) {
  HelperDevices out;
  HelperClient helper(monitor);
  if (auto block = helper.queryBlock(); block.ok() && block->isArray()) {
    out.disks.emplace();
    for (const Json& b : block->asArray()) out.disks->push_back(b.getString("device"));
  }
  if (auto nics = helper.queryNics(); nics.ok() && nics->isArray()) {
    out.macs.emplace();
    for (const Json& n : nics->asArray()) out.macs->push_back(toLower(n.getString("mac")));
  }
  return out;
}

void DomainManager::dropVanishedDevices(DomainObject& dom, const HelperDevices& devices) {
  if (!dom.liveDef) return;
  if (devices.disks)
    std::erase_if(dom.liveDef->disks, [&](const dom::DiskDef& d) {
      bool gone = std::none_of(devices.disks->begin(), devices.disks->end(),
                               [&](const std::string& name) { return sameDisk(d, name); });
      if (gone) logWarning("Disk " + d.targetDev + " of domain '" + dom.name() + "' was removed while xvirtd was away.");
      return gone;
    });
  if (devices.macs)
    std::erase_if(dom.liveDef->interfaces, [&](const dom::InterfaceDef& n) {
      bool gone = std::find(devices.macs->begin(), devices.macs->end(), toLower(n.mac)) == devices.macs->end();
      if (gone) logWarning("Interface " + n.mac + " of domain '" + dom.name() + "' was removed while xvirtd was away.");
      return gone;
    });
}

void DomainManager::keepDeviceRemovals(const dom::DomainDef& before, const dom::DomainDef& now,
                                       dom::DomainDef& edited) {
  auto hasDisk = [](const dom::DomainDef& def, const std::string& target) {
    return std::any_of(def.disks.begin(), def.disks.end(), [&](const dom::DiskDef& d) { return sameDisk(d, target); });
  };
  auto hasNic = [](const dom::DomainDef& def, const std::string& mac) {
    return std::any_of(def.interfaces.begin(), def.interfaces.end(),
                       [&](const dom::InterfaceDef& n) { return toLower(n.mac) == toLower(mac); });
  };
  for (const auto& d : before.disks)
    if (!hasDisk(now, d.targetDev))
      std::erase_if(edited.disks, [&](const dom::DiskDef& e) { return sameDisk(e, d.targetDev); });
  for (const auto& n : before.interfaces)
    if (!hasNic(now, n.mac))
      std::erase_if(edited.interfaces, [&](const dom::InterfaceDef& e) { return toLower(e.mac) == toLower(n.mac); });
}

void DomainManager::handleDeviceEvent(DomainObject& dom, const HelperEvent& ev) {
  if (ev.event == "BALLOON_CHANGE") {
    events_.balloon(refOf(dom), static_cast<uint64_t>(ev.data.getInt("actual")) / 1024);
    return;
  }
  const bool added = ev.event == "DEVICE_ADDED";
  const bool disk = ev.data.getString("type") == "disk";
  const std::string name = ev.data.getString("device");
  const std::string alias = disk ? name : "net" + name;
  if (!added && dom.liveDef) {
    // Our own detach removes the device from its copy of the live definition too; this covers the
    // removals nobody asked xvirtd for, and is a no-op when the detach got there first.
    size_t removed = 0;
    if (disk) {
      removed = std::erase_if(dom.liveDef->disks, [&](const dom::DiskDef& d) { return sameDisk(d, name); });
    } else {
      const std::string mac = toLower(ev.data.getString("mac"));
      removed = std::erase_if(dom.liveDef->interfaces,
                              [&](const dom::InterfaceDef& n) { return !mac.empty() && toLower(n.mac) == mac; });
    }
    if (removed) {
      logInfo("Device " + alias + " of domain '" + dom.name() + "' is gone; it left the live definition.");
      writeStatus(dom);
    }
  }
  events_.device(refOf(dom), added, alias);
}

}  // namespace xvirt::driver
