#include "helper/BlockDevices.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace xvirt::helper {

namespace {

std::string majorMinor(dev_t dev) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%x:%x", major(dev), minor(dev));
  return buf;
}

}  // namespace

Result<std::string> BlockDevices::attach(const std::string& backendPath, const std::string& path, bool readonly) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Error::system("The disk source " + path + " cannot be used", errno);
  if (S_ISBLK(st.st_mode)) return majorMinor(st.st_rdev);
  if (!S_ISREG(st.st_mode))
    return makeError(ErrorCode::InvalidArgument, "The disk source " + path + " is neither a file nor a block device.");

  UniqueFd file(::open(path.c_str(), (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC));
  if (!file) return Error::system("Cannot open the disk source " + path, errno);
  UniqueFd control(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
  if (!control) return Error::system("Cannot open /dev/loop-control for the disk " + path, errno);
  // Another process may take the free device between the two calls: then ask again.
  for (int attempt = 0; attempt < 8; ++attempt) {
    int n = ::ioctl(control.get(), LOOP_CTL_GET_FREE);
    if (n < 0) return Error::system("No free loop device for the disk " + path, errno);
    const std::string dev = "/dev/loop" + std::to_string(n);
    UniqueFd loop(::open(dev.c_str(), (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC));
    if (!loop) return Error::system("Cannot open " + dev + " for the disk " + path, errno);
    loop_config cfg;
    std::memset(&cfg, 0, sizeof cfg);
    cfg.fd = static_cast<uint32_t>(file.get());
    cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR | (readonly ? LO_FLAGS_READ_ONLY : 0);
    std::snprintf(reinterpret_cast<char*>(cfg.info.lo_file_name), LO_NAME_SIZE, "%s", path.c_str());
    if (::ioctl(loop.get(), LOOP_CONFIGURE, &cfg) != 0) {
      if (errno == EBUSY) continue;
      return Error::system("Cannot attach " + path + " to " + dev, errno);
    }
    struct stat ls;
    if (::fstat(loop.get(), &ls) != 0) return Error::system("Cannot stat " + dev, errno);
    loops_[backendPath] = std::move(loop);
    return majorMinor(ls.st_rdev);
  }
  return makeError(ErrorCode::OperationFailed, "No free loop device for the disk " + path + " after 8 attempts.");
}

void BlockDevices::release(const std::string& backendPath) { loops_.erase(backendPath); }

}  // namespace xvirt::helper
