// A test-only xvirtd with the fake hypervisor: the same daemon code as xvirtd, never installed.
// The integration tests use it until the simulated Xen host links into the real xvirtd.
// With XVIRTD_FAKE_EVENT_FIFO set, each line "NAME UUID ID EVENT DETAIL" written to that FIFO is
// published as a lifecycle event, so tests can check that real clients decode our event messages.
#include <fcntl.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>

#include "driver/Daemon.h"
#include "driver/RemoteDispatch.h"
#include "tests/driver/FakeHypervisor.h"

namespace {

void publishFromFifo(xvirt::driver::EventBus& bus, const std::string& path) {
  // O_RDWR: the FIFO never reports EOF when a writer goes away.
  FILE* f = std::fopen(path.c_str(), "r+");
  if (!f) return;
  char line[512];
  while (std::fgets(line, sizeof line, f)) {
    std::istringstream in(line);
    std::string name, uuid;
    int id = -1, event = 0, detail = 0;
    if (!(in >> name >> uuid >> id >> event >> detail)) continue;
    auto parsed = xvirt::Uuid::parse(uuid);
    if (!parsed) continue;
    bus.publishLifecycle(xvirt::driver::DomainRef{name, *parsed, id}, event, detail);
  }
}

}  // namespace

int main(int argc, char** argv) {
  xvirt::driver::DaemonHooks hooks;
  if (const char* fifo = std::getenv("XVIRTD_FAKE_EVENT_FIFO")) {
    std::string path = fifo;
    hooks.started = [path](xvirt::driver::DriverContext& ctx) {
      std::thread([&bus = ctx.events, path] { publishFromFifo(bus, path); }).detach();
    };
  }
  return xvirt::driver::runDaemon(
      argc, argv,
      [](const auto&, const auto&) {
        return xvirt::Result<std::unique_ptr<xvirt::hv::Hypervisor>>(std::make_unique<xvirt::test::FakeHypervisor>());
      },
      hooks);
}
