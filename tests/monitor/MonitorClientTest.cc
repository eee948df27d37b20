// The driver's monitor client against the helper's monitor server, over a real socket.
#include "driver/monitor/MonitorClient.h"

#include <glib.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "helper/monitor/MonitorServer.h"
#include "tests/lib/TestUtil.h"

using namespace xvirt;
using namespace std::chrono_literals;

class MonitorClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    path_ = dir_ / "m.sock";
    server_ = std::make_unique<helper::MonitorServer>(helper::MonitorSchema::builtin(), Json::object());
    server_->addSyncCommand("query-status", [](const Json&) -> helper::QmpResult {
      return Json::object({{"status", "running"}, {"running", true}});
    });
    server_->addSyncCommand("stop", [this](const Json&) -> helper::QmpResult {
      server_->emitEvent("STOP");
      return Json::object();
    });
    server_->addSyncCommand("quit", [](const Json&) -> helper::QmpResult {
      return helper::QmpError{"GenericError", "refused for the test"};
    });
    ASSERT_TRUE(server_->listen(path_).ok());
    loop_ = g_main_loop_new(nullptr, FALSE);
    thread_ = std::thread([this] { g_main_loop_run(loop_); });
  }
  // Quitting from inside the loop: a quit sent before the thread reaches g_main_loop_run would be lost.
  void stopLoop() {
    g_idle_add([](gpointer l) -> gboolean { g_main_loop_quit(static_cast<GMainLoop*>(l)); return G_SOURCE_REMOVE; }, loop_);
    thread_.join();
  }
  void TearDown() override {
    stopLoop();
    g_main_loop_unref(loop_);
    server_.reset();
  }

  xvirt::test::TempDir dir_{"xvirt-monc"};
  std::string path_;
  std::unique_ptr<helper::MonitorServer> server_;
  GMainLoop* loop_ = nullptr;
  std::thread thread_;
};

TEST_F(MonitorClientTest, CommandsEventsAndErrors) {
  auto client = driver::MonitorClient::connect(path_, 5s);
  ASSERT_TRUE(client.ok()) << client.error().message;
  std::atomic<int> stops{0};
  (*client)->setCallbacks([&](const std::string& ev, const Json&) { stops += ev == "STOP"; }, nullptr);
  auto status = (*client)->execute("query-status");
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_EQ(status->getString("status"), "running");
  EXPECT_TRUE((*client)->execute("stop").ok());
  EXPECT_TRUE(xvirt::test::waitUntil([&] { return stops > 0; }, 500ms));
  EXPECT_EQ(stops, 1);
  auto refused = (*client)->execute("quit");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message, "refused for the test");
  auto unknown = (*client)->execute("no-such-command");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().message, "The command no-such-command has not been found");
}

TEST_F(MonitorClientTest, EofIsReportedAndLaterCommandsFailFast) {
  auto client = driver::MonitorClient::connect(path_, 5s);
  ASSERT_TRUE(client.ok());
  std::atomic<bool> eof{false};
  (*client)->setCallbacks(nullptr, [&] { eof = true; });
  // The helper goes away: stop serving and close every connection.
  stopLoop();
  g_main_loop_unref(loop_);
  server_.reset();
  loop_ = g_main_loop_new(nullptr, FALSE);
  thread_ = std::thread([this] { g_main_loop_run(loop_); });
  EXPECT_TRUE(xvirt::test::waitUntil([&] { return eof.load(); }, 2s));
  auto r = (*client)->execute("query-status", Json::object(), 1s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "The helper's monitor is closed.");
}

TEST_F(MonitorClientTest, ConnectGivesUpWhenTheHelperIsDead) {
  auto r = driver::MonitorClient::connect(dir_ / "absent.sock", 5s, [] { return false; });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "The helper exited before its monitor came up.");
}
