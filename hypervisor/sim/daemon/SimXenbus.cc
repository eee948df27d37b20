// How the simulated guests and the dom0 backend drivers react to xenstore: control/shutdown,
// memory/target, and the XenbusState handshake of PV devices (docs/sim.md, "xenstore").
#include <optional>

#include "common/Log.h"
#include "common/Strings.h"
#include "hypervisor/sim/daemon/SimHostModel.h"

namespace xvirt::hv::sim {

namespace {
enum : int { kInitialising = 1, kInitWait = 2, kInitialised = 3, kConnected = 4, kClosing = 5, kClosed = 6 };

std::string domPath(DomId d) { return "/local/domain/" + std::to_string(d); }
}  // namespace

void SimHostModel::onXenstoreChange(const std::string& path) {
  std::vector<std::string> parts = split(path, '/');  // "", local, domain, D, ...
  if (parts.size() < 5) return;
  auto d = parseUint(parts[3]);
  if (!d) return;
  if (*d == 0 && parts[4] == "backend") {
    if (parts.size() >= 8) {
      if (auto fe = parseUint(parts[6])) reconcileDevice(static_cast<DomId>(*fe), parts[5], parts[7], true);
      return;
    }
    // A directory above the devices changed (created or removed): look at all of them.
    for (const auto& type : store_.directory("/local/domain/0/backend"))
      for (const auto& fe : store_.directory("/local/domain/0/backend/" + type))
        if (auto feId = parseUint(fe))
          for (const auto& dev : store_.directory("/local/domain/0/backend/" + type + "/" + fe))
            reconcileDevice(static_cast<DomId>(*feId), type, dev, true);
    return;
  }
  auto it = guests_.find(static_cast<DomId>(*d));
  if (it == guests_.end() || *d == 0) return;
  if (parts[4] == "control" || parts[4] == "memory" || parts[4] == "cpu") {
    guestPoll(*it->second);
  } else if (parts[4] == "device") {
    if (parts.size() >= 7) reconcileDevice(static_cast<DomId>(*d), parts[5], parts[6], false);
    else pollFrontends(*it->second);
  }
}

void SimHostModel::guestPoll(SimGuest& g) {
  if (!g.active()) return;
  std::string dom = domPath(g.id);
  if (auto req = store_.read(dom + "/control/shutdown"); req && !req->empty()) {
    std::optional<ShutdownReason> reason;
    if (*req == "poweroff" || *req == "halt") reason = ShutdownReason::Poweroff;
    else if (*req == "reboot") reason = ShutdownReason::Reboot;
    else if (*req == "suspend") reason = ShutdownReason::Suspend;
    if (reason) {
      // Linux acknowledges by clearing the node before it acts on the request.
      Status s = store_.write(dom + "/control/shutdown", "", g.id);
      if (!s.ok()) logWarning("Domain " + std::to_string(g.id) + " cannot clear control/shutdown: " + s.error().message);
      // A suspend leaves no trace on the console (nor in guest memory): a quiet Linux prints nothing
      // for it, and a guest saved and restored must hold what it held before.
      if (*reason != ShutdownReason::Suspend)
        consoleOut(g, "\r\n[   42.000000] reboot: " + *req + " requested through xenstore\r\n");
      shutdownGuest(g, *reason);
      return;
    }
  }
  if (auto target = store_.read(dom + "/memory/target")) {
    if (auto kib = parseUint(*target)) g.memKib = std::min(*kib / 4 * 4, g.maxMemKib);
  }
  // Linux's xenbus cpu hotplug: each vCPU follows cpu/N/availability (absent: it stays as it is).
  bool settled = false;
  for (unsigned v = 0; v < g.vcpus.size(); ++v) {
    auto avail = store_.read(dom + "/cpu/" + std::to_string(v) + "/availability");
    if (!avail || (*avail != "online" && *avail != "offline")) continue;
    bool online = *avail == "online" || v == 0;  // vCPU 0 cannot be unplugged
    if (online == g.vcpus[v].online) continue;
    if (!settled) g.settle(now());
    settled = true;
    g.vcpus[v].online = online;
  }
  pollFrontends(g);
}

void SimHostModel::pollFrontends(SimGuest& g) {
  std::string dev = domPath(g.id) + "/device";
  for (const auto& type : store_.directory(dev))
    for (const auto& id : store_.directory(dev + "/" + type)) reconcileDevice(g.id, type, id, false);
}

static int readState(const xvirt::sim::XsStore& store, const std::string& dir) {
  auto v = store.read(dir + "/state");
  if (!v) return -1;
  auto n = parseUint(*v);
  return n ? static_cast<int>(*n) : 0;
}

void SimHostModel::reconcileDevice(DomId domid, const std::string& type, const std::string& devid, bool fromBackend) {
  std::string be, fe;
  std::string feType = type == "qdisk" || type == "tap" ? "vbd" : type;
  if (fromBackend) {
    be = "/local/domain/0/backend/" + type + "/" + std::to_string(domid) + "/" + devid;
    fe = store_.read(be + "/frontend").value_or(domPath(domid) + "/device/" + feType + "/" + devid);
  } else {
    fe = domPath(domid) + "/device/" + type + "/" + devid;
    be = store_.read(fe + "/backend").value_or("/local/domain/0/backend/" + type + "/" + std::to_string(domid) + "/" + devid);
  }
  auto it = guests_.find(domid);
  SimGuest* g = it == guests_.end() ? nullptr : it->second.get();
  bool frontendAnswers = g && domid != 0 && g->active() && !g->frontendsStalled;

  auto write = [&](const std::string& path, const std::string& value, DomId as) {
    Status s = store_.write(path, value, as);
    if (!s.ok()) logWarning("Writing " + path + " as domain " + std::to_string(as) + ": " + s.error().message);
    return s.ok();
  };
  // Each pass moves at most one side one step; a handful of passes completes any transition, and
  // the bound keeps a misbehaving toolstack from looping us.
  for (int pass = 0; pass < 8; ++pass) {
    int bs = readState(store_, be);
    int fs = readState(store_, fe);
    bool changed = false;
    if (bs == kInitialising) {
      if (type == "vif") write(be + "/feature-rx-copy", "1", 0);
      else write(be + "/feature-flush-cache", "1", 0);
      changed = write(be + "/state", std::to_string(kInitWait), 0);
    } else if (bs == kInitWait && fs == kInitialised) {
      changed = write(be + "/state", std::to_string(kConnected), 0);
    } else if (bs == kClosing && (fs == kClosed || fs < 0)) {
      changed = write(be + "/state", std::to_string(kClosed), 0);
    }
    if (!changed && frontendAnswers && fs >= 0) {
      if (fs == kInitialising && bs == kInitWait) {
        write(fe + "/ring-ref", "8", domid);
        write(fe + "/event-channel", std::to_string(10 + domid % 1000), domid);
        changed = write(fe + "/state", std::to_string(kInitialised), domid);
      } else if (fs == kInitialised && bs == kConnected) {
        changed = write(fe + "/state", std::to_string(kConnected), domid);
      } else if (bs == kClosing && fs >= kInitialising && fs <= kConnected) {
        changed = write(fe + "/state", std::to_string(kClosing), domid);
      } else if (bs == kClosing && fs == kClosing) {
        changed = write(fe + "/state", std::to_string(kClosed), domid);
      }
    }
    if (!changed) break;
  }
}

}  // namespace xvirt::hv::sim
