// SimInfoTable: the simulated host's domain-info page, as Xen's getdomaininfo reads hypervisor memory
// without a round trip to a toolstack process. xvirt-simxen publishes each domain's info into a
// shared file (DIR/domains.tbl, one slot per domain id, each under a sequence lock); clients read a
// slot without a hypercall and compute CPU time from the slot's accrual state and the monotonic clock,
// exactly as the host would (docs/sim.md, "Domain info table").
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "common/Result.h"
#include "common/UniqueFd.h"
#include "hypervisor/Hypervisor.h"

namespace xvirt::hv::sim {

std::string infoTablePath(const std::string& dir);

// CPU time a running vCPU accrues in deltaNs at `load` percent (shared by the host and the reader).
inline uint64_t cpuShare(uint64_t deltaNs, unsigned load) {
  // Split to keep delta * load from overflowing for long-running hosts.
  return deltaNs / 100 * load + deltaNs % 100 * load / 100;
}

// A domain's info at its last state change: `info` with the CPU time settled at sinceNs, and how it
// grows after that (onlineVcpus * cpuShare(now - sinceNs, load) while `accruing`).
struct InfoSnapshot {
  DomainInfo info;
  uint64_t sinceNs = 0;
  unsigned load = 0;
  bool accruing = false;
};

struct InfoTableLayout;

// The host's side: creates a fresh table (a new file, so clients of a previous host keep the old
// one, which names the old host's pid) and keeps it current.
class InfoTableWriter {
 public:
  static Result<InfoTableWriter> create(const std::string& dir);
  InfoTableWriter(InfoTableWriter&& other) noexcept;
  InfoTableWriter& operator=(InfoTableWriter&&) = delete;
  ~InfoTableWriter();

  void publish(const InfoSnapshot& s);
  void remove(DomId domid);
  // While set (a test fault armed on `info`), readers must make the hypercall.
  void setHypercallOnly(bool on);

 private:
  explicit InfoTableWriter(InfoTableLayout* table) : table_(table) {}
  InfoTableLayout* table_;
};

class InfoTableReader {
 public:
  static Result<InfoTableReader> open(const std::string& dir);
  InfoTableReader(InfoTableReader&& other) noexcept;
  InfoTableReader& operator=(InfoTableReader&& other) noexcept;
  ~InfoTableReader();

  pid_t hostPid() const;
  // The domain's info at nowNs, or nullopt when the table cannot answer (no such domain, a fault
  // armed, a slot that kept changing under the reader): the caller then makes the hypercall.
  std::optional<DomainInfo> read(DomId domid, uint64_t nowNs) const;

 private:
  explicit InfoTableReader(const InfoTableLayout* table) : table_(table) {}
  const InfoTableLayout* table_;
};

}  // namespace xvirt::hv::sim
