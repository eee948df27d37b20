// Handlers for attach-device, detach-device and update-device (disks and interfaces) with libvirt's
// LIVE / CONFIG / CURRENT rules. Live changes go through the guest's helper (disk_add, disk_remove,
// nic_add, nic_remove, blockdev-change-medium); every change goes through modifyDefinitions, so a
// failure anywhere leaves both definitions as they were (docs/hotplug.md).
#include <algorithm>

#include "common/Strings.h"
#include "domain-xml/DeviceXml.h"
#include "domain-xml/GuestConfigBuilder.h"
#include "domain-xml/VdevName.h"
#include "driver/LibvirtRules.h"
#include "driver/api/Handlers.h"
#include "driver/monitor/HelperClient.h"

namespace xvirt::driver {

namespace {

using Dom = DomainRef;
using flags::kDeviceModifyForce;

bool sameTarget(const dom::DiskDef& a, const std::string& target) {
  if (a.targetDev == target) return true;
  auto x = dom::vdevNumber(a.targetDev);
  auto y = dom::vdevNumber(target);
  return x.ok() && y.ok() && *x == *y;
}

std::vector<dom::DiskDef>::iterator findDisk(dom::DomainDef& def, const std::string& target) {
  return std::find_if(def.disks.begin(), def.disks.end(), [&](const dom::DiskDef& d) { return sameTarget(d, target); });
}

// libvirt's rule for finding an interface to detach: by MAC when the XML names one, else the only
// interface of that type and source.
Result<std::vector<dom::InterfaceDef>::iterator> findInterface(dom::DomainDef& def, const dom::DeviceDef& dev,
                                                               const std::string& domName) {
  const dom::InterfaceDef& want = dev.nic;
  if (dev.macGiven) {
    auto it = std::find_if(def.interfaces.begin(), def.interfaces.end(),
                           [&](const dom::InterfaceDef& n) { return toLower(n.mac) == toLower(want.mac); });
    if (it == def.interfaces.end())
      return makeError(ErrorCode::DeviceNotFound, "Domain '" + domName + "' has no interface with MAC " + want.mac + ".");
    return it;
  }
  auto matches = [&](const dom::InterfaceDef& n) { return n.type == want.type && n.source == want.source; };
  auto count = std::count_if(def.interfaces.begin(), def.interfaces.end(), matches);
  if (count == 0)
    return makeError(ErrorCode::DeviceNotFound, "Domain '" + domName + "' has no " + want.type + " interface on '" +
                                                    want.source + "'.");
  if (count > 1)
    return makeError(ErrorCode::InvalidArgument, "Domain '" + domName + "' has " + std::to_string(count) + " " +
                                                     want.type + " interfaces on '" + want.source +
                                                     "'; name the one to detach by its MAC address.");
  return std::find_if(def.interfaces.begin(), def.interfaces.end(), matches);
}

Status checkHotpluggable(const dom::DomainDef& def, const dom::DeviceDef& dev, const std::string& domName) {
  if (!def.isHVM()) return okStatus();
  if (dev.kind == dom::DeviceDef::Kind::Disk) {
    auto vdev = dom::parseVdev(dev.disk.targetDev);
    if (vdev.ok() && vdev->bus != dom::VdevBus::Xvd)
      return makeError(ErrorCode::ConfigUnsupported,
                       "Disk " + dev.disk.targetDev + " cannot be plugged into or out of running HVM domain '" +
                           domName + "': hd* and sd* disks are emulated by its device model, which cannot change "
                           "them while it runs; use an xvd* target, or change the configuration only (--config).");
  } else if (!dev.nic.model.empty() && dev.nic.model != "netfront") {
    return makeError(ErrorCode::ConfigUnsupported,
                     "An interface with the emulated model '" + dev.nic.model + "' cannot be plugged into or out of "
                     "running HVM domain '" + domName + "'; use model netfront, or --config.");
  }
  return okStatus();
}

// Returns the helper's answer (a NIC's devid).
Result<Json> attachLive(DriverContext& ctx, const Dom& d, const dom::DomainDef& def, const dom::DeviceDef& dev) {
  XVIRT_TRY(checkHotpluggable(def, dev, d.name));
  if (dev.kind == dom::DeviceDef::Kind::Disk) {
    XVIRT_ASSIGN_OR_RETURN(GuestDisk disk, dom::buildGuestDisk(def, dev.disk));
    Json args = Json::object({{"target", disk.vdev},
                              {"format", disk.format},
                              {"readonly", disk.readonly},
                              {"cdrom", disk.cdrom},
                              {"backend", disk.backend}});
    if (!disk.path.empty()) args.set("source", disk.path);
    if (!disk.script.empty()) args.set("script", disk.script);
    return ctx.domains.helperCall(d, [&](HelperClient& h) { return h.diskAdd(args); });
  }
  const dom::InterfaceDef& n = dev.nic;
  Json args = Json::object({{"mac", toLower(n.mac)}, {"model", n.model.empty() ? "netfront" : n.model}});
  if (n.type == "bridge" || n.type == "network") args.set("bridge", n.source);
  if (!n.script.empty()) args.set("script", n.script);
  return ctx.domains.helperCall(d, [&](HelperClient& h) { return h.nicAdd(args); });
}

Status attachDevice(Call& c, const Dom& d, const std::string& xml, uint32_t flags) {
  XVIRT_TRY(rules::checkFlags(flags, affect::kAll, "virDomainAttachDeviceFlags"));
  XVIRT_ASSIGN_OR_RETURN(dom::DeviceDef dev, dom::parseDeviceXml(xml));
  return c.ctx.domains.modifyDefinitions(d, flags, "attachDevice", [&](dom::DomainDef& def, bool live, int domid) -> Status {
    if (dev.kind == dom::DeviceDef::Kind::Disk) {
      XVIRT_TRY(dom::vdevNumber(dev.disk.targetDev));
      auto it = findDisk(def, dev.disk.targetDev);
      if (it != def.disks.end())
        return makeError(ErrorCode::OperationInvalid, "Domain '" + d.name + "' already has a disk with target " +
                                                          it->targetDev + ".");
      if (live) XVIRT_TRY(attachLive(c.ctx, d, def, dev));
      def.disks.push_back(dev.disk);
      return okStatus();
    }
    for (const auto& n : def.interfaces)
      if (toLower(n.mac) == toLower(dev.nic.mac))
        return makeError(ErrorCode::OperationInvalid, "Domain '" + d.name + "' already has an interface with MAC " +
                                                          n.mac + ".");
    if (!def.isHVM() && !dev.nic.model.empty() && dev.nic.model != "netfront")
      return makeError(ErrorCode::ConfigUnsupported, "PV domain '" + d.name + "' cannot have an interface with the "
                                                     "emulated model '" + dev.nic.model + "'.");
    dom::InterfaceDef nic = dev.nic;
    if (live) {
      XVIRT_ASSIGN_OR_RETURN(Json added, attachLive(c.ctx, d, def, dev));
      // The backend's name, as libvirt's libxl driver shows it in the live XML (vifDOMID.DEVID).
      if (nic.target.empty() && added.get("devid"))
        nic.target = "vif" + std::to_string(domid) + "." + std::to_string(added.getInt("devid"));
    }
    def.interfaces.push_back(std::move(nic));
    return okStatus();
  });
}

Status detachDevice(Call& c, const Dom& d, const std::string& xml, uint32_t flags) {
  XVIRT_TRY(rules::checkFlags(flags, affect::kAll, "virDomainDetachDeviceFlags"));
  XVIRT_ASSIGN_OR_RETURN(dom::DeviceDef dev, dom::parseDeviceXml(xml));
  return c.ctx.domains.modifyDefinitions(d, flags, "detachDevice", [&](dom::DomainDef& def, bool live, int) -> Status {
    const char* which = live ? "" : " in its persistent configuration";
    if (dev.kind == dom::DeviceDef::Kind::Disk) {
      auto it = findDisk(def, dev.disk.targetDev);
      if (it == def.disks.end())
        return makeError(ErrorCode::DeviceNotFound, "Domain '" + d.name + "' has no disk with target " +
                                                        dev.disk.targetDev + which + ".");
      if (live) {
        XVIRT_TRY(checkHotpluggable(def, dev, d.name));
        XVIRT_TRY(c.ctx.domains.helperCall(d, [&](HelperClient& h) { return h.diskRemove(it->targetDev); }));
      }
      def.disks.erase(it);
      return okStatus();
    }
    XVIRT_ASSIGN_OR_RETURN(auto it, findInterface(def, dev, d.name));
    if (live) {
      dom::DeviceDef found = dev;
      found.nic = *it;
      XVIRT_TRY(checkHotpluggable(def, found, d.name));
      XVIRT_TRY(c.ctx.domains.helperCall(d, [&](HelperClient& h) { return h.nicRemove(toLower(it->mac)); }));
    }
    def.interfaces.erase(it);
    return okStatus();
  });
}

Status updateDevice(Call& c, const Dom& d, const std::string& xml, uint32_t flags) {
  XVIRT_TRY(rules::checkFlags(flags, affect::kAll | kDeviceModifyForce, "virDomainUpdateDeviceFlags"));
  XVIRT_ASSIGN_OR_RETURN(dom::DeviceDef dev, dom::parseDeviceXml(xml));
  if (dev.kind != dom::DeviceDef::Kind::Disk)
    return makeError(ErrorCode::ConfigUnsupported,
                     "Updating an interface of domain '" + d.name + "' is not supported; detach and attach it instead.");
  return c.ctx.domains.modifyDefinitions(d, flags & (affect::kAll), "updateDevice",
                                         [&](dom::DomainDef& def, bool live, int) -> Status {
    auto it = findDisk(def, dev.disk.targetDev);
    if (it == def.disks.end())
      return makeError(ErrorCode::DeviceNotFound, "Domain '" + d.name + "' has no disk with target " +
                                                      dev.disk.targetDev + ".");
    if (it->device != "cdrom" || dev.disk.device != "cdrom")
      return makeError(ErrorCode::ConfigUnsupported, "Only the medium of a cdrom can change while it stays attached; "
                                                     "disk " + it->targetDev + " of domain '" + d.name + "' is a " +
                                                     it->device + ".");
    if (live) {
      Json args = Json::object({{"target", it->targetDev}, {"source", dev.disk.source}});
      if (!dev.disk.source.empty()) args.set("format", dev.disk.driverType.empty() ? "raw" : dev.disk.driverType);
      XVIRT_TRY(c.ctx.domains.helperCall(d, [&](HelperClient& h) { return h.blockdevChangeMedium(args); }));
    }
    it->source = dev.disk.source;
    it->type = dev.disk.type;
    if (!dev.disk.driverType.empty()) it->driverType = dev.disk.driverType;
    return okStatus();
  });
}

}  // namespace

namespace {

// The five procedures share one argument layout: dom; str xml; [u32 flags]. Without flags they act
// on the running guest (LIVE), as libvirt's virDomainAttachDevice / virDomainDetachDevice do.
using DeviceOp = Status (*)(Call&, const Dom&, const std::string&, uint32_t);
Status runDeviceCall(Call& c, bool withFlags, DeviceOp op) {
  Dom d = Dom::decode(c.args);
  std::string xml = c.args.str(rpc::kXdrStringMax, "device XML");
  uint32_t flags = withFlags ? c.args.u32() : affect::kLive;
  XVIRT_TRY(c.args.finish());
  return op(c, d, xml, flags);
}

}  // namespace

namespace api {

Status domainAttachDevice(Call& c) { return runDeviceCall(c, false, attachDevice); }
Status domainAttachDeviceFlags(Call& c) { return runDeviceCall(c, true, attachDevice); }
Status domainDetachDevice(Call& c) { return runDeviceCall(c, false, detachDevice); }
Status domainDetachDeviceFlags(Call& c) { return runDeviceCall(c, true, detachDevice); }
Status domainUpdateDeviceFlags(Call& c) { return runDeviceCall(c, true, updateDevice); }

}  // namespace api

}  // namespace xvirt::driver
