// MonitorServer: the helper's QMP-shaped JSON monitor on a UNIX socket (docs/design.md "The helper's
// monitor"): greeting, capabilities negotiation, commands checked against schemas/monitor, events.
#pragma once

#include <glib.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/Json.h"
#include "common/Result.h"
#include "common/UniqueFd.h"
#include "helper/monitor/MonitorGreeter.h"
#include "helper/monitor/MonitorSchema.h"

namespace xvirt::helper {

// A command's outcome as QMP reports it: a return value, or an error class with a description.
struct QmpError {
  std::string errorClass;  // GenericError, CommandNotFound, DeviceNotFound, ...
  std::string desc;
};
using QmpResult = std::variant<Json, QmpError>;

QmpError qmpErrorFrom(const Error& error);  // the one mapping from ErrorCode to QMP classes

class MonitorServer {
 public:
  // Handlers get validated arguments and must call `reply` exactly once, now or later (a save or an
  // unplug finishes after the guest answers). Commands from one client run one at a time, in order.
  using Reply = std::function<void(QmpResult)>;
  using Handler = std::function<void(const Json& args, Reply reply)>;

  MonitorServer(const MonitorSchema& schema, Json version);
  // The schema is fetched on first use (a command registered or received), so that a helper's
  // listenEarly() and greeting do not wait for the schema to be parsed.
  using SchemaSource = const MonitorSchema& (*)();
  MonitorServer(SchemaSource schema, Json version);
  ~MonitorServer();

  // Registers a handler for a command the schema defines (an unknown name is a programming error).
  void addCommand(const std::string& name, Handler handler);
  // Convenience for commands that answer at once.
  void addSyncCommand(const std::string& name, std::function<QmpResult(const Json&)> fn);

  Status listen(const std::string& path);
  // Start-up: listens now and greets clients from a thread of its own while the caller builds the
  // domain; their commands wait unread until serve() moves them to the main loop.
  Status listenEarly(const std::string& path);
  void serve();
  // Serves an already connected fd (e.g. a socketpair end, or stdio).
  void adopt(UniqueFd fd);

  // Broadcasts an event to every client past capabilities negotiation.
  void emitEvent(const std::string& name, Json data = Json::object());

  size_t clientCount() const { return clients_.size(); }
  // The commands this helper serves (query-commands): qmp_capabilities and every registered one.
  std::vector<std::string> commandNames() const;
  const std::string& path() const { return path_; }

  // Input lines longer than this are refused with a GenericError and skipped.
  static constexpr size_t kMaxLine = 1u << 20;
  // A client whose unread output grows past this is disconnected (it is not reading).
  static constexpr size_t kMaxOutput = 8u << 20;

 private:
  struct Client;
  static gboolean onAccept(gint fd, GIOCondition cond, gpointer self);
  static gboolean onClientIo(gint fd, GIOCondition cond, gpointer client);
  Status bindSocket(const std::string& path);
  Client& addClient(UniqueFd fd);
  std::string greetingLine() const;
  void handleLine(Client& c, const std::string& line);
  void runNext(Client& c);
  void send(Client& c, const Json& msg);
  void flush(Client& c);
  void updateWatch(Client& c);
  void dropClient(uint64_t id);

  const MonitorSchema& schema();

  SchemaSource schemaSource_ = nullptr;
  const MonitorSchema* schema_ = nullptr;
  Json version_;
  std::map<std::string, Handler> handlers_;
  std::map<uint64_t, std::unique_ptr<Client>> clients_;
  uint64_t nextClientId_ = 1;
  UniqueFd listenFd_;
  guint listenSource_ = 0;
  std::unique_ptr<MonitorGreeter> greeter_;
  std::string path_;
};

}  // namespace xvirt::helper
