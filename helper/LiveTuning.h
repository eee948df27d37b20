// LiveTuning: the helper's live memory and vCPU commands — balloon/query-balloon and set-vcpus
// (docs/hotplug.md), written to the guest's xenstore nodes as libxl writes them.
#pragma once

#include <glib.h>

#include <cstdint>
#include <functional>
#include <string>

#include "common/Json.h"
#include "helper/monitor/MonitorServer.h"
#include "hypervisor/XenStore.h"

namespace xvirt::helper {

class Guest;

class LiveTuning {
 public:
  using Emit = std::function<void(const std::string& event, Json data)>;

  LiveTuning(Guest& guest, hv::XenStore& xs, Emit emit) : guest_(guest), xs_(xs), emit_(std::move(emit)) {}
  ~LiveTuning();
  LiveTuning(const LiveTuning&) = delete;
  LiveTuning& operator=(const LiveTuning&) = delete;

  // The commands (helper/HelperCommands.cc).
  QmpResult balloon(const Json& args);
  QmpResult queryBalloon();
  QmpResult setVcpus(const Json& args);

 private:
  Status requireDomain() const;
  // The guest gives no word when its balloon reached the target: the domain's memory is checked
  // every 100 ms for up to 10 s and BALLOON_CHANGE emitted when it got there (or stopped short).
  void followBalloon(uint64_t targetKib);
  static gboolean onBalloonTick(gpointer self);

  Guest& guest_;
  hv::XenStore& xs_;
  Emit emit_;
  guint balloonTimer_ = 0;
  uint64_t balloonTarget_ = 0, balloonStart_ = 0;
  unsigned balloonTicks_ = 0;
};

}  // namespace xvirt::helper
