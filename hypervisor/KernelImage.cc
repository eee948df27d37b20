// The x86 boot protocol's header (Documentation/arch/x86/boot.rst): setup_sects at 0x1f1, the
// 0xaa55 boot flag at 0x1fe, "HdrS" at 0x202, the version at 0x206, relocatable_kernel at 0x234.
#include "hypervisor/KernelImage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/UniqueFd.h"

namespace xvirt::hv {

namespace {

uint8_t u8(std::string_view b, size_t off) { return static_cast<uint8_t>(b[off]); }
uint16_t u16(std::string_view b, size_t off) { return static_cast<uint16_t>(u8(b, off) | (u8(b, off + 1) << 8)); }

}  // namespace

Result<KernelPayload> parseKernelHeader(std::string_view head, uint64_t fileSize, const std::string& path) {
  KernelPayload p;
  p.size = fileSize;
  if (head.size() < 0x240 || u16(head, 0x1fe) != 0xaa55 || head.substr(0x202, 4) != "HdrS") return p;
  p.bzImage = true;
  p.protocol = u16(head, 0x206);
  unsigned setupSects = u8(head, 0x1f1);
  if (setupSects == 0) setupSects = 4;  // the protocol's rule for old images
  p.fileOffset = (uint64_t(setupSects) + 1) * 512;
  if (p.fileOffset >= fileSize)
    return makeError(ErrorCode::InvalidArgument, "The kernel " + path + " is truncated: its " + std::to_string(setupSects) +
                                                     " setup sectors leave no protected-mode code.");
  p.size = fileSize - p.fileOffset;
  if (p.protocol < 0x0205 || u8(head, 0x234) == 0)
    return makeError(ErrorCode::ConfigUnsupported,
                     "The kernel " + path + " is not relocatable, so it cannot be loaded at 0x200000 "
                     "(the firmware owns 0x100000, where it would have to go).");
  return p;
}

Result<KernelPayload> inspectKernel(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::system("Opening the kernel " + path, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) return Error::system("Reading the size of " + path, errno);
  std::string head(1024, '\0');
  ssize_t n = ::pread(fd.get(), head.data(), head.size(), 0);
  if (n < 0) return Error::system("Reading the kernel " + path, errno);
  head.resize(static_cast<size_t>(n));
  return parseKernelHeader(head, static_cast<uint64_t>(st.st_size), path);
}

}  // namespace xvirt::hv
