// XenstoreLayout: the xenstore entries a toolstack writes for a guest — its /local/domain/N tree,
// /vm/UUID, and the backend/frontend pairs of its disks, NICs and console — the way xl/libxl lay
// them out (Xen's docs/misc/xenstore-paths.pandoc; docs/design.md), so guests, backends and `xenstore-ls` users see the same.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/GuestConfig.h"
#include "common/Result.h"
#include "common/Uuid.h"
#include "hypervisor/Hypervisor.h"
#include "hypervisor/XenStore.h"

namespace xvirt::helper {

struct DomainTree {
  uint32_t domid = 0;
  std::string name;
  Uuid uuid;
  hv::DomainKind kind = hv::DomainKind::PV;
  uint64_t targetKib = 0;
  uint64_t maxKib = 0;
  unsigned maxVcpus = 1;
  unsigned onlineVcpus = 1;
  hv::BuildResult build;
  std::string consoleTty;   // the pty path the console is served on, when there is one
  pid_t helperPid = 0;      // recorded under xvirt/ so an orphaned domain can be traced to its helper
};

struct VbdDevice {
  uint32_t devid = 0;           // the vdev number (51712 for xvda)
  std::string vdev;             // xvda
  std::string backendType;      // vbd (blkback) | qdisk (userspace)
  std::string params;           // the file or block device
  std::string physicalDevice;   // "major:minor" for blkback (real Xen; helper/BlockDevices.h), or empty
  std::string format = "raw";
  bool readonly = false;
  bool cdrom = false;
  std::string script;           // a block hotplug script (absolute), or empty: helper/HotplugScripts.h
};

struct VifDevice {
  uint32_t devid = 0;
  std::string mac;
  std::string bridge;
  std::string script;
  std::string model;
};

// XenbusState (xen/include/public/io/xenbus.h), 0 to 8.
enum class XenbusState : int {
  Unknown = 0, Initialising = 1, InitWait = 2, Initialised = 3, Connected = 4, Closing = 5, Closed = 6,
  Reconfiguring = 7, Reconfigured = 8,
};

// The xenstore view of a GuestConfig disk (phy -> a vbd backend, qdisk -> qdisk).
VbdDevice vbdDeviceFor(const GuestDisk& disk);

std::string domainPath(uint32_t domid);
std::string vbdBackendPath(uint32_t domid, uint32_t devid, const std::string& type = "vbd");
std::string vbdFrontendPath(uint32_t domid, uint32_t devid);
std::string vifBackendPath(uint32_t domid, uint32_t devid);
std::string vifFrontendPath(uint32_t domid, uint32_t devid);

// Writes the domain's own tree and /vm/UUID in one transaction (before the guest runs).
Status writeDomainTree(hv::XenStore& xs, const DomainTree& tree);
Status writeVbd(hv::XenStore& xs, uint32_t domid, const VbdDevice& disk);
Status writeVif(hv::XenStore& xs, uint32_t domid, const VifDevice& nic);
// Asks the backend to close (online=0, state Closing), as `xl block-detach` does.
Status requestDetach(hv::XenStore& xs, const std::string& backendPath);
// Removes a device's backend and frontend directories.
Status removeDevice(hv::XenStore& xs, const std::string& backendPath, const std::string& frontendPath);

}  // namespace xvirt::helper
