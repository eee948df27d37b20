#include "helper/HelperCommands.h"

#include "helper/Hotplug.h"
#include "helper/LiveTuning.h"
#include "helper/console/ConsoleServer.h"
#include "helper/save/GuestSave.h"
#include "xvirt-config.h"

namespace xvirt::helper {

namespace {

QmpResult done(Status s) {
  if (!s.ok()) return qmpErrorFrom(s.error());
  return Json::object();
}

// The helper ends after replying: the guest is destroyed and SHUTDOWN says why.
void endHelper(CommandContext& c, const char* reason, ExitReason why) {
  c.guest.destroy();
  c.monitor.emitEvent("SHUTDOWN", Json::object({{"guest", false}, {"reason", reason}}));
  c.exitReason = why;
  g_main_loop_quit(c.loop);
}

QmpResult queryVersion(CommandContext&, const Json&) {
  return Json::object({{"qemu", Json::object({{"major", 0}, {"minor", 1}, {"micro", 0}})},
                       {"package", std::string("xvirt-helper ") + XVIRT_VERSION}});
}

QmpResult queryCommands(CommandContext& c, const Json&) {
  Json out = Json::array();
  for (const auto& name : c.monitor.commandNames()) out.push(Json::object({{"name", name}}));
  return out;
}

QmpResult queryStatus(CommandContext& c, const Json&) {
  return Json::object({{"running", c.guest.state() == RunState::Running},
                       {"singlestep", false},
                       {"status", runStateName(c.guest.state())}});
}

QmpResult queryDomain(CommandContext& c, const Json&) { return c.guest.queryDomain(); }

QmpResult queryCpus(CommandContext& c, const Json&) {
  auto cpus = c.guest.queryCpus();
  if (!cpus.ok()) return qmpErrorFrom(cpus.error());
  return *cpus;
}

QmpResult queryChardev(CommandContext& c, const Json&) {
  Json out = Json::array();
  if (c.console)
    out.push(Json::object({{"label", c.console->label()},
                           {"filename", c.console->filename()},
                           {"frontend-open", true},
                           {"dropped-bytes", static_cast<long long>(c.console->droppedBytes())}}));
  return out;
}

QmpResult stop(CommandContext& c, const Json&) { return done(c.guest.stop()); }
QmpResult cont(CommandContext& c, const Json&) { return done(c.guest.cont()); }
QmpResult systemPowerdown(CommandContext& c, const Json&) { return done(c.guest.powerdown()); }

QmpResult systemReset(CommandContext& c, const Json&) {
  QmpResult r = done(c.guest.reset());
  if (std::holds_alternative<Json>(r))
    c.monitor.emitEvent("RESET", Json::object({{"guest", false}, {"reason", "host-qmp-system-reset"}}));
  return r;
}

// After a save with after=destroy the domain is destroyed and the helper ends with ExitReason::Saved.
void save(CommandContext& c, const Json& args, MonitorServer::Reply reply) {
  SaveRequest req;
  req.file = args.getString("file");
  req.domainXml = args.getString("xml");
  if (const Json* r = args.get("running")) req.runAfterRestore = r->asBool();
  std::string after = args.getString("after", "destroy");
  if (after == "paused") req.after = SaveRequest::After::Paused;
  else if (after == "running") req.after = SaveRequest::After::Running;
  else if (after != "destroy")
    return reply(QmpError{"GenericError", "Parameter 'after' must be one of destroy, paused, running."});
  auto out = saveGuest(c.guest, req);
  if (!out.ok()) return reply(qmpErrorFrom(out.error()));
  reply(Json::object({{"file", req.file},
                      {"size", static_cast<long long>(out->imageBytes)},
                      {"memory-size", static_cast<long long>(out->memoryBytes)},
                      {"status", runStateName(req.after == SaveRequest::After::Destroy ? RunState::Shutdown : c.guest.state())}}));
  if (req.after == SaveRequest::After::Destroy) endHelper(c, "host-qmp-save", ExitReason::Saved);
}

void diskAdd(CommandContext& c, const Json& a, MonitorServer::Reply r) { c.hotplug.diskAdd(a, std::move(r)); }
void diskRemove(CommandContext& c, const Json& a, MonitorServer::Reply r) { c.hotplug.deviceRemove("disk", a, std::move(r)); }
QmpResult changeMedium(CommandContext& c, const Json& a) { return c.hotplug.changeMedium(a); }
QmpResult queryBlock(CommandContext& c, const Json&) { return c.hotplug.queryBlock(); }
void nicAdd(CommandContext& c, const Json& a, MonitorServer::Reply r) { c.hotplug.nicAdd(a, std::move(r)); }
void nicRemove(CommandContext& c, const Json& a, MonitorServer::Reply r) { c.hotplug.deviceRemove("nic", a, std::move(r)); }
QmpResult queryNics(CommandContext& c, const Json&) { return c.hotplug.queryNics(); }
QmpResult balloon(CommandContext& c, const Json& a) { return c.tuning.balloon(a); }
QmpResult queryBalloon(CommandContext& c, const Json&) { return c.tuning.queryBalloon(); }
QmpResult setVcpus(CommandContext& c, const Json& a) { return c.tuning.setVcpus(a); }

void quit(CommandContext& c, const Json&, MonitorServer::Reply reply) {
  reply(Json::object());
  endHelper(c, "host-qmp-quit", ExitReason::Destroyed);
}

constexpr HelperCommand kCommands[] = {
    {"query-version", queryVersion, nullptr},
    {"query-commands", queryCommands, nullptr},
    {"query-status", queryStatus, nullptr},
    {"query-domain", queryDomain, nullptr},
    {"query-cpus", queryCpus, nullptr},
    {"query-chardev", queryChardev, nullptr},
    {"stop", stop, nullptr},
    {"cont", cont, nullptr},
    {"system_powerdown", systemPowerdown, nullptr},
    {"system_reset", systemReset, nullptr},
    {"save", nullptr, save},
    {"disk_add", nullptr, diskAdd},
    {"disk_remove", nullptr, diskRemove},
    {"blockdev-change-medium", changeMedium, nullptr},
    {"query-block", queryBlock, nullptr},
    {"nic_add", nullptr, nicAdd},
    {"nic_remove", nullptr, nicRemove},
    {"query-nics", queryNics, nullptr},
    {"balloon", balloon, nullptr},
    {"query-balloon", queryBalloon, nullptr},
    {"set-vcpus", setVcpus, nullptr},
    {"quit", nullptr, quit},
};

}  // namespace

std::span<const HelperCommand> helperCommands() { return kCommands; }

void registerHelperCommands(CommandContext& ctx) {
  for (const HelperCommand& cmd : kCommands) {
    if (cmd.run)
      ctx.monitor.addSyncCommand(std::string(cmd.name), [&ctx, run = cmd.run](const Json& a) { return run(ctx, a); });
    else
      ctx.monitor.addCommand(std::string(cmd.name), [&ctx, start = cmd.start](const Json& a, MonitorServer::Reply r) {
        start(ctx, a, std::move(r));
      });
  }
}

}  // namespace xvirt::helper
