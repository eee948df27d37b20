// MonitorSchema: the monitor's commands and events, defined once in schemas/monitor/monitor.json
// (QAPI style, with an example transcript each); the server checks arguments against it.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/Json.h"
#include "common/Result.h"

namespace xvirt::helper {

struct ArgSpec {
  std::string name;
  std::string type;  // str | int | bool | number | object | array | any
  bool optional = false;
};

struct CommandSpec {
  std::string name;
  std::vector<ArgSpec> args;
  Json example;  // [{"->": request}, {"<-": reply}, ...]
};

struct EventSpec {
  std::string name;
  Json example;
};

class MonitorSchema {
 public:
  static Result<MonitorSchema> parse(std::string_view json);
  // The schema compiled into the binary (schemas/monitor/monitor.json).
  static const MonitorSchema& builtin();

  const CommandSpec* command(const std::string& name) const;
  const EventSpec* event(const std::string& name) const;
  const std::map<std::string, CommandSpec>& commands() const { return commands_; }
  const std::map<std::string, EventSpec>& events() const { return events_; }

  // nullopt when `args` fits the command; otherwise the QMP description of the first problem.
  std::optional<std::string> checkArguments(const CommandSpec& cmd, const Json& args) const;

 private:
  std::map<std::string, CommandSpec> commands_;
  std::map<std::string, EventSpec> events_;
};

}  // namespace xvirt::helper
