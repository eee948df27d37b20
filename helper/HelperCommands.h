// HelperCommands: every command of the helper's monitor in one table, the helper's side of
// schemas/monitor/monitor.json (tests/monitor/MonitorApiTest.cc checks that both name the same ones).
#pragma once

#include <glib.h>

#include <span>
#include <string_view>

#include "common/Json.h"
#include "helper/Guest.h"
#include "helper/monitor/MonitorServer.h"

namespace xvirt::helper {

class ConsoleServer;
class Hotplug;
class LiveTuning;

// What the commands act on: main's objects, alive while the monitor serves.
struct CommandContext {
  Guest& guest;
  Hotplug& hotplug;
  LiveTuning& tuning;
  ConsoleServer* console;  // null without a console
  MonitorServer& monitor;
  GMainLoop* loop;         // quit when a command ends the helper (quit, save)
  ExitReason& exitReason;
};

// One row per command: `run` answers at once; `start` answers through `reply` later (a device the
// guest has to take, a save image being written). Exactly one of them is set.
struct HelperCommand {
  std::string_view name;
  QmpResult (*run)(CommandContext& ctx, const Json& args);
  void (*start)(CommandContext& ctx, const Json& args, MonitorServer::Reply reply);
};

// The table, in the schema's order. qmp_capabilities is not in it: the MonitorServer answers it.
std::span<const HelperCommand> helperCommands();

// Registers every command of the table on ctx.monitor.
void registerHelperCommands(CommandContext& ctx);

}  // namespace xvirt::helper
