#include "helper/monitor/MonitorSchema.h"

#include <gtest/gtest.h>

using namespace xvirt;
using namespace xvirt::helper;

TEST(MonitorSchema, BuiltinSchemaParsesAndHasTranscripts) {
  const auto& schema = MonitorSchema::builtin();
  for (const char* name : {"qmp_capabilities", "query-status", "query-domain", "query-cpus", "query-chardev",
                           "stop", "cont", "system_powerdown", "system_reset", "quit", "disk_add", "disk_remove",
                           "blockdev-change-medium", "query-block", "nic_add", "nic_remove", "query-nics", "balloon",
                           "query-balloon", "set-vcpus"}) {
    const CommandSpec* spec = schema.command(name);
    ASSERT_NE(spec, nullptr) << name;
    // The first line of every transcript executes the command it documents.
    EXPECT_EQ(spec->example.asArray()[0].get("->")->getString("execute"), name);
  }
  for (const char* ev :
       {"STOP", "RESUME", "SHUTDOWN", "POWERDOWN", "RESET", "DEVICE_ADDED", "DEVICE_DELETED", "BALLOON_CHANGE"})
    EXPECT_NE(schema.event(ev), nullptr);
}

TEST(MonitorSchema, ArgumentChecks) {
  auto schema = MonitorSchema::parse(R"({"commands": [{"name": "c", "args": {"a": {"type": "int"},
      "b": {"type": "str", "optional": true}}, "example": [{"->": {"execute": "c"}}]}], "events": []})");
  ASSERT_TRUE(schema.ok()) << schema.error().message;
  const CommandSpec& c = *schema->command("c");
  EXPECT_FALSE(schema->checkArguments(c, *Json::parse(R"({"a": 1})")));
  EXPECT_EQ(*schema->checkArguments(c, Json::object()), "Parameter 'a' is missing");
  EXPECT_EQ(*schema->checkArguments(c, *Json::parse(R"({"a": "1"})")),
            "Invalid parameter type for 'a', expected: integer");
  EXPECT_EQ(*schema->checkArguments(c, *Json::parse(R"({"a": 1, "b": true})")),
            "Invalid parameter type for 'b', expected: string");
}
