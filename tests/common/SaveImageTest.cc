// CRC-32C check values and the save image format: a written image reads back record by record;
// a failed writer leaves no file; damage is reported as Corrupt.
#include "common/SaveImage.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "common/Crc32c.h"
#include "common/File.h"

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

TEST(Crc32c, LanesAndCombineMatchTheReference) {
  std::string big(3 * 12288 + 77, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 13);
  for (size_t len : {0ul, 1ul, 7ul, 8ul, 12287ul, 12288ul, 12289ul, 2 * 12288ul + 5, big.size()}) {
    std::string part = big.substr(0, len);
    EXPECT_EQ(crc32c(0, part.data(), part.size()), referenceCrc(part)) << len;
  }
  for (size_t cut : {0ul, 1ul, 4096ul, 12288ul, 20000ul, big.size()}) {
    uint32_t a = crc32c(0, big.data(), cut);
    uint32_t b = crc32c(0, big.data() + cut, big.size() - cut);
    EXPECT_EQ(crc32cCombine(a, b, big.size() - cut), referenceCrc(big)) << cut;
  }
}

class SaveImageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/xvirt-saveimg-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { (void)std::system(("rm -rf " + dir_).c_str()); }
  std::string dir_;
};

// The memory record's checksum either read back from the file (the filler returns nullopt) or
// combined from the CRC the filler reports: both give an image that verifies, and damage is caught.
class SaveImageCrcTest : public SaveImageTest, public ::testing::WithParamInterface<bool> {};

TEST_P(SaveImageCrcTest, RecordsReadBackAndDamageIsCorrupt) {
  std::string path = dir_ + "/a.save";
  bool fillerKnowsCrc = GetParam();
  {
    auto w = saveimg::SaveImageWriter::create(path);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->addRecord(saveimg::Record::DomainXml, "<domain/>").ok());
    ASSERT_TRUE((*w)->addRecord(saveimg::Record::GuestConfig, R"({"name": "a"})").ok());
    ASSERT_TRUE((*w)->addRecord(saveimg::Record::RunState, R"({"backend": "sim"})").ok());
    ASSERT_TRUE((*w)->addStreamRecord(saveimg::Record::Memory, [&](int fd) -> Result<std::optional<uint32_t>> {
      std::string bytes(5000, 'm');
      if (::write(fd, bytes.data(), bytes.size()) != 5000) return Error::system("write", errno);
      return fillerKnowsCrc ? std::optional<uint32_t>(crc32c(0, bytes.data(), bytes.size())) : std::nullopt;
    }).ok());
    ASSERT_TRUE((*w)->commit().ok());
  }
  auto info = saveimg::readSaveImage(path, true);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->domainXml, "<domain/>");
  EXPECT_EQ(info->guestConfig.getString("name"), "a");
  EXPECT_EQ(info->runState.getString("backend"), "sim");
  EXPECT_EQ(info->memoryLength, 5000u);
  auto bytes = readFile(path);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->substr(info->memoryOffset, 5), "mmmmm");

  std::string flipped = *bytes;
  flipped[info->memoryOffset + 100] ^= 1;
  ASSERT_TRUE(writeFileAtomic(dir_ + "/b.save", flipped).ok());
  auto bad = saveimg::readSaveImage(dir_ + "/b.save", true);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::Corrupt);
  EXPECT_NE(bad.error().message.find("checksum"), std::string::npos);
  // Without verification the structure still reads (xvirtd's quick look at the XML).
  EXPECT_TRUE(saveimg::readSaveImage(dir_ + "/b.save", false).ok());

  ASSERT_TRUE(writeFileAtomic(dir_ + "/c.save", bytes->substr(0, bytes->size() - 3)).ok());
  auto cut = saveimg::readSaveImage(dir_ + "/c.save", false);
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.error().message.find("truncated"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Crc, SaveImageCrcTest, ::testing::Bool());

TEST_F(SaveImageTest, AbandonedWriterLeavesNothing) {
  {
    auto w = saveimg::SaveImageWriter::create(dir_ + "/x.save");
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->addRecord(saveimg::Record::GuestConfig, "{}").ok());
    Status failed = (*w)->addStreamRecord(saveimg::Record::Memory, [](int) -> Result<std::optional<uint32_t>> {
      return makeError(ErrorCode::OperationFailed, "The backend failed.");
    });
    EXPECT_FALSE(failed.ok());
  }
  EXPECT_EQ(std::system(("test -z \"$(ls -A " + dir_ + ")\"").c_str()), 0);
}
