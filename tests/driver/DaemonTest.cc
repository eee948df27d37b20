// xvirtd's command line and host paths (DESIGN.md "Files on the host"), and the capabilities XML.
#include <gtest/gtest.h>

#include <cstdlib>

#include "driver/Capabilities.h"
#include "driver/Daemon.h"
#include "tests/driver/FakeHypervisor.h"

namespace xvirt::driver {
namespace {

TEST(DaemonOptions, ParsesEveryOption) {
  auto o = parseDaemonOptions({"--system", "--hypervisor", "sim", "--listen", "--pidfile", "/p", "--runtime-dir", "/r",
                               "--state-dir", "/s", "-v", "-v"});
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_TRUE(o->systemMode);
  EXPECT_EQ(o->hypervisor, "sim");
  EXPECT_TRUE(o->listenLibvirtSocket);
  EXPECT_EQ(o->pidFile, "/p");
  EXPECT_EQ(o->runtimeDir, "/r");
  EXPECT_EQ(o->stateDir, "/s");
  EXPECT_EQ(o->verbosity, 2);
}

TEST(DaemonOptions, ErrorsNameTheOption) {
  auto bad = parseDaemonOptions({"--frobnicate"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("--frobnicate"), std::string::npos);
  auto missing = parseDaemonOptions({"--pidfile"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("--pidfile"), std::string::npos);
  auto backend = parseDaemonOptions({"--hypervisor", "kvm"});
  ASSERT_FALSE(backend.ok());
  EXPECT_NE(backend.error().message.find("kvm"), std::string::npos);
}

TEST(DaemonPaths, SystemModeFollowsTheDesign) {
  DaemonOptions o;
  o.systemMode = true;
  auto p = daemonPaths(o);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->socket, "/run/xvirt/xvirtd-sock");
  EXPECT_EQ(p->socketRo, "/run/xvirt/xvirtd-sock-ro");
  EXPECT_EQ(p->simDir, "/run/xvirt/sim");
  EXPECT_EQ(p->configDir, "/etc/xvirt/domains");
  EXPECT_EQ(p->stateDir, "/var/lib/xvirt");
  EXPECT_EQ(p->logDir, "/var/log/xvirt");
  EXPECT_EQ(p->libvirtSocket, "/run/libvirt/virtxend-sock");
}

TEST(DaemonPaths, SessionModeUsesXdgDirectories) {
  ::setenv("XDG_RUNTIME_DIR", "/tmp/run-1000", 1);
  ::setenv("HOME", "/home/u", 1);
  ::unsetenv("XDG_CONFIG_HOME");
  ::unsetenv("XDG_DATA_HOME");
  ::unsetenv("XDG_CACHE_HOME");
  DaemonOptions o;
  auto p = daemonPaths(o);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->socket, "/tmp/run-1000/xvirt/xvirtd-sock");
  EXPECT_EQ(p->simDir, "/tmp/run-1000/xvirt/sim");
  EXPECT_EQ(p->configDir, "/home/u/.config/xvirt/domains");
  EXPECT_EQ(p->stateDir, "/home/u/.local/share/xvirt");
  EXPECT_EQ(p->logDir, "/home/u/.cache/xvirt/log");
  ::unsetenv("XDG_RUNTIME_DIR");
  EXPECT_FALSE(daemonPaths(o).ok());
  o.runtimeDir = "/r";
  ASSERT_TRUE(daemonPaths(o).ok());
  EXPECT_EQ(daemonPaths(o)->socket, "/r/xvirtd-sock");
}

TEST(Capabilities, GuestTypesAndHostTopology) {
  test::FakeHypervisor hv;
  std::string xml = capabilitiesXml(hv.info);
  EXPECT_NE(xml.find("<os_type>xen</os_type>"), std::string::npos);
  EXPECT_NE(xml.find("<machine>xenpv</machine>"), std::string::npos);
  EXPECT_NE(xml.find("<machine>xenfv</machine>"), std::string::npos);
  EXPECT_NE(xml.find("<machine>xenpvh</machine>"), std::string::npos);
  EXPECT_NE(xml.find("<loader>/usr/lib/xen-4.17/boot/hvmloader</loader>"), std::string::npos);
  EXPECT_NE(xml.find("<topology sockets='1' dies='1' cores='4' threads='1'/>"), std::string::npos);
  EXPECT_NE(xml.find("<memory unit='KiB'>8388608</memory>"), std::string::npos);
}

}  // namespace
}  // namespace xvirt::driver
