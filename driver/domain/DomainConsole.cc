// Which pty a running domain's console is on: its helper's monitor knows (query-chardev); without a
// monitor connection, the pty path the live XML recorded.
#include "driver/LibvirtRules.h"
#include "driver/domain/DomainManager.h"
#include "driver/monitor/HelperClient.h"

namespace xvirt::driver {

Result<std::string> DomainManager::consolePty(const DomainRef& ref, const std::string& devName) {
  XVIRT_ASSIGN_OR_RETURN(auto dom, find(ref));
  std::shared_ptr<MonitorClient> monitor;
  std::string recorded;  // the pty path the live XML (and so the status file) recorded, if any
  std::string name;
  {
    std::lock_guard lock(dom->mu());
    XVIRT_TRY(rules::requireActive(dom->isActive()));
    monitor = dom->monitor;
    name = dom->name();
    if (dom->liveDef && !dom->liveDef->consoles.empty() && dom->liveDef->consoles[0].type == "pty")
      recorded = dom->liveDef->consoles[0].path;
  }
  const std::string wanted = devName.empty() ? "the console" : "the console '" + devName + "'";
  if (!monitor) {
    if (!recorded.empty() && (devName.empty() || devName == "console0")) return recorded;
    return makeError(ErrorCode::OperationFailed, "Cannot find " + wanted + " of domain '" + name +
                                                     "': its helper's monitor is not connected.");
  }
  XVIRT_ASSIGN_OR_RETURN(auto chardevs, HelperClient(*monitor).queryChardev());
  return driver::consolePty(chardevs, devName, name);
}

}  // namespace xvirt::driver
