// SimHypervisor: every Hypervisor call as one hypercall to xvirt-simxen (docs/sim.md). Builds copy
// images into the RAM file here, as libxenguest does through foreign mappings on Xen.
#include "hypervisor/sim/SimHypervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "common/Clock.h"
#include "hypervisor/KernelImage.h"
#include "hypervisor/PvhAcpi.h"
#include "hypervisor/sim/SimProtocol.h"
#include "hypervisor/sim/SimSaveStream.h"

namespace xvirt::hv {

namespace sim {

namespace {

constexpr int kReplyTimeoutMs = 120000;  // generous: a `slow` fault may delay replies on purpose

std::string dom(DomId d) { return std::to_string(d); }

class MappedMemory final : public GuestMemory {
 public:
  MappedMemory(UniqueFd fd, uint8_t* data, uint64_t size) : fd_(std::move(fd)), data_(data), size_(size) {}
  ~MappedMemory() override { ::munmap(data_, size_); }
  uint8_t* data() override { return data_; }
  uint64_t size() const override { return size_; }
  int fd() const { return fd_.get(); }

 private:
  UniqueFd fd_;
  uint8_t* data_;
  uint64_t size_;
};

Result<std::unique_ptr<MappedMemory>> mapRamFile(const std::string& simDir, DomId domid, bool writable) {
  std::string path = ramFilePath(simDir, domid);
  UniqueFd fd(::open(path.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC));
  if (!fd) return Error::system("Opening the memory of domain " + dom(domid) + " (" + path + ")", errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) return Error::system("Reading the size of " + path, errno);
  if (st.st_size == 0)
    return makeError(ErrorCode::OperationInvalid, "Domain " + dom(domid) + " has no memory yet.");
  void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), writable ? PROT_READ | PROT_WRITE : PROT_READ,
                   MAP_SHARED, fd.get(), 0);
  if (p == MAP_FAILED) return Error::system("Mapping the memory of domain " + dom(domid), errno);
  return std::make_unique<MappedMemory>(std::move(fd), static_cast<uint8_t*>(p), static_cast<uint64_t>(st.st_size));
}

// One page of a domain's RAM file: all the console needs to keep mapped for the guest's lifetime
// (mapping the whole file would let fault-around pull neighbouring pages into the helper's RSS).
Result<std::unique_ptr<MappedMemory>> mapRamPage(const std::string& simDir, DomId domid, uint64_t page) {
  std::string path = ramFilePath(simDir, domid);
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) return Error::system("Opening the memory of domain " + dom(domid) + " (" + path + ")", errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) return Error::system("Reading the size of " + path, errno);
  if ((page + 1) * kPageSize > static_cast<uint64_t>(st.st_size))
    return makeError(ErrorCode::InvalidArgument, "The console page of domain " + dom(domid) + " is outside its memory.");
  void* p = ::mmap(nullptr, kPageSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), static_cast<off_t>(page * kPageSize));
  if (p == MAP_FAILED) return Error::system("Mapping the console page of domain " + dom(domid), errno);
  return std::make_unique<MappedMemory>(std::move(fd), static_cast<uint8_t*>(p), kPageSize);
}

// The console: the ring in guest RAM plus a console_attach connection as its event channel.
class SimConsole final : public ConsoleChannel {
 public:
  SimConsole(DomId domid, std::unique_ptr<MappedMemory> mem, uint64_t ringOffset, UniqueFd evtchn)
      : domid_(domid), mem_(std::move(mem)), ring_(reinterpret_cast<XenconsInterface*>(mem_->data() + ringOffset)),
        evtchn_(std::move(evtchn)) {}

  int pollFd() const override { return evtchn_.get(); }

  Result<std::string> read() override {
    char buf[256];
    for (;;) {
      ssize_t n = ::recv(evtchn_.get(), buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) continue;
      if (n == 0) closed_ = true;
      break;
    }
    std::atomic_ref<uint32_t> cons(ring_->outCons), prod(ring_->outProd);
    uint32_t p = prod.load(std::memory_order_acquire);
    uint32_t c = cons.load(std::memory_order_relaxed);
    if (p - c > sizeof ring_->out) c = p - sizeof ring_->out;
    std::string out;
    for (; c != p; ++c) out += ring_->out[c % sizeof ring_->out];
    cons.store(c, std::memory_order_release);
    if (!out.empty()) notify();  // the guest may have output waiting for ring space
    else if (closed_)
      return makeError(ErrorCode::OperationFailed, "The console of domain " + dom(domid_) + " closed.");
    return out;
  }

  Result<size_t> write(std::string_view data) override {
    if (closed_) return makeError(ErrorCode::OperationFailed, "The console of domain " + dom(domid_) + " closed.");
    std::atomic_ref<uint32_t> cons(ring_->inCons), prod(ring_->inProd);
    uint32_t c = cons.load(std::memory_order_acquire);
    uint32_t p = prod.load(std::memory_order_relaxed);
    size_t n = 0;
    while (n < data.size() && p - c < sizeof ring_->in) ring_->in[p++ % sizeof ring_->in] = data[n++];
    prod.store(p, std::memory_order_release);
    if (n > 0) notify();
    return n;
  }

 private:
  void notify() { (void)::send(evtchn_.get(), "\x01", 1, MSG_DONTWAIT | MSG_NOSIGNAL); }

  DomId domid_;
  std::unique_ptr<MappedMemory> mem_;
  XenconsInterface* ring_;
  UniqueFd evtchn_;
  bool closed_ = false;
};

// A reply's list of non-negative integers under `key` (pcpu_info, numa_info).
Result<std::vector<uint64_t>> u64List(const Json& j, const char* key, const char* op) {
  const Json* list = j.get(key);
  if (!list || !list->isArray())
    return makeError(ErrorCode::OperationFailed, std::string("The simulated host's '") + op + "' reply has no list '" + key + "'.");
  std::vector<uint64_t> out;
  for (const auto& v : list->asArray()) {
    if (!v.isInt() || v.asInt() < 0)
      return makeError(ErrorCode::OperationFailed, std::string("The simulated host's '") + op + "' reply holds a value that is no count.");
    out.push_back(static_cast<uint64_t>(v.asInt()));
  }
  return out;
}

Result<uint64_t> fileSize(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) < 0) return Error::system("Reading the size of " + path, errno);
  return static_cast<uint64_t>(st.st_size);
}

}  // namespace

Result<SimConnection> SimConnection::connect(const std::string& simDir) {
  std::string path = hypercallSocketPath(simDir);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    return makeError(ErrorCode::InvalidArgument, "The socket path " + path + " is too long.");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Error::system("Creating a socket", errno);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    int err = errno;
    return Error{ErrorCode::OperationFailed,
                 "No simulated Xen host answers in " + simDir + " (" + path + ": " + std::strerror(err) + ").", err};
  }
  // Replies are awaited in a blocking recv() that gives up after the reply timeout: one system call
  // per reply instead of poll() + recv() (domain info is asked on every virDomainGetInfo).
  timeval timeout{kReplyTimeoutMs / 1000, (kReplyTimeoutMs % 1000) * 1000};
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) < 0)
    return Error::system("Setting the reply timeout of " + path, errno);
  SimConnection c;
  c.simDir_ = simDir;
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) c.hostPid_ = cred.pid;
  c.fd_ = std::move(fd);
  return c;
}

bool SimConnection::healthy() const {
  if (!fd_) return false;
  pollfd p{fd_.get(), POLLIN, 0};
  int n = ::poll(&p, 1, 0);
  return n == 0 && buffered_.empty();
}

Result<Json> SimConnection::call(const std::string& op, Json args) {
  if (!fd_) {
    XVIRT_ASSIGN_OR_RETURN(SimConnection fresh, connect(simDir_));
    if (fresh.hostPid_ != hostPid_ && !followRestarts_)
      return makeError(ErrorCode::OperationFailed, "The simulated Xen host in " + simDir_ +
                                                       " was restarted; the domains known to this connection died with the old one.");
    hostPid_ = fresh.hostPid_;
    fd_ = std::move(fresh.fd_);
    buffered_.clear();
  }
  Json req = Json::object({{"op", op}});
  if (args.isObject())
    for (auto& [k, v] : args.asObject()) req.set(k, std::move(v));
  std::string line = req.dump() + "\n";
  auto lost = [&](const std::string& why) -> Error {
    fd_.reset();  // the next call reconnects: a restarted daemon is picked up
    return makeError(ErrorCode::OperationFailed,
                     "The simulated Xen host in " + simDir_ + " stopped answering (" + why + ") during '" + op + "'.");
  };
  for (size_t off = 0; off < line.size();) {
    ssize_t n = ::send(fd_.get(), line.data() + off, line.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return lost(std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  size_t nl;
  while ((nl = buffered_.find('\n')) == std::string::npos) {
    char buf[65536];
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return lost("no reply in time");
    if (n <= 0) return lost(n == 0 ? "connection closed" : std::strerror(errno));
    buffered_.append(buf, static_cast<size_t>(n));
    if (buffered_.size() > kMaxLineBytes * 16) return lost("reply too long");
  }
  std::string reply = buffered_.substr(0, nl);
  buffered_.erase(0, nl + 1);
  auto j = Json::parse(reply);
  if (!j.ok()) return lost("malformed reply");
  return decodeReply(*j);
}

SimHypervisor::SimHypervisor(std::string simDir, SimConnection conn)
    : simDir_(std::move(simDir)), conn_(std::move(conn)) {}

std::string SimHypervisor::xenstorePath() const { return xenstoreSocketPath(simDir_); }

Result<Json> SimHypervisor::call(const std::string& op, Json args) {
  std::lock_guard lock(mutex_);
  return conn_.call(op, std::move(args));
}

Status SimHypervisor::status(const std::string& op, Json args) {
  XVIRT_TRY(call(op, std::move(args)));
  return okStatus();
}

Result<PhysInfo> SimHypervisor::physInfo() {
  XVIRT_ASSIGN_OR_RETURN(Json j, call("physinfo", Json::object()));
  XVIRT_ASSIGN_OR_RETURN(PhysInfo p, physInfoFromJson(j));
  nrCpus_ = p.nrCpus;
  return p;
}

Result<std::vector<uint64_t>> SimHypervisor::pcpuIdleNs() {
  XVIRT_ASSIGN_OR_RETURN(Json j, call("pcpu_info", Json::object()));
  return u64List(j, "idle_ns", "pcpu_info");
}

Result<std::vector<NodeMemory>> SimHypervisor::nodeMemory() {
  XVIRT_ASSIGN_OR_RETURN(Json j, call("numa_info", Json::object()));
  XVIRT_ASSIGN_OR_RETURN(std::vector<uint64_t> total, u64List(j, "total_kib", "numa_info"));
  XVIRT_ASSIGN_OR_RETURN(std::vector<uint64_t> freeKib, u64List(j, "free_kib", "numa_info"));
  if (total.size() != freeKib.size())
    return makeError(ErrorCode::OperationFailed, "The simulated host's 'numa_info' reply has lists of different lengths.");
  std::vector<NodeMemory> out;
  for (size_t i = 0; i < total.size(); ++i) out.push_back(NodeMemory{total[i], freeKib[i]});
  return out;
}

Result<DomId> SimHypervisor::createDomain(const CreateParams& params) {
  XVIRT_ASSIGN_OR_RETURN(Json j, call("create", Json::object({{"kind", kindName(params.kind)},
                                                              {"uuid", params.uuid.str()},
                                                              {"max_vcpus", params.maxVcpus},
                                                              {"hap", params.hap}})));
  return static_cast<DomId>(j.getInt("domid"));
}

Status SimHypervisor::setMaxMemory(DomId domid, uint64_t kib) {
  return status("set_max_mem", Json::object({{"domid", domid}, {"kib", kib}}));
}

Status SimHypervisor::setMaxVcpus(DomId domid, unsigned n) {
  return status("set_max_vcpus", Json::object({{"domid", domid}, {"n", n}}));
}

Result<BuildResult> SimHypervisor::build(DomId domid, const char* op, uint64_t memKib,
                                         const std::vector<Image>& images, const std::string& cmdline) {
  XVIRT_ASSIGN_OR_RETURN(auto mem, mapRamFile(simDir_, domid, true));
  uint64_t memBytes = std::min(memKib * 1024 / kPageSize * kPageSize, mem->size());
  // The last two pages hold the xenstore and console rings.
  uint64_t limit = memBytes >= 2 * kPageSize ? memBytes - 2 * kPageSize : 0;
  Json list = Json::array();
  for (const Image& img : images) {
    UniqueFd fd(::open(img.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return Error::system("Opening the " + img.role + " " + img.path, errno);
    XVIRT_ASSIGN_OR_RETURN(uint64_t wholeSize, fileSize(fd.get(), img.path));
    uint64_t size = wholeSize > img.fileOffset ? wholeSize - img.fileOffset : 0;
    if (img.offset + size > limit)
      return makeError(ErrorCode::OperationFailed, "The " + img.role + " " + img.path + " (" + std::to_string(size) +
                                                       " bytes) does not fit in the " + std::to_string(memKib) +
                                                       " KiB of domain " + dom(domid) + ".");
    uint8_t* dst = mem->data() + img.offset;
    for (uint64_t done = 0; done < size;) {
      ssize_t n = ::pread(fd.get(), dst + done, size - done, static_cast<off_t>(img.fileOffset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Error::system("Reading the " + img.role + " " + img.path, errno);
      if (n == 0) return makeError(ErrorCode::OperationFailed, "The " + img.role + " " + img.path + " shrank while loading.");
      done += static_cast<uint64_t>(n);
    }
    list.push(Json::object({{"role", img.role}, {"path", img.path}, {"offset", img.offset}, {"size", size},
                            {"sum", hex64(checksum(dst, size))}}));
  }
  XVIRT_ASSIGN_OR_RETURN(Json j, call(op, Json::object({{"domid", domid},
                                                        {"mem_kib", memKib},
                                                        {"images", std::move(list)},
                                                        {"cmdline", cmdline}})));
  return buildResultFromJson(j);
}

static uint64_t after(const std::string& path, uint64_t offset) {
  struct stat st {};
  uint64_t size = ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  return (offset + size + kPageSize - 1) / kPageSize * kPageSize;
}

Result<BuildResult> SimHypervisor::buildPV(DomId domid, const PvBuildParams& p) {
  std::vector<Image> images;
  if (!p.kernelPath.empty()) images.push_back({"kernel", p.kernelPath, kPvKernelOffset});
  if (!p.ramdiskPath.empty()) images.push_back({"ramdisk", p.ramdiskPath, after(p.kernelPath, kPvKernelOffset)});
  return build(domid, "build_pv", p.memKib, images, p.cmdline);
}

Result<BuildResult> SimHypervisor::buildHVM(DomId domid, const HvmBuildParams& p) {
  std::vector<Image> images;
  if (!p.firmwarePath.empty()) {
    struct stat st {};
    if (::stat(p.firmwarePath.c_str(), &st) == 0 &&
        static_cast<uint64_t>(st.st_size) > kHvmKernelOffset - kHvmFirmwareOffset && !p.kernelPath.empty())
      return makeError(ErrorCode::OperationFailed, "The firmware " + p.firmwarePath + " is larger than 1 MiB and "
                                                   "would overlap the kernel at 0x200000.");
    images.push_back({"firmware", p.firmwarePath, kHvmFirmwareOffset});
  } else {
    // PVH: Xen's builder gives the guest ACPI tables above its RAM, where the sim's flat RAM file has
    // nothing; they are built all the same, so that what Xen refuses (too many vCPUs) fails here too.
    XVIRT_ASSIGN_OR_RETURN(DomainInfo info, domainInfo(domid));
    XVIRT_TRY(buildPvhAcpiTables(info.maxVcpuId + 1, p.onlineVcpus));
  }
  uint64_t next = kHvmKernelOffset;
  if (!p.kernelPath.empty()) {
    // Only a bzImage's protected-mode part goes to 0x200000; its setup sectors stay in the file.
    XVIRT_ASSIGN_OR_RETURN(KernelPayload payload, inspectKernel(p.kernelPath));
    images.push_back({"kernel", p.kernelPath, kHvmKernelOffset, payload.fileOffset});
    next = (kHvmKernelOffset + payload.size + kPageSize - 1) / kPageSize * kPageSize;
  }
  if (!p.ramdiskPath.empty()) images.push_back({"ramdisk", p.ramdiskPath, next});
  return build(domid, "build_hvm", p.memKib, images, p.cmdline);
}

Status SimHypervisor::pause(DomId domid) { return status("pause", Json::object({{"domid", domid}})); }
Status SimHypervisor::unpause(DomId domid) { return status("unpause", Json::object({{"domid", domid}})); }
Status SimHypervisor::resumeSuspended(DomId domid) { return status("resume", Json::object({{"domid", domid}})); }
Status SimHypervisor::destroy(DomId domid) { return status("destroy", Json::object({{"domid", domid}})); }

Status SimHypervisor::shutdown(DomId domid, ShutdownReason reason) {
  return status("shutdown", Json::object({{"domid", domid}, {"reason", static_cast<int>(reason)}}));
}

Result<std::vector<DomainInfo>> SimHypervisor::listDomains() {
  XVIRT_ASSIGN_OR_RETURN(Json j, call("list", Json::object()));
  std::vector<DomainInfo> out;
  if (const Json* list = j.get("domains"); list && list->isArray())
    for (const auto& d : list->asArray()) {
      XVIRT_ASSIGN_OR_RETURN(DomainInfo info, domainInfoFromJson(d));
      out.push_back(std::move(info));
    }
  return out;
}

// Read from the host's domain-info table, as Xen's getdomaininfo reads hypervisor memory: no round
// trip to xvirt-simxen. Only while the connection shows the host alive (a dead host's table would
// still list its domains) and the table is that host's; anything else takes the hypercall, which
// reports a lost host or follows a restarted one.
std::optional<DomainInfo> SimHypervisor::infoFromTable(DomId domid) {
  if (!conn_.healthy()) return std::nullopt;
  if (!infoTable_ || infoTable_->hostPid() != conn_.hostPid()) {
    auto table = InfoTableReader::open(simDir_);
    if (!table.ok() || table->hostPid() != conn_.hostPid()) {
      infoTable_.reset();
      return std::nullopt;
    }
    infoTable_.emplace(std::move(table).value());
  }
  return infoTable_->read(domid, SystemClock::instance().monotonicNs());
}

Result<DomainInfo> SimHypervisor::domainInfo(DomId domid) {
  {
    std::lock_guard lock(mutex_);
    if (auto info = infoFromTable(domid)) return *info;
  }
  XVIRT_ASSIGN_OR_RETURN(Json j, call("info", Json::object({{"domid", domid}})));
  return domainInfoFromJson(j);
}

Result<VcpuInfo> SimHypervisor::vcpuInfo(DomId domid, unsigned vcpu) {
  XVIRT_ASSIGN_OR_RETURN(Json j, call("vcpu_info", Json::object({{"domid", domid}, {"vcpu", vcpu}})));
  return vcpuInfoFromJson(j);
}

Status SimHypervisor::setVcpuAffinity(DomId domid, unsigned vcpu, const CpuMap& hard) {
  return status("set_affinity", Json::object({{"domid", domid}, {"vcpu", vcpu}, {"cpus", cpuMapToJson(hard)}}));
}

Result<CpuMap> SimHypervisor::vcpuAffinity(DomId domid, unsigned vcpu) {
  XVIRT_ASSIGN_OR_RETURN(Json j, call("get_affinity", Json::object({{"domid", domid}, {"vcpu", vcpu}})));
  const Json* cpus = j.get("cpus");
  if (!cpus) return makeError(ErrorCode::Corrupt, "The simulated Xen host's affinity reply has no 'cpus'.");
  return cpuMapFromJson(*cpus, static_cast<unsigned>(j.getInt("nr_cpus")));
}

Result<std::unique_ptr<GuestMemory>> SimHypervisor::mapMemory(DomId domid) {
  XVIRT_TRY(domainInfo(domid));  // NoDomain rather than a missing file
  XVIRT_ASSIGN_OR_RETURN(auto mem, mapRamFile(simDir_, domid, true));
  return std::unique_ptr<GuestMemory>(std::move(mem));
}

Result<std::unique_ptr<ConsoleChannel>> SimHypervisor::openConsole(DomId domid, const BuildResult& build) {
  XVIRT_ASSIGN_OR_RETURN(auto mem, mapRamPage(simDir_, domid, build.consoleMfn));
  // A connection of its own: after console_attach it carries only event-channel bytes.
  XVIRT_ASSIGN_OR_RETURN(SimConnection conn, SimConnection::connect(simDir_));
  XVIRT_TRY(conn.call("console_attach", Json::object({{"domid", domid}})));
  return std::unique_ptr<ConsoleChannel>(std::make_unique<SimConsole>(domid, std::move(mem), 0, conn.releaseFd()));
}

Result<std::optional<uint32_t>> SimHypervisor::saveDomain(DomId domid, int fd) {
  XVIRT_ASSIGN_OR_RETURN(Json context, call("get_context", Json::object({{"domid", domid}})));
  XVIRT_ASSIGN_OR_RETURN(auto mem, mapRamFile(simDir_, domid, false));
  XVIRT_ASSIGN_OR_RETURN(uint32_t crc, writeSaveStream(fd, mem->fd(), mem->size(), context));
  return std::optional<uint32_t>(crc);
}

// The sim's RAM is one flat file whose size the stream gives; it has no memory map to lay out.
Result<BuildResult> SimHypervisor::restoreDomain(DomId domid, int fd, uint64_t /*ramKib*/) {
  std::unique_ptr<MappedMemory> mem;
  auto openRam = [&](uint64_t ramBytes) -> Result<int> {
    XVIRT_ASSIGN_OR_RETURN(DomainInfo info, domainInfo(domid));
    if (info.maxMemKib * 1024 < ramBytes) XVIRT_TRY(setMaxMemory(domid, ramBytes / 1024));
    XVIRT_ASSIGN_OR_RETURN(mem, mapRamFile(simDir_, domid, true));
    return mem->fd();
  };
  XVIRT_ASSIGN_OR_RETURN(Json context, readSaveStream(fd, openRam));
  XVIRT_ASSIGN_OR_RETURN(Json j, call("set_context", Json::object({{"domid", domid}, {"context", std::move(context)}})));
  return buildResultFromJson(j);
}

Status SimHypervisor::setLoad(DomId domid, unsigned percent) {
  return status("set_load", Json::object({{"domid", domid}, {"load", percent}}));
}

Status SimHypervisor::crash(DomId domid) { return status("crash", Json::object({{"domid", domid}})); }

Status SimHypervisor::fault(Json args) { return status("fault", std::move(args)); }

}  // namespace sim

Result<std::unique_ptr<Hypervisor>> openSimHypervisor(const std::string& simDir) {
  XVIRT_ASSIGN_OR_RETURN(sim::SimConnection conn, sim::SimConnection::connect(simDir));
  return std::unique_ptr<Hypervisor>(std::make_unique<sim::SimHypervisor>(simDir, std::move(conn)));
}

}  // namespace xvirt::hv
