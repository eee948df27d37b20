#include "helper/XenstoreLayout.h"

#include <time.h>
#include <unistd.h>

#include "helper/HotplugScripts.h"

namespace xvirt::helper {

using hv::XsPerm;

VbdDevice vbdDeviceFor(const GuestDisk& d) {
  VbdDevice vbd;
  vbd.devid = d.vdevNumber;
  vbd.vdev = d.vdev;
  vbd.backendType = d.backend == "qdisk" ? "qdisk" : "vbd";
  vbd.params = d.path;
  vbd.format = d.format;
  vbd.readonly = d.readonly || d.mode == "r";
  vbd.cdrom = d.cdrom;
  if (!d.script.empty()) vbd.script = resolveHotplugScript("vbd", d.script);
  return vbd;
}

std::string domainPath(uint32_t domid) { return "/local/domain/" + std::to_string(domid); }

std::string vbdBackendPath(uint32_t domid, uint32_t devid, const std::string& type) {
  return "/local/domain/0/backend/" + type + "/" + std::to_string(domid) + "/" + std::to_string(devid);
}
std::string vbdFrontendPath(uint32_t domid, uint32_t devid) {
  return domainPath(domid) + "/device/vbd/" + std::to_string(devid);
}
std::string vifBackendPath(uint32_t domid, uint32_t devid) {
  return "/local/domain/0/backend/vif/" + std::to_string(domid) + "/" + std::to_string(devid);
}
std::string vifFrontendPath(uint32_t domid, uint32_t devid) {
  return domainPath(domid) + "/device/vif/" + std::to_string(devid);
}

// libxl's two permission sets: read-only for the guest (owner dom0, guest may read) and read-write
// (owned by the guest).
static std::vector<XsPerm> roPerms(uint32_t domid) { return {{0, 'n'}, {domid, 'r'}}; }
static std::vector<XsPerm> rwPerms(uint32_t domid) { return {{domid, 'n'}}; }

static const char* kindName(hv::DomainKind k) {
  switch (k) {
    case hv::DomainKind::PV: return "linux";
    case hv::DomainKind::HVM: return "hvm";
    case hv::DomainKind::PVH: return "pvh";
  }
  return "linux";
}

Status writeDomainTree(hv::XenStore& xs, const DomainTree& t) {
  const std::string dom = domainPath(t.domid);
  const std::string vm = "/vm/" + t.uuid.str();
  const std::string id = std::to_string(t.domid);
  return xs.transaction([&](hv::XenStoreTransaction& tx) -> Status {
    auto w = [&](const std::string& path, const std::string& value) { return tx.write(path, value); };
    XVIRT_TRY(tx.mkdir(dom));
    XVIRT_TRY(tx.setPerms(dom, roPerms(t.domid)));
    XVIRT_TRY(tx.mkdir(vm));
    XVIRT_TRY(tx.setPerms(vm, roPerms(t.domid)));
    XVIRT_TRY(w(vm + "/uuid", t.uuid.str()));
    XVIRT_TRY(w(vm + "/name", t.name));
    XVIRT_TRY(w(vm + "/image/ostype", kindName(t.kind)));
    XVIRT_TRY(w(vm + "/start_time", std::to_string(::time(nullptr)) + ".00"));

    XVIRT_TRY(w(dom + "/vm", vm));
    XVIRT_TRY(w(dom + "/name", t.name));
    XVIRT_TRY(w(dom + "/domid", id));
    for (const char* ro : {"/cpu", "/memory", "/device", "/control"}) {
      XVIRT_TRY(tx.mkdir(dom + ro));
      XVIRT_TRY(tx.setPerms(dom + ro, roPerms(t.domid)));
    }
    // Nodes the guest writes itself.
    for (const char* rw : {"/control/shutdown", "/control/feature-poweroff", "/control/feature-reboot",
                           "/control/feature-suspend", "/control/sysrq", "/data", "/drivers", "/feature",
                           "/attr", "/error", "/device/suspend/event-channel"}) {
      XVIRT_TRY(w(dom + rw, ""));
      XVIRT_TRY(tx.setPerms(dom + rw, rwPerms(t.domid)));
    }
    XVIRT_TRY(w(dom + "/memory/static-max", std::to_string(t.maxKib)));
    XVIRT_TRY(w(dom + "/memory/target", std::to_string(t.targetKib)));
    XVIRT_TRY(w(dom + "/memory/videoram", "-1"));
    if (t.kind == hv::DomainKind::HVM) {
      // What libxl__build_pre tells hvmloader: which BIOS to run (Debian's hvmloader has none built
      // in: without this it stops at "Unknown BIOS, no ROM image found") and that qemu-xen cannot
      // follow RAM relocated out of the MMIO hole.
      XVIRT_TRY(w(dom + "/hvmloader/bios", "seabios"));
      XVIRT_TRY(w(dom + "/hvmloader/allow-memory-relocate", "0"));
    }
    for (unsigned v = 0; v < t.maxVcpus; ++v)
      XVIRT_TRY(w(dom + "/cpu/" + std::to_string(v) + "/availability", v < t.onlineVcpus ? "online" : "offline"));
    XVIRT_TRY(w(dom + "/store/port", std::to_string(t.build.storeEvtchn)));
    XVIRT_TRY(w(dom + "/store/ring-ref", std::to_string(t.build.storeMfn)));
    // Console 0: the helper is its backend, as qemu-xen is for a console libxl gives it. "ioemu" is
    // libxl's word for that; xenconsoled serves every console whose type is missing or "xenconsoled",
    // so with that value a running xenconsoled (any dom0 that also runs xl guests) would bind the
    // same ring and event channel on @introduceDomain, racing the helper for the guest's output.
    XVIRT_TRY(w(dom + "/console/port", std::to_string(t.build.consoleEvtchn)));
    XVIRT_TRY(w(dom + "/console/ring-ref", std::to_string(t.build.consoleMfn)));
    XVIRT_TRY(w(dom + "/console/limit", "1048576"));
    XVIRT_TRY(w(dom + "/console/type", "ioemu"));
    XVIRT_TRY(w(dom + "/console/output", "pty"));
    if (!t.consoleTty.empty()) XVIRT_TRY(w(dom + "/console/tty", t.consoleTty));
    // xvirt's own marks: which helper owns this domain (for orphan clean-up after a kill -9).
    XVIRT_TRY(w(dom + "/xvirt/helper-pid", std::to_string(t.helperPid ? t.helperPid : ::getpid())));
    XVIRT_TRY(w(dom + "/xvirt/uuid", t.uuid.str()));
    return okStatus();
  });
}

Status writeVbd(hv::XenStore& xs, uint32_t domid, const VbdDevice& d) {
  const std::string be = vbdBackendPath(domid, d.devid, d.backendType.empty() ? "vbd" : d.backendType);
  const std::string fe = vbdFrontendPath(domid, d.devid);
  const std::string state = std::to_string(static_cast<int>(XenbusState::Initialising));
  return xs.transaction([&](hv::XenStoreTransaction& tx) -> Status {
    auto w = [&](const std::string& path, const std::string& value) { return tx.write(path, value); };
    XVIRT_TRY(tx.mkdir(be));
    XVIRT_TRY(tx.setPerms(be, roPerms(domid)));
    XVIRT_TRY(w(be + "/frontend", fe));
    XVIRT_TRY(w(be + "/frontend-id", std::to_string(domid)));
    XVIRT_TRY(w(be + "/online", "1"));
    XVIRT_TRY(w(be + "/removable", d.cdrom ? "1" : "0"));
    XVIRT_TRY(w(be + "/bootable", "1"));
    XVIRT_TRY(w(be + "/state", state));
    XVIRT_TRY(w(be + "/dev", d.vdev));
    XVIRT_TRY(w(be + "/type", d.backendType == "qdisk" ? "qdisk" : "phy"));
    XVIRT_TRY(w(be + "/mode", d.readonly ? "r" : "w"));
    XVIRT_TRY(w(be + "/device-type", d.cdrom ? "cdrom" : "disk"));
    XVIRT_TRY(w(be + "/params", d.params));
    XVIRT_TRY(w(be + "/format", d.format.empty() ? "raw" : d.format));
    XVIRT_TRY(w(be + "/discard-enable", d.readonly ? "0" : "1"));
    if (!d.script.empty()) XVIRT_TRY(w(be + "/script", d.script));  // as libxl: the path it runs
    if (!d.physicalDevice.empty()) {
      XVIRT_TRY(w(be + "/physical-device", d.physicalDevice));
      XVIRT_TRY(w(be + "/physical-device-path", d.params));
    }

    XVIRT_TRY(tx.mkdir(fe));
    XVIRT_TRY(tx.setPerms(fe, {{domid, 'n'}, {0, 'r'}}));
    XVIRT_TRY(w(fe + "/backend", be));
    XVIRT_TRY(w(fe + "/backend-id", "0"));
    XVIRT_TRY(w(fe + "/state", state));
    XVIRT_TRY(w(fe + "/virtual-device", std::to_string(d.devid)));
    XVIRT_TRY(w(fe + "/device-type", d.cdrom ? "cdrom" : "disk"));
    return okStatus();
  });
}

Status writeVif(hv::XenStore& xs, uint32_t domid, const VifDevice& n) {
  const std::string be = vifBackendPath(domid, n.devid);
  const std::string fe = vifFrontendPath(domid, n.devid);
  const std::string state = std::to_string(static_cast<int>(XenbusState::Initialising));
  return xs.transaction([&](hv::XenStoreTransaction& tx) -> Status {
    auto w = [&](const std::string& path, const std::string& value) { return tx.write(path, value); };
    XVIRT_TRY(tx.mkdir(be));
    XVIRT_TRY(tx.setPerms(be, roPerms(domid)));
    XVIRT_TRY(w(be + "/frontend", fe));
    XVIRT_TRY(w(be + "/frontend-id", std::to_string(domid)));
    XVIRT_TRY(w(be + "/online", "1"));
    XVIRT_TRY(w(be + "/state", state));
    XVIRT_TRY(w(be + "/script", n.script.empty() ? kDefaultVifScript : n.script));
    XVIRT_TRY(w(be + "/mac", n.mac));
    if (!n.bridge.empty()) XVIRT_TRY(w(be + "/bridge", n.bridge));
    XVIRT_TRY(w(be + "/handle", std::to_string(n.devid)));
    XVIRT_TRY(w(be + "/type", "vif"));

    XVIRT_TRY(tx.mkdir(fe));
    XVIRT_TRY(tx.setPerms(fe, {{domid, 'n'}, {0, 'r'}}));
    XVIRT_TRY(w(fe + "/backend", be));
    XVIRT_TRY(w(fe + "/backend-id", "0"));
    XVIRT_TRY(w(fe + "/state", state));
    XVIRT_TRY(w(fe + "/handle", std::to_string(n.devid)));
    XVIRT_TRY(w(fe + "/mac", n.mac));
    return okStatus();
  });
}

Status requestDetach(hv::XenStore& xs, const std::string& backendPath) {
  return xs.transaction([&](hv::XenStoreTransaction& tx) -> Status {
    XVIRT_TRY(tx.write(backendPath + "/online", "0"));
    XVIRT_TRY(tx.write(backendPath + "/state", std::to_string(static_cast<int>(XenbusState::Closing))));
    return okStatus();
  });
}

Status removeDevice(hv::XenStore& xs, const std::string& backendPath, const std::string& frontendPath) {
  XVIRT_TRY(xs.rm(backendPath));
  return xs.rm(frontendPath);
}

}  // namespace xvirt::helper
