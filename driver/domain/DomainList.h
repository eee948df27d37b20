// DomainList: every domain xvirtd knows, findable by name, UUID and live id. Thread-safe; returns
// shared references so a domain can be looked up while another thread undefines it.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/Result.h"
#include "driver/domain/DomainObject.h"

namespace xvirt::driver {

class DomainList {
 public:
  std::shared_ptr<DomainObject> byName(const std::string& name) const;
  std::shared_ptr<DomainObject> byUuid(const Uuid& uuid) const;
  std::shared_ptr<DomainObject> byId(int id) const;
  std::vector<std::shared_ptr<DomainObject>> all() const;
  size_t size() const;

  // Adds a new domain; DomainExists if the name or UUID is taken (the message says which).
  Result<std::shared_ptr<DomainObject>> add(const std::string& name, const Uuid& uuid);
  void remove(const std::shared_ptr<DomainObject>& dom);
  // Puts `renamed` (same UUID, the new name) in the place of `dom` in one step, so a lookup finds
  // one or the other, never neither; OperationInvalid "domain with name 'X' already exists".
  Status replace(const std::shared_ptr<DomainObject>& dom, const std::shared_ptr<DomainObject>& renamed);

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<DomainObject>> byName_;
  std::map<Uuid, std::shared_ptr<DomainObject>> byUuid_;
};

}  // namespace xvirt::driver
