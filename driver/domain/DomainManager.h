// DomainManager: the driver's domain logic behind the libvirt API — define/undefine, start/stop,
// suspend/resume, lookups and listings, state, XML — over DomainList, DomainStore and one helper
// per running guest. RPC handlers call it; it raises lifecycle events through DomainEventSink.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/Json.h"
#include "common/Result.h"
#include "domain-xml/DomainDef.h"
#include "driver/rpc/DomainRef.h"
#include "driver/LibvirtConstants.h"
#include "driver/domain/DomainList.h"
#include "driver/domain/DomainStore.h"
#include "hypervisor/Hypervisor.h"

namespace xvirt::driver {

class HelperClient;

class DomainEventSink {
 public:
  virtual ~DomainEventSink() = default;
  virtual void lifecycle(const DomainRef& dom, LifecycleEvent event, int detail) = 0;
  // A device was plugged into or removed from a running guest (alias: xvdb, net1).
  virtual void device(const DomainRef& /*dom*/, bool /*added*/, const std::string& /*alias*/) {}
  // A running guest's balloon reached (or stopped short of) its target.
  virtual void balloon(const DomainRef& /*dom*/, uint64_t /*actualKib*/) {}
  // A title, description (nsUri absent) or metadata element (its namespace) was set or removed.
  virtual void metadata(const DomainRef& /*dom*/, int /*type*/, const std::optional<std::string>& /*nsUri*/) {}
};

struct DomainInfoReply {
  DomainState state = DomainState::Shutoff;
  uint64_t maxMemKib = 0;
  uint64_t memKib = 0;
  unsigned nrVirtCpu = 0;
  uint64_t cpuTimeNs = 0;
};

// A copy of one domain's definitions and run state, taken at one moment (the tuning procedures).
struct DomainDefinitions {
  DomainRef ref;
  DomainState state = DomainState::Shutoff;
  int reason = 0;
  std::optional<dom::DomainDef> live;        // while active
  std::optional<dom::DomainDef> persistent;  // absent for a transient domain
  bool active() const { return ref.active(); }
};

// virDomainGetBlockInfo's figures of one disk's source, in bytes.
struct BlockInfo {
  uint64_t capacity = 0;    // what the guest sees: a file's size, a qcow2 image's virtual size, a device's size
  uint64_t allocation = 0;  // what the host has allocated for it: a file's blocks
  uint64_t physical = 0;    // the source's size on the host
};

// Changes one copy of a definition: `live` says which, `domid` is the running domain's id (else -1).
using DefinitionEdit = std::function<Status(dom::DomainDef& def, bool live, int domid)>;

struct DomainManagerConfig {
  std::string helperBinary;
  std::string hypervisorName;  // passed to helpers: xen | sim
  // DomainDef -> the GuestConfig JSON document a helper reads (domain-xml/GuestConfigBuilder).
  std::function<Result<std::string>(const dom::DomainDef&)> guestConfigJson;
  bool managedSaveOnStop = false;  // --managed-save-on-stop: managed-save running guests at daemon stop
};

class DomainManager {
 public:
  // `hypervisor` is called from several threads: it must serialise its own calls (xvirtd passes a
  // hv::LockedHypervisor).
  DomainManager(DomainManagerConfig config, DomainStore store, hv::Hypervisor& hypervisor, DomainEventSink& events);
  ~DomainManager();

  // Start-up (DomainRecovery.cc): load persistent configs, reconnect to running helpers from status
  // files and re-check their domains, stop and report what cannot be trusted (interrupted starts,
  // dead helpers, vanished domains), then stop helpers and destroy domains no status file accounts
  // for. Problems are logged; docs/restart-safety.md has the rules.
  void load();
  void autostartAll();

  Result<DomainRef> defineXml(const std::string& xml, unsigned flags);
  Status undefine(const DomainRef& ref, unsigned flags);
  Result<DomainRef> createXml(const std::string& xml, unsigned flags);  // transient
  Result<DomainRef> create(const DomainRef& ref, unsigned flags);

  Result<DomainRef> lookupByName(const std::string& name) const;
  Result<DomainRef> lookupByUuid(const Uuid& uuid) const;
  Result<DomainRef> lookupById(int id) const;
  // listAllDomains with libvirt's filter flags (each pair filters only when exactly one bit is set).
  std::vector<DomainRef> listAll(unsigned filterFlags) const;
  std::vector<int> activeIds() const;
  std::vector<std::string> definedNames() const;

  Result<bool> isActive(const DomainRef& ref) const;
  Result<bool> isPersistent(const DomainRef& ref) const;
  Result<bool> isUpdated(const DomainRef& ref) const;
  Result<DomainInfoReply> getInfo(const DomainRef& ref) const;
  Result<std::pair<DomainState, int>> getState(const DomainRef& ref) const;
  Result<std::string> getOsType(const DomainRef& ref) const;
  Result<uint64_t> getMaxMemory(const DomainRef& ref) const;
  Result<std::string> getXmlDesc(const DomainRef& ref, unsigned flags) const;
  Result<bool> getAutostart(const DomainRef& ref) const;
  Status setAutostart(const DomainRef& ref, bool on);
  Result<bool> hasManagedSave(const DomainRef& ref) const;

  // Tuning (DomainTuning.cc). modifyDefinitions resolves libvirt's VIR_DOMAIN_AFFECT_* bits (rules::resolveAffect) in
  // `affect` (0 current, 1 live, 2 config), then, under the domain's job, edits copies of the chosen
  // definitions (config first, as it has no side effects, then live). Only when every edit succeeded
  // is the persistent one saved atomically and the live one recorded in the status file.
  Result<DomainDefinitions> definitions(const DomainRef& ref) const;
  // The sizes of the disk named by its target ("xvda") or its source path, in the live definition
  // while the domain runs, else the persistent one (DomainBlockInfo.cc).
  Result<BlockInfo> blockInfo(const DomainRef& ref, const std::string& path) const;
  Status modifyDefinitions(const DomainRef& ref, unsigned affect, const std::string& job, const DefinitionEdit& edit);
  // Runs commands on a running guest's helper through its typed client (DomainHotplug.cc):
  // helperCall(ref, [&](HelperClient& h) { return h.balloon(bytes); }). Needs no job of its own, so
  // a DefinitionEdit may call it while modifyDefinitions holds the domain's.
  Result<Json> helperCall(const DomainRef& ref, const std::function<Result<Json>(HelperClient&)>& call);
  // The pty of a running domain's console (DomainConsole.cc): the first console when devName is
  // empty, else the one with that alias ("console0"); asks the helper's monitor (query-chardev).
  Result<std::string> consolePty(const DomainRef& ref, const std::string& devName);

  Status shutdown(const DomainRef& ref, unsigned flags);
  Status reboot(const DomainRef& ref, unsigned flags);
  Status destroy(const DomainRef& ref, unsigned flags);
  Status suspend(const DomainRef& ref);
  Status resume(const DomainRef& ref);
  // virDomainReset: the reset button, no guest cooperation (the helper's system_reset).
  Status reset(const DomainRef& ref, unsigned flags);
  // virDomainRename (DomainRename.cc): an inactive persistent domain gets a new name; its config
  // file and autostart mark move with it, the UUID stays.
  Status rename(const DomainRef& ref, const std::string& newName, unsigned flags);

  // Title, description and namespaced <metadata> elements (DomainMetadata.cc); virDomainMetadataType
  // and the AFFECT flags as libvirt. An absent or empty `metadata` removes it.
  Status setMetadata(const DomainRef& ref, int type, const std::optional<std::string>& metadata,
                     const std::optional<std::string>& key, const std::optional<std::string>& uri, unsigned flags);
  Result<std::string> getMetadata(const DomainRef& ref, int type, const std::optional<std::string>& uri,
                                  unsigned flags) const;

  // Save and restore (DomainSave.cc; docs/rpc.md "Save and restore").
  Status save(const DomainRef& ref, const std::string& path, const std::string& xml, unsigned flags);
  Result<DomainRef> restore(const std::string& path, const std::string& xml, unsigned flags);
  Status managedSave(const DomainRef& ref, unsigned flags);
  Status managedSaveRemove(const DomainRef& ref, unsigned flags);
  Result<std::string> saveImageXml(const std::string& path, unsigned flags) const;
  Status saveImageDefineXml(const std::string& path, const std::string& xml, unsigned flags);
  // Daemon stop/start with managedSaveOnStop: save running persistent guests, then resume them.
  void managedSaveAllOnStop();
  void resumeSavedOnStop();

  // Stops every guest's monitor connection without touching the guests (daemon shutdown).
  void detachAll();

  DomainList& domains() { return list_; }
  const DomainStore& store() const { return store_; }

 private:
  // The disks (targets) and NICs (MACs) a helper has; nullopt when it could not say (DomainHotplug.cc).
  struct HelperDevices {
    std::optional<std::vector<std::string>> disks, macs;
  };
  static HelperDevices queryHelperDevices(MonitorClient& monitor);
  // The monitor of a running guest's helper (helperCall).
  Result<std::shared_ptr<MonitorClient>> runningHelper(const DomainRef& ref);
  void dropVanishedDevices(DomainObject& dom, const HelperDevices& devices);  // mu() held
  // Removes from `edited` the disks and NICs that went from `before` to `now` meanwhile.
  static void keepDeviceRemovals(const dom::DomainDef& before, const dom::DomainDef& now, dom::DomainDef& edited);

  struct HelperEvent {
    std::shared_ptr<DomainObject> dom;
    std::shared_ptr<MonitorClient> monitor;  // the connection it came from
    std::string event;                       // QMP event name, or "" for EOF
    Json data;
  };

  Result<std::shared_ptr<DomainObject>> find(const DomainRef& ref) const;
  // The object for a new definition: the existing one with its name and UUID, or a new one (true).
  Result<std::pair<std::shared_ptr<DomainObject>, bool>> findOrAdd(const dom::DomainDef& def);
  // Starts (or, with restoreFrom, restores) `def` in its existing or a new transient object.
  Result<DomainRef> startFromDef(const dom::DomainDef& def, bool paused, const std::string& restoreFrom,
                                 const char* jobName);
  Result<std::shared_ptr<DomainObject>> findActive(const DomainRef& ref) const;
  DomainRef refOf(const DomainObject& dom) const;
  // restoreFrom: a save image the helper restores instead of booting.
  Status startLocked(const std::shared_ptr<DomainObject>& dom, const dom::DomainDef& def, bool paused,
                     const std::string& restoreFrom = {});
  Status saveLocked(const std::shared_ptr<DomainObject>& dom, const std::string& path, const std::string& xml,
                    unsigned flags);
  Status startFromManagedSave(const std::shared_ptr<DomainObject>& dom, unsigned startFlags);
  void attachMonitor(const std::shared_ptr<DomainObject>& dom, const std::shared_ptr<MonitorClient>& monitor);
  void markStopped(DomainObject& dom, int reason);  // mu() held
  // After its helper was stopped on request: the domain is recorded stopped, a transient one forgotten.
  void recordStopped(const std::shared_ptr<DomainObject>& dom, int stopReason, int stopDetail);
  // The helper's system_reset (reboot, reset), then the rebuilt domain's new id recorded.
  Status systemReset(const DomainRef& ref, HelperClient& helper);
  // Runs `call` on an active domain's helper under the job `job` (shutdown, reboot).
  Status helperJob(const DomainRef& ref, const char* job, const std::function<Status(HelperClient&)>& call);
  // The files of a running guest: status, helper config, pidfile, monitor socket.
  void removeRunFiles(const std::string& name, const std::string& monitorPath);
  void writeStatus(const DomainObject& dom);        // mu() held
  // Destroys a domain no helper owns any more and removes its xenstore entries (NoDomain is fine).
  Status destroyOwnerless(hv::DomId domid, const Uuid& uuid);
  void cleanupOrphanDomain(int domid, const std::string& name, const Uuid& uuid);
  void cleanupFailedStart(const std::string& name, const Uuid& uuid);
  Status writeStartingStatus(const dom::DomainDef& def, bool persistent);
  // Start-up recovery steps (DomainRecovery.cc); Recovery collects what they found.
  struct Recovery;
  void recoverFromStatus(const std::string& name, Recovery& r);
  void stopUnownedHelpers(Recovery& r);
  void destroyUnownedDomains(Recovery& r);
  void emit(const DomainObject& dom, LifecycleEvent event, int detail);
  void eventLoop();
  void handleHelperEvent(const HelperEvent& ev);
  // DEVICE_ADDED, DEVICE_DELETED, BALLOON_CHANGE; mu() held (DomainHotplug.cc)
  void handleDeviceEvent(DomainObject& dom, const HelperEvent& ev);

  DomainManagerConfig config_;
  DomainStore store_;
  hv::Hypervisor& hv_;
  DomainEventSink& events_;
  DomainList list_;

  std::mutex qmu_;
  std::condition_variable qcv_;
  std::deque<HelperEvent> queue_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace xvirt::driver
