#include "driver/LibvirtRules.h"
#include "driver/domain/DomainList.h"

namespace xvirt::driver {

std::shared_ptr<DomainObject> DomainList::byName(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = byName_.find(name);
  return it == byName_.end() ? nullptr : it->second;
}

std::shared_ptr<DomainObject> DomainList::byUuid(const Uuid& uuid) const {
  std::lock_guard lock(mu_);
  auto it = byUuid_.find(uuid);
  return it == byUuid_.end() ? nullptr : it->second;
}

std::shared_ptr<DomainObject> DomainList::byId(int id) const {
  if (id < 0) return nullptr;
  for (auto& dom : all()) {
    std::lock_guard lock(dom->mu());
    if (dom->id == id) return dom;
  }
  return nullptr;
}

std::vector<std::shared_ptr<DomainObject>> DomainList::all() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<DomainObject>> out;
  out.reserve(byName_.size());
  for (auto& [name, dom] : byName_) out.push_back(dom);
  return out;
}

size_t DomainList::size() const {
  std::lock_guard lock(mu_);
  return byName_.size();
}

Result<std::shared_ptr<DomainObject>> DomainList::add(const std::string& name, const Uuid& uuid) {
  std::lock_guard lock(mu_);
  if (auto it = byName_.find(name); it != byName_.end())
    return makeError(ErrorCode::DomainExists, "domain '" + name + "' already exists with uuid " +
                                                  it->second->uuid().str());
  if (auto it = byUuid_.find(uuid); it != byUuid_.end())
    return makeError(ErrorCode::DomainExists, "domain '" + it->second->name() + "' is already defined with uuid " +
                                                  uuid.str());
  auto dom = std::make_shared<DomainObject>(name, uuid);
  byName_[name] = dom;
  byUuid_[uuid] = dom;
  return dom;
}

void DomainList::remove(const std::shared_ptr<DomainObject>& dom) {
  std::lock_guard lock(mu_);
  auto it = byName_.find(dom->name());
  if (it != byName_.end() && it->second == dom) byName_.erase(it);
  auto ut = byUuid_.find(dom->uuid());
  if (ut != byUuid_.end() && ut->second == dom) byUuid_.erase(ut);
}

Status DomainList::replace(const std::shared_ptr<DomainObject>& dom, const std::shared_ptr<DomainObject>& renamed) {
  std::lock_guard lock(mu_);
  if (byName_.count(renamed->name()))
    return rules::operationInvalid("domain with name '" + renamed->name() + "' already exists");
  auto it = byName_.find(dom->name());
  if (it != byName_.end() && it->second == dom) byName_.erase(it);
  byName_[renamed->name()] = renamed;
  byUuid_[renamed->uuid()] = renamed;
  return okStatus();
}

}  // namespace xvirt::driver
