#include "driver/domain/DomainObject.h"

namespace xvirt::driver {

const char* domainStateName(DomainState s) {
  switch (s) {
    case DomainState::NoState: return "no state";
    case DomainState::Running: return "running";
    case DomainState::Blocked: return "idle";
    case DomainState::Paused: return "paused";
    case DomainState::Shutdown: return "in shutdown";
    case DomainState::Shutoff: return "shut off";
    case DomainState::Crashed: return "crashed";
    case DomainState::PmSuspended: return "pmsuspended";
  }
  return "no state";
}

Status DomainObject::beginJob(const std::string& owner, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (!jobCv_.wait_for(lock, timeout, [&] { return !jobActive_; }))
    return makeError(ErrorCode::Timeout,
                     "Timed out during operation: cannot acquire state change lock (held by " + jobOwner_ + ")");
  jobActive_ = true;
  jobOwner_ = owner;
  return okStatus();
}

void DomainObject::endJob() {
  {
    std::lock_guard lock(mu_);
    jobActive_ = false;
    jobOwner_.clear();
  }
  jobCv_.notify_one();
}

Result<JobGuard> JobGuard::acquire(const std::shared_ptr<DomainObject>& dom, const std::string& owner,
                                   std::chrono::milliseconds timeout) {
  XVIRT_TRY(dom->beginJob(owner, timeout));
  return JobGuard(dom);
}

}  // namespace xvirt::driver
