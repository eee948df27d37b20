// DomainObject: xvirtd's record of one guest — its definitions, run state, helper process and
// monitor — plus the per-domain job that serialises state changes ("cannot acquire state change lock").
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/Result.h"
#include "common/Uuid.h"
#include "domain-xml/DomainDef.h"
#include "driver/domain/DomainState.h"

namespace xvirt::driver {

class MonitorClient;

class DomainObject {
 public:
  DomainObject(std::string name, Uuid uuid) : name_(std::move(name)), uuid_(uuid) {}

  const std::string& name() const { return name_; }
  const Uuid& uuid() const { return uuid_; }

  // Everything below is guarded by mu(); hold it only briefly, never across helper I/O.
  std::mutex& mu() const { return mu_; }

  std::optional<dom::DomainDef> persistentDef;  // absent for a transient domain
  std::optional<dom::DomainDef> liveDef;        // present while active
  int id = -1;
  DomainState state = DomainState::Shutoff;
  int reason = reason::kShutoffUnknown;
  bool autostart = false;
  bool hasManagedSave = false;
  bool updated = false;                          // persistent config changed while running
  bool vanished = false;                         // its helper reported the domain destroyed outside xvirtd
  bool hostLost = false;                         // its helper reported the hypervisor gone (guest died with it)

  pid_t helperPid = 0;
  std::string monitorPath;
  std::shared_ptr<MonitorClient> monitor;
  std::string logPath;

  bool isActive() const { return id >= 0; }
  bool isPersistent() const { return persistentDef.has_value(); }
  // The definition a reader sees: the live one while running, else the persistent one.
  const dom::DomainDef& currentDef() const { return liveDef ? *liveDef : *persistentDef; }

  // The job: one state-changing operation at a time per domain. acquire() waits up to `timeout`.
  Status beginJob(const std::string& owner, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  void endJob();
  bool removed = false;  // undefined while a caller still held a reference
  // A define is writing this domain's config: a transient domain whose helper exits meanwhile stays
  // listed, since it may be about to become persistent (defineXml decides, under its job).
  bool defining = false;

 private:
  std::string name_;
  Uuid uuid_;
  mutable std::mutex mu_;
  std::condition_variable jobCv_;
  bool jobActive_ = false;
  std::string jobOwner_;
};

// Holds a domain's job for a scope.
class JobGuard {
 public:
  static Result<JobGuard> acquire(const std::shared_ptr<DomainObject>& dom, const std::string& owner,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(30));
  JobGuard(JobGuard&& o) noexcept : dom_(std::move(o.dom_)) {}
  JobGuard(const JobGuard&) = delete;
  ~JobGuard() {
    if (dom_) dom_->endJob();
  }

 private:
  explicit JobGuard(std::shared_ptr<DomainObject> dom) : dom_(std::move(dom)) {}
  std::shared_ptr<DomainObject> dom_;
};

}  // namespace xvirt::driver
