#include "helper/Guest.h"

#include <glib-unix.h>
#include <unistd.h>

#include <algorithm>

#include "common/Log.h"
#include "common/Strings.h"
#include "common/Uuid.h"
#include "helper/HotplugScripts.h"
#include "helper/XenstoreLayout.h"
#include "helper/boot/Bootloader.h"
#include "helper/dm/DeviceModel.h"
#include "helper/dm/DeviceModelArgs.h"
#include "helper/console/ConsoleServer.h"
#include "hypervisor/XenStoreCleanup.h"

namespace xvirt::helper {

// libxl's slack over the target for the domain's own structures (LIBXL_*_EXTRA_MEMORY).
static constexpr uint64_t kPvExtraKib = 1024;
static constexpr uint64_t kHvmExtraKib = 2048;

const char* runStateName(RunState s) {
  switch (s) {
    case RunState::Prelaunch: return "prelaunch";
    case RunState::Running: return "running";
    case RunState::Paused: return "paused";
    case RunState::Shutdown: return "shutdown";
  }
  return "prelaunch";
}

static hv::DomainKind kindOf(const GuestConfig& c) {
  if (c.kind == "hvm") return hv::DomainKind::HVM;
  if (c.kind == "pvh") return hv::DomainKind::PVH;
  return hv::DomainKind::PV;
}

namespace {
constexpr guint kHostCheckSeconds = 1;  // how often a running guest's domain is looked at
}  // namespace

Guest::Guest(GuestConfig config, const hv::Backend& backend, hv::XenStore& xs, ConsoleServer* console,
             Callbacks callbacks)
    : config_(std::move(config)),
      hv_(*backend.hypervisor),
      deviceModel_(backend.deviceModel),
      xs_(xs),
      console_(console),
      cb_(std::move(callbacks)) {}

Guest::~Guest() { unwatchDomain(); }

void Guest::setState(RunState s) { state_ = s; }

Status Guest::build() {
  Status s = buildDomain();
  if (!s.ok()) {
    Error err = s.takeError();
    destroy();
    return err;
  }
  return okStatus();
}

Status Guest::buildDomain() {
  XVIRT_TRY(createShell());
  XVIRT_TRY(loadKernel());
  XVIRT_TRY(applyAffinity());
  return publish();
}

Status Guest::createShell() {
  auto uuid = Uuid::parse(config_.uuid);
  if (!uuid) return makeError(ErrorCode::InvalidArgument, "The guest UUID '" + config_.uuid + "' is not valid.");
  XVIRT_ASSIGN_OR_RETURN(hv::PhysInfo phys, hv_.physInfo());
  hostCpus_ = phys.nrCpus;

  hv::CreateParams create;
  create.kind = kindOf(config_);
  create.uuid = *uuid;
  create.maxVcpus = config_.maxVcpus;
  create.hap = config_.features.hap;
  XVIRT_ASSIGN_OR_RETURN(hv::DomId domid, hv_.createDomain(create));
  domid_ = static_cast<int>(domid);
  logInfo("Created domain " + std::to_string(domid) + " for guest '" + config_.name + "'.");

  uint64_t extra = create.kind == hv::DomainKind::PV ? kPvExtraKib : kHvmExtraKib;
  XVIRT_TRY(hv_.setMaxMemory(domid, std::max(config_.maxMemoryKib, config_.memoryKib) + extra));
  return hv_.setMaxVcpus(domid, config_.maxVcpus);
}

Status Guest::publish() {
  hv::DomId domid = static_cast<hv::DomId>(domid_);
  DomainTree tree;
  tree.domid = domid;
  tree.name = config_.name;
  tree.uuid = *Uuid::parse(config_.uuid);
  tree.kind = kindOf(config_);
  tree.targetKib = config_.memoryKib;
  tree.maxKib = std::max(config_.maxMemoryKib, config_.memoryKib);
  tree.maxVcpus = config_.maxVcpus;
  tree.onlineVcpus = config_.onlineVcpus;
  tree.build = build_;
  tree.helperPid = ::getpid();
  if (console_) tree.consoleTty = console_->ptyPath();
  XVIRT_TRY(writeDomainTree(xs_, tree));
  XVIRT_TRY(deviceWriter_ ? deviceWriter_() : writeDevices());
  XVIRT_TRY(xs_.introduceDomain(domid, build_.storeMfn, build_.storeEvtchn));
  if (console_) {
    auto channel = hv_.openConsole(domid, build_);
    if (!channel.ok()) return channel.takeError();
    console_->attach(std::move(channel).value());
  }
  if (kindOf(config_) == hv::DomainKind::HVM) {
    auto died = [this](const std::string& why) {
      // Acted on from an idle callback: the device model object is inside its own callback here.
      dmDeath_ = why;
      g_idle_add(&Guest::onDeviceModelDeath, this);
    };
    XVIRT_ASSIGN_OR_RETURN(dm_, DeviceModel::start(config_, domid, deviceModel_, xs_, died));
  }
  if (needsPvBackend(config_)) XVIRT_TRY(ensurePvBackend());
  watchDomain();
  // Built and paused: query-status says "paused" until the first cont (-S), as the issue asks.
  setState(RunState::Paused);
  return okStatus();
}

Status Guest::ensurePvBackend() {
  if (pvBackend_ || kindOf(config_) != hv::DomainKind::PV || deviceModel_.standIn || domid_ < 0)
    return okStatus();
  auto died = [name = config_.name](const std::string& why) {
    // As with libxl's QEMU for PV: the guest runs on, its qdisk disks stop answering.
    logError("Guest '" + name + "' keeps running without its qdisk disks: " + why);
  };
  XVIRT_ASSIGN_OR_RETURN(pvBackend_, DeviceModel::startPvBackend(config_, static_cast<uint32_t>(domid_), xs_, died));
  return okStatus();
}

uint64_t Guest::builtRamKib() const {
  // The device model populates the VGA's video RAM inside the domain's allowance: without taking it
  // off the guest's RAM, QEMU fails to populate it ("failed to populate ram") on real Xen.
  if (config_.kind == "hvm") return config_.memoryKib - std::min(config_.memoryKib / 2, kVideoMemKib);
  return config_.memoryKib;
}

Status Guest::loadKernel() {
  hv::DomId domid = static_cast<hv::DomId>(domid_);
  if (config_.kind == "pv") {
    hv::PvBuildParams p{builtRamKib(), config_.kernel, config_.ramdisk, config_.cmdline};
    std::unique_ptr<BootloaderRun> boot;  // its temporary kernel files go when the build is done
    if (config_.kernel.empty()) {
      XVIRT_ASSIGN_OR_RETURN(boot, BootloaderRun::run(config_, console_));
      p.kernelPath = boot->choice().kernel;
      p.ramdiskPath = boot->choice().ramdisk;
      p.cmdline = boot->choice().cmdline;
    }
    XVIRT_ASSIGN_OR_RETURN(build_, hv_.buildPV(domid, p));
    return okStatus();
  }
  hv::HvmBuildParams p;
  p.memKib = builtRamKib();
  p.kernelPath = config_.kernel;
  p.ramdiskPath = config_.ramdisk;
  p.cmdline = config_.cmdline;
  p.onlineVcpus = config_.onlineVcpus;
  if (config_.kind == "hvm") p.firmwarePath = config_.firmware.empty() ? "/usr/lib/xen-4.17/boot/hvmloader" : config_.firmware;
  else if (config_.kernel.empty())
    return makeError(ErrorCode::ConfigUnsupported, "PVH guest '" + config_.name + "' needs a kernel.");
  XVIRT_ASSIGN_OR_RETURN(build_, hv_.buildHVM(domid, p));
  return okStatus();
}

Status Guest::applyAffinity() {
  for (size_t v = 0; v < config_.affinity.size() && v < config_.maxVcpus; ++v) {
    if (config_.affinity[v].empty()) continue;
    hv::CpuMap map(hostCpus_, false);
    for (unsigned cpu : config_.affinity[v]) {
      if (cpu >= hostCpus_)
        return makeError(ErrorCode::ConfigUnsupported, "vCPU " + std::to_string(v) + " of guest '" + config_.name +
                                                           "' is pinned to host CPU " + std::to_string(cpu) +
                                                           ", but the host has " + std::to_string(hostCpus_) + ".");
      map[cpu] = true;
    }
    XVIRT_TRY(hv_.setVcpuAffinity(static_cast<hv::DomId>(domid_), static_cast<unsigned>(v), map));
  }
  return okStatus();
}

Result<VbdDevice> Guest::vbdFor(const GuestDisk& disk) {
  VbdDevice vbd = vbdDeviceFor(disk);
  XVIRT_TRY(prepareVbd(vbd));
  return vbd;
}

Status Guest::prepareVbd(VbdDevice& vbd) {
  // Kernel blkback opens a block device named by physical-device; xl's block script provides it.
  // A disk with a script of its own gets it from that script (Hotplug runs it).
  if (!hv_.vbdNeedsPhysicalDevice() || vbd.backendType != "vbd" || vbd.params.empty() || !vbd.script.empty())
    return okStatus();
  const std::string be = vbdBackendPath(static_cast<uint32_t>(domid_), vbd.devid, vbd.backendType);
  XVIRT_ASSIGN_OR_RETURN(vbd.physicalDevice, blockDevices_.attach(be, vbd.params, vbd.readonly));
  return okStatus();
}

Status Guest::writeDevices() {
  uint32_t domid = static_cast<uint32_t>(domid_);
  for (const auto& d : config_.disks) {
    XVIRT_ASSIGN_OR_RETURN(VbdDevice vbd, vbdFor(d));
    XVIRT_TRY(writeVbd(xs_, domid, vbd));
  }
  for (const auto& n : config_.nics) {
    VifDevice vif{n.devid, n.mac, n.bridge, n.script, n.model};
    XVIRT_TRY(writeVif(xs_, domid, vif));
  }
  return okStatus();
}

Status Guest::cont() {
  if (domid_ < 0) return makeError(ErrorCode::OperationInvalid, "The guest has no domain.");
  if (state_ == RunState::Running) return okStatus();
  if (state_ == RunState::Shutdown) return makeError(ErrorCode::OperationInvalid, "The guest has shut down.");
  XVIRT_TRY(hv_.unpause(static_cast<hv::DomId>(domid_)));
  setState(RunState::Running);
  if (cb_.event) cb_.event("RESUME", Json::object());
  return okStatus();
}

Status Guest::stop() {
  if (domid_ < 0) return makeError(ErrorCode::OperationInvalid, "The guest has no domain.");
  if (state_ == RunState::Paused) return okStatus();
  if (state_ == RunState::Shutdown) return makeError(ErrorCode::OperationInvalid, "The guest has shut down.");
  XVIRT_TRY(hv_.pause(static_cast<hv::DomId>(domid_)));
  setState(RunState::Paused);
  if (cb_.event) cb_.event("STOP", Json::object());
  return okStatus();
}

Status Guest::cancelSuspend() {
  if (domid_ < 0) return makeError(ErrorCode::OperationInvalid, "The guest has no domain.");
  XVIRT_TRY(hv_.resumeSuspended(static_cast<hv::DomId>(domid_)));
  return xs_.resumeDomain(static_cast<uint32_t>(domid_));
}

Status Guest::powerdown() {
  if (domid_ < 0) return makeError(ErrorCode::OperationInvalid, "The guest has no domain.");
  // What `xl shutdown` does for a PV-aware guest: ask through control/shutdown.
  XVIRT_TRY(xs_.write(domainPath(static_cast<uint32_t>(domid_)) + "/control/shutdown", "poweroff"));
  if (cb_.event) cb_.event("POWERDOWN", Json::object());
  return okStatus();
}

Status Guest::reset() {
  bool wasRunning = state_ == RunState::Running;
  destroy();
  XVIRT_TRY(build());
  if (wasRunning) {
    XVIRT_TRY(hv_.unpause(static_cast<hv::DomId>(domid_)));
    setState(RunState::Running);
  } else {
    setState(RunState::Paused);
  }
  return okStatus();
}

gboolean Guest::onDeviceModelDeath(gpointer self) {
  auto* g = static_cast<Guest*>(self);
  if (g->ending_ || g->domid_ < 0) return G_SOURCE_REMOVE;
  g->ending_ = true;
  logError("Guest '" + g->config_.name + "' cannot run without its device model, so it is destroyed: " + g->dmDeath_);
  g->destroy();
  if (g->cb_.event) g->cb_.event("SHUTDOWN", Json::object({{"guest", false}, {"reason", "host-error"}}));
  if (g->cb_.exit) g->cb_.exit(ExitReason::DeviceModelDied);
  return G_SOURCE_REMOVE;
}

void Guest::destroy() {
  unwatchDomain();
  dm_.reset();  // first, as libxl does: the device model must not outlive the domain it serves
  pvBackend_.reset();
  if (console_) {
    console_->pump();
    console_->detach();
  }
  if (domid_ < 0) return;
  hv::DomId domid = static_cast<hv::DomId>(domid_);
  Status d = hv_.destroy(domid);
  if (!d.ok() && d.error().code != ErrorCode::NoDomain) logWarning("Destroying domain " + std::to_string(domid) + ": " + d.error().message);
  runBlockScriptsDown(domid);
  auto uuid = Uuid::parse(config_.uuid);
  Status r = hv::removeDomainTree(xs_, domid, uuid ? *uuid : Uuid{});
  if (!r.ok()) logWarning("Removing the xenstore tree of domain " + std::to_string(domid) + ": " + r.error().message);
  blockDevices_.releaseAll();  // blkback let go with the domain; autoclear frees the loop devices
  Status rel = xs_.releaseDomain(domid);
  (void)rel;  // already released by the domain's destruction on most hosts
  domid_ = -1;
  setState(RunState::Shutdown);
}

void Guest::runBlockScriptsDown(hv::DomId domid) {
  // As libxl at a destroy: each vbd whose block script set it up gets `remove` (a loop device the
  // script made is detached there), once blkback let go with the domain.
  if (!hv_.runsHotplugScripts()) return;
  const std::string base = "/local/domain/0/backend/vbd/" + std::to_string(domid);
  auto devids = xs_.directory(base);
  if (!devids.ok()) return;
  for (const auto& devid : *devids) {
    const std::string be = base + "/" + devid;
    auto script = xs_.tryRead(be + "/script");
    auto phys = xs_.tryRead(be + "/physical-device");
    if (!script.ok() || !*script || !phys.ok() || !*phys) continue;  // none, or it never got as far
    auto n = parseUint(devid);
    Status s = runHotplugScriptDown({"vbd", **script, be, static_cast<uint32_t>(domid), n ? static_cast<uint32_t>(*n) : 0});
    if (!s.ok()) logWarning(s.error().message);
  }
}

void Guest::watchDomain() {
  // xenstored fires @releaseDomain whenever a domain shuts down or dies: then we ask the hypervisor.
  watchToken_ = "xvirt-helper-" + std::to_string(::getpid());
  Status s = xs_.watch("@releaseDomain", watchToken_);
  if (!s.ok())
    logWarning("Cannot watch @releaseDomain (the periodic look at the domain goes on): " + s.error().message);
  else if (!watchSource_)
    watchSource_ = g_unix_fd_add(xs_.watchFd(), G_IO_IN, &Guest::onWatch, this);
  // libxenstore says nothing when xenstored goes away, and a dead hypervisor fires no watch: a
  // slow periodic look at our domain notices both (docs/hardening.md "Crash consistency"). It runs
  // also when the watch failed: a host killed just as the guest started fails the watch, and
  // nothing else would then ever notice that the domain is gone (crash test, simxen round 22).
  if (!hostCheckSource_) hostCheckSource_ = g_timeout_add_seconds(kHostCheckSeconds, &Guest::onHostCheck, this);
}

gboolean Guest::onHostCheck(gpointer self) {
  static_cast<Guest*>(self)->checkDomain();
  return G_SOURCE_CONTINUE;
}

void Guest::hostLost(const std::string& why) {
  logError("The hypervisor under guest '" + config_.name + "' is gone (" + why +
           "); the guest died with it, and the helper exits.");
  ending_ = true;
  domid_ = -1;  // nothing to destroy: a domain id on a restarted host belongs to someone else
  destroy();
  if (cb_.event) cb_.event("SHUTDOWN", Json::object({{"guest", false}, {"reason", "host-error"}, {"host-lost", true}}));
  if (cb_.exit) cb_.exit(ExitReason::HostLost);
}

void Guest::unwatchDomain() {
  if (watchSource_) g_source_remove(watchSource_);
  watchSource_ = 0;
  if (hostCheckSource_) g_source_remove(hostCheckSource_);
  hostCheckSource_ = 0;
  if (!watchToken_.empty()) {
    Status s = xs_.unwatch("@releaseDomain", watchToken_);
    (void)s;
    watchToken_.clear();
  }
}

gboolean Guest::onWatch(gint, GIOCondition, gpointer self) {
  auto* g = static_cast<Guest*>(self);
  auto fired = g->xs_.readWatches();
  if (!fired.ok()) return G_SOURCE_CONTINUE;
  g->checkDomain();
  return G_SOURCE_CONTINUE;
}

void Guest::checkDomain() {
  if (domid_ < 0 || ending_) return;
  auto info = hv_.domainInfo(static_cast<hv::DomId>(domid_));
  // Two failed looks in a row (a backend reconnects once) mean the hypervisor itself is gone; a
  // domain id that now names another UUID means it came back without our domain (a host restart).
  if (!info.ok() && info.error().code != ErrorCode::NoDomain) {
    if (++hypervisorFailures_ >= 2) hostLost(info.error().message);
    return;
  }
  hypervisorFailures_ = 0;
  if (!info.ok()) {  // NoDomain
    logWarning("Domain " + std::to_string(domid_) + " disappeared behind the helper's back.");
    ending_ = true;
    domid_ = -1;
    destroy();
    if (cb_.event) cb_.event("SHUTDOWN", Json::object({{"guest", false}, {"reason", "host-error"}}));
    if (cb_.exit) cb_.exit(ExitReason::Vanished);
    return;
  }
  if (auto uuid = Uuid::parse(config_.uuid); uuid && info->uuid != *uuid) {
    hostLost("domain " + std::to_string(domid_) + " is now another guest's");
    return;
  }
  if (info->shutdown || info->dying) handleShutdown(info->shutdownReason);
}

void Guest::handleShutdown(hv::ShutdownReason reason) {
  const char* xenReason = hv::shutdownReasonName(reason);
  std::string action;
  std::string qemuReason;
  ExitReason exitReason = ExitReason::Poweroff;
  switch (reason) {
    case hv::ShutdownReason::Reboot:
      action = config_.onReboot;
      qemuReason = "guest-reset";
      exitReason = ExitReason::RebootRequested;
      break;
    case hv::ShutdownReason::Crash:
    case hv::ShutdownReason::Watchdog:
      action = config_.onCrash;
      qemuReason = "guest-panic";
      exitReason = ExitReason::Crashed;
      break;
    case hv::ShutdownReason::Suspend:
      return;  // a save in progress handles its own suspend
    default:
      action = config_.onPoweroff;
      qemuReason = "guest-shutdown";
      exitReason = ExitReason::Poweroff;
      break;
  }
  logInfo("Guest '" + config_.name + "' shut down (" + xenReason + "); on that: " + action + ".");
  if (action == "restart" || action == "rename-restart" || action == "coredump-restart") {
    if (cb_.event) cb_.event("RESET", Json::object({{"guest", true}, {"reason", qemuReason}}));
    Status s = reset();
    if (s.ok()) {
      Status run = state_ == RunState::Running ? okStatus() : cont();
      if (run.ok()) return;
      s = run;
    }
    logError("Restarting guest '" + config_.name + "' failed: " + s.error().message);
    exitReason = ExitReason::Error;
  } else if (action == "preserve") {
    // Keep the dead domain for inspection; the helper lives on with it.
    setState(RunState::Shutdown);
    if (cb_.event)
      cb_.event("SHUTDOWN", Json::object({{"guest", true}, {"reason", qemuReason}, {"xen-reason", xenReason}}));
    return;
  }
  ending_ = true;
  if (cb_.event && exitReason != ExitReason::Error)
    cb_.event("SHUTDOWN", Json::object({{"guest", true}, {"reason", qemuReason}, {"xen-reason", xenReason}}));
  destroy();
  if (cb_.exit) cb_.exit(exitReason);
}

Json Guest::queryDomain() {
  Json out = Json::object({{"domid", domid_},
                           {"name", config_.name},
                           {"uuid", config_.uuid},
                           {"type", config_.kind},
                           {"memory-kib", static_cast<long long>(config_.memoryKib)},
                           {"max-memory-kib", static_cast<long long>(std::max(config_.maxMemoryKib, config_.memoryKib))},
                           {"vcpus", config_.maxVcpus},
                           {"online-vcpus", config_.onlineVcpus}});
  if (domid_ >= 0) {
    auto info = hv_.domainInfo(static_cast<hv::DomId>(domid_));
    if (info.ok()) out.set("memory-kib", static_cast<long long>(info->memKib));
  }
  return out;
}

Result<Json> Guest::queryCpus() {
  if (domid_ < 0) return makeError(ErrorCode::OperationInvalid, "The guest has no domain.");
  Json out = Json::array();
  for (unsigned v = 0; v < config_.maxVcpus; ++v) {
    XVIRT_ASSIGN_OR_RETURN(hv::VcpuInfo vi, hv_.vcpuInfo(static_cast<hv::DomId>(domid_), v));
    XVIRT_ASSIGN_OR_RETURN(hv::CpuMap aff, hv_.vcpuAffinity(static_cast<hv::DomId>(domid_), v));
    out.push(Json::object({{"cpu-index", v},
                           {"online", vi.online},
                           {"state", !vi.online ? "offline" : vi.running ? "running" : "blocked"},
                           {"cpu-time-ns", static_cast<long long>(vi.cpuTimeNs)},
                           {"host-cpu", vi.cpu},
                           {"affinity", hv::formatCpuMap(aff)}}));
  }
  return out;
}

}  // namespace xvirt::helper
