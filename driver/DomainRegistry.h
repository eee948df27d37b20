// DomainRegistry: what the RPC layer needs from the domain code to list and look up domains.
// The domain manager implements it; until then xvirtd serves an empty registry.
#pragma once

#include <string>
#include <vector>

#include "common/Result.h"
#include "driver/rpc/RemoteDomain.h"

namespace xvirt::driver {

class DomainRegistry {
 public:
  virtual ~DomainRegistry() = default;
  // libvirt's listAllDomains filter flags; each pair filters only when exactly one of its bits is set.
  virtual Result<std::vector<rpc::RemoteDomain>> listAll(unsigned filterFlags) = 0;
  virtual Result<rpc::RemoteDomain> lookupByName(const std::string& name) = 0;  // NoDomain if missing
  virtual Result<rpc::RemoteDomain> lookupByUuid(const Uuid& uuid) = 0;
  virtual Result<rpc::RemoteDomain> lookupById(int id) = 0;
};

// No domains at all: what xvirtd serves before the domain code is wired in.
class EmptyDomainRegistry final : public DomainRegistry {
 public:
  Result<std::vector<rpc::RemoteDomain>> listAll(unsigned) override { return std::vector<rpc::RemoteDomain>{}; }
  Result<rpc::RemoteDomain> lookupByName(const std::string& name) override {
    return makeError(ErrorCode::NoDomain, "Domain not found: no domain with matching name '" + name + "'.");
  }
  Result<rpc::RemoteDomain> lookupByUuid(const Uuid& uuid) override {
    return makeError(ErrorCode::NoDomain, "Domain not found: no domain with matching uuid '" + uuid.str() + "'.");
  }
  Result<rpc::RemoteDomain> lookupById(int id) override {
    return makeError(ErrorCode::NoDomain, "Domain not found: no domain with matching id " + std::to_string(id) + ".");
  }
};

}  // namespace xvirt::driver
