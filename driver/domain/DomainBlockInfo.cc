// virDomainGetBlockInfo's figures (capacity, allocation, physical) of one disk's source, read from
// the host as libvirt's storage code does for an inactive domain: stat(2) for a file, BLKGETSIZE64
// for a block device, the header for a qcow2 image's virtual size.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "common/UniqueFd.h"
#include "driver/LibvirtRules.h"
#include "driver/domain/DomainManager.h"

namespace xvirt::driver {

namespace {

uint64_t bigEndian64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

// A qcow2 image's virtual size (header bytes 24..31, big-endian), or nullopt if fd is no qcow2.
std::optional<uint64_t> qcow2VirtualSize(int fd) {
  unsigned char header[32];
  if (::pread(fd, header, sizeof header, 0) != static_cast<ssize_t>(sizeof header)) return std::nullopt;
  if (std::memcmp(header, "QFI\xfb", 4) != 0) return std::nullopt;
  return bigEndian64(header + 24);
}

Result<BlockInfo> sourceSizes(const dom::DiskDef& disk) {
  const std::string& path = disk.source;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    int err = errno;
    return Error::system("cannot stat file '" + path + "'", err);
  }
  BlockInfo b;
  if (S_ISBLK(st.st_mode)) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
      int err = errno;
      return Error::system("cannot open volume '" + path + "'", err);
    }
    uint64_t size = 0;
    if (::ioctl(fd.get(), BLKGETSIZE64, &size) != 0) {
      int err = errno;
      return Error::system("cannot read the size of block device '" + path + "'", err);
    }
    // A block device is allocated whole.
    b.capacity = b.allocation = b.physical = size;
    return b;
  }
  b.physical = static_cast<uint64_t>(st.st_size);
  b.allocation = static_cast<uint64_t>(st.st_blocks) * 512;  // st_blocks counts 512-byte units
  b.capacity = b.physical;
  if (S_ISREG(st.st_mode) && disk.driverType == "qcow2") {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd)
      if (auto virtualSize = qcow2VirtualSize(fd.get())) b.capacity = *virtualSize;
  }
  return b;
}

}  // namespace

Result<BlockInfo> DomainManager::blockInfo(const DomainRef& ref, const std::string& path) const {
  XVIRT_ASSIGN_OR_RETURN(DomainDefinitions defs, definitions(ref));
  const std::optional<dom::DomainDef>& def = defs.active() && defs.live ? defs.live : defs.persistent;
  if (!def) return makeError(ErrorCode::Internal, "Domain '" + defs.ref.name + "' has no definition.");
  // virDomainDiskByName: the target name, or the source path.
  const dom::DiskDef* disk = nullptr;
  for (const auto& d : def->disks)
    if (d.targetDev == path || (!d.source.empty() && d.source == path)) {
      disk = &d;
      break;
    }
  if (!disk)
    return rules::invalidArg("invalid path " + path + " not assigned to domain");
  if (disk->source.empty())
    return rules::invalidArg("disk '" + path + "' does not currently have a source assigned");
  return sourceSizes(*disk);
}

}  // namespace xvirt::driver
