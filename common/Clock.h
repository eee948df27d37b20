// Clock: the one source of time, behind an interface so tests can use a fake.
#pragma once

#include <cstdint>

namespace xvirt {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual uint64_t monotonicNs() const = 0;
  virtual uint64_t realtimeNs() const = 0;
};

class SystemClock final : public Clock {
 public:
  uint64_t monotonicNs() const override;
  uint64_t realtimeNs() const override;
  static const SystemClock& instance();
};

}  // namespace xvirt
