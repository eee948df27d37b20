// HelperClient: the driver's calls to a helper, one typed method per command of the monitor schema
// (schemas/monitor/monitor.json), over a MonitorClient (the transport). No other driver code names a command.
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/Json.h"
#include "common/Result.h"
#include "driver/monitor/MonitorClient.h"

namespace xvirt::driver {

// One character device of query-chardev.
struct HelperChardev {
  std::string label;     // "console0"
  std::string filename;  // "pty:/dev/pts/3", "file:/var/log/...", "null"
  // The pty's path when the device is a pty, else "".
  std::string ptyPath() const;
};

// query-chardev's reply; anything but an array is no device.
std::vector<HelperChardev> parseChardevs(const Json& reply);

// The pty of the console `devName` of domain `domainName` ("" = its first console), with the
// sentence a user sees when there is none or it is no pty.
Result<std::string> consolePty(const std::vector<HelperChardev>& chardevs, const std::string& devName,
                               const std::string& domainName);

struct HelperStatus {
  bool running = false;
  std::string status;  // "running", "paused", "shutdown" ... (the helper's RunState names)
};

struct HelperSaveArgs {
  std::string file;                  // the image
  std::string xml;                   // the domain XML stored in it
  std::string after = "destroy";     // destroy | paused | running
  std::optional<bool> running;       // whether a restore runs the guest (default: as it was)
};

class HelperClient {
 public:
  static constexpr std::chrono::milliseconds kDefaultTimeout{30000};

  explicit HelperClient(MonitorClient& monitor, std::chrono::milliseconds timeout = kDefaultTimeout)
      : monitor_(monitor), timeout_(timeout) {}

  // Every command the client sends, in the schema's order; qmp_capabilities is sent by
  // MonitorClient::connect. tests/monitor/MonitorApiTest.cc compares them with the schema.
  static std::span<const std::string_view> commandNames();

  Result<Json> queryVersion();
  Result<std::vector<std::string>> queryCommands();
  Result<HelperStatus> queryStatus();
  Result<Json> queryDomain();  // {"domid", "memory-kib", "max-memory-kib", ...}
  Result<Json> queryCpus();
  Result<std::vector<HelperChardev>> queryChardev();
  Status stop();
  Status cont();
  Status systemPowerdown();
  Status systemReset();
  // Waits `timeout` rather than the client's: writing an image takes as long as the guest is big.
  Result<Json> save(const HelperSaveArgs& args, std::chrono::milliseconds timeout);
  // Device commands take the arguments the schema gives them and return the helper's reply.
  Result<Json> diskAdd(const Json& args);
  Result<Json> diskRemove(const std::string& target);
  Result<Json> blockdevChangeMedium(const Json& args);
  Result<Json> queryBlock();
  Result<Json> nicAdd(const Json& args);
  Result<Json> nicRemove(const std::string& mac);
  Result<Json> queryNics();
  Result<Json> balloon(uint64_t bytes);
  Result<Json> queryBalloon();
  Result<Json> setVcpus(unsigned count);
  Status quit();

 private:
  Result<Json> call(std::string_view command, const Json& args = Json::object());
  Status callStatus(std::string_view command);

  MonitorClient& monitor_;
  std::chrono::milliseconds timeout_;
};

}  // namespace xvirt::driver
