// CRC-32C check values and the save image format: a written image reads back record by record;
// a failed writer leaves no file; damage is reported as Corrupt.
#include "common/SaveImage.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/Crc32c.h"
#include "common/File.h"
#include "common/UniqueFd.h"
#include "tests/lib/TestUtil.h"

using namespace xvirt;

TEST(Crc32c, CheckValues) {
  EXPECT_EQ(crc32c(0, "123456789", 9), 0xE3069283u);  // the standard check value (RFC 3720)
  EXPECT_EQ(crc32c(0, "", 0), 0u);
  std::string big(100000, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 + 7);
  uint32_t whole = crc32c(0, big.data(), big.size());
  uint32_t parts = crc32c(crc32c(0, big.data(), 12345), big.data() + 12345, big.size() - 12345);
  EXPECT_EQ(whole, parts);
}

// A bit-at-a-time reference, to check the three-lane path around its block size (12 KiB).
static uint32_t referenceCrc(const std::string& s) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char ch : s) {
    c ^= ch;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
  }
  return ~c;
}

// Both implementations (the crc32 instruction on three lanes, the table sliced by eight), whichever
// crc32c picked on this machine.
TEST(Crc32c, LanesAndCombineMatchTheReference) {
  std::string big(3 * 12288 + 77, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 13);
  for (size_t len : {0ul, 1ul, 7ul, 8ul, 9ul, 12287ul, 12288ul, 12289ul, 2 * 12288ul + 5, big.size()}) {
    std::string part = big.substr(0, len);
    EXPECT_EQ(crc32c(0, part.data(), part.size()), referenceCrc(part)) << len;
    for (Crc32cMethod m : {Crc32cMethod::Sse42, Crc32cMethod::Table}) {
      EXPECT_EQ(crc32cWith(m, 0, part.data(), part.size()), referenceCrc(part)) << crc32cMethodName(m) << " " << len;
      // Continued from a CRC that ends at an odd offset.
      uint32_t head = crc32cWith(m, 0, part.data(), len / 3);
      EXPECT_EQ(crc32cWith(m, head, part.data() + len / 3, len - len / 3), referenceCrc(part)) << crc32cMethodName(m);
    }
  }
  std::printf("crc32c uses %s here\n", crc32cMethodName(crc32cMethod()));
  for (size_t cut : {0ul, 1ul, 4096ul, 12288ul, 20000ul, big.size()}) {
    uint32_t a = crc32c(0, big.data(), cut);
    uint32_t b = crc32c(0, big.data() + cut, big.size() - cut);
    EXPECT_EQ(crc32cCombine(a, b, big.size() - cut), referenceCrc(big)) << cut;
  }
}

class SaveImageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
  }
  xvirt::test::TempDir dir_{"xvirt-saveimg"};
};

// The memory record's checksum read back from the file (the filler returns nullopt), computed by a
// thread following the filler's writes, or combined from the CRC the filler reports: all give an
// image that verifies, and damage is caught.
enum class CrcSource { ReadBack, Follower, Filler };
class SaveImageCrcTest : public SaveImageTest, public ::testing::WithParamInterface<CrcSource> {};

TEST_P(SaveImageCrcTest, RecordsReadBackAndDamageIsCorrupt) {
  std::string path = dir_ / "a.save";
  bool fillerKnowsCrc = GetParam() == CrcSource::Filler;
  // Larger than one 1 MiB piece, written in slow uneven parts, so a follower waits and reads partial pieces.
  const size_t kBytes = (3u << 20) + 5000;
  {
    auto w = saveimg::SaveImageWriter::create(path);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->addRecord(saveimg::Record::DomainXml, "<domain/>").ok());
    ASSERT_TRUE((*w)->addRecord(saveimg::Record::GuestConfig, R"({"name": "a"})").ok());
    ASSERT_TRUE((*w)->addRecord(saveimg::Record::RunState, R"({"backend": "sim"})").ok());
    ASSERT_TRUE((*w)->addStreamRecord(saveimg::Record::Memory, [&](int fd) -> Result<std::optional<uint32_t>> {
      std::string bytes(kBytes, 'm');
      for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>('a' + (i * 7919) % 26);
      for (size_t done = 0; done < bytes.size();) {
        size_t part = std::min<size_t>(bytes.size() - done, 300000 + done % 4099);
        if (::write(fd, bytes.data() + done, part) != static_cast<ssize_t>(part)) return Error::system("write", errno);
        done += part;
        ::usleep(3000);
      }
      return fillerKnowsCrc ? std::optional<uint32_t>(crc32c(0, bytes.data(), bytes.size())) : std::nullopt;
    }, GetParam() == CrcSource::Follower).ok());
    ASSERT_TRUE((*w)->commit().ok());
  }
  auto info = saveimg::readSaveImage(path, true);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->domainXml, "<domain/>");
  EXPECT_EQ(info->guestConfig.getString("name"), "a");
  EXPECT_EQ(info->runState.getString("backend"), "sim");
  EXPECT_EQ(info->memoryLength, kBytes);
  auto bytes = readFile(path);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->substr(info->memoryOffset, 5), "apeti");

  std::string flipped = *bytes;
  flipped[info->memoryOffset + 100] ^= 1;
  ASSERT_TRUE(writeFileAtomic(dir_ / "b.save", flipped).ok());
  auto bad = saveimg::readSaveImage(dir_ / "b.save", true);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::Corrupt);
  EXPECT_NE(bad.error().message.find("checksum"), std::string::npos);
  // Without verification the structure still reads (xvirtd's quick look at the XML).
  EXPECT_TRUE(saveimg::readSaveImage(dir_ / "b.save", false).ok());

  ASSERT_TRUE(writeFileAtomic(dir_ / "c.save", bytes->substr(0, bytes->size() - 3)).ok());
  auto cut = saveimg::readSaveImage(dir_ / "c.save", false);
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.error().message.find("truncated"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Crc, SaveImageCrcTest, ::testing::Values(CrcSource::ReadBack, CrcSource::Follower, CrcSource::Filler));

TEST_F(SaveImageTest, AbandonedWriterLeavesNothing) {
  {
    auto w = saveimg::SaveImageWriter::create(dir_ / "x.save");
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->addRecord(saveimg::Record::GuestConfig, "{}").ok());
    Status failed = (*w)->addStreamRecord(saveimg::Record::Memory, [](int) -> Result<std::optional<uint32_t>> {
      return makeError(ErrorCode::OperationFailed, "The backend failed.");
    });
    EXPECT_FALSE(failed.ok());
  }
  EXPECT_EQ(std::system(("test -z \"$(ls -A " + dir_.path() + ")\"").c_str()), 0);
}

// Images of more than 32 MiB are checked in slices on several threads (crc32cCombine joins them):
// the result is the same, and damage in the last slice is caught as in the first.
TEST_F(SaveImageTest, LargeImagesAreCheckedInSlices) {
  std::string path = dir_ / "big.save";
  std::string memory(40u << 20, '\0');
  for (size_t i = 0; i < memory.size(); i += 64) memory[i] = static_cast<char>(i / 64);
  {
    auto w = saveimg::SaveImageWriter::create(path);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->addRecord(saveimg::Record::GuestConfig, R"({"name": "big"})").ok());
    ASSERT_TRUE((*w)->addRecord(saveimg::Record::RunState, R"({"backend": "sim"})").ok());
    ASSERT_TRUE((*w)->addStreamRecord(saveimg::Record::Memory, [&](int fd) -> Result<std::optional<uint32_t>> {
      if (::write(fd, memory.data(), memory.size()) != static_cast<ssize_t>(memory.size())) return Error::system("write", errno);
      return std::optional<uint32_t>();
    }).ok());
    ASSERT_TRUE((*w)->commit().ok());
  }
  auto info = saveimg::readSaveImage(path, true);
  ASSERT_TRUE(info.ok()) << info.error().message;
  for (uint64_t at : {info->memoryOffset + 5, info->memoryOffset + memory.size() - 5}) {
    UniqueFd fd(::open(path.c_str(), O_RDWR));
    char c = 0;
    ASSERT_EQ(::pread(fd.get(), &c, 1, static_cast<off_t>(at)), 1);
    c ^= 0x10;
    ASSERT_EQ(::pwrite(fd.get(), &c, 1, static_cast<off_t>(at)), 1);
    auto bad = saveimg::readSaveImage(path, true);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("checksum"), std::string::npos);
    c ^= 0x10;
    ASSERT_EQ(::pwrite(fd.get(), &c, 1, static_cast<off_t>(at)), 1);
    EXPECT_TRUE(saveimg::readSaveImage(path, true).ok());
  }
}
