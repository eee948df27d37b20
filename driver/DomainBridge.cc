// DomainBridge: plain conversions; DomainManager already applies libvirt's filter and error rules.
#include "driver/DomainBridge.h"

namespace xvirt::driver {

rpc::RemoteDomain toRemoteDomain(const DomainRef& ref) { return rpc::RemoteDomain{ref.name, ref.uuid, ref.id}; }

Result<std::vector<rpc::RemoteDomain>> ManagerDomainRegistry::listAll(unsigned filterFlags) {
  std::vector<rpc::RemoteDomain> out;
  for (const auto& ref : manager_.listAll(filterFlags)) out.push_back(toRemoteDomain(ref));
  return out;
}

Result<rpc::RemoteDomain> ManagerDomainRegistry::lookupByName(const std::string& name) {
  XVIRT_ASSIGN_OR_RETURN(DomainRef ref, manager_.lookupByName(name));
  return toRemoteDomain(ref);
}

Result<rpc::RemoteDomain> ManagerDomainRegistry::lookupByUuid(const Uuid& uuid) {
  XVIRT_ASSIGN_OR_RETURN(DomainRef ref, manager_.lookupByUuid(uuid));
  return toRemoteDomain(ref);
}

Result<rpc::RemoteDomain> ManagerDomainRegistry::lookupById(int id) {
  XVIRT_ASSIGN_OR_RETURN(DomainRef ref, manager_.lookupById(id));
  return toRemoteDomain(ref);
}

}  // namespace xvirt::driver
