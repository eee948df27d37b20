#include "helper/Hotplug.h"

#include <glib-unix.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <set>

#include "common/Log.h"
#include "common/Strings.h"
#include "domain-xml/VdevName.h"
#include "helper/Guest.h"
#include "helper/XenstoreLayout.h"

namespace xvirt::helper {

namespace {

constexpr int kConnected = static_cast<int>(XenbusState::Connected);
constexpr int kInitWait = static_cast<int>(XenbusState::InitWait);
constexpr int kClosing = static_cast<int>(XenbusState::Closing);
constexpr int kClosed = static_cast<int>(XenbusState::Closed);

const char* const kDiskBackends[] = {"vbd", "qdisk"};

QmpResult fail(const Error& e) { return qmpErrorFrom(e); }

Result<unsigned> timeoutArg(const Json& args) {
  const Json* t = args.get("timeout");
  if (!t) return Hotplug::kDefaultTimeoutMs;
  double s = t->asDouble();
  if (s <= 0 || s * 1000 > Hotplug::kMaxTimeoutMs)
    return makeError(ErrorCode::InvalidArgument, "The timeout must be more than 0 and at most " +
                                                     std::to_string(Hotplug::kMaxTimeoutMs / 1000) + " seconds.");
  return static_cast<unsigned>(s * 1000);
}

std::string randomMac() {
  std::random_device rd;
  char buf[18];
  // Xen's OUI; the top bit of the fourth byte stays clear, as in libxl's random MACs.
  std::snprintf(buf, sizeof buf, "00:16:3e:%02x:%02x:%02x", rd() & 0x7f, rd() & 0xff, rd() & 0xff);
  return buf;
}

std::string seconds(unsigned ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", ms / 1000.0);
  return buf;
}

}  // namespace

Hotplug::Hotplug(Guest& guest, hv::XenStore& xs, std::unique_ptr<hv::XenStore> watchXs, Emit emit)
    : guest_(guest), xs_(xs), watchXs_(std::move(watchXs)), emit_(std::move(emit)) {
  token_ = "xvirt-hotplug-" + std::to_string(::getpid());
}

Hotplug::~Hotplug() {
  for (auto& [key, p] : pending_)
    if (p.timer) g_source_remove(p.timer);
  watchDomain(false);
}

Status Hotplug::requireDomain() const {
  if (guest_.domid() < 0)
    return makeError(ErrorCode::OperationInvalid, "Guest '" + guest_.config().name + "' has no running domain.");
  return okStatus();
}

// --- Watching the domain's devices ---

void Hotplug::watchDomain(bool on) {
  if (on && watchSource_ == 0) {
    Status s = watchXs_->watch("@introduceDomain", token_);
    if (!s.ok()) logWarning("Cannot watch @introduceDomain: " + s.error().message);
  }
  if (domid_ < 0) return;
  const std::string id = std::to_string(domid_);
  std::vector<std::string> paths = {domainPath(static_cast<uint32_t>(domid_)) + "/device"};
  for (const char* type : {"vbd", "qdisk", "vif"}) paths.push_back("/local/domain/0/backend/" + std::string(type) + "/" + id);
  for (const auto& p : paths) {
    Status s = on ? watchXs_->watch(p, token_) : watchXs_->unwatch(p, token_);
    if (!s.ok() && on) logWarning("Cannot watch " + p + ": " + s.error().message);
  }
}

void Hotplug::domainChanged() {
  if (guest_.domid() == domid_) return;
  for (auto& [key, p] : pending_) {
    if (p.timer) g_source_remove(p.timer);
    if (p.reply) p.reply(fail(makeError(ErrorCode::OperationFailed, "The domain of guest '" + guest_.config().name +
                                                                       "' was rebuilt while " + describe(p.dev) +
                                                                       " was being changed.")));
  }
  pending_.clear();
  watchDomain(false);
  domid_ = guest_.domid();
  devices_.clear();
  scriptsRun_.clear();
  scanDevices();
  watchDomain(true);
  if (!watchSource_ && domid_ >= 0) watchSource_ = g_unix_fd_add(watchXs_->watchFd(), G_IO_IN, &Hotplug::onWatch, this);
}

gboolean Hotplug::onWatch(gint, GIOCondition, gpointer self) {
  auto* h = static_cast<Hotplug*>(self);
  auto fired = h->watchXs_->readWatches();
  if (!fired.ok()) return G_SOURCE_CONTINUE;
  // A reset (or a restore) builds a new domain in this process; its introduction tells us.
  if (h->guest_.domid() != h->domid_ && h->guest_.domid() >= 0) h->domainChanged();
  else h->reconcile();
  return G_SOURCE_CONTINUE;
}

// Adds the devices xenstore has that we do not know yet (boot devices, a rebuilt domain's);
// devices that vanished are left for reconcile() to report.
void Hotplug::scanDevices() {
  if (domid_ < 0) return;
  const uint32_t domid = static_cast<uint32_t>(domid_);
  for (const char* type : {"vbd", "qdisk", "vif"}) {
    std::string base = "/local/domain/0/backend/" + std::string(type) + "/" + std::to_string(domid);
    auto ids = xs_.directory(base);
    if (!ids.ok()) continue;
    for (const auto& idText : *ids) {
      auto devid = parseUint(idText);
      if (!devid) continue;
      Device d;
      d.type = type;
      d.devid = static_cast<uint32_t>(*devid);
      d.backend = base + "/" + idText;
      if (d.type == "vif") {
        d.kind = "nic";
        d.name = idText;
        d.frontend = vifFrontendPath(domid, d.devid);
        auto mac = xs_.tryRead(d.backend + "/mac");
        if (mac.ok() && *mac) d.mac = toLower(**mac);
      } else {
        d.kind = "disk";
        auto dev = xs_.tryRead(d.backend + "/dev");
        d.name = dev.ok() && *dev ? **dev : idText;
        d.frontend = vbdFrontendPath(domid, d.devid);
      }
      devices_.emplace(d.backend, d);
    }
  }
}

std::string Hotplug::backendValue(const Device& dev, const char* key) {
  auto v = xs_.tryRead(dev.backend + "/" + key);
  return v.ok() && *v ? **v : std::string();
}

int Hotplug::state(const std::string& dir) {
  auto v = xs_.tryRead(dir + "/state");
  if (!v.ok() || !*v) return -1;
  auto n = parseUint(**v);
  return n ? static_cast<int>(*n) : 0;
}

Json Hotplug::eventData(const Device& dev) {
  Json data = Json::object({{"device", dev.name}, {"type", dev.kind}, {"path", dev.backend}});
  if (dev.kind == "nic") data.set("mac", dev.mac);
  return data;
}

std::string Hotplug::describe(const Device& dev) const {
  return dev.kind == "disk" ? "disk " + dev.name : "NIC " + dev.name;
}

std::optional<ScriptedDevice> Hotplug::scriptedDevice(const Device& dev) {
  if (dev.type != "vif" && dev.type != "vbd") return std::nullopt;
  std::string script = backendValue(dev, "script");
  if (dev.type == "vbd" && script.empty()) return std::nullopt;  // the helper's own block device
  return ScriptedDevice{dev.type, script, dev.backend, static_cast<uint32_t>(domid_), dev.devid};
}

void Hotplug::runHotplugScripts() {
  if (!guest_.hypervisor().runsHotplugScripts()) return;
  for (const auto& [key, d] : devices_) {
    if (scriptsRun_.count(key)) continue;
    int bs = state(d.backend);
    if (bs < kInitWait || bs >= kClosing) continue;
    auto scripted = scriptedDevice(d);
    if (!scripted) continue;
    scriptsRun_.insert(key);
    Status s = startHotplugScriptUp(*scripted);
    if (!s.ok()) {
      logError(s.error().message);
      (void)xs_.write(d.backend + "/hotplug-error", s.error().message);
      (void)xs_.write(d.backend + "/hotplug-status", "error");
    }
  }
}

void Hotplug::reconcile() {
  if (guest_.domid() != domid_) return;  // a rebuild is under way; domainChanged() follows
  runHotplugScripts();
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (settle(it->second)) {
      if (it->second.timer) g_source_remove(it->second.timer);
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  // Devices whose backend vanished behind our back: the toolstack's part is to drop the frontend
  // and to say so, as it would after its own unplug.
  std::vector<Device> gone;
  for (const auto& [key, dev] : devices_) {
    if (pending_.count(key)) continue;
    auto exists = xs_.tryRead(dev.backend);
    if (exists.ok() && !*exists && state(dev.backend) < 0) gone.push_back(dev);
  }
  for (const auto& dev : gone) {
    logInfo("The backend of " + describe(dev) + " of guest '" + guest_.config().name + "' was removed; dropping the device.");
    Status s = xs_.rm(dev.frontend);
    if (!s.ok()) logWarning(s.error().message);
    forget(dev);
    emit_("DEVICE_DELETED", eventData(dev));
  }
}

bool Hotplug::settle(Pending& p) {
  int bs = state(p.dev.backend);
  int fs = state(p.dev.frontend);
  if (p.adding) {
    bool running = guest_.state() == RunState::Running;
    // A guest that does not run cannot connect its frontend yet: the backend waiting for it is
    // as far as the plug goes until it runs (docs/hotplug.md).
    bool done = running ? bs == kConnected && fs == kConnected : bs >= kInitWait && bs < kClosing;
    if (bs < 0 || bs >= kClosing) {
      if (p.reply)
        p.reply(fail(makeError(ErrorCode::OperationFailed, "The backend of " + describe(p.dev) + " of guest '" +
                                                               guest_.config().name + "' closed while it was being added.")));
      (void)removeDevice(xs_, p.dev.backend, p.dev.frontend);
      forget(p.dev);
      return true;
    }
    if (!done && backendValue(p.dev, "hotplug-status") == "error") {
      std::string why = backendValue(p.dev, "hotplug-error");
      if (!why.empty() && why.back() == '.') why.pop_back();  // the sentence ends here
      if (p.reply)
        p.reply(fail(makeError(ErrorCode::OperationFailed, "The hotplug script of " + describe(p.dev) + " of guest '" +
                                                               guest_.config().name + "' failed" +
                                                               (why.empty() ? "" : ": " + why) + ".")));
      (void)removeDevice(xs_, p.dev.backend, p.dev.frontend);
      forget(p.dev);
      return true;
    }
    if (!done) return false;
    if (p.reply) p.reply(p.result);
    emit_("DEVICE_ADDED", eventData(p.dev));
    return true;
  }
  bool backendDone = bs < 0 || bs == kClosed;
  bool frontendDone = fs < 0 || fs == kClosed || fs <= static_cast<int>(XenbusState::Initialising);
  if (!backendDone || !frontendDone) return false;
  finishRemoval(p);
  return true;
}

void Hotplug::finishRemoval(Pending& p) {
  if (auto scripted = scriptedDevice(p.dev); scripted && scriptsRun_.count(p.dev.backend)) {
    Status off = runHotplugScriptDown(*scripted);
    if (!off.ok()) logWarning(off.error().message);  // the device goes with the backend all the same
  }
  Status s = removeDevice(xs_, p.dev.backend, p.dev.frontend);
  if (!s.ok()) {
    if (p.reply) p.reply(fail(s.error()));
    return;
  }
  forget(p.dev);
  if (p.reply) p.reply(Json::object());
  emit_("DEVICE_DELETED", eventData(p.dev));
}

void Hotplug::forget(const Device& dev) {
  guest_.blockDevices().release(dev.backend);
  scriptsRun_.erase(dev.backend);
  devices_.erase(dev.backend);
  GuestConfig& c = guest_.mutableConfig();
  if (dev.kind == "disk")
    std::erase_if(c.disks, [&](const GuestDisk& d) { return d.vdevNumber == dev.devid; });
  else
    std::erase_if(c.nics, [&](const GuestNic& n) { return n.devid == dev.devid; });
}

void Hotplug::startWaiting(Pending p) {
  const std::string key = p.dev.backend;
  auto [it, fresh] = pending_.insert_or_assign(key, std::move(p));
  (void)fresh;
  struct TimerData {
    Hotplug* self;
    std::string key;
  };
  auto* data = new TimerData{this, key};
  it->second.timer = g_timeout_add_full(
      G_PRIORITY_DEFAULT, it->second.timeoutMs,
      [](gpointer d) -> gboolean {
        auto* t = static_cast<TimerData*>(d);
        t->self->onTimeout(t->key);
        return G_SOURCE_REMOVE;
      },
      data, [](gpointer d) { delete static_cast<TimerData*>(d); });
  reconcile();  // the guest may have answered already
}

void Hotplug::onTimeout(const std::string& key) {
  auto it = pending_.find(key);
  if (it == pending_.end()) return;
  Pending& p = it->second;
  p.timer = 0;
  const std::string guestName = guest_.config().name;
  const std::string fs = std::to_string(state(p.dev.frontend));
  if (p.adding) {
    // As libxl does when a device does not connect: take it away again.
    (void)removeDevice(xs_, p.dev.backend, p.dev.frontend);
    forget(p.dev);
    if (p.reply)
      p.reply(fail(makeError(ErrorCode::Timeout, "The frontend of " + describe(p.dev) + " in guest '" + guestName +
                                                     "' did not connect within " + seconds(p.timeoutMs) +
                                                     " seconds (its state is " + fs + "); the device was removed again.")));
    pending_.erase(it);
    return;
  }
  // The unplug stays requested: if the guest lets go later the device is removed then, with a
  // DEVICE_DELETED event. Until then it is listed as it is (backend Closing).
  if (p.reply)
    p.reply(fail(makeError(ErrorCode::Timeout, "Guest '" + guestName + "' did not release " + describe(p.dev) +
                                                   " within " + seconds(p.timeoutMs) + " seconds (frontend state " + fs +
                                                   "); the device is still attached.")));
  p.reply = nullptr;
}

// --- Disks ---

void Hotplug::diskAdd(const Json& args, MonitorServer::Reply reply) {
  if (Status s = requireDomain(); !s.ok()) return reply(fail(s.error()));
  auto timeout = timeoutArg(args);
  if (!timeout.ok()) return reply(fail(timeout.error()));
  const std::string guestName = guest_.config().name;
  const std::string target = args.getString("target");
  auto vdev = dom::parseVdev(target);
  if (!vdev.ok()) return reply(fail(vdev.error()));
  GuestDisk disk;
  disk.vdev = target;
  disk.vdevNumber = vdev->number;
  disk.cdrom = args.getBool("cdrom");
  disk.path = args.getString("source");
  disk.readonly = args.getBool("readonly") || disk.cdrom;
  disk.mode = disk.readonly ? "r" : "w";
  disk.format = disk.path.empty() ? "empty" : args.getString("format", "raw");
  if (disk.path.empty() && !disk.cdrom)
    return reply(fail(makeError(ErrorCode::InvalidArgument, "Disk " + target + " needs a source; only a cdrom may be empty.")));
  disk.script = args.getString("script");
  // With a block script, the source is the script's to interpret (xl's script=): it need not exist.
  if (!disk.path.empty() && disk.script.empty()) {
    struct stat st;
    if (::stat(disk.path.c_str(), &st) != 0)
      return reply(fail(Error::system("The source " + disk.path + " of disk " + target + " cannot be used", errno)));
  }
  disk.backend = args.getString("backend", disk.format == "raw" ? "phy" : "qdisk");
  if (disk.backend != "phy" && disk.backend != "qdisk")
    return reply(fail(makeError(ErrorCode::InvalidArgument, "The disk backend '" + disk.backend + "' is not phy or qdisk.")));
  if (disk.backend == "phy" && disk.format != "raw")
    return reply(fail(makeError(ErrorCode::InvalidArgument, "Disk " + target + " has the format " + disk.format +
                                                                ", and the phy backend serves raw data only.")));
  if (!disk.script.empty() && disk.backend != "phy")
    return reply(fail(makeError(ErrorCode::InvalidArgument, "Disk " + target + " has a block script, which needs "
                                                                "the phy backend (it hands blkback its device).")));
  for (const auto& [key, d] : devices_)
    if (d.kind == "disk" && (d.devid == disk.vdevNumber || d.name == target))
      return reply(fail(makeError(ErrorCode::InvalidArgument,
                                  "Guest '" + guestName + "' already has a disk " + d.name + " (virtual device " +
                                      std::to_string(d.devid) + ").")));
  const uint32_t domid = static_cast<uint32_t>(domid_);
  auto vbdOr = guest_.vbdFor(disk);
  if (!vbdOr.ok()) return reply(fail(vbdOr.error()));
  const VbdDevice vbd = *vbdOr;
  if (Status s = writeVbd(xs_, domid, vbd); !s.ok()) return reply(fail(s.error()));
  Device dev{"disk", target, vbd.backendType, vbd.devid, vbdBackendPath(domid, vbd.devid, vbd.backendType),
             vbdFrontendPath(domid, vbd.devid), ""};
  devices_[dev.backend] = dev;
  guest_.mutableConfig().disks.push_back(disk);
  logInfo("Adding disk " + target + " (" + disk.path + ") to guest '" + guestName + "'.");
  if (vbd.backendType == "qdisk") {
    if (Status s = guest_.ensurePvBackend(); !s.ok()) {
      (void)removeDevice(xs_, dev.backend, dev.frontend);
      forget(dev);
      return reply(fail(s.error()));
    }
  }
  Pending p{true, dev, std::move(reply), 0, *timeout,
            Json::object({{"device", target}, {"vdev", vbd.devid}, {"path", dev.backend}})};
  startWaiting(std::move(p));
}

QmpResult Hotplug::changeMedium(const Json& args) {
  if (Status s = requireDomain(); !s.ok()) return fail(s.error());
  Device* dev = findDevice("disk", args);
  if (!dev) return fail(makeError(ErrorCode::DeviceNotFound, "Guest '" + guest_.config().name + "' has no disk " +
                                                                 args.getString("target") + "."));
  auto type = xs_.tryRead(dev->backend + "/device-type");
  if (!type.ok() || !*type || **type != "cdrom")
    return fail(makeError(ErrorCode::InvalidArgument, "Disk " + dev->name + " of guest '" + guest_.config().name +
                                                          "' is not a cdrom, so its medium cannot change."));
  std::string source = args.getString("source");
  std::string format = source.empty() ? "empty" : args.getString("format", "raw");
  if (!source.empty()) {
    struct stat st;
    if (::stat(source.c_str(), &st) != 0)
      return fail(Error::system("The medium " + source + " for disk " + dev->name + " cannot be used", errno));
  }
  // The backend re-reads params, as qdisk does when libxl inserts a cdrom.
  Status s = xs_.transaction([&](hv::XenStoreTransaction& tx) -> Status {
    XVIRT_TRY(tx.write(dev->backend + "/params", source));
    return tx.write(dev->backend + "/format", format);
  });
  if (!s.ok()) return fail(s.error());
  for (auto& d : guest_.mutableConfig().disks)
    if (d.vdevNumber == dev->devid) {
      d.path = source;
      d.format = format;
    }
  return Json::object();
}

QmpResult Hotplug::queryBlock() {
  if (Status s = requireDomain(); !s.ok()) return fail(s.error());
  scanDevices();
  Json out = Json::array();
  for (const auto& [key, d] : devices_) {
    if (d.kind != "disk") continue;
    auto rd = [&](const char* k) { return backendValue(d, k); };
    out.push(Json::object({{"device", d.name},
                           {"vdev", d.devid},
                           {"backend", d.type},
                           {"file", rd("params")},
                           {"format", rd("format")},
                           {"readonly", rd("mode") == "r"},
                           {"cdrom", rd("device-type") == "cdrom"},
                           {"backend-state", state(d.backend)},
                           {"frontend-state", state(d.frontend)},
                           {"removing", pending_.count(key) != 0 && !pending_.at(key).adding},
                           {"path", d.backend}}));
  }
  return out;
}

// --- NICs ---

void Hotplug::nicAdd(const Json& args, MonitorServer::Reply reply) {
  if (Status s = requireDomain(); !s.ok()) return reply(fail(s.error()));
  auto timeout = timeoutArg(args);
  if (!timeout.ok()) return reply(fail(timeout.error()));
  const std::string guestName = guest_.config().name;
  GuestNic nic;
  nic.mac = toLower(args.getString("mac"));
  if (nic.mac.empty()) nic.mac = randomMac();
  nic.bridge = args.getString("bridge");
  nic.script = args.getString("script");
  nic.model = args.getString("model", "netfront");
  std::set<uint32_t> used;
  for (const auto& [key, d] : devices_) {
    if (d.kind != "nic") continue;
    used.insert(d.devid);
    auto mac = xs_.tryRead(d.backend + "/mac");
    if (mac.ok() && *mac && toLower(**mac) == nic.mac)
      return reply(fail(makeError(ErrorCode::InvalidArgument, "Guest '" + guestName + "' already has a NIC with MAC " +
                                                                  nic.mac + " (NIC " + d.name + ").")));
  }
  if (const Json* id = args.get("devid")) {
    nic.devid = static_cast<unsigned>(id->asInt());
    if (used.count(nic.devid))
      return reply(fail(makeError(ErrorCode::InvalidArgument,
                                  "Guest '" + guestName + "' already has a NIC " + std::to_string(nic.devid) + ".")));
  } else {
    while (used.count(nic.devid)) ++nic.devid;
  }
  const uint32_t domid = static_cast<uint32_t>(domid_);
  VifDevice vif{nic.devid, nic.mac, nic.bridge, nic.script, nic.model};
  if (Status s = writeVif(xs_, domid, vif); !s.ok()) return reply(fail(s.error()));
  Device dev{"nic", std::to_string(nic.devid), "vif", nic.devid, vifBackendPath(domid, nic.devid),
             vifFrontendPath(domid, nic.devid), nic.mac};
  devices_[dev.backend] = dev;
  guest_.mutableConfig().nics.push_back(nic);
  logInfo("Adding NIC " + dev.name + " (" + nic.mac + ") to guest '" + guestName + "'.");
  Pending p{true, dev, std::move(reply), 0, *timeout,
            Json::object({{"devid", nic.devid}, {"mac", nic.mac}, {"path", dev.backend}})};
  startWaiting(std::move(p));
}

QmpResult Hotplug::queryNics() {
  if (Status s = requireDomain(); !s.ok()) return fail(s.error());
  scanDevices();
  Json out = Json::array();
  for (const auto& [key, d] : devices_) {
    if (d.kind != "nic") continue;
    auto rd = [&](const char* k) { return backendValue(d, k); };
    std::string model = "netfront";
    for (const auto& n : guest_.config().nics)
      if (n.devid == d.devid && !n.model.empty()) model = n.model;
    out.push(Json::object({{"devid", d.devid},
                           {"mac", rd("mac")},
                           {"bridge", rd("bridge")},
                           {"script", rd("script")},
                           {"model", model},
                           {"backend-state", state(d.backend)},
                           {"frontend-state", state(d.frontend)},
                           {"removing", pending_.count(key) != 0 && !pending_.at(key).adding},
                           {"path", d.backend}}));
  }
  return out;
}

// --- Removal ---

Hotplug::Device* Hotplug::findDevice(const std::string& kind, const Json& args) {
  scanDevices();
  reconcile();  // a device whose backend is gone is reported, not found
  for (auto& [key, d] : devices_) {
    if (d.kind != kind) continue;
    if (kind == "disk") {
      auto vdev = dom::parseVdev(args.getString("target"));
      if (d.name == args.getString("target") || (vdev.ok() && vdev->number == d.devid)) return &d;
    } else {
      if (const Json* id = args.get("devid"); id && id->isInt() && static_cast<uint32_t>(id->asInt()) == d.devid) return &d;
      std::string mac = toLower(args.getString("mac"));
      auto have = xs_.tryRead(d.backend + "/mac");
      if (!mac.empty() && have.ok() && *have && toLower(**have) == mac) return &d;
    }
  }
  return nullptr;
}

void Hotplug::deviceRemove(const std::string& kind, const Json& args, MonitorServer::Reply reply) {
  if (Status s = requireDomain(); !s.ok()) return reply(fail(s.error()));
  auto timeout = timeoutArg(args);
  if (!timeout.ok()) return reply(fail(timeout.error()));
  Device* found = findDevice(kind, args);
  if (!found) {
    std::string what = kind == "disk" ? "disk " + args.getString("target")
                                      : args.get("devid") ? "NIC " + std::to_string(args.getInt("devid"))
                                                          : "NIC with MAC " + args.getString("mac");
    return reply(fail(makeError(ErrorCode::DeviceNotFound, "Guest '" + guest_.config().name + "' has no " + what + ".")));
  }
  Device dev = *found;
  auto it = pending_.find(dev.backend);
  if (it != pending_.end()) {
    if (it->second.adding || it->second.reply)
      return reply(fail(makeError(ErrorCode::OperationInvalid, describe(dev) + " of guest '" + guest_.config().name +
                                                                   "' is already being changed.")));
    // An unplug that timed out earlier: wait for it again.
    if (it->second.timer) g_source_remove(it->second.timer);
    pending_.erase(it);
  }
  if (Status s = requestDetach(xs_, dev.backend); !s.ok()) return reply(fail(s.error()));
  logInfo("Removing " + describe(dev) + " from guest '" + guest_.config().name + "'.");
  startWaiting(Pending{false, dev, std::move(reply), 0, *timeout, Json::object()});
}

}  // namespace xvirt::helper
