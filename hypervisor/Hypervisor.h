// Hypervisor: the domctl/sysctl subset xvirt needs, behind one interface with two backends:
// XenctrlHypervisor (libxenctrl/libxenguest on real Xen) and SimHypervisor (xvirt-simxen).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/Result.h"
#include "common/Uuid.h"

namespace xvirt::hv {

using DomId = uint32_t;

enum class DomainKind { PV, HVM, PVH };

// Xen's SHUTDOWN_* codes (public/sched.h), in Xen's numbering.
enum class ShutdownReason : int {
  Poweroff = 0,
  Reboot = 1,
  Suspend = 2,
  Crash = 3,
  Watchdog = 4,
  SoftReset = 5,
};
const char* shutdownReasonName(ShutdownReason r);

// Host CPU sets: bit i is host CPU i. Sized to PhysInfo::nrCpus by the backends.
using CpuMap = std::vector<bool>;
std::string formatCpuMap(const CpuMap& map);                       // "0-2,5"
Result<CpuMap> parseCpuSet(std::string_view text, unsigned nrCpus); // "0-3,^2" as libvirt/xl write it

struct PhysInfo {
  unsigned nrCpus = 0;
  unsigned threadsPerCore = 1;
  unsigned coresPerSocket = 1;
  unsigned nrNodes = 1;
  unsigned cpuKhz = 0;
  uint64_t totalKib = 0;
  uint64_t freeKib = 0;
  unsigned versionMajor = 0;
  unsigned versionMinor = 0;
  std::string extraVersion;            // ".0" or "-sim"
  std::vector<std::string> capabilities;  // "pv", "hvm", "hap", "pvh"
  std::string xenCaps;                 // "xen-3.0-x86_64 hvm-3.0-x86_32 ..." (xen_caps)
};

struct NodeMemory {
  uint64_t totalKib = 0;
  uint64_t freeKib = 0;
};

struct CreateParams {
  DomainKind kind = DomainKind::PV;
  Uuid uuid;
  unsigned maxVcpus = 1;
  bool hap = true;                     // HVM/PVH: hardware-assisted paging
};

struct DomainInfo {
  DomId domid = 0;
  Uuid uuid;
  DomainKind kind = DomainKind::PV;
  bool dying = false;
  bool shutdown = false;
  bool paused = false;
  bool blocked = false;
  bool running = false;
  ShutdownReason shutdownReason = ShutdownReason::Poweroff;  // valid when shutdown
  uint64_t memKib = 0;                 // pages actually held
  uint64_t maxMemKib = 0;
  unsigned nrOnlineVcpus = 0;
  unsigned maxVcpuId = 0;
  uint64_t cpuTimeNs = 0;
};

struct VcpuInfo {
  unsigned vcpu = 0;
  bool online = false;
  bool running = false;
  bool blocked = false;
  uint64_t cpuTimeNs = 0;
  int cpu = -1;                        // host CPU it last ran on
};

// What the builder leaves for the toolstack to publish in xenstore (store/ and console/ keys)
// and to pass to xs_introduce_domain.
struct BuildResult {
  uint64_t storeMfn = 0;
  uint32_t storeEvtchn = 0;
  uint64_t consoleMfn = 0;
  uint32_t consoleEvtchn = 0;
};

struct PvBuildParams {
  uint64_t memKib = 0;
  std::string kernelPath;
  std::string ramdiskPath;             // may be empty
  std::string cmdline;
};

struct HvmBuildParams {
  uint64_t memKib = 0;
  std::string firmwarePath;            // hvmloader; empty for PVH
  std::string kernelPath;              // direct boot: loaded at 0x200000 (firmware owns 0x100000)
  std::string ramdiskPath;
  std::string cmdline;
  unsigned onlineVcpus = 0;            // PVH: vCPUs enabled in the MADT; 0 for all of the domain's
};

// The guest's RAM as seen by the toolstack (foreign mapping on Xen, the sparse file on the sim).
class GuestMemory {
 public:
  virtual ~GuestMemory() = default;
  virtual uint8_t* data() = 0;
  virtual uint64_t size() const = 0;
};

// The PV console ring of one guest: bytes the guest wrote, and bytes to send it.
class ConsoleChannel {
 public:
  virtual ~ConsoleChannel() = default;
  virtual int pollFd() const = 0;              // readable when the guest may have written
  virtual Result<std::string> read() = 0;      // drains what is there (possibly nothing)
  virtual Result<size_t> write(std::string_view data) = 0;
};

class Hypervisor {
 public:
  virtual ~Hypervisor() = default;

  virtual std::string backendName() const = 0;  // "xen" or "sim"
  // Where the host's dom0 side differs between backends. On Xen, kernel blkback opens the block
  // device named in a vbd's `physical-device` (xl's block script sets up a loop device for a file);
  // the sim's backends read `params` themselves.
  virtual bool vbdNeedsPhysicalDevice() const { return false; }
  // On Xen, devices wait for the toolstack's hotplug scripts, which libxl runs: netback connects a
  // vif only once its script (vif-bridge by default: the interface onto its bridge) wrote
  // `hotplug-status`, and a vbd with a block script (xl's script=) gets its `physical-device` from
  // that script. The sim's backends connect by themselves.
  virtual bool runsHotplugScripts() const { return false; }
  // Where this backend's xenstored listens; "" for libxenstore's default (a Xen dom0's).
  virtual std::string xenstorePath() const { return ""; }
  virtual Result<PhysInfo> physInfo() = 0;
  // Each host CPU's idle time in ns since it came up, indexed by CPU (xc_getcpuinfo on Xen). Xen
  // accounts nothing else per physical CPU: no user/kernel split.
  virtual Result<std::vector<uint64_t>> pcpuIdleNs() = 0;
  // Each NUMA node's memory, indexed by node (xc_numainfo); zeros for a node Xen reports as
  // invalid, as libxl does.
  virtual Result<std::vector<NodeMemory>> nodeMemory() = 0;

  virtual Result<DomId> createDomain(const CreateParams& params) = 0;
  virtual Status setMaxMemory(DomId domid, uint64_t kib) = 0;
  virtual Status setMaxVcpus(DomId domid, unsigned n) = 0;
  virtual Result<BuildResult> buildPV(DomId domid, const PvBuildParams& params) = 0;
  virtual Result<BuildResult> buildHVM(DomId domid, const HvmBuildParams& params) = 0;

  virtual Status pause(DomId domid) = 0;
  virtual Status unpause(DomId domid) = 0;
  virtual Status shutdown(DomId domid, ShutdownReason reason) = 0;
  // Cancels a guest's own suspend (shut down with reason Suspend, as a PV guest does when asked to
  // before a save): the guest runs on from its suspend call, which returns "cancelled"
  // (xc_domain_resume, cooperative). A paused domain stays paused. OperationInvalid when the domain
  // is not suspended.
  virtual Status resumeSuspended(DomId domid) = 0;
  virtual Status destroy(DomId domid) = 0;

  virtual Result<std::vector<DomainInfo>> listDomains() = 0;
  virtual Result<DomainInfo> domainInfo(DomId domid) = 0;  // NoDomain when it does not exist
  virtual Result<VcpuInfo> vcpuInfo(DomId domid, unsigned vcpu) = 0;
  virtual Status setVcpuAffinity(DomId domid, unsigned vcpu, const CpuMap& hard) = 0;
  virtual Result<CpuMap> vcpuAffinity(DomId domid, unsigned vcpu) = 0;

  virtual Result<std::unique_ptr<GuestMemory>> mapMemory(DomId domid) = 0;
  virtual Result<std::unique_ptr<ConsoleChannel>> openConsole(DomId domid, const BuildResult& build) = 0;

  // The backend's own stream of memory and vCPU state (the libxenguest stream on Xen; zero-elided
  // page records on the sim). The domain must be paused or shut down with reason Suspend. Returns
  // the CRC-32C of the bytes written when the backend computed one as it wrote (the sim does), so
  // that a save image need not read the stream back to checksum it; nullopt otherwise.
  virtual Result<std::optional<uint32_t>> saveDomain(DomId domid, int fd) = 0;
  // Whether saveDomain returns that CRC. When it does not, a save image checksums the stream while
  // saveDomain is still writing it, from another thread (libxenguest computes none).
  virtual bool saveStreamChecksummed() const { return false; }
  // Fills a freshly created domain from a stream written by saveDomain of the same backend. ramKib
  // is the memKib the guest was built with: an HVM or PVH domain's memory map is not part of Xen's
  // stream, so the backend lays it out again from that (as the build did).
  virtual Result<BuildResult> restoreDomain(DomId domid, int fd, uint64_t ramKib) = 0;
};

enum class BackendChoice { Auto, Xen, Sim };
Result<BackendChoice> parseBackendChoice(std::string_view text);  // "auto" | "xen" | "sim"
// Whether `text` is exactly one of those names, as command lines accept them.
inline bool isBackendChoiceName(std::string_view text) { return text == "auto" || text == "xen" || text == "sim"; }

// Auto picks xen when /proc/xen/capabilities or /dev/xen/privcmd exists, else sim.
BackendChoice resolveBackend(BackendChoice choice);

// Opens the chosen backend. For sim, simDir is the simulated host's runtime directory
// (it must already be running; see sim/SimHost.h to start one). Programs use openBackend
// (Backend.h), which also starts the simulated host and applies a restart policy.
Result<std::unique_ptr<Hypervisor>> openHypervisor(BackendChoice choice, const std::string& simDir);

}  // namespace xvirt::hv
