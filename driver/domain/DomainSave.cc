// Save, restore and managed save (issue 7, item 1). The helper writes and restores the image
// (docs/save-image.md); here are libvirt's rules around it: flags, compatible replacement XML, job,
// states, events, the managed image's place, and what a failure leaves (the guest as it was, no image).
#include <unistd.h>

#include <chrono>

#include "common/File.h"
#include "common/Log.h"
#include "common/SaveImage.h"
#include "common/Strings.h"
#include "domain-xml/DomainXml.h"
#include "driver/LibvirtRules.h"
#include "driver/domain/DomainManager.h"
#include "driver/domain/HelperLauncher.h"
#include "driver/monitor/HelperClient.h"

namespace xvirt::driver {

using namespace std::chrono_literals;

namespace {

constexpr unsigned kSaveFlags = flags::kSaveBypassCache | flags::kSaveRunning | flags::kSavePaused;
// A save writes the whole guest memory: give it time (30 GiB at 100 MB/s is five minutes).
constexpr auto kSaveTimeout = std::chrono::minutes(30);

Status checkSaveFlags(unsigned f, const char* api) {
  XVIRT_TRY(rules::checkFlags(f, kSaveFlags, api));
  if ((f & flags::kSaveRunning) && (f & flags::kSavePaused))
    return makeError(ErrorCode::InvalidArgument, "Flags 'running' and 'paused' are mutually exclusive.");
  return okStatus();
}

Status checkPath(const std::string& path) {
  if (path.empty() || path[0] != '/')
    return makeError(ErrorCode::InvalidArgument, "The save file path '" + path + "' must be absolute.");
  return okStatus();
}

// What a saved guest cannot change: libvirt's ABI stability check, reduced to what a Xen guest
// restored by the helper depends on. Disk sources, NIC bridges and the like may change.
Status checkCompatible(const dom::DomainDef& saved, const dom::DomainDef& repl) {
  auto refuse = [](const std::string& what) {
    return makeError(ErrorCode::ConfigUnsupported, "The replacement XML " + what + ".");
  };
  if (repl.name != saved.name)
    return refuse("names the domain '" + repl.name + "', but the saved domain is '" + saved.name + "'");
  if (repl.uuid != saved.uuid) return refuse("changes the domain's UUID");
  if (repl.isHVM() != saved.isHVM() || repl.isPVH() != saved.isPVH()) return refuse("changes the guest type");
  if (repl.memoryKib != saved.memoryKib || repl.currentMemoryKib != saved.currentMemoryKib)
    return refuse("changes the memory size");
  if (repl.vcpu.max != saved.vcpu.max) return refuse("changes the number of vCPUs");
  if (repl.disks.size() != saved.disks.size() || repl.interfaces.size() != saved.interfaces.size())
    return refuse("adds or removes devices");
  return okStatus();
}

}  // namespace

Status DomainManager::save(const DomainRef& ref, const std::string& path, const std::string& xml, unsigned saveFlags) {
  XVIRT_TRY(checkSaveFlags(saveFlags, "virDomainSaveFlags"));
  XVIRT_TRY(checkPath(path));
  XVIRT_ASSIGN_OR_RETURN(auto dom, findActive(ref));
  XVIRT_ASSIGN_OR_RETURN(JobGuard job, JobGuard::acquire(dom, "save"));
  return saveLocked(dom, path, xml, saveFlags);
}

Status DomainManager::saveLocked(const std::shared_ptr<DomainObject>& dom, const std::string& path,
                                 const std::string& xml, unsigned saveFlags) {
  std::shared_ptr<MonitorClient> monitor;
  dom::DomainDef live;
  {
    std::lock_guard lock(dom->mu());
    XVIRT_TRY(rules::requireActive(dom->isActive() && dom->liveDef));
    monitor = dom->monitor;
    live = *dom->liveDef;
  }
  if (!monitor) return makeError(ErrorCode::OperationFailed, "domain's helper is not reachable");
  dom::DomainDef stored = live;
  if (!xml.empty()) {
    XVIRT_ASSIGN_OR_RETURN(stored, dom::parseDomainXml(xml, dom::kParseInactive));
    XVIRT_TRY(checkCompatible(live, stored));
  }
  stored.id = -1;
  HelperSaveArgs args{path, dom::formatDomainXml(stored, dom::kFormatSecure | dom::kFormatInactive), "paused", {}};
  if (saveFlags & flags::kSaveRunning) args.running = true;
  if (saveFlags & flags::kSavePaused) args.running = false;
  // The helper writes the image atomically; on failure it removes its temporary file and resumes
  // a guest that was running, so the domain stays as it was.
  auto saved = HelperClient(*monitor).save(args, kSaveTimeout);
  if (!saved.ok())
    return makeError(saved.error().code == ErrorCode::Timeout ? ErrorCode::OperationFailed : saved.error().code,
                     "Failed to save domain '" + live.name + "': " + saved.error().message);

  // The image is in place: stop the helper (it destroys the paused domain) as destroy() does.
  pid_t pid;
  int domid;
  {
    std::lock_guard lock(dom->mu());
    pid = dom->helperPid;
    domid = dom->id;
    dom->monitor.reset();  // the EOF that follows is ours
  }
  monitor->close();
  Status stopped = stopHelper(pid, 10s);
  if (!stopped.ok()) logWarning(stopped.error().message);
  cleanupOrphanDomain(domid, live.name, dom->uuid());
  recordStopped(dom, reason::kShutoffSaved, detail::kStoppedSaved);
  logInfo("Saved domain '" + live.name + "' to " + path + ".");
  return okStatus();
}

Result<DomainRef> DomainManager::restore(const std::string& path, const std::string& xml, unsigned restoreFlags) {
  XVIRT_TRY(checkSaveFlags(restoreFlags, "virDomainRestoreFlags"));
  XVIRT_TRY(checkPath(path));
  // Its structure and small records are read here; the checksum over the whole image is the
  // helper's to check, before it creates any domain (one pass over the image instead of two:
  // docs/save-image.md). A damaged image still gives its one clear sentence and starts nothing.
  XVIRT_ASSIGN_OR_RETURN(saveimg::SaveImageInfo info, saveimg::readSaveImage(path, false));
  if (info.domainXml.empty())
    return makeError(ErrorCode::OperationInvalid, "The save image " + path +
                                                      " holds no domain XML: it was saved by a standalone xvirt-helper.");
  XVIRT_ASSIGN_OR_RETURN(dom::DomainDef def, dom::parseDomainXml(info.domainXml, dom::kParseInactive));
  if (!xml.empty()) {
    XVIRT_ASSIGN_OR_RETURN(dom::DomainDef repl, dom::parseDomainXml(xml, dom::kParseInactive));
    XVIRT_TRY(checkCompatible(def, repl));
    def = std::move(repl);
  }
  def.id = -1;
  bool paused = (restoreFlags & flags::kSavePaused) ||
                (!(restoreFlags & flags::kSaveRunning) && !info.runState.getBool("run-after-restore", true));

  // A definition with that name and UUID is used (and stays persistent); else the domain is transient.
  return startFromDef(def, paused, path, "restore");
}

Status DomainManager::startFromManagedSave(const std::shared_ptr<DomainObject>& dom, unsigned startFlags) {
  std::string image = store_.managedSavePath(dom->name());
  if (startFlags & flags::kStartForceBoot) {
    if (::unlink(image.c_str()) < 0 && errno != ENOENT)
      return Error::system("Failed to remove the managed save image " + image, errno);
    std::lock_guard lock(dom->mu());
    dom->hasManagedSave = false;
    return okStatus();
  }
  // Structure only: the helper checks the checksum before it creates a domain (as in restore()).
  XVIRT_ASSIGN_OR_RETURN(saveimg::SaveImageInfo info, saveimg::readSaveImage(image, false));
  XVIRT_ASSIGN_OR_RETURN(dom::DomainDef def, dom::parseDomainXml(info.domainXml, dom::kParseInactive));
  def.id = -1;
  bool paused = (startFlags & flags::kStartPaused) || !info.runState.getBool("run-after-restore", true);
  // A failed restore keeps the image: nothing the user saved is lost.
  XVIRT_TRY(startLocked(dom, def, paused, image));
  if (::unlink(image.c_str()) < 0 && errno != ENOENT)
    logWarning("Cannot remove the managed save image " + image + " after restoring from it: " + std::strerror(errno));
  std::lock_guard lock(dom->mu());
  dom->hasManagedSave = false;
  return okStatus();
}

Status DomainManager::managedSave(const DomainRef& ref, unsigned saveFlags) {
  XVIRT_TRY(checkSaveFlags(saveFlags, "virDomainManagedSave"));
  XVIRT_ASSIGN_OR_RETURN(auto dom, findActive(ref));
  XVIRT_ASSIGN_OR_RETURN(JobGuard job, JobGuard::acquire(dom, "managedSave"));
  {
    std::lock_guard lock(dom->mu());
    XVIRT_TRY(rules::requirePersistent(dom->isPersistent(), "do managed save for"));
  }
  XVIRT_TRY(saveLocked(dom, store_.managedSavePath(dom->name()), "", saveFlags));
  std::lock_guard lock(dom->mu());
  dom->hasManagedSave = true;
  return okStatus();
}

Status DomainManager::managedSaveRemove(const DomainRef& ref, unsigned removeFlags) {
  XVIRT_TRY(rules::checkFlags(removeFlags, 0, "virDomainManagedSaveRemove"));
  XVIRT_ASSIGN_OR_RETURN(auto dom, find(ref));
  XVIRT_ASSIGN_OR_RETURN(JobGuard job, JobGuard::acquire(dom, "managedSaveRemove"));
  std::string image = store_.managedSavePath(dom->name());
  if (::unlink(image.c_str()) < 0 && errno != ENOENT)
    return Error::system("Failed to remove managed save file '" + image + "'", errno);
  std::lock_guard lock(dom->mu());
  dom->hasManagedSave = false;
  return okStatus();
}

Result<std::string> DomainManager::saveImageXml(const std::string& path, unsigned xmlFlags) const {
  XVIRT_TRY(rules::checkFlags(xmlFlags, flags::kSaveImageXmlSecure, "virDomainSaveImageGetXMLDesc"));
  XVIRT_TRY(checkPath(path));
  XVIRT_ASSIGN_OR_RETURN(saveimg::SaveImageInfo info, saveimg::readSaveImage(path, false));
  if (info.domainXml.empty())
    return makeError(ErrorCode::OperationInvalid, "The save image " + path + " holds no domain XML.");
  XVIRT_ASSIGN_OR_RETURN(dom::DomainDef def, dom::parseDomainXml(info.domainXml, dom::kParseInactive));
  unsigned fmt = dom::kFormatInactive | ((xmlFlags & flags::kSaveImageXmlSecure) ? unsigned(dom::kFormatSecure) : 0u);
  return dom::formatDomainXml(def, fmt);
}

Status DomainManager::saveImageDefineXml(const std::string& path, const std::string& xml, unsigned defineFlags) {
  XVIRT_TRY(checkSaveFlags(defineFlags, "virDomainSaveImageDefineXML"));
  XVIRT_TRY(checkPath(path));
  XVIRT_ASSIGN_OR_RETURN(saveimg::SaveImageInfo info, saveimg::readSaveImage(path, true));
  XVIRT_ASSIGN_OR_RETURN(dom::DomainDef saved, dom::parseDomainXml(info.domainXml, dom::kParseInactive));
  XVIRT_ASSIGN_OR_RETURN(dom::DomainDef repl, dom::parseDomainXml(xml, dom::kParseInactive));
  XVIRT_TRY(checkCompatible(saved, repl));
  Json state = info.runState;
  if (defineFlags & flags::kSaveRunning) state.set("run-after-restore", true);
  if (defineFlags & flags::kSavePaused) state.set("run-after-restore", false);
  return saveimg::rewriteSmallRecords(path, dom::formatDomainXml(repl, dom::kFormatSecure | dom::kFormatInactive), state);
}

void DomainManager::managedSaveAllOnStop() {
  if (!config_.managedSaveOnStop) return;
  std::vector<std::string> saved;
  for (auto& dom : list_.all()) {
    DomainRef ref;
    {
      std::lock_guard lock(dom->mu());
      if (!dom->isActive() || !dom->isPersistent() || dom->removed) continue;
      ref = refOf(*dom);
    }
    Status s = managedSave(ref, 0);
    if (s.ok()) saved.push_back(ref.name);
    else logError("Cannot save domain '" + ref.name + "' at daemon stop; it keeps running: " + s.error().message);
  }
  // Which guests to resume at the next start (as libvirt-guests keeps its list).
  std::string list = store_.paths().saveDir + "/saved-on-stop";
  if (saved.empty()) ::unlink(list.c_str());
  else if (Status w = writeFileAtomic(list, join(saved, "\n") + "\n", 0600); !w.ok()) logError(w.error().message);
}

void DomainManager::resumeSavedOnStop() {
  std::string list = store_.paths().saveDir + "/saved-on-stop";
  auto text = readFile(list, 1 << 20);
  if (!text.ok()) return;
  for (const auto& name : split(*text, '\n')) {
    if (trim(name).empty()) continue;
    auto ref = lookupByName(std::string(trim(name)));
    if (!ref.ok()) continue;
    auto started = create(*ref, 0);  // resumes from the managed save image
    if (!started.ok()) logError("Cannot resume domain '" + ref->name + "' saved at daemon stop: " + started.error().message);
  }
  ::unlink(list.c_str());
}

}  // namespace xvirt::driver
