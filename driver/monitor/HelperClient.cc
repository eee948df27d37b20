#include "driver/monitor/HelperClient.h"

#include "common/Strings.h"

namespace xvirt::driver {

namespace {

constexpr std::string_view kCommands[] = {
    "query-version", "query-commands", "query-status", "query-domain", "query-cpus", "query-chardev",
    "stop", "cont", "system_powerdown", "system_reset", "save", "disk_add", "disk_remove",
    "blockdev-change-medium", "query-block", "nic_add", "nic_remove", "query-nics", "balloon",
    "query-balloon", "set-vcpus", "quit",
};

// Each method names its command through this: a name the list lacks does not compile.
consteval std::string_view named(std::string_view command) {
  for (std::string_view c : kCommands)
    if (c == command) return command;
  throw "a helper command missing from kCommands";
}

}  // namespace

std::string HelperChardev::ptyPath() const { return filename.rfind("pty:", 0) == 0 ? filename.substr(4) : ""; }

std::vector<HelperChardev> parseChardevs(const Json& reply) {
  std::vector<HelperChardev> out;
  if (!reply.isArray()) return out;
  for (const Json& c : reply.asArray()) out.push_back(HelperChardev{c.getString("label"), c.getString("filename")});
  return out;
}

Result<std::string> consolePty(const std::vector<HelperChardev>& chardevs, const std::string& devName,
                               const std::string& domainName) {
  std::vector<std::string> labels;
  for (const HelperChardev& c : chardevs) {
    labels.push_back(c.label);
    if (devName.empty() ? c.label.rfind("console", 0) != 0 : c.label != devName) continue;
    if (c.ptyPath().empty())
      return makeError(ErrorCode::OperationFailed, "The console '" + c.label + "' of domain '" + domainName +
                                                       "' is not a pty (it goes to " + c.filename + ").");
    return c.ptyPath();
  }
  if (devName.empty()) return makeError(ErrorCode::DeviceNotFound, "Domain '" + domainName + "' has no console.");
  return makeError(ErrorCode::DeviceNotFound, "Domain '" + domainName + "' has no console named '" + devName + "'" +
                                                  (labels.empty() ? "." : "; it has " + join(labels, ", ") + "."));
}

std::span<const std::string_view> HelperClient::commandNames() { return kCommands; }

Result<Json> HelperClient::call(std::string_view command, const Json& args) {
  return monitor_.execute(std::string(command), args, timeout_);
}

Status HelperClient::callStatus(std::string_view command) {
  XVIRT_TRY(call(command));
  return okStatus();
}

Result<Json> HelperClient::queryVersion() { return call(named("query-version")); }

Result<std::vector<std::string>> HelperClient::queryCommands() {
  XVIRT_ASSIGN_OR_RETURN(Json reply, call(named("query-commands")));
  std::vector<std::string> names;
  if (reply.isArray())
    for (const Json& c : reply.asArray()) names.push_back(c.getString("name"));
  return names;
}

Result<HelperStatus> HelperClient::queryStatus() {
  XVIRT_ASSIGN_OR_RETURN(Json reply, call(named("query-status")));
  return HelperStatus{reply.getBool("running"), reply.getString("status")};
}

Result<Json> HelperClient::queryDomain() { return call(named("query-domain")); }
Result<Json> HelperClient::queryCpus() { return call(named("query-cpus")); }

Result<std::vector<HelperChardev>> HelperClient::queryChardev() {
  XVIRT_ASSIGN_OR_RETURN(Json reply, call(named("query-chardev")));
  return parseChardevs(reply);
}

Status HelperClient::stop() { return callStatus(named("stop")); }
Status HelperClient::cont() { return callStatus(named("cont")); }
Status HelperClient::systemPowerdown() { return callStatus(named("system_powerdown")); }
Status HelperClient::systemReset() { return callStatus(named("system_reset")); }
Status HelperClient::quit() { return callStatus(named("quit")); }

Result<Json> HelperClient::save(const HelperSaveArgs& a, std::chrono::milliseconds timeout) {
  Json args = Json::object({{"file", a.file}, {"xml", a.xml}, {"after", a.after}});
  if (a.running) args.set("running", *a.running);
  return monitor_.execute(std::string(named("save")), args, timeout);
}

Result<Json> HelperClient::diskAdd(const Json& args) { return call(named("disk_add"), args); }
Result<Json> HelperClient::diskRemove(const std::string& target) {
  return call(named("disk_remove"), Json::object({{"target", target}}));
}
Result<Json> HelperClient::blockdevChangeMedium(const Json& args) {
  return call(named("blockdev-change-medium"), args);
}
Result<Json> HelperClient::queryBlock() { return call(named("query-block")); }
Result<Json> HelperClient::nicAdd(const Json& args) { return call(named("nic_add"), args); }
Result<Json> HelperClient::nicRemove(const std::string& mac) {
  return call(named("nic_remove"), Json::object({{"mac", mac}}));
}
Result<Json> HelperClient::queryNics() { return call(named("query-nics")); }
Result<Json> HelperClient::balloon(uint64_t bytes) {
  return call(named("balloon"), Json::object({{"value", static_cast<long long>(bytes)}}));
}
Result<Json> HelperClient::queryBalloon() { return call(named("query-balloon")); }
Result<Json> HelperClient::setVcpus(unsigned count) {
  return call(named("set-vcpus"), Json::object({{"count", static_cast<long long>(count)}}));
}

}  // namespace xvirt::driver
