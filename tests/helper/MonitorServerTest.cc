#include "helper/monitor/MonitorServer.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>

#include <algorithm>

#include "MonitorTestClient.h"
#include "tests/lib/TestUtil.h"

using namespace xvirt;
using namespace xvirt::helper;
using xvirt::test::MonitorTestClient;

class MonitorServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    server_ = std::make_unique<MonitorServer>(MonitorSchema::builtin(),
                                              Json::object({{"qemu", Json::object({{"major", 0}})}}));
    server_->addSyncCommand("query-status", [](const Json&) -> QmpResult {
      return Json::object({{"running", true}, {"singlestep", false}, {"status", "running"}});
    });
    server_->addSyncCommand("stop", [this](const Json&) -> QmpResult {
      server_->emitEvent("STOP");
      return Json::object();
    });
    server_->addCommand("cont", [this](const Json&, MonitorServer::Reply reply) { deferred_ = reply; });
    ASSERT_TRUE(server_->listen(dir_ / "mon.sock").ok());
  }
  void TearDown() override {
    server_.reset();
  }
  MonitorTestClient connect() {
    MonitorTestClient c(dir_ / "mon.sock");
    EXPECT_TRUE(c.connected());
    Json greeting = c.readJson();
    EXPECT_TRUE(greeting.get("QMP")) << greeting.dump();
    return c;
  }

  xvirt::test::TempDir dir_{"xvirt-mon"};
  std::unique_ptr<MonitorServer> server_;
  MonitorServer::Reply deferred_;
};

TEST_F(MonitorServerTest, NegotiationIsRequiredAndIdIsEchoed) {
  auto c = connect();
  Json r = c.execute(R"({"execute": "query-status", "id": "x1"})");
  ASSERT_TRUE(r.get("error")) << r.dump();
  EXPECT_EQ(r.get("error")->getString("class"), "CommandNotFound");
  EXPECT_EQ(r.getString("id"), "x1");
  r = c.execute(R"({"execute": "qmp_capabilities", "id": 7})");
  EXPECT_EQ(r.dump(), R"({"return": {}, "id": 7})");
  r = c.execute(R"({"execute": "qmp_capabilities"})");
  EXPECT_EQ(r.get("error")->getString("class"), "CommandNotFound");
  r = c.execute(R"({"execute": "query-status", "id": {"a": [1]}})");
  EXPECT_EQ(r.dump(), R"({"return": {"running": true, "singlestep": false, "status": "running"}, "id": {"a": [1]}})");
}

TEST_F(MonitorServerTest, BadInputGetsErrorsAndTheConnectionStays) {
  auto c = connect();
  c.execute(R"({"execute": "qmp_capabilities"})");
  EXPECT_EQ(c.execute("{not json").get("error")->getString("class"), "GenericError");
  EXPECT_EQ(c.execute("[1, 2]").get("error")->getString("desc"), "QMP input must be a JSON object");
  EXPECT_EQ(c.execute(R"({"arguments": {}})").get("error")->getString("desc"), "QMP input lacks member 'execute'");
  EXPECT_EQ(c.execute(R"({"execute": 5})").get("error")->getString("desc"),
            "QMP input member 'execute' must be a string");
  EXPECT_EQ(c.execute(R"({"execute": "nope"})").get("error")->getString("class"), "CommandNotFound");
  EXPECT_EQ(c.execute(R"({"execute": "stop", "arguments": {"x": 1}})").get("error")->getString("desc"),
            "Parameter 'x' is unexpected");
  EXPECT_EQ(c.execute(R"({"execute": "stop", "extra": 1})").get("error")->getString("desc"),
            "QMP input member 'extra' is unexpected");
  // A 10 MB line is refused once and skipped; the next command still works.
  c.sendRaw(std::string(10u << 20, 'x') + "\n");
  Json err = c.readJson();
  EXPECT_EQ(err.get("error")->getString("class"), "GenericError") << err.dump();
  EXPECT_EQ(c.execute(R"({"execute": "query-status"})").get("return")->getString("status"), "running");
}

TEST_F(MonitorServerTest, EventsReachEveryNegotiatedClient) {
  auto a = connect();
  auto b = connect();
  a.execute(R"({"execute": "qmp_capabilities"})");
  b.execute(R"({"execute": "qmp_capabilities"})");
  EXPECT_TRUE(a.execute(R"({"execute": "stop"})").get("return"));
  ASSERT_EQ(a.events.size(), 1u);
  EXPECT_EQ(a.events[0].getString("event"), "STOP");
  EXPECT_TRUE(a.events[0].get("timestamp")->get("seconds"));
  Json ev = b.readJson();
  EXPECT_EQ(ev.getString("event"), "STOP");
}

TEST_F(MonitorServerTest, AsyncRepliesKeepCommandOrder) {
  auto c = connect();
  c.execute(R"({"execute": "qmp_capabilities"})");
  c.sendRaw("{\"execute\": \"cont\", \"id\": 1}\n{\"execute\": \"query-status\", \"id\": 2}\n");
  for (int i = 0; i < 100 && !deferred_; ++i) g_main_context_iteration(nullptr, FALSE);
  ASSERT_TRUE(deferred_);
  EXPECT_EQ(c.readLine(100), "");  // query-status waits behind cont
  deferred_(Json::object());
  EXPECT_EQ(c.readJson().getInt("id"), 1);
  EXPECT_EQ(c.readJson().getInt("id"), 2);
}

TEST_F(MonitorServerTest, ClientLeavingMidCommandIsHarmless) {
  {
    auto c = connect();
    c.execute(R"({"execute": "qmp_capabilities"})");
    c.sendRaw("{\"execute\": \"cont\"}\n");
    for (int i = 0; i < 100 && !deferred_; ++i) g_main_context_iteration(nullptr, FALSE);
  }
  for (int i = 0; i < 100 && server_->clientCount(); ++i) g_main_context_iteration(nullptr, FALSE);
  EXPECT_EQ(server_->clientCount(), 0u);
  deferred_(Json::object());  // dropped quietly
}

// Start-up: the greeting comes from the greeter thread while the main loop is not running (the
// build); commands sent meanwhile are answered, in order, once serve() hands the client over.
TEST(MonitorServerEarly, GreetsBeforeServeAndAnswersQueuedCommandsAfter) {
  xvirt::test::TempDir tmp("xvirt-mon");
  ASSERT_TRUE(tmp.ok());
  const std::string& dir = tmp.path();
  {
    MonitorServer server(MonitorSchema::builtin(), Json::object({{"qemu", Json::object({{"major", 0}})}}));
    server.addSyncCommand("query-status", [](const Json&) -> QmpResult {
      return Json::object({{"running", false}, {"singlestep", false}, {"status", "paused"}});
    });
    ASSERT_TRUE(server.listenEarly(dir + "/mon.sock").ok());
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", (dir + "/mon.sock").c_str());
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    // No GLib iteration here: only the greeter thread can answer.
    pollfd pfd{fd, POLLIN, 0};
    ASSERT_EQ(::poll(&pfd, 1, 5000), 1);
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    ASSERT_GT(n, 0);
    std::string greeting(buf, static_cast<size_t>(n));
    EXPECT_EQ(greeting.find("{\"QMP\": "), 0u) << greeting;
    std::string cmds = "{\"execute\": \"qmp_capabilities\", \"id\": 1}\n{\"execute\": \"query-status\", \"id\": 2}\n";
    ASSERT_EQ(::send(fd, cmds.data(), cmds.size(), MSG_NOSIGNAL), static_cast<ssize_t>(cmds.size()));
    pfd.revents = 0;
    EXPECT_EQ(::poll(&pfd, 1, 100), 0);  // nothing is answered before serve()
    server.serve();
    std::string got;
    uint64_t deadline = SystemClock::instance().monotonicNs() + 5000000000ull;
    while (std::count(got.begin(), got.end(), '\n') < 2 && SystemClock::instance().monotonicNs() < deadline) {
      g_main_context_iteration(nullptr, FALSE);
      n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) got.append(buf, static_cast<size_t>(n));
    }
    EXPECT_EQ(got, "{\"return\": {}, \"id\": 1}\r\n"
                   "{\"return\": {\"running\": false, \"singlestep\": false, \"status\": \"paused\"}, \"id\": 2}\r\n");
    EXPECT_EQ(server.clientCount(), 1u);
    ::close(fd);
  }
}
