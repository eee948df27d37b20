// xvirtd's command line and host paths (docs/design.md "Files on the host"), and the capabilities XML.
#include <gtest/gtest.h>

#include <cstdlib>

#include "driver/Capabilities.h"
#include "driver/Daemon.h"
#include "driver/DaemonConfig.h"
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
  EXPECT_EQ(p->configFile, "/etc/xvirt/xvirtd.conf");
  o.configFile = "/c.conf";
  EXPECT_EQ(daemonPaths(o)->configFile, "/c.conf");
}

TEST(DaemonOptions, ConfigFileOption) {
  auto o = parseDaemonOptions({"-f", "/a.conf"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->configFile, "/a.conf");
  EXPECT_EQ(parseDaemonOptions({"--config", "/b.conf"})->configFile, "/b.conf");
}

TEST(DaemonConfig, DefaultsAreLibvirtdsLimits) {
  DaemonConfig c;
  EXPECT_EQ(c.maxClients, 5000u);
  EXPECT_EQ(c.maxClientRequests, 5u);
  EXPECT_EQ(c.keepaliveInterval, 5u);
  EXPECT_EQ(c.keepaliveCount, 5u);
  EXPECT_EQ(c.unixSockRwPerms, 0600u);
  EXPECT_EQ(c.unixSockRoPerms, 0666u);
}

TEST(DaemonConfig, ParsesLibvirtdConfSyntax) {
  auto c = parseDaemonConfig("# comment\n\nmax_clients = 20\nmax_client_requests=2  # trailing\n"
                             "unix_sock_ro_perms = \"0660\"\nunix_sock_rw_perms = 0600\nlisten_tls = 0\n"
                             "keepalive_interval = 0\nmax_workers = 3\n", "x.conf");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->maxClients, 20u);
  EXPECT_EQ(c->maxClientRequests, 2u);
  EXPECT_EQ(c->unixSockRoPerms, 0660u);
  EXPECT_EQ(c->unixSockRwPerms, 0600u);
  EXPECT_EQ(c->keepaliveInterval, 0u);
  EXPECT_EQ(c->maxWorkers, 3u);
  EXPECT_EQ(c->ignored, std::vector<std::string>{"listen_tls"});
}

TEST(DaemonConfig, BadValuesAreOneErrorNamingTheLine) {
  for (const char* text : {"max_clients = 0\n", "max_clients = -1\n", "max_clients = \"5\"\n",
                           "max_client_requests = many\n", "unix_sock_rw_perms = \"0999\"\n", "max_clients\n"}) {
    auto c = parseDaemonConfig(std::string("# first\n") + text, "x.conf");
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_NE(c.error().message.find("Line 2 of x.conf"), std::string::npos) << c.error().message;
  }
}

TEST(DaemonConfig, MissingDefaultFileGivesDefaultsButAnExplicitOneIsAnError) {
  EXPECT_TRUE(loadDaemonConfig("/nonexistent/xvirtd.conf", false).ok());
  auto c = loadDaemonConfig("/nonexistent/xvirtd.conf", true);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("/nonexistent/xvirtd.conf"), std::string::npos);
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
