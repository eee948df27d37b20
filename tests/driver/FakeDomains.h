// FakeDomains: a real DomainManager over FakeHypervisor with its files under a temp dir, for the
// driver's in-process tests and the rpc fuzz target. It starts nothing: the GuestConfig step of a
// start fails before a helper would be launched.
#pragma once

#include <string>

#include "driver/Daemon.h"
#include "driver/EventBus.h"
#include "driver/api/Events.h"
#include "driver/domain/DomainManager.h"
#include "tests/driver/FakeHypervisor.h"

namespace xvirt::test {

// The daemon's layout (driver::domainPathsFor) under `dir`; creates the directories too.
inline driver::DomainPaths fakeDomainPaths(const std::string& dir) {
  driver::DaemonPaths daemon;
  daemon.runtimeDir = dir + "/run";
  daemon.configDir = dir + "/domains";
  daemon.stateDir = dir + "/state";
  daemon.logDir = dir + "/log";
  daemon.simDir = dir + "/sim";
  driver::DomainPaths p = driver::domainPathsFor(driver::DaemonOptions{}, daemon);
  (void)p.create();
  return p;
}

inline driver::DomainManagerConfig fakeManagerConfig() {
  driver::DomainManagerConfig c;
  c.helperBinary = "/nonexistent/xvirt-helper";
  c.hypervisorName = "fake";
  c.guestConfigJson = [](const dom::DomainDef& def) -> Result<std::string> {
    return makeError(ErrorCode::NoSupport, "Domain '" + def.name + "' cannot start on the fake hypervisor.");
  };
  return c;
}

// The manager of a test daemon, over its hypervisor and event bus.
struct FakeDomains {
  FakeDomains(const std::string& dir, hv::Hypervisor& hypervisor, driver::EventBus& events)
      : sink(events),
        paths(fakeDomainPaths(dir)),
        manager(fakeManagerConfig(), driver::DomainStore(paths), hypervisor, sink) {
    manager.load();
  }

  driver::EventBusSink sink;
  driver::DomainPaths paths;
  driver::DomainManager manager;
};

}  // namespace xvirt::test
