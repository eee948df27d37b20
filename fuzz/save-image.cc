// Fuzz target "save-image": a save image as xvirtd (save-image-dumpxml, restore checks) and the
// helper (--restore) read it: the header and every record, the checksum, then what the records
// hold — the GuestConfig the helper would build from (which must survive its JSON round trip),
// the run state and the domain XML.
//
// Input: one byte of options (bit 0: write the right CRC-32C into the end record first, so that
// mutated images get past the checksum and into the checks behind it), then the image.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/Crc32c.h"
#include "common/GuestConfig.h"
#include "common/SaveImage.h"
#include "domain-xml/DomainXml.h"

using namespace xvirt;

namespace {

constexpr size_t kEndPayloadBytes = 8;  // crc, reserved: the last bytes of an image

int imageFd() {
  static int fd = ::memfd_create("xvirt-fuzz-save-image", MFD_CLOEXEC);
  if (fd < 0) std::abort();
  return fd;
}

void check(const saveimg::SaveImageInfo& info) {
  (void)info.runState.getBool("run-after-restore", true);
  if (!info.domainXml.empty()) (void)dom::parseDomainXml(info.domainXml, dom::kParseInactive);
  auto config = GuestConfig::fromJson(info.guestConfig);
  if (!config) return;
  // What the helper writes back into an image must read back as the same configuration.
  std::string written = config->toJson().dump();
  auto again = GuestConfig::fromJson(config->toJson());
  if (!again || again->toJson().dump() != written) {
    std::fprintf(stderr, "The GuestConfig does not survive its JSON round trip: %s\n%s\n%s\n",
                 again ? "it reads back differently" : again.error().message.c_str(), written.c_str(),
                 again ? again->toJson().dump().c_str() : "");
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::vector<uint8_t> image(data + 1, data + size);
  if ((data[0] & 1) && image.size() >= kEndPayloadBytes) {
    uint32_t crc = crc32c(0, image.data(), image.size() - kEndPayloadBytes);
    std::memcpy(image.data() + image.size() - kEndPayloadBytes, &crc, sizeof crc);
  }
  int fd = imageFd();
  if (::ftruncate(fd, 0) < 0 || ::pwrite(fd, image.data(), image.size(), 0) != static_cast<ssize_t>(image.size()))
    std::abort();
  for (bool verify : {false, true}) {
    auto info = saveimg::readSaveImage(fd, "fuzz.img", verify);
    if (info) check(*info);
    else if (info.error().message.empty()) std::abort();
  }
  return 0;
}
