#include "helper/LiveTuning.h"

#include <algorithm>

#include "common/Strings.h"
#include "helper/Guest.h"
#include "helper/XenstoreLayout.h"

namespace xvirt::helper {

namespace {

QmpResult fail(const Error& e) { return qmpErrorFrom(e); }

}  // namespace

LiveTuning::~LiveTuning() {
  if (balloonTimer_) g_source_remove(balloonTimer_);
}

Status LiveTuning::requireDomain() const {
  if (guest_.domid() < 0)
    return makeError(ErrorCode::OperationInvalid, "Guest '" + guest_.config().name + "' has no running domain.");
  return okStatus();
}

QmpResult LiveTuning::balloon(const Json& args) {
  if (Status s = requireDomain(); !s.ok()) return fail(s.error());
  GuestConfig& c = guest_.mutableConfig();
  const int64_t bytes = args.getInt("value");
  const uint64_t maxKib = std::max(c.maxMemoryKib, c.memoryKib);
  const uint64_t kib = bytes > 0 ? static_cast<uint64_t>(bytes) / 1024 : 0;
  if (kib == 0)
    return fail(makeError(ErrorCode::InvalidArgument, "Guest '" + c.name + "' cannot balloon to " +
                                                          std::to_string(bytes) + " bytes."));
  if (kib > maxKib)
    return fail(makeError(ErrorCode::InvalidArgument, "Guest '" + c.name + "' cannot balloon to " + std::to_string(kib) +
                                                          " KiB, above its maximum memory of " + std::to_string(maxKib) +
                                                          " KiB."));
  // What libxl_set_memory_target does for a PV-aware guest: the balloon driver follows memory/target.
  Status s = xs_.write(domainPath(static_cast<uint32_t>(guest_.domid())) + "/memory/target", std::to_string(kib));
  if (!s.ok()) return fail(s.error());
  c.memoryKib = kib;
  followBalloon(kib);
  return Json::object();
}

void LiveTuning::followBalloon(uint64_t targetKib) {
  if (balloonTimer_) g_source_remove(balloonTimer_);
  balloonTarget_ = targetKib;
  balloonStart_ = static_cast<uint64_t>(guest_.queryDomain().getInt("memory-kib"));
  balloonTicks_ = 0;
  balloonTimer_ = g_timeout_add(100, &LiveTuning::onBalloonTick, this);
}

gboolean LiveTuning::onBalloonTick(gpointer self) {
  auto* h = static_cast<LiveTuning*>(self);
  if (h->guest_.domid() < 0) {
    h->balloonTimer_ = 0;
    return G_SOURCE_REMOVE;
  }
  auto actual = static_cast<uint64_t>(h->guest_.queryDomain().getInt("memory-kib"));
  bool reached = actual == h->balloonTarget_;
  if (!reached && ++h->balloonTicks_ < 100) return G_SOURCE_CONTINUE;
  h->balloonTimer_ = 0;
  if (reached || actual != h->balloonStart_)
    h->emit_("BALLOON_CHANGE", Json::object({{"actual", static_cast<long long>(actual * 1024)}}));
  return G_SOURCE_REMOVE;
}

QmpResult LiveTuning::queryBalloon() {
  if (Status s = requireDomain(); !s.ok()) return fail(s.error());
  Json dom = guest_.queryDomain();
  auto target = xs_.tryRead(domainPath(static_cast<uint32_t>(guest_.domid())) + "/memory/target");
  int64_t targetKib = target.ok() && *target ? static_cast<int64_t>(parseUint(**target).value_or(0)) : 0;
  return Json::object({{"actual", dom.getInt("memory-kib") * 1024},
                       {"target", targetKib * 1024},
                       {"max", dom.getInt("max-memory-kib") * 1024}});
}

QmpResult LiveTuning::setVcpus(const Json& args) {
  if (Status s = requireDomain(); !s.ok()) return fail(s.error());
  GuestConfig& c = guest_.mutableConfig();
  const int64_t n = args.getInt("count");
  if (n < 1 || n > static_cast<int64_t>(c.maxVcpus))
    return fail(makeError(ErrorCode::InvalidArgument, "Guest '" + c.name + "' cannot have " + std::to_string(n) +
                                                          " vCPUs online; it has between 1 and " +
                                                          std::to_string(c.maxVcpus) + "."));
  const std::string dom = domainPath(static_cast<uint32_t>(guest_.domid()));
  Status s = xs_.transaction([&](hv::XenStoreTransaction& tx) -> Status {
    for (unsigned v = 0; v < c.maxVcpus; ++v)
      XVIRT_TRY(tx.write(dom + "/cpu/" + std::to_string(v) + "/availability", v < n ? "online" : "offline"));
    return okStatus();
  });
  if (!s.ok()) return fail(s.error());
  c.onlineVcpus = static_cast<unsigned>(n);
  return Json::object();
}

}  // namespace xvirt::helper
