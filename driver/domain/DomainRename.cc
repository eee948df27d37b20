// DomainManager::rename (virDomainRename): libvirt's rules (QEMU driver wording, which libxl lacks),
// the config file moved crash-safely by DomainStore, the DomainList index swapped in one step.
#include "common/File.h"
#include "common/Log.h"
#include "domain-xml/DomainXmlValues.h"
#include "driver/LibvirtRules.h"
#include "driver/domain/DomainManager.h"

namespace xvirt::driver {

Status DomainManager::rename(const DomainRef& ref, const std::string& newName, unsigned renameFlags) {
  if (newName.empty())
    return rules::invalidArg("string new_name in virDomainRename must not be empty");
  XVIRT_TRY(rules::checkFlags(renameFlags, 0, "virDomainRename"));
  XVIRT_ASSIGN_OR_RETURN(auto dom, find(ref));
  XVIRT_ASSIGN_OR_RETURN(JobGuard job, JobGuard::acquire(dom, "rename"));
  std::string oldName = dom->name();
  dom::DomainDef renamedDef;
  {
    std::lock_guard lock(dom->mu());
    if (dom->removed)
      return makeError(ErrorCode::NoDomain, "Domain not found: no domain with matching uuid '" + ref.uuid.str() + "' (" +
                                                ref.name + ")");
    // libvirt's order: active first, so a transient domain (always active) hears that.
    if (dom->isActive()) return rules::operationInvalid("cannot rename active domain");
    if (!dom->isPersistent()) return rules::operationInvalid("cannot rename a transient domain");
    if (dom->hasManagedSave || pathExists(store_.managedSavePath(oldName)))
      return rules::operationInvalid("domain with a managed saved state can't be renamed");
    if (dom->state != DomainState::Shutoff) return rules::operationInvalid("domain has to be shutoff before renaming");
    if (newName == oldName) return rules::operationInvalid("Can't rename domain to itself");
    renamedDef = *dom->persistentDef;
  }
  XVIRT_TRY(dom::checkDomainName(newName));
  if (list_.byName(newName)) return rules::operationInvalid("domain with name '" + newName + "' already exists");
  renamedDef.name = newName;

  // The new object takes the old one's place in the index first, which reserves the name against a
  // define running meanwhile; then the file moves. If that fails, the old object goes back.
  auto renamed = std::make_shared<DomainObject>(newName, dom->uuid());
  {
    std::lock_guard lock(dom->mu());
    renamed->persistentDef = renamedDef;
    renamed->state = dom->state;
    renamed->reason = dom->reason;
    renamed->autostart = dom->autostart;
  }
  XVIRT_ASSIGN_OR_RETURN(JobGuard renamedJob, JobGuard::acquire(renamed, "rename"));  // nobody else has it yet
  XVIRT_TRY(list_.replace(dom, renamed));
  if (Status s = store_.renameConfig(oldName, renamedDef); !s.ok()) {
    std::lock_guard lock(dom->mu());
    (void)store_.saveConfig(*dom->persistentDef);  // the old content back, if it was overwritten
    if (Status back = list_.replace(renamed, dom); !back.ok())
      logError("Domain '" + oldName + "' could not take its name back after a failed rename: " + back.error().message);
    return s;
  }
  {
    std::lock_guard lock(dom->mu());
    dom->removed = true;
    emit(*dom, LifecycleEvent::Undefined, detail::kUndefinedRenamed);
  }
  std::lock_guard lock(renamed->mu());
  emit(*renamed, LifecycleEvent::Defined, detail::kDefinedRenamed);
  return okStatus();
}

}  // namespace xvirt::driver
