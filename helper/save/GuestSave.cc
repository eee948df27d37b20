// The monitor's `save`, the checks of --restore, and the xenstore device record of save images.
#include "helper/save/GuestSave.h"

#include <fcntl.h>
#include <poll.h>
#include <time.h>

#include "common/Clock.h"
#include "common/Crc32c.h"
#include "common/File.h"
#include "common/Log.h"
#include "common/Strings.h"
#include "helper/XenstoreLayout.h"
#include "helper/monitor/MonitorServer.h"
#include "xvirt-config.h"

namespace xvirt::helper {

namespace {

std::string keyOr(hv::XenStore& xs, const std::string& path, const std::string& fallback = {}) {
  auto v = xs.tryRead(path);
  return v.ok() && *v ? **v : fallback;
}

// Device ids under a backend directory; none when the directory does not exist.
Result<std::vector<std::string>> devids(hv::XenStore& xs, const std::string& dir) {
  auto list = xs.directory(dir);
  if (!list.ok() && list.error().code == ErrorCode::DeviceNotFound) return std::vector<std::string>{};
  return list;
}

Json captureVcpus(Guest& guest) {
  Json out = Json::array();
  hv::DomId domid = static_cast<hv::DomId>(guest.domid());
  for (unsigned v = 0; v < guest.config().maxVcpus; ++v) {
    auto info = guest.hypervisor().vcpuInfo(domid, v);
    auto aff = guest.hypervisor().vcpuAffinity(domid, v);
    out.push(Json::object({{"vcpu", v},
                           {"online", info.ok() && info->online},
                           {"affinity", aff.ok() ? hv::formatCpuMap(*aff) : std::string()}}));
  }
  return out;
}

Result<SaveOutcome> writeImage(Guest& guest, const SaveRequest& req, bool wasRunning) {
  hv::DomId domid = static_cast<hv::DomId>(guest.domid());
  XVIRT_ASSIGN_OR_RETURN(Json devices, captureDevices(guest.xenstore(), domid));
  auto info = guest.hypervisor().domainInfo(domid);
  Json state = Json::object({{"backend", guest.hypervisor().backendName()},
                             {"name", guest.config().name},
                             {"uuid", guest.config().uuid},
                             {"domid", guest.domid()},
                             {"state", wasRunning ? "running" : "paused"},
                             {"run-after-restore", req.runAfterRestore.value_or(wasRunning)},
                             {"memory-kib", static_cast<long long>(info.ok() ? info->memKib : guest.config().memoryKib)},
                             {"saved-at", static_cast<long long>(::time(nullptr))},
                             {"writer", std::string("xvirt-helper ") + XVIRT_VERSION}});
  XVIRT_ASSIGN_OR_RETURN(auto w, saveimg::SaveImageWriter::create(req.file));
  XVIRT_TRY(w->addRecord(saveimg::Record::DomainXml, req.domainXml));
  XVIRT_TRY(w->addRecord(saveimg::Record::GuestConfig, guest.config().toJson().dump()));
  XVIRT_TRY(w->addRecord(saveimg::Record::RunState, state.dump()));
  XVIRT_TRY(w->addRecord(saveimg::Record::Vcpus, captureVcpus(guest).dump()));
  XVIRT_TRY(w->addRecord(saveimg::Record::Xenstore, devices.dump()));
  uint64_t before = w->bytes();
  XVIRT_TRY(w->addStreamRecord(saveimg::Record::Memory,
                               [&](int fd) { return guest.hypervisor().saveDomain(domid, fd); },
                               !guest.hypervisor().saveStreamChecksummed()));
  SaveOutcome out;
  out.memoryBytes = w->bytes() - before - 16;
  XVIRT_TRY(w->commit());
  out.imageBytes = w->bytes();
  return out;
}

// A Linux PV or PVH guest must suspend itself before libxenguest can save it: it writes out its
// own p2m and event channel state first. Forcing SHUTDOWN_suspend from outside, as for a paused
// domain, makes xc_domain_save fail on real Xen ("Numerical result out of range"). So the helper
// asks through control/shutdown, as libxl does, and waits for the guest to shut down with reason
// suspend; the sim's guests answer the same way. False when the guest did not answer in time: the
// save then goes the forced way.
bool askGuestToSuspend(Guest& guest) {
  hv::DomId domid = static_cast<hv::DomId>(guest.domid());
  const std::string path = domainPath(domid) + "/control/shutdown";
  if (!guest.xenstore().write(path, "suspend").ok()) return false;
  for (int waited = 0; waited < 30000;) {
    auto info = guest.hypervisor().domainInfo(domid);
    if (info.ok() && info->shutdown && info->shutdownReason == hv::ShutdownReason::Suspend) return true;
    int step = waited < 100 ? 2 : 20;  // most guests answer within milliseconds
    ::poll(nullptr, 0, step);
    waited += step;
  }
  (void)guest.xenstore().write(path, "");
  logWarning("Guest '" + guest.config().name + "' did not suspend itself within 30 seconds.");
  return false;
}

// After a failed save or with `after: running`: the guest runs on where it was.
Status runOn(Guest& guest, bool suspended) {
  if (suspended) XVIRT_TRY(guest.cancelSuspend());
  return guest.cont();
}

}  // namespace

Result<SaveOutcome> saveGuest(Guest& guest, const SaveRequest& req) {
  const std::string& name = guest.config().name;
  if (guest.domid() < 0 || guest.state() == RunState::Shutdown)
    return makeError(ErrorCode::OperationInvalid, "Guest '" + name + "' has no domain to save.");
  if (req.file.empty() || req.file[0] != '/')
    return makeError(ErrorCode::InvalidArgument, "The save image path '" + req.file + "' must be absolute.");
  bool wasRunning = guest.state() == RunState::Running;
  // An HVM guest has no PV drivers to suspend itself with: it is paused and forced.
  bool suspended = wasRunning && guest.config().kind != "hvm" && askGuestToSuspend(guest);
  const uint64_t t0 = SystemClock::instance().monotonicNs();
  Status stopped = guest.stop();  // a guest that suspended itself is paused all the same
  Result<SaveOutcome> out = stopped.ok() ? writeImage(guest, req, wasRunning) : Result<SaveOutcome>(stopped.takeError());
  if (!out.ok()) {
    // The temporary file is gone with the writer; the guest goes on as before.
    if (wasRunning) {
      Status resumed = runOn(guest, suspended);
      if (!resumed.ok()) logError("Resuming guest '" + name + "' after a failed save: " + resumed.error().message);
    }
    return makeError(out.error().code, "Saving guest '" + name + "' to " + req.file + " failed: " + out.error().message);
  }
  logInfo("Saved guest '" + name + "' to " + req.file + " (" + std::to_string(out->imageBytes) + " bytes) in " +
          std::to_string((SystemClock::instance().monotonicNs() - t0) / 1000000) + " ms.");
  if (req.after == SaveRequest::After::Running) XVIRT_TRY(runOn(guest, suspended));
  // Left paused (xvirtd's save, which then stops the guest): paused, not suspended, so that a
  // guest whose caller went away mid-save is an ordinary paused guest (`virsh resume` works).
  // The image is written either way: a guest that stays suspended is only logged.
  if (req.after == SaveRequest::After::Paused && suspended) {
    Status s = guest.cancelSuspend();
    if (!s.ok()) logWarning("Guest '" + name + "' stays suspended after its save: " + s.error().message);
  }
  return out;
}

Result<RestoreImage> openRestoreImage(const std::string& path, std::optional<GuestConfig> replacement) {
  RestoreImage img;
  img.fd = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!img.fd) return Error::system("Cannot open the save image " + path, errno);
  const uint64_t t0 = SystemClock::instance().monotonicNs();
  XVIRT_ASSIGN_OR_RETURN(img.info, saveimg::readSaveImage(img.fd.get(), path, true));
  logInfo("Checked the save image " + path + " (" + std::to_string(img.info.fileBytes) + " bytes, CRC-32C by " +
          crc32cMethodName(crc32cMethod()) + ") in " +
          std::to_string((SystemClock::instance().monotonicNs() - t0) / 1000000) + " ms.");
  auto saved = GuestConfig::fromJson(img.info.guestConfig);
  if (!saved.ok()) return makeError(ErrorCode::Corrupt, "The save image " + path + " holds an unusable guest configuration: " + saved.error().message);
  img.runAfterRestore = img.info.runState.getBool("run-after-restore", true);
  if (!replacement) {
    img.config = std::move(saved).value();
    return img;
  }
  const GuestConfig& s = *saved;
  const GuestConfig& r = *replacement;
  auto refuse = [&](const std::string& what) {
    return makeError(ErrorCode::OperationInvalid, "The replacement configuration for the save image " + path +
                                                      " changes the guest's " + what + ", which a saved guest cannot change.");
  };
  if (r.uuid != s.uuid) return refuse("UUID");
  if (r.kind != s.kind) return refuse("type");
  if (r.memoryKib != s.memoryKib || r.maxMemoryKib != s.maxMemoryKib) return refuse("memory");
  if (r.maxVcpus != s.maxVcpus) return refuse("vCPU count");
  img.config = std::move(replacement).value();
  img.configReplaced = true;
  return img;
}

Result<Json> captureDevices(hv::XenStore& xs, uint32_t domid) {
  Json vbds = Json::array();
  for (const char* type : {"vbd", "qdisk"}) {
    std::string dir = "/local/domain/0/backend/" + std::string(type) + "/" + std::to_string(domid);
    XVIRT_ASSIGN_OR_RETURN(auto ids, devids(xs, dir));
    for (const auto& id : ids) {
      std::string be = dir + "/" + id;
      vbds.push(Json::object({{"devid", static_cast<long long>(parseUint(id).value_or(0))},
                              {"backend", type},
                              {"vdev", keyOr(xs, be + "/dev")},
                              {"params", keyOr(xs, be + "/params")},
                              {"format", keyOr(xs, be + "/format", "raw")},
                              {"mode", keyOr(xs, be + "/mode", "w")},
                              {"device-type", keyOr(xs, be + "/device-type", "disk")},
                              {"script", keyOr(xs, be + "/script")},
                              {"state", keyOr(xs, be + "/state")}}));
    }
  }
  Json vifs = Json::array();
  std::string dir = "/local/domain/0/backend/vif/" + std::to_string(domid);
  XVIRT_ASSIGN_OR_RETURN(auto ids, devids(xs, dir));
  for (const auto& id : ids) {
    std::string be = dir + "/" + id;
    vifs.push(Json::object({{"devid", static_cast<long long>(parseUint(id).value_or(0))},
                            {"mac", keyOr(xs, be + "/mac")},
                            {"bridge", keyOr(xs, be + "/bridge")},
                            {"script", keyOr(xs, be + "/script")},
                            {"state", keyOr(xs, be + "/state")}}));
  }
  return Json::object({{"vbd", std::move(vbds)}, {"vif", std::move(vifs)}});
}

Status writeSavedDevices(hv::XenStore& xs, uint32_t domid, const Json& devices,
                         const std::function<Status(VbdDevice&)>& prepare) {
  if (const Json* list = devices.get("vbd"); list && list->isArray())
    for (const Json& d : list->asArray()) {
      VbdDevice vbd;
      vbd.devid = static_cast<uint32_t>(d.getInt("devid"));
      vbd.vdev = d.getString("vdev");
      vbd.backendType = d.getString("backend", "vbd");
      vbd.params = d.getString("params");
      vbd.format = d.getString("format", "raw");
      vbd.readonly = d.getString("mode") == "r";
      vbd.cdrom = d.getString("device-type") == "cdrom";
      vbd.script = d.getString("script");  // absent in images written before it was saved
      if (prepare) XVIRT_TRY(prepare(vbd));
      XVIRT_TRY(writeVbd(xs, domid, vbd));
    }
  if (const Json* list = devices.get("vif"); list && list->isArray())
    for (const Json& n : list->asArray()) {
      VifDevice vif{static_cast<uint32_t>(n.getInt("devid")), n.getString("mac"), n.getString("bridge"),
                    n.getString("script"), ""};
      XVIRT_TRY(writeVif(xs, domid, vif));
    }
  return okStatus();
}

}  // namespace xvirt::helper
