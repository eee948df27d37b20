// SaveImage: the file format of saved guests (docs/save-image.md) — a header with magic and version,
// typed records (domain XML, GuestConfig, run state, vCPUs, xenstore devices, the hypervisor's memory
// stream) and an end record with a CRC-32C over every byte before it. Shared by xvirt-helper, which
// writes and restores images, and xvirtd, which reads their XML and checks them before a restore.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/Json.h"
#include "common/Result.h"
#include "common/UniqueFd.h"

namespace xvirt::saveimg {

inline constexpr char kMagic[16] = {'X', 'V', 'I', 'R', 'T', '-', 'S', 'A', 'V', 'E', '-', 'I', 'M', 'A', 'G', 'E'};
inline constexpr uint32_t kVersion = 1;

enum class Record : uint32_t {
  DomainXml = 1,    // libvirt domain XML (UTF-8), empty when the saver had none
  GuestConfig = 2,  // the GuestConfig JSON the helper ran with
  RunState = 3,     // JSON: backend, state at save, whether restore runs the guest, ...
  Vcpus = 4,        // JSON array: per vCPU, online and hard affinity
  Xenstore = 5,     // JSON: the guest's disks and NICs as their xenstore backends described them
  Memory = 6,       // the hypervisor backend's own stream (Hypervisor::saveDomain)
  End = 0xffffffffu,
};
// Record flag: a reader that does not know the record's type may skip it.
inline constexpr uint32_t kRecordOptional = 1;

struct SaveImageInfo {
  uint32_t version = 0;
  std::string domainXml;
  Json guestConfig;
  Json runState;
  Json vcpus;
  Json xenstore;
  uint64_t memoryOffset = 0;  // where the Memory record's payload starts
  uint64_t memoryLength = 0;
  uint64_t fileBytes = 0;
};

// Reads the header and every record, keeping the small ones. With `verify`, also checks the CRC
// over the whole file (one sequential read). Anything truncated, altered, foreign or of another
// version gives Corrupt with one sentence naming the file.
Result<SaveImageInfo> readSaveImage(const std::string& path, bool verify);
Result<SaveImageInfo> readSaveImage(int fd, const std::string& path, bool verify);

// Writes an image into a temporary file beside `path`; commit() adds the end record, fsyncs and
// renames it into place. Destroying an uncommitted writer removes the temporary file.
class SaveImageWriter {
 public:
  static Result<std::unique_ptr<SaveImageWriter>> create(const std::string& path, mode_t mode = 0600);
  ~SaveImageWriter();

  Status addRecord(Record type, std::string_view payload);
  // A record whose payload `fill` writes to the file descriptor from its current position. `fill`
  // returns the CRC-32C of what it wrote when it computed one (saves reading it back), else nullopt:
  // then the payload is checksummed by reading it back after `fill` returns or, with
  // `followWrites`, by a second thread reading behind `fill` while it writes (sequential writes only).
  Status addStreamRecord(Record type, const std::function<Result<std::optional<uint32_t>>(int fd)>& fill,
                         bool followWrites = false);
  Status commit();

  uint64_t bytes() const { return offset_; }

 private:
  SaveImageWriter(std::string path, std::string tmp, UniqueFd fd) : path_(std::move(path)), tmp_(std::move(tmp)), fd_(std::move(fd)) {}
  Status put(const void* data, size_t len);  // appends and extends the checksum
  Status hashBack(uint64_t from, uint64_t to);  // extends the checksum over bytes already in the file

  std::string path_, tmp_;
  UniqueFd fd_;
  uint64_t offset_ = 0;
  uint32_t crc_ = 0;
  bool committed_ = false;
};

// Rewrites an image with another domain XML and run state, keeping every other record (save-image-define).
// The new image replaces the old one atomically; its memory record is copied in the kernel.
Status rewriteSmallRecords(const std::string& path, const std::string& domainXml, const Json& runState);

}  // namespace xvirt::saveimg
