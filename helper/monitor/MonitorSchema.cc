#include "helper/monitor/MonitorSchema.h"

#include <cstdio>
#include <cstdlib>

namespace xvirt::helper {

extern const char kMonitorSchemaJson[];  // generated from schemas/monitor/monitor.json

static bool typeMatches(const std::string& type, const Json& v) {
  if (type == "any") return true;
  if (type == "str") return v.isString();
  if (type == "int") return v.isInt();
  if (type == "number") return v.isNumber();
  if (type == "bool") return v.isBool();
  if (type == "object") return v.isObject();
  if (type == "array") return v.isArray();
  return false;
}

static const char* qapiTypeName(const std::string& type) {
  if (type == "str") return "string";
  if (type == "int") return "integer";
  if (type == "bool") return "boolean";
  return type.c_str();
}

Result<MonitorSchema> MonitorSchema::parse(std::string_view json) {
  XVIRT_ASSIGN_OR_RETURN(Json doc, Json::parse(json));
  MonitorSchema schema;
  auto bad = [](const std::string& what) {
    return makeError(ErrorCode::Internal, "The monitor schema is invalid: " + what + ".");
  };
  const Json* commands = doc.get("commands");
  const Json* events = doc.get("events");
  if (!commands || !commands->isArray() || !events || !events->isArray())
    return bad("it needs 'commands' and 'events' arrays");
  for (const Json& c : commands->asArray()) {
    CommandSpec spec;
    spec.name = c.getString("name");
    if (spec.name.empty()) return bad("a command has no name");
    if (const Json* args = c.get("args")) {
      if (!args->isObject()) return bad("'args' of " + spec.name + " is not an object");
      for (const auto& [argName, argSpec] : args->asObject()) {
        ArgSpec a{argName, argSpec.getString("type"), argSpec.getBool("optional")};
        if (!typeMatches(a.type, Json()) && a.type != "str" && a.type != "int" && a.type != "bool" &&
            a.type != "number" && a.type != "object" && a.type != "array")
          return bad("argument " + argName + " of " + spec.name + " has an unknown type");
        spec.args.push_back(std::move(a));
      }
    }
    if (const Json* ex = c.get("example")) spec.example = *ex;
    if (!spec.example.isArray() || spec.example.asArray().empty())
      return bad("command " + spec.name + " has no example transcript");
    schema.commands_[spec.name] = std::move(spec);
  }
  for (const Json& e : events->asArray()) {
    EventSpec spec{e.getString("name"), e.get("example") ? *e.get("example") : Json()};
    if (spec.name.empty() || !spec.example.isObject()) return bad("an event lacks a name or an example");
    schema.events_[spec.name] = std::move(spec);
  }
  return schema;
}

const MonitorSchema& MonitorSchema::builtin() {
  static const MonitorSchema schema = [] {
    auto parsed = parse(kMonitorSchemaJson);
    if (!parsed.ok()) {
      std::fprintf(stderr, "%s\n", parsed.error().message.c_str());
      std::abort();  // the schema is compiled in: this is a build defect, caught by the unit tests
    }
    return std::move(parsed).value();
  }();
  return schema;
}

const CommandSpec* MonitorSchema::command(const std::string& name) const {
  auto it = commands_.find(name);
  return it == commands_.end() ? nullptr : &it->second;
}

const EventSpec* MonitorSchema::event(const std::string& name) const {
  auto it = events_.find(name);
  return it == events_.end() ? nullptr : &it->second;
}

std::optional<std::string> MonitorSchema::checkArguments(const CommandSpec& cmd, const Json& args) const {
  // Messages follow QEMU's wording so QMP users recognise them.
  for (const auto& [name, value] : args.asObject()) {
    const ArgSpec* spec = nullptr;
    for (const auto& a : cmd.args)
      if (a.name == name) spec = &a;
    if (!spec) return "Parameter '" + name + "' is unexpected";
    if (!typeMatches(spec->type, value))
      return "Invalid parameter type for '" + name + "', expected: " + qapiTypeName(spec->type);
  }
  for (const auto& a : cmd.args)
    if (!a.optional && !args.get(a.name)) return "Parameter '" + a.name + "' is missing";
  return std::nullopt;
}

}  // namespace xvirt::helper
