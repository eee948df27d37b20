// The domain-info table of the simulated host (docs/sim.md, "Domain info table").
#include "hypervisor/sim/SimInfoTable.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <type_traits>

#include "hypervisor/sim/SimProtocol.h"

namespace xvirt::hv::sim {

namespace {

constexpr uint64_t kMagic = 0x314f464e49535658ull;  // "XVSINFO1"
constexpr uint32_t kVersion = 1;
constexpr uint32_t kSlots = kMaxDomid + 1;
constexpr int kReadAttempts = 64;

// A slot's payload, copied in and out word by word (each word an atomic, so a torn read is detected
// by the sequence number, never undefined behaviour).
struct Payload {
  uint8_t uuid[16];
  uint64_t memKib, maxMemKib, cpuTimeNs, sinceNs;
  uint32_t domid, kind, flags, reason, nrOnlineVcpus, maxVcpuId, load, accruing;
};
constexpr size_t kWords = sizeof(Payload) / 8;
static_assert(sizeof(Payload) % 8 == 0 && std::is_trivially_copyable_v<Payload>);
static_assert(std::atomic<uint64_t>::is_always_lock_free && std::atomic<uint32_t>::is_always_lock_free);

constexpr uint32_t kDying = 1, kShutdown = 2, kPaused = 4, kBlocked = 8, kRunning = 16;

Payload pack(const InfoSnapshot& s) {
  const DomainInfo& d = s.info;
  Payload p{};
  std::memcpy(p.uuid, d.uuid.bytes.data(), sizeof p.uuid);
  p.memKib = d.memKib;
  p.maxMemKib = d.maxMemKib;
  p.cpuTimeNs = d.cpuTimeNs;
  p.sinceNs = s.sinceNs;
  p.domid = d.domid;
  p.kind = static_cast<uint32_t>(d.kind);
  p.flags = (d.dying ? kDying : 0u) | (d.shutdown ? kShutdown : 0u) | (d.paused ? kPaused : 0u) |
            (d.blocked ? kBlocked : 0u) | (d.running ? kRunning : 0u);
  p.reason = static_cast<uint32_t>(d.shutdownReason);
  p.nrOnlineVcpus = d.nrOnlineVcpus;
  p.maxVcpuId = d.maxVcpuId;
  p.load = s.load;
  p.accruing = s.accruing;
  return p;
}

DomainInfo unpack(const Payload& p, uint64_t nowNs) {
  DomainInfo d;
  std::memcpy(d.uuid.bytes.data(), p.uuid, sizeof p.uuid);
  d.domid = p.domid;
  d.kind = static_cast<DomainKind>(p.kind);
  d.dying = p.flags & kDying;
  d.shutdown = p.flags & kShutdown;
  d.paused = p.flags & kPaused;
  d.blocked = p.flags & kBlocked;
  d.running = p.flags & kRunning;
  d.shutdownReason = static_cast<ShutdownReason>(p.reason);
  d.memKib = p.memKib;
  d.maxMemKib = p.maxMemKib;
  d.nrOnlineVcpus = p.nrOnlineVcpus;
  d.maxVcpuId = p.maxVcpuId;
  d.cpuTimeNs = p.cpuTimeNs;
  if (p.accruing && nowNs > p.sinceNs) d.cpuTimeNs += uint64_t{p.nrOnlineVcpus} * cpuShare(nowNs - p.sinceNs, p.load);
  return d;
}

}  // namespace

struct Slot {
  std::atomic<uint32_t> seq;      // odd while the host writes the slot
  std::atomic<uint32_t> present;  // the domain exists
  std::atomic<uint64_t> words[kWords];
};

struct InfoTableLayout {
  uint64_t magic;
  uint32_t version;
  uint32_t slots;
  int32_t hostPid;
  std::atomic<uint32_t> hypercallOnly;
  uint8_t reserved[40];
  Slot slot[kSlots];
};
static_assert(sizeof(InfoTableLayout::reserved) + 24 == 64);

std::string infoTablePath(const std::string& dir) { return dir + "/domains.tbl"; }

Result<InfoTableWriter> InfoTableWriter::create(const std::string& dir) {
  std::string path = infoTablePath(dir), tmp = path + ".new";
  UniqueFd fd(::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return Error::system("Creating the domain-info table " + tmp, errno);
  if (::ftruncate(fd.get(), sizeof(InfoTableLayout)) < 0)
    return Error::system("Sizing the domain-info table " + tmp, errno);
  void* p = ::mmap(nullptr, sizeof(InfoTableLayout), PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (p == MAP_FAILED) return Error::system("Mapping the domain-info table " + tmp, errno);
  auto* table = static_cast<InfoTableLayout*>(p);  // a new sparse file: every slot zero, i.e. absent
  table->version = kVersion;
  table->slots = kSlots;
  table->hostPid = ::getpid();
  std::atomic_thread_fence(std::memory_order_release);
  table->magic = kMagic;
  if (::rename(tmp.c_str(), path.c_str()) < 0) {
    int err = errno;
    ::munmap(p, sizeof(InfoTableLayout));
    return Error::system("Installing the domain-info table " + path, err);
  }
  return InfoTableWriter(table);
}

InfoTableWriter::InfoTableWriter(InfoTableWriter&& other) noexcept : table_(std::exchange(other.table_, nullptr)) {}

InfoTableWriter::~InfoTableWriter() {
  if (table_) ::munmap(table_, sizeof(InfoTableLayout));
}

void InfoTableWriter::publish(const InfoSnapshot& s) {
  if (s.info.domid >= kSlots) return;
  Slot& slot = table_->slot[s.info.domid];
  Payload p = pack(s);
  uint64_t words[kWords];
  std::memcpy(words, &p, sizeof p);
  uint32_t seq = slot.seq.load(std::memory_order_relaxed);
  slot.seq.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  for (size_t i = 0; i < kWords; ++i) slot.words[i].store(words[i], std::memory_order_relaxed);
  slot.present.store(1, std::memory_order_relaxed);
  slot.seq.store(seq + 2, std::memory_order_release);
}

void InfoTableWriter::remove(DomId domid) {
  if (domid >= kSlots) return;
  Slot& slot = table_->slot[domid];
  uint32_t seq = slot.seq.load(std::memory_order_relaxed);
  slot.seq.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  slot.present.store(0, std::memory_order_relaxed);
  slot.seq.store(seq + 2, std::memory_order_release);
}

void InfoTableWriter::setHypercallOnly(bool on) { table_->hypercallOnly.store(on ? 1 : 0, std::memory_order_release); }

Result<InfoTableReader> InfoTableReader::open(const std::string& dir) {
  std::string path = infoTablePath(dir);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::system("Opening the domain-info table " + path, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) return Error::system("Reading the size of " + path, errno);
  if (static_cast<size_t>(st.st_size) != sizeof(InfoTableLayout))
    return makeError(ErrorCode::OperationFailed, "The domain-info table " + path + " has an unexpected size.");
  void* p = ::mmap(nullptr, sizeof(InfoTableLayout), PROT_READ, MAP_SHARED, fd.get(), 0);
  if (p == MAP_FAILED) return Error::system("Mapping the domain-info table " + path, errno);
  auto* table = static_cast<const InfoTableLayout*>(p);
  if (table->magic != kMagic || table->version != kVersion || table->slots != kSlots) {
    ::munmap(p, sizeof(InfoTableLayout));
    return makeError(ErrorCode::OperationFailed, "The domain-info table " + path + " is not one this client reads.");
  }
  return InfoTableReader(table);
}

InfoTableReader::InfoTableReader(InfoTableReader&& other) noexcept : table_(std::exchange(other.table_, nullptr)) {}

InfoTableReader& InfoTableReader::operator=(InfoTableReader&& other) noexcept {
  if (this != &other) {
    if (table_) ::munmap(const_cast<InfoTableLayout*>(table_), sizeof(InfoTableLayout));
    table_ = std::exchange(other.table_, nullptr);
  }
  return *this;
}

InfoTableReader::~InfoTableReader() {
  if (table_) ::munmap(const_cast<InfoTableLayout*>(table_), sizeof(InfoTableLayout));
}

pid_t InfoTableReader::hostPid() const { return table_->hostPid; }

std::optional<DomainInfo> InfoTableReader::read(DomId domid, uint64_t nowNs) const {
  if (domid >= kSlots || table_->hypercallOnly.load(std::memory_order_acquire)) return std::nullopt;
  const Slot& slot = table_->slot[domid];
  for (int attempt = 0; attempt < kReadAttempts; ++attempt) {
    uint32_t before = slot.seq.load(std::memory_order_acquire);
    if (before & 1) continue;
    bool present = slot.present.load(std::memory_order_relaxed);
    uint64_t words[kWords];
    for (size_t i = 0; i < kWords; ++i) words[i] = slot.words[i].load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (slot.seq.load(std::memory_order_relaxed) != before) continue;
    if (!present) return std::nullopt;
    Payload p;
    std::memcpy(&p, words, sizeof p);
    return unpack(p, nowNs);
  }
  return std::nullopt;
}

}  // namespace xvirt::hv::sim
