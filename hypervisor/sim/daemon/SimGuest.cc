// The simulated guest: CPU accounting, RAM file, console ring and boot (docs/sim.md, "Guests").
#include "hypervisor/sim/daemon/SimGuest.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "hypervisor/sim/SimInfoTable.h"
#include "hypervisor/sim/SimProtocol.h"

namespace xvirt::hv::sim {

SimGuest::SimGuest(DomId domid, DomainKind k, Uuid u, unsigned nrVcpus, unsigned hostCpus)
    : id(domid), kind(k), uuid(u), nrHostCpus(hostCpus) {
  setVcpuCount(nrVcpus, 0);
}

SimGuest::~SimGuest() {
  if (ram_) ::munmap(ram_, ramBytes_);
}

void SimGuest::settle(uint64_t nowNs) {
  if (active() && nowNs > sinceNs)
    for (auto& v : vcpus)
      if (v.online) v.accruedNs += cpuShare(nowNs - sinceNs, load);
  sinceNs = nowNs;
}

uint64_t SimGuest::vcpuTimeNs(unsigned vcpu, uint64_t nowNs) const {
  uint64_t t = vcpus[vcpu].accruedNs;
  if (active() && vcpus[vcpu].online && nowNs > sinceNs) t += cpuShare(nowNs - sinceNs, load);
  return t;
}

// Without allocating: the host model asks this for every vCPU of every guest whenever it settles
// the CPUs' idle time.
int SimGuest::vcpuCpu(unsigned vcpu) const {
  const CpuMap& aff = vcpus[vcpu].affinity;
  auto allowed = static_cast<unsigned>(std::count(aff.begin(), aff.end(), true));
  if (allowed == 0) return -1;
  unsigned skip = vcpu % allowed;  // vCPU v runs on the (v mod k)-th of its k allowed CPUs
  for (unsigned c = 0; c < aff.size(); ++c)
    if (aff[c] && skip-- == 0) return static_cast<int>(c);
  return -1;
}

void SimGuest::setVcpuCount(unsigned n, uint64_t nowNs) {
  settle(nowNs);
  vcpus.resize(n);
  for (auto& v : vcpus)
    if (v.affinity.empty()) v.affinity.assign(nrHostCpus, true);
}

DomainInfo SimGuest::info(uint64_t nowNs) const {
  DomainInfo d;
  d.domid = id;
  d.uuid = uuid;
  d.kind = kind;
  d.shutdown = shutdown;
  d.shutdownReason = reason;
  d.paused = paused && !shutdown;
  d.running = active() && load > 0;
  d.blocked = active() && load == 0;
  d.memKib = memKib;
  d.maxMemKib = maxMemKib;
  d.nrOnlineVcpus = static_cast<unsigned>(std::count_if(vcpus.begin(), vcpus.end(), [](const SimVcpu& v) { return v.online; }));
  d.maxVcpuId = vcpus.empty() ? 0 : static_cast<unsigned>(vcpus.size() - 1);
  for (unsigned v = 0; v < vcpus.size(); ++v) d.cpuTimeNs += vcpuTimeNs(v, nowNs);
  return d;
}

InfoSnapshot SimGuest::snapshot() const {
  InfoSnapshot s;
  s.info = info(sinceNs);  // the CPU time settled so far
  s.sinceNs = sinceNs;
  s.load = load;
  s.accruing = active();
  return s;
}

VcpuInfo SimGuest::vcpuInfo(unsigned vcpu, uint64_t nowNs) const {
  VcpuInfo v;
  v.vcpu = vcpu;
  v.online = vcpus[vcpu].online;
  v.running = v.online && active() && load > 0;
  v.blocked = !v.running;
  v.cpuTimeNs = vcpuTimeNs(vcpu, nowNs);
  v.cpu = vcpuCpu(vcpu);
  return v;
}

Status SimGuest::resizeRam(const std::string& path, uint64_t kib) {
  if (!ramFd_) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return Error::system("Creating the RAM file " + path, errno);
    ramFd_.reset(fd);
  }
  uint64_t bytes = kib * 1024;
  if (ram_) {
    ::munmap(ram_, ramBytes_);
    ram_ = nullptr;
    ramBytes_ = 0;
  }
  if (::ftruncate(ramFd_.get(), static_cast<off_t>(bytes)) < 0)
    return Error::system("Sizing the RAM file " + path, errno);
  if (bytes == 0) return okStatus();
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, ramFd_.get(), 0);
  if (p == MAP_FAILED) return Error::system("Mapping the RAM file " + path, errno);
  ram_ = static_cast<uint8_t*>(p);
  ramBytes_ = bytes;
  return okStatus();
}

void SimGuest::releaseRam(const std::string& path) {
  if (ram_) ::munmap(ram_, ramBytes_);
  ram_ = nullptr;
  ramBytes_ = 0;
  ramFd_.reset();
  ::unlink(path.c_str());
}

static XenconsInterface* ring(uint8_t* ram, const BuildResult& b) {
  return reinterpret_cast<XenconsInterface*>(ram + b.consoleMfn * kPageSize);
}

void SimGuest::resetConsoleRing() {
  if (!hasConsole()) return;
  std::memset(ram_ + build.consoleMfn * kPageSize, 0, kPageSize);
  pendingOut_.clear();
  inputLine_.clear();
}

void SimGuest::consoleWrite(std::string_view text) {
  pendingOut_.append(text);
  // Bound what a guest nobody reads can hold, as a real console ring drops nothing but blocks; the
  // sim keeps the newest 64 KiB instead of stalling the guest.
  if (pendingOut_.size() > 65536) pendingOut_.erase(0, pendingOut_.size() - 65536);
  flushConsole();
}

bool SimGuest::flushConsole() {
  if (!hasConsole() || pendingOut_.empty()) return false;
  XenconsInterface* r = ring(ram_, build);
  // The client reads these indexes from another process: acquire/release pair with it.
  std::atomic_ref<uint32_t> cons(r->outCons), prod(r->outProd);
  uint32_t c = cons.load(std::memory_order_acquire);
  uint32_t p = prod.load(std::memory_order_relaxed);
  size_t n = 0;
  while (n < pendingOut_.size() && p - c < sizeof r->out) {
    r->out[p % sizeof r->out] = pendingOut_[n++];
    ++p;
  }
  if (n == 0) return false;
  prod.store(p, std::memory_order_release);
  pendingOut_.erase(0, n);
  return true;
}

std::vector<std::string> SimGuest::consumeInputLines() {
  std::vector<std::string> lines;
  if (!hasConsole()) return lines;
  XenconsInterface* r = ring(ram_, build);
  std::atomic_ref<uint32_t> cons(r->inCons), prod(r->inProd);
  uint32_t p = prod.load(std::memory_order_acquire);
  uint32_t c = cons.load(std::memory_order_relaxed);
  if (p - c > sizeof r->in) c = p - sizeof r->in;  // a confused client: drop what was overwritten
  for (; c != p; ++c) {
    char ch = r->in[c % sizeof r->in];
    if (ch == '\r' || ch == '\n') {
      if (ch == '\n' && inputLine_.empty()) continue;  // the \n of a \r\n pair
      lines.push_back(std::move(inputLine_));
      inputLine_.clear();
    } else if (inputLine_.size() < 4096) {
      inputLine_ += ch;
    }
  }
  cons.store(c, std::memory_order_release);
  return lines;
}

bool SimGuest::boot() {
  booted = true;
  const LoadedImage* kernel = nullptr;
  for (const auto& img : images) {
    if (img.offset + img.size > ramBytes_ || !ram_ ||
        hex64(checksum(ram_ + img.offset, img.size)) != img.sum) {
      consoleWrite("[    0.000000] xvirt-sim: the " + img.role + " image " + img.path +
                   " in guest memory is not the one that was loaded; halting.\r\n");
      return false;
    }
    if (img.role == "kernel" || (img.role == "firmware" && !kernel)) kernel = &img;
  }
  if (!kernel) {
    consoleWrite("[    0.000000] xvirt-sim: no kernel was loaded; idling.\r\n");
    return true;
  }
  consoleWrite("[    0.000000] Linux version 6.1.0 (xvirt-sim) booting " + kernel->path + " (" +
               std::to_string(kernel->size) + " bytes)\r\n");
  consoleWrite("[    0.000000] Command line: " + cmdline + "\r\n");
  consoleWrite("\r\nxvirt-sim login: ");
  return true;
}

}  // namespace xvirt::hv::sim
