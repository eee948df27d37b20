#include "common/Clock.h"

#include <time.h>

namespace xvirt {

static uint64_t read(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t SystemClock::monotonicNs() const { return read(CLOCK_MONOTONIC); }
uint64_t SystemClock::realtimeNs() const { return read(CLOCK_REALTIME); }

const SystemClock& SystemClock::instance() {
  static SystemClock clock;
  return clock;
}

}  // namespace xvirt
