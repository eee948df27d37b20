// The save image format (docs/save-image.md). All integers are little-endian.
#include "common/SaveImage.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <cstring>
#include <thread>
#include <vector>

#include "common/Crc32c.h"
#include "common/File.h"
#include "common/PageBuffer.h"

namespace xvirt::saveimg {

static_assert(std::endian::native == std::endian::little, "save images are little-endian");

namespace {

struct FileHeader {
  char magic[16];
  uint32_t version;
  uint32_t headerBytes;
  uint64_t flags;
};
static_assert(sizeof(FileHeader) == 32);

struct RecordHeader {
  uint32_t type;
  uint32_t flags;
  uint64_t length;
};
static_assert(sizeof(RecordHeader) == 16);

struct EndPayload {
  uint32_t crc;
  uint32_t reserved;
};
constexpr uint64_t kEndBytes = sizeof(RecordHeader) + sizeof(EndPayload);
constexpr uint64_t kMaxSmallRecord = 64u << 20;
constexpr size_t kIoChunk = 1u << 20;

Error corrupt(const std::string& path, const std::string& what) {
  return makeError(ErrorCode::Corrupt, "The save image " + path + " " + what);
}

Status preadAll(int fd, void* buf, size_t len, uint64_t off, const std::string& path) {
  auto* p = static_cast<char*>(buf);
  while (len > 0) {
    ssize_t n = ::pread(fd, p, len, static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::system("Cannot read the save image " + path, errno);
    }
    if (n == 0) return corrupt(path, "is truncated.");
    p += n;
    off += static_cast<uint64_t>(n);
    len -= static_cast<size_t>(n);
  }
  return okStatus();
}

// CRC-32C of [from, to) of the file, read in 1 MiB pieces. Not mapped: on the development VM
// (paravirtualised MMU) setting up and tearing down the page tables of a MAP_POPULATE mapping cost
// eight times the CPU of copying the same bytes with pread. Each piece lands in a page-aligned
// buffer at its file offset's place within a page, so the kernel's copy runs source and
// destination in step (common/PageBuffer.h: five times faster than into a malloc'd buffer).
Result<uint32_t> crcRange(int fd, uint64_t from, uint64_t to, uint32_t crc, const std::string& path) {
  PageBuffer buf(kIoChunk);
  (void)::posix_fadvise(fd, static_cast<off_t>(from), static_cast<off_t>(to - from), POSIX_FADV_SEQUENTIAL);
  for (uint64_t off = from; off < to;) {
    size_t lead = static_cast<size_t>(off % PageBuffer::kAlign);
    size_t want = static_cast<size_t>(std::min<uint64_t>(kIoChunk - lead, to - off));
    XVIRT_TRY(preadAll(fd, buf.chars() + lead, want, off, path));
    crc = crc32c(crc, buf.chars() + lead, want);
    off += want;
  }
  return crc;
}

// CRC-32C of [from, to) on as many threads as this process may run on (at most 4), each over its
// own slice, joined with crc32cCombine. Checking a whole image is a pass before any domain exists;
// sliced, it costs half the wall time on two CPUs (and under emulation, where crc32 and the copy
// are slow, that is seconds: docs/xen-harness.md).
Result<uint32_t> crcRangeParallel(int fd, uint64_t from, uint64_t to, uint32_t crc, const std::string& path) {
  constexpr uint64_t kMinSlice = 16u << 20;
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  unsigned usable = ::sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? static_cast<unsigned>(CPU_COUNT(&cpus)) : 1;
  uint64_t slices = std::min<uint64_t>({usable, 4, (to - from) / kMinSlice});
  if (slices <= 1) return crcRange(fd, from, to, crc, path);
  uint64_t step = (to - from) / slices / kIoChunk * kIoChunk;
  std::vector<Result<uint32_t>> parts(slices, Result<uint32_t>(0u));
  std::vector<std::thread> workers;
  auto bounds = [&](uint64_t i) { return std::make_pair(from + i * step, i + 1 == slices ? to : from + (i + 1) * step); };
  for (uint64_t i = 1; i < slices; ++i)
    workers.emplace_back([&, i] { parts[i] = crcRange(fd, bounds(i).first, bounds(i).second, 0, path); });
  parts[0] = crcRange(fd, bounds(0).first, bounds(0).second, crc, path);
  for (auto& t : workers) t.join();
  XVIRT_ASSIGN_OR_RETURN(crc, std::move(parts[0]));
  for (uint64_t i = 1; i < slices; ++i) {
    XVIRT_ASSIGN_OR_RETURN(uint32_t part, std::move(parts[i]));
    crc = crc32cCombine(crc, part, bounds(i).second - bounds(i).first);
  }
  return crc;
}

// Checksums a file from `from` on while another thread is still appending to it: reads whole
// pieces below the file's current size, then, once finish(end) is called, the rest up to `end`.
class GrowingFileCrc {
 public:
  GrowingFileCrc(int fd, uint64_t from, std::string path) : fd_(fd), from_(from), path_(std::move(path)) {
    thread_ = std::thread([this] { result_ = run(); });
  }
  ~GrowingFileCrc() { (void)finish(std::nullopt); }
  // The CRC of [from, end) once the writer is done; nullopt end abandons it.
  Result<uint32_t> finish(std::optional<uint64_t> end) {
    {
      std::lock_guard lock(mu_);
      if (finished_) return makeError(ErrorCode::Internal, "The checksum of " + path_ + " was already taken.");
      finished_ = true;
      end_ = end;
    }
    cv_.notify_all();
    thread_.join();
    return std::move(result_);
  }

 private:
  Result<uint32_t> run() {
    PageBuffer buf(kIoChunk);
    uint32_t crc = 0;
    for (uint64_t off = from_;;) {
      bool done;
      uint64_t limit;
      {
        std::unique_lock lock(mu_);
        done = finished_;
        if (done && !end_) return makeError(ErrorCode::OperationFailed, "Abandoned.");
        limit = done ? *end_ : 0;
      }
      if (!done) {
        struct stat st {};
        if (::fstat(fd_, &st) < 0) return Error::system("Cannot read the size of " + path_, errno);
        limit = static_cast<uint64_t>(st.st_size);
      }
      size_t lead = static_cast<size_t>(off % PageBuffer::kAlign);
      uint64_t whole = kIoChunk - lead;
      if (done && off >= limit) {
        if (off > limit) return makeError(ErrorCode::OperationFailed, "The file " + path_ + " shrank while it was written.");
        return crc;
      }
      if (!done && limit < off + whole) {  // wait for a whole piece, or the end
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(2), [&] { return finished_; });
        continue;
      }
      size_t want = static_cast<size_t>(std::min<uint64_t>(whole, limit - off));
      XVIRT_TRY(preadAll(fd_, buf.chars() + lead, want, off, path_));
      crc = crc32c(crc, buf.chars() + lead, want);
      off += want;
    }
  }

  int fd_;
  uint64_t from_;
  std::string path_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool finished_ = false;
  std::optional<uint64_t> end_;
  Result<uint32_t> result_ = 0u;
  std::thread thread_;
};

const char* recordName(uint32_t type) {
  switch (static_cast<Record>(type)) {
    case Record::DomainXml: return "domain XML";
    case Record::GuestConfig: return "guest configuration";
    case Record::RunState: return "run state";
    case Record::Vcpus: return "vCPU";
    case Record::Xenstore: return "xenstore";
    case Record::Memory: return "memory";
    case Record::End: return "end";
  }
  return "unknown";
}

}  // namespace

Result<SaveImageInfo> readSaveImage(const std::string& path, bool verify) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::system("Cannot open the save image " + path, errno);
  return readSaveImage(fd.get(), path, verify);
}

Result<SaveImageInfo> readSaveImage(int fd, const std::string& path, bool verify) {
  struct stat st {};
  if (::fstat(fd, &st) < 0) return Error::system("Cannot read the size of the save image " + path, errno);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  FileHeader h{};
  if (size == 0) return corrupt(path, "is empty.");
  size_t have = static_cast<size_t>(std::min<uint64_t>(sizeof h, size));
  XVIRT_TRY(preadAll(fd, &h, have, 0, path));
  if (std::memcmp(h.magic, kMagic, std::min(have, sizeof kMagic)) != 0)
    return makeError(ErrorCode::Corrupt, "The file " + path + " is not an xvirt save image.");
  if (size < sizeof h) return corrupt(path, "is truncated.");
  if (h.version != kVersion)
    return corrupt(path, "has format version " + std::to_string(h.version) + "; this xvirt reads version " +
                             std::to_string(kVersion) + ".");
  if (h.headerBytes != sizeof h) return corrupt(path, "has a damaged header.");
  if (size < sizeof h + kEndBytes) return corrupt(path, "is truncated.");
  RecordHeader end{};
  EndPayload sum{};
  XVIRT_TRY(preadAll(fd, &end, sizeof end, size - kEndBytes, path));
  XVIRT_TRY(preadAll(fd, &sum, sizeof sum, size - sizeof sum, path));
  if (end.type != static_cast<uint32_t>(Record::End) || end.length != sizeof sum)
    return corrupt(path, "is truncated: it does not end with its end record.");
  if (verify) {
    XVIRT_ASSIGN_OR_RETURN(uint32_t crc, crcRangeParallel(fd, 0, size - sizeof sum, 0, path));
    if (crc != sum.crc) return corrupt(path, "does not match its checksum: it was altered or damaged.");
  }

  SaveImageInfo info;
  info.version = h.version;
  info.fileBytes = size;
  bool seen[7] = {};
  uint64_t off = sizeof h;
  for (;;) {
    RecordHeader r{};
    if (off + sizeof r > size) return corrupt(path, "is truncated.");
    XVIRT_TRY(preadAll(fd, &r, sizeof r, off, path));
    uint64_t payload = off + sizeof r;
    if (r.type == static_cast<uint32_t>(Record::End)) {
      if (payload + sizeof sum != size) return corrupt(path, "has bytes after its end record.");
      break;
    }
    if (r.length > size - payload) return corrupt(path, "is truncated: its " + std::string(recordName(r.type)) + " record ends past the end of the file.");
    bool known = r.type >= 1 && r.type <= 6;
    if (!known) {
      if (!(r.flags & kRecordOptional))
        return corrupt(path, "has a record of unknown type " + std::to_string(r.type) + "; a newer xvirt wrote it.");
      off = payload + r.length;
      continue;
    }
    if (seen[r.type]) return corrupt(path, "has two " + std::string(recordName(r.type)) + " records.");
    seen[r.type] = true;
    if (r.type == static_cast<uint32_t>(Record::Memory)) {
      info.memoryOffset = payload;
      info.memoryLength = r.length;
    } else {
      if (r.length > kMaxSmallRecord) return corrupt(path, "has an oversized " + std::string(recordName(r.type)) + " record.");
      std::string text(r.length, '\0');
      XVIRT_TRY(preadAll(fd, text.data(), text.size(), payload, path));
      if (r.type == static_cast<uint32_t>(Record::DomainXml)) {
        info.domainXml = std::move(text);
      } else {
        auto j = Json::parse(text);
        if (!j.ok()) return corrupt(path, "has a damaged " + std::string(recordName(r.type)) + " record.");
        Json& dst = r.type == static_cast<uint32_t>(Record::GuestConfig) ? info.guestConfig
                    : r.type == static_cast<uint32_t>(Record::RunState) ? info.runState
                    : r.type == static_cast<uint32_t>(Record::Vcpus)    ? info.vcpus
                                                                        : info.xenstore;
        dst = std::move(j).value();
      }
    }
    off = payload + r.length;
  }
  for (Record need : {Record::GuestConfig, Record::RunState, Record::Memory})
    if (!seen[static_cast<uint32_t>(need)])
      return corrupt(path, "has no " + std::string(recordName(static_cast<uint32_t>(need))) + " record.");
  if (!info.runState.isObject() || !info.guestConfig.isObject())
    return corrupt(path, "has a damaged run state or guest configuration record.");
  return info;
}

Result<std::unique_ptr<SaveImageWriter>> SaveImageWriter::create(const std::string& path, mode_t mode) {
  std::string tmp = dirName(path) + "/." + baseName(path) + ".tmp-XXXXXX";
  UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
  if (!fd) return Error::system("Cannot create a temporary file for the save image " + path, errno);
  std::unique_ptr<SaveImageWriter> w(new SaveImageWriter(path, tmp, std::move(fd)));
  if (::fchmod(w->fd_.get(), mode) < 0) return Error::system("Cannot set the mode of " + w->tmp_, errno);
  FileHeader h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kVersion;
  h.headerBytes = sizeof h;
  XVIRT_TRY(w->put(&h, sizeof h));
  return w;
}

SaveImageWriter::~SaveImageWriter() {
  if (!committed_) ::unlink(tmp_.c_str());
}

Status SaveImageWriter::put(const void* data, size_t len) {
  crc_ = crc32c(crc_, data, len);
  const auto* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = ::pwrite(fd_.get(), p, len, static_cast<off_t>(offset_));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::system("Cannot write the save image " + path_, errno);
    }
    p += n;
    offset_ += static_cast<uint64_t>(n);
    len -= static_cast<size_t>(n);
  }
  return okStatus();
}

Status SaveImageWriter::hashBack(uint64_t from, uint64_t to) {
  XVIRT_ASSIGN_OR_RETURN(crc_, crcRangeParallel(fd_.get(), from, to, crc_, tmp_));
  return okStatus();
}

Status SaveImageWriter::addRecord(Record type, std::string_view payload) {
  RecordHeader r{static_cast<uint32_t>(type), 0, payload.size()};
  XVIRT_TRY(put(&r, sizeof r));
  return put(payload.data(), payload.size());
}

Status SaveImageWriter::addStreamRecord(Record type, const std::function<Result<std::optional<uint32_t>>(int)>& fill,
                                        bool followWrites) {
  uint64_t headerAt = offset_;
  uint64_t start = headerAt + sizeof(RecordHeader);
  if (::lseek(fd_.get(), static_cast<off_t>(start), SEEK_SET) < 0)
    return Error::system("Cannot seek in the save image " + path_, errno);
  std::optional<GrowingFileCrc> follower;
  if (followWrites) follower.emplace(fd_.get(), start, tmp_);
  XVIRT_ASSIGN_OR_RETURN(std::optional<uint32_t> payloadCrc, fill(fd_.get()));
  off_t end = ::lseek(fd_.get(), 0, SEEK_CUR);
  if (end < 0) return Error::system("Cannot seek in the save image " + path_, errno);
  // The header goes in front once the length is known; then the checksum takes in the payload:
  // from the CRC the filler computed as it wrote, else from the follower, else by reading it back.
  uint64_t length = static_cast<uint64_t>(end) - start;
  if (!payloadCrc && follower) {
    XVIRT_ASSIGN_OR_RETURN(uint32_t followed, follower->finish(static_cast<uint64_t>(end)));
    payloadCrc = followed;
  }
  RecordHeader r{static_cast<uint32_t>(type), 0, length};
  XVIRT_TRY(put(&r, sizeof r));
  if (payloadCrc) crc_ = crc32cCombine(crc_, *payloadCrc, length);
  else XVIRT_TRY(hashBack(start, static_cast<uint64_t>(end)));
  offset_ = static_cast<uint64_t>(end);
  return okStatus();
}

Status SaveImageWriter::commit() {
  RecordHeader r{static_cast<uint32_t>(Record::End), 0, sizeof(EndPayload)};
  XVIRT_TRY(put(&r, sizeof r));
  EndPayload e{crc_, 0};
  XVIRT_TRY(put(&e, sizeof e));
  if (::ftruncate(fd_.get(), static_cast<off_t>(offset_)) < 0)
    return Error::system("Cannot size the save image " + path_, errno);
  if (::fsync(fd_.get()) < 0) return Error::system("Cannot sync the save image " + path_, errno);
  if (::rename(tmp_.c_str(), path_.c_str()) < 0) return Error::system("Cannot rename the save image into " + path_, errno);
  committed_ = true;
  return syncDir(dirName(path_));
}

Status rewriteSmallRecords(const std::string& path, const std::string& domainXml, const Json& runState) {
  UniqueFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) return Error::system("Cannot open the save image " + path, errno);
  XVIRT_ASSIGN_OR_RETURN(SaveImageInfo info, readSaveImage(in.get(), path, true));
  XVIRT_ASSIGN_OR_RETURN(auto w, SaveImageWriter::create(path));
  XVIRT_TRY(w->addRecord(Record::DomainXml, domainXml));
  XVIRT_TRY(w->addRecord(Record::GuestConfig, info.guestConfig.dump()));
  XVIRT_TRY(w->addRecord(Record::RunState, runState.dump()));
  if (!info.vcpus.isNull()) XVIRT_TRY(w->addRecord(Record::Vcpus, info.vcpus.dump()));
  if (!info.xenstore.isNull()) XVIRT_TRY(w->addRecord(Record::Xenstore, info.xenstore.dump()));
  XVIRT_TRY(w->addStreamRecord(Record::Memory, [&](int out) -> Result<std::optional<uint32_t>> {
    loff_t from = static_cast<loff_t>(info.memoryOffset);
    for (uint64_t left = info.memoryLength; left > 0;) {
      ssize_t n = ::copy_file_range(in.get(), &from, out, nullptr, left, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Error::system("Cannot copy the memory record of " + path, errno);
      if (n == 0) return corrupt(path, "is truncated.");
      left -= static_cast<uint64_t>(n);
    }
    return std::optional<uint32_t>();  // copied in the kernel: hashed back from the file
  }));
  return w->commit();
}

}  // namespace xvirt::saveimg
