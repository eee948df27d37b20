// SimGuest: one simulated domain inside xvirt-simxen — its run state, vCPU time accounting, RAM file
// and console ring. The host model (SimHostModel) drives it; it knows nothing of sockets or xenstore.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/Result.h"
#include "common/UniqueFd.h"
#include "common/Uuid.h"
#include "hypervisor/Hypervisor.h"
#include "hypervisor/sim/SimInfoTable.h"

namespace xvirt::hv::sim {

// An image the client copied into guest RAM at build time, with the checksum the guest checks at boot.
struct LoadedImage {
  std::string role;  // "kernel", "ramdisk", "firmware"
  std::string path;
  uint64_t offset = 0;
  uint64_t size = 0;
  std::string sum;   // hex64(checksum(bytes))
};

struct SimVcpu {
  uint64_t accruedNs = 0;  // settled CPU time
  CpuMap affinity;         // hard affinity over host CPUs
  bool online = true;      // the guest follows cpu/N/availability (offline vCPUs accrue nothing)
};

class SimGuest {
 public:
  SimGuest(DomId domid, DomainKind kind, Uuid uuid, unsigned nrVcpus, unsigned nrHostCpus);
  ~SimGuest();
  SimGuest(const SimGuest&) = delete;
  SimGuest& operator=(const SimGuest&) = delete;

  bool active() const { return !paused && !shutdown; }

  // CPU time is computed lazily from the monotonic clock: settle() folds the time since the last
  // state change into each vCPU, and must run before anything that changes the accrual rate.
  void settle(uint64_t nowNs);
  uint64_t vcpuTimeNs(unsigned vcpu, uint64_t nowNs) const;
  int vcpuCpu(unsigned vcpu) const;  // the host CPU the vCPU runs on, from its affinity
  void setVcpuCount(unsigned n, uint64_t nowNs);
  DomainInfo info(uint64_t nowNs) const;
  InfoSnapshot snapshot() const;  // what the domain-info table holds for this guest
  VcpuInfo vcpuInfo(unsigned vcpu, uint64_t nowNs) const;

  // RAM: a sparse file of maxMemKib, mapped shared so clients see the same bytes.
  Status resizeRam(const std::string& path, uint64_t kib);
  void releaseRam(const std::string& path);
  uint8_t* ram() const { return ram_; }
  uint64_t ramBytes() const { return ramBytes_; }

  // Console ring at the console page (valid once built): output is queued and copied in as the
  // ring has room; input is consumed line by line.
  bool hasConsole() const { return built && ram_ && (build.consoleMfn + 1) * 4096 <= ramBytes_; }
  void consoleWrite(std::string_view text);
  bool flushConsole();                         // true if something reached the ring
  std::vector<std::string> consumeInputLines();
  void resetConsoleRing();

  // Boot on first unpause: verifies the images and writes the boot lines. False: the guest crashed.
  bool boot();

  DomId id;
  DomainKind kind;
  Uuid uuid;
  bool paused = true;
  bool shutdown = false;
  ShutdownReason reason = ShutdownReason::Poweroff;
  uint64_t maxMemKib = 0;
  uint64_t memKib = 0;
  unsigned load = 5;             // percent of each vCPU's time spent running
  std::vector<SimVcpu> vcpus;
  unsigned nrHostCpus;
  uint64_t sinceNs = 0;          // when accrual was last settled

  bool built = false;
  bool booted = false;
  std::vector<LoadedImage> images;
  std::string cmdline;
  BuildResult build;
  bool frontendsStalled = false;

 private:
  UniqueFd ramFd_;
  uint8_t* ram_ = nullptr;
  uint64_t ramBytes_ = 0;
  std::string pendingOut_;
  std::string inputLine_;
};

}  // namespace xvirt::hv::sim
