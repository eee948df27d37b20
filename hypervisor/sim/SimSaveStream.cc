// The save stream of the simulated host (docs/sim.md, "Save stream").
#include "hypervisor/sim/SimSaveStream.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "hypervisor/sim/SimProtocol.h"

namespace xvirt::hv::sim {

namespace {

constexpr char kMagic[8] = {'X', 'V', 'S', 'I', 'M', 'S', 'A', 'V'};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kContext = 1;
constexpr uint32_t kPages = 2;
constexpr uint32_t kEnd = 0xffffffffu;
constexpr uint32_t kMaxBatch = 256;
constexpr uint64_t kMaxContextBytes = 16u << 20;
constexpr uint64_t kMaxRamBytes = 1ull << 40;

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t pageSize;
  uint64_t ramBytes;
  uint64_t reserved;
};
struct RecordHeader {
  uint32_t type;
  uint32_t count;
  uint64_t length;
};

class Writer {
 public:
  explicit Writer(int fd) : fd_(fd) {}
  Status put(const void* data, size_t len) {
    sum_ = checksum(data, len, sum_);
    const auto* p = static_cast<const char*>(data);
    while (len > 0) {
      ssize_t n = ::write(fd_, p, len);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Error::system("Writing the save stream", errno);
      }
      p += n;
      len -= static_cast<size_t>(n);
    }
    return okStatus();
  }
  uint64_t sum() const { return sum_; }

 private:
  int fd_;
  uint64_t sum_ = checksum(nullptr, 0);
};

class Reader {
 public:
  explicit Reader(int fd) : fd_(fd) {}
  Status get(void* data, size_t len) {
    auto* p = static_cast<char*>(data);
    size_t want = len;
    while (len > 0) {
      ssize_t n = ::read(fd_, p, len);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Error::system("Reading the save stream", errno);
      }
      if (n == 0) return makeError(ErrorCode::Corrupt, "The save stream ends early: it is truncated.");
      p += n;
      len -= static_cast<size_t>(n);
    }
    sum_ = checksum(data, want, sum_);
    return okStatus();
  }
  uint64_t sum() const { return sum_; }

 private:
  int fd_;
  uint64_t sum_ = checksum(nullptr, 0);
};

bool isZero(const uint8_t* p) {
  static const uint8_t zero[kPageSize] = {};
  return std::memcmp(p, zero, kPageSize) == 0;
}

}  // namespace

Status writeSaveStream(int outFd, int ramFd, const uint8_t* ram, uint64_t ramBytes, const Json& context) {
  Writer w(outFd);
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kVersion;
  h.pageSize = kPageSize;
  h.ramBytes = ramBytes;
  XVIRT_TRY(w.put(&h, sizeof h));
  std::string ctx = context.dump();
  RecordHeader rc{kContext, 0, ctx.size()};
  XVIRT_TRY(w.put(&rc, sizeof rc));
  XVIRT_TRY(w.put(ctx.data(), ctx.size()));

  std::vector<uint64_t> batch;
  auto flushBatch = [&]() -> Status {
    if (batch.empty()) return okStatus();
    RecordHeader rp{kPages, static_cast<uint32_t>(batch.size()), batch.size() * (8 + kPageSize)};
    XVIRT_TRY(w.put(&rp, sizeof rp));
    XVIRT_TRY(w.put(batch.data(), batch.size() * 8));
    for (uint64_t pfn : batch) XVIRT_TRY(w.put(ram + pfn * kPageSize, kPageSize));
    batch.clear();
    return okStatus();
  };
  // Holes in the sparse file are zero pages the guest never touched: skip them without reading.
  off_t pos = 0;
  while (static_cast<uint64_t>(pos) < ramBytes) {
    off_t data = ::lseek(ramFd, pos, SEEK_DATA);
    if (data < 0) break;  // ENXIO: no data after pos
    off_t hole = ::lseek(ramFd, data, SEEK_HOLE);
    if (hole < 0) hole = static_cast<off_t>(ramBytes);
    uint64_t end = std::min<uint64_t>(static_cast<uint64_t>(hole), ramBytes);
    for (uint64_t pfn = static_cast<uint64_t>(data) / kPageSize; pfn * kPageSize < end; ++pfn) {
      if (isZero(ram + pfn * kPageSize)) continue;
      batch.push_back(pfn);
      if (batch.size() == kMaxBatch) XVIRT_TRY(flushBatch());
    }
    pos = static_cast<off_t>((end + kPageSize - 1) / kPageSize * kPageSize);
  }
  XVIRT_TRY(flushBatch());
  RecordHeader re{kEnd, 0, 8};
  XVIRT_TRY(w.put(&re, sizeof re));
  uint64_t sum = w.sum();
  return w.put(&sum, sizeof sum);
}

Result<Json> readSaveStream(int inFd, const std::function<Result<uint8_t*>(uint64_t)>& mapRam) {
  Reader r(inFd);
  Header h{};
  XVIRT_TRY(r.get(&h, sizeof h));
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0)
    return makeError(ErrorCode::Corrupt, "The stream is not a simulated Xen host save stream.");
  if (h.version != kVersion)
    return makeError(ErrorCode::Corrupt, "The save stream has version " + std::to_string(h.version) +
                                             "; this host reads version " + std::to_string(kVersion) + ".");
  if (h.pageSize != kPageSize || h.ramBytes == 0 || h.ramBytes % kPageSize || h.ramBytes > kMaxRamBytes)
    return makeError(ErrorCode::Corrupt, "The save stream's header is damaged.");
  XVIRT_ASSIGN_OR_RETURN(uint8_t * ram, mapRam(h.ramBytes));
  uint64_t pages = h.ramBytes / kPageSize;
  std::optional<Json> context;
  for (;;) {
    RecordHeader rh{};
    XVIRT_TRY(r.get(&rh, sizeof rh));
    if (rh.type == kEnd) {
      uint64_t expected = r.sum();
      uint64_t sum = 0;
      if (rh.length != 8) return makeError(ErrorCode::Corrupt, "The save stream's end record is damaged.");
      XVIRT_TRY(r.get(&sum, sizeof sum));
      if (sum != expected)
        return makeError(ErrorCode::Corrupt, "The save stream's checksum does not match: it was altered or damaged.");
      if (!context) return makeError(ErrorCode::Corrupt, "The save stream has no guest context.");
      return std::move(*context);
    }
    if (rh.type == kContext) {
      if (context || rh.length > kMaxContextBytes)
        return makeError(ErrorCode::Corrupt, "The save stream's context record is damaged.");
      std::string text(rh.length, '\0');
      XVIRT_TRY(r.get(text.data(), text.size()));
      auto j = Json::parse(text);
      if (!j.ok() || !j->isObject()) return makeError(ErrorCode::Corrupt, "The save stream's context record is damaged.");
      context = std::move(j).value();
    } else if (rh.type == kPages) {
      if (rh.count == 0 || rh.count > kMaxBatch || rh.length != rh.count * (8 + kPageSize))
        return makeError(ErrorCode::Corrupt, "A memory record of the save stream is damaged.");
      std::vector<uint64_t> pfns(rh.count);
      XVIRT_TRY(r.get(pfns.data(), pfns.size() * 8));
      for (uint64_t pfn : pfns)
        if (pfn >= pages) return makeError(ErrorCode::Corrupt, "A memory record names a page beyond the guest's memory.");
      for (uint64_t pfn : pfns) XVIRT_TRY(r.get(ram + pfn * kPageSize, kPageSize));
    } else {
      return makeError(ErrorCode::Corrupt, "The save stream has a record of unknown type " + std::to_string(rh.type) + ".");
    }
  }
}

}  // namespace xvirt::hv::sim
