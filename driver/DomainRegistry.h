// DomainRegistry: what the RPC layer needs from the domain code — lookups, listings, definitions,
// lifecycle and queries — in wire terms. The domain manager implements it (DomainBridge.h).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/Json.h"
#include "common/Result.h"
#include "domain-xml/DomainDef.h"
#include "driver/rpc/RemoteDomain.h"

namespace xvirt::driver {

// DOMAIN_GET_INFO's reply, with libvirt's state numbers.
struct RemoteDomainInfo {
  int state = 0;
  uint64_t maxMemKib = 0;
  uint64_t memKib = 0;
  unsigned nrVirtCpu = 0;
  uint64_t cpuTimeNs = 0;
};

// A copy of one domain's definitions and run state (libvirt's state numbers), for the tuning procedures.
struct RemoteDomainDefs {
  rpc::RemoteDomain ref;  // with its id at the time of the copy
  int state = 0;
  int reason = 0;
  std::optional<dom::DomainDef> live;        // while active
  std::optional<dom::DomainDef> persistent;  // absent for a transient domain
  bool active() const { return ref.id >= 0; }
};

// Changes one copy of a definition: `live` says which, `domid` is the running domain's id (else -1).
using DefinitionEdit = std::function<Status(dom::DomainDef& def, bool live, int domid)>;

class DomainRegistry {
 public:
  using Dom = rpc::RemoteDomain;
  virtual ~DomainRegistry() = default;

  // Daemon phases: start() runs once the sockets accept clients (autostart); stop() before exit
  // lets go of the helpers without touching the guests.
  virtual void start() {}
  virtual void stop() {}

  // libvirt's listAllDomains filter flags; each pair filters only when exactly one of its bits is set.
  virtual Result<std::vector<Dom>> listAll(unsigned filterFlags) = 0;
  virtual Result<Dom> lookupByName(const std::string& name) = 0;  // NoDomain if missing
  virtual Result<Dom> lookupByUuid(const Uuid& uuid) = 0;
  virtual Result<Dom> lookupById(int id) = 0;

  // Everything below answers NoSupport unless a registry serves it.
  virtual Result<std::vector<int>> activeIds() { return unsupported("listing domain ids"); }
  virtual Result<std::vector<std::string>> definedNames() { return unsupported("listing defined domains"); }

  virtual Result<Dom> defineXml(const std::string&, unsigned) { return unsupported("defining domains"); }
  virtual Status undefine(const Dom&, unsigned) { return unsupported("undefining domains"); }
  virtual Result<Dom> createXml(const std::string&, unsigned) { return unsupported("starting domains"); }
  virtual Result<Dom> create(const Dom&, unsigned) { return unsupported("starting domains"); }
  virtual Status shutdown(const Dom&, unsigned) { return unsupported("shutting domains down"); }
  virtual Status reboot(const Dom&, unsigned) { return unsupported("rebooting domains"); }
  virtual Status destroy(const Dom&, unsigned) { return unsupported("destroying domains"); }
  virtual Status suspend(const Dom&) { return unsupported("suspending domains"); }
  virtual Status resume(const Dom&) { return unsupported("resuming domains"); }
  virtual Status setAutostart(const Dom&, bool) { return unsupported("autostart"); }

  virtual Result<bool> isActive(const Dom&) { return unsupported("domain state"); }
  virtual Result<bool> isPersistent(const Dom&) { return unsupported("domain state"); }
  virtual Result<bool> isUpdated(const Dom&) { return unsupported("domain state"); }
  virtual Result<RemoteDomainInfo> getInfo(const Dom&) { return unsupported("domain information"); }
  virtual Result<std::pair<int, int>> getState(const Dom&) { return unsupported("domain state"); }
  virtual Result<std::string> getOsType(const Dom&) { return unsupported("domain information"); }
  virtual Result<uint64_t> getMaxMemory(const Dom&) { return unsupported("domain information"); }
  virtual Result<std::string> getXmlDesc(const Dom&, unsigned) { return unsupported("domain XML"); }
  virtual Result<bool> getAutostart(const Dom&) { return unsupported("autostart"); }
  virtual Result<bool> hasManagedSave(const Dom&) { return unsupported("managed save"); }

  // Save and restore (the VIR_DOMAIN_SAVE_* flags); see DomainManager.
  virtual Status save(const Dom&, const std::string& /*path*/, const std::string& /*xml*/, unsigned) {
    return unsupported("saving domains");
  }
  virtual Result<Dom> restore(const std::string& /*path*/, const std::string& /*xml*/, unsigned) {
    return unsupported("restoring domains");
  }
  virtual Status managedSave(const Dom&, unsigned) { return unsupported("managed save"); }
  virtual Status managedSaveRemove(const Dom&, unsigned) { return unsupported("managed save"); }
  virtual Result<std::string> saveImageXml(const std::string& /*path*/, unsigned) { return unsupported("save images"); }
  virtual Status saveImageDefineXml(const std::string& /*path*/, const std::string& /*xml*/, unsigned) {
    return unsupported("save images");
  }

  // Tuning: a snapshot of the definitions, and changes with libvirt's VIR_DOMAIN_AFFECT_* bits in
  // `affect` (0 current, 1 live, 2 config); see DomainManager::modifyDefinitions.
  virtual Result<RemoteDomainDefs> definitions(const Dom&) { return unsupported("domain tuning"); }
  virtual Status modifyDefinitions(const Dom&, unsigned /*affect*/, const std::string& /*job*/, const DefinitionEdit&) {
    return unsupported("domain tuning");
  }

  // Runs a monitor command on a running domain's helper (hotplug and live tuning; see
  // DomainManager::helperCommand). OperationInvalid when the domain is not running.
  virtual Result<Json> helperCommand(const Dom&, const std::string& /*command*/, const Json& /*args*/) {
    return unsupported("device hotplug");
  }

  // The pty of a running domain's console: the first console when devName is empty, else the one
  // with that alias ("console0"). OperationInvalid when the domain is not running.
  virtual Result<std::string> consolePty(const Dom&, const std::string& /*devName*/) { return unsupported("consoles"); }

 protected:
  static Error unsupported(const std::string& what) {
    return makeError(ErrorCode::NoSupport, "This xvirtd serves no domains, so " + what + " is not supported.");
  }
};

// No domains at all: what test daemons built on the fake hypervisor serve.
class EmptyDomainRegistry final : public DomainRegistry {
 public:
  Result<std::vector<Dom>> listAll(unsigned) override { return std::vector<Dom>{}; }
  Result<Dom> lookupByName(const std::string& name) override {
    return makeError(ErrorCode::NoDomain, "Domain not found: no domain with matching name '" + name + "'.");
  }
  Result<Dom> lookupByUuid(const Uuid& uuid) override {
    return makeError(ErrorCode::NoDomain, "Domain not found: no domain with matching uuid '" + uuid.str() + "'.");
  }
  Result<Dom> lookupById(int id) override {
    return makeError(ErrorCode::NoDomain, "Domain not found: no domain with matching id " + std::to_string(id) + ".");
  }
};

}  // namespace xvirt::driver
