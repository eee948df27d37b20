// The monitor's commands are defined once: the schema (schemas/monitor/monitor.json), the helper's
// table (helper/HelperCommands.cc) and the driver's client (driver/monitor/HelperClient.h) name the
// same ones. qmp_capabilities is the transports' own (MonitorServer answers it, MonitorClient::connect
// sends it).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "driver/monitor/HelperClient.h"
#include "helper/HelperCommands.h"
#include "helper/monitor/MonitorSchema.h"

using namespace xvirt;

namespace {

std::set<std::string> schemaCommands() {
  std::set<std::string> names;
  for (const auto& [name, spec] : helper::MonitorSchema::builtin().commands()) names.insert(name);
  names.erase("qmp_capabilities");
  return names;
}

std::set<std::string> helperTable() {
  std::set<std::string> names;
  for (const helper::HelperCommand& c : helper::helperCommands()) {
    EXPECT_TRUE((c.run == nullptr) != (c.start == nullptr)) << c.name << " needs exactly one handler";
    EXPECT_TRUE(names.insert(std::string(c.name)).second) << c.name << " is in the table twice";
  }
  return names;
}

std::set<std::string> clientCommands() {
  std::set<std::string> names;
  for (std::string_view c : driver::HelperClient::commandNames())
    EXPECT_TRUE(names.insert(std::string(c)).second) << c << " is in the client's list twice";
  return names;
}

}  // namespace

TEST(MonitorApi, SchemaCommandsAreTheHelpersTable) {
  EXPECT_FALSE(schemaCommands().empty());
  EXPECT_EQ(helperTable(), schemaCommands());
}

TEST(MonitorApi, SchemaCommandsAreTheDriversClient) { EXPECT_EQ(clientCommands(), schemaCommands()); }

TEST(MonitorApi, ChardevsParseIntoConsolePtys) {
  auto reply = Json::parse(R"([{"label": "console0", "filename": "pty:/dev/pts/7", "frontend-open": true},
                               {"label": "serial1", "filename": "file:/var/log/x.log"}])");
  ASSERT_TRUE(reply.ok());
  auto devs = driver::parseChardevs(*reply);
  ASSERT_EQ(devs.size(), 2u);
  EXPECT_EQ(devs[0].ptyPath(), "/dev/pts/7");
  EXPECT_EQ(devs[1].ptyPath(), "");
  EXPECT_EQ(*driver::consolePty(devs, "", "g"), "/dev/pts/7");
  auto notPty = driver::consolePty(devs, "serial1", "g");
  ASSERT_FALSE(notPty.ok());
  EXPECT_EQ(notPty.error().message, "The console 'serial1' of domain 'g' is not a pty (it goes to file:/var/log/x.log).");
  auto missing = driver::consolePty(devs, "console9", "g");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "Domain 'g' has no console named 'console9'; it has console0, serial1.");
  EXPECT_TRUE(driver::parseChardevs(Json::object()).empty());
}
