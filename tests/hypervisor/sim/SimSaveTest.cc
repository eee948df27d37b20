// Save and restore on the simulated host: RAM bytes and guest state survive a round trip; streams
// that are truncated, altered or foreign are refused with Corrupt.
#include <fcntl.h>

#include "tests/hypervisor/sim/SimFixture.h"

namespace xvirt::hv::sim::test {
namespace {

class SimSaveTest : public SimFixture {
 protected:
  std::string savePath() { return dir_ + "/guest.save"; }

  // Builds, runs, writes a pattern into RAM, pauses and saves; returns the domain.
  DomId saveGuest() {
    DomId d = buildGuest("console=hvc0", 16384);
    auto con = hyp_->openConsole(d, build_);
    EXPECT_TRUE(con.ok());
    EXPECT_TRUE(hyp_->unpause(d).ok());
    readConsoleUntil(**con, "login: ");  // the saved ring then holds no unread boot lines
    {
      auto mem = hyp_->mapMemory(d);
      EXPECT_TRUE(mem.ok());
      uint8_t* p = (*mem)->data();
      for (uint64_t i = 0; i < 4096; ++i) p[3 * 1024 * 1024 + i] = static_cast<uint8_t>(i ^ 0x5a);
      p[5 * 1024 * 1024 + 17] = 0xee;
    }
    EXPECT_TRUE(hyp_->pause(d).ok());
    UniqueFd fd(::open(savePath().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    auto s = hyp_->saveDomain(d, fd.get());
    EXPECT_TRUE(s.ok()) << s.error().message;
    return d;
  }

  Result<BuildResult> restoreFrom(const std::string& path, DomId& into) {
    auto d = hyp_->createDomain(CreateParams{DomainKind::PV, Uuid{}, 2, true});
    if (!d.ok()) return d.takeError();
    into = *d;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    return hyp_->restoreDomain(*d, fd.get(), 16384);
  }
};

TEST_F(SimSaveTest, RoundTripPreservesRamAndState) {
  DomId d = saveGuest();
  auto original = hyp_->mapMemory(d);
  ASSERT_TRUE(original.ok());
  uint64_t cpu = hyp_->domainInfo(d)->cpuTimeNs;
  // Zero pages are elided: the stream is far smaller than the 16 MiB of RAM.
  auto size = readFile(savePath(), 64u << 20);
  ASSERT_TRUE(size.ok());
  EXPECT_LT(size->size(), 1u << 20);

  DomId r = 0;
  auto b = restoreFrom(savePath(), r);
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->consoleMfn, build_.consoleMfn);
  auto restored = hyp_->mapMemory(r);
  ASSERT_TRUE(restored.ok());
  ASSERT_EQ((*restored)->size(), (*original)->size());
  EXPECT_EQ(std::memcmp((*restored)->data(), (*original)->data(), (*original)->size()), 0);
  auto info = hyp_->domainInfo(r);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->paused);
  EXPECT_EQ(info->cpuTimeNs, cpu);
  EXPECT_EQ(info->memKib, 16384u);
  // The restored guest resumes without booting again and keeps answering its console.
  auto con = hyp_->openConsole(r, *b);
  ASSERT_TRUE(con.ok());
  ASSERT_TRUE(hyp_->unpause(r).ok());
  ASSERT_TRUE((*con)->write("hello\n").ok());
  std::string out = readConsoleUntil(**con, "hello\r\n");
  EXPECT_NE(out.find("hello\r\n"), std::string::npos);
  EXPECT_EQ(out.find("Linux version"), std::string::npos) << "restored guest booted again";
}

TEST_F(SimSaveTest, RunningDomainCannotBeSaved) {
  DomId d = buildGuest();
  ASSERT_TRUE(hyp_->unpause(d).ok());
  UniqueFd fd(::open(savePath().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  auto s = hyp_->saveDomain(d, fd.get());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::OperationInvalid);
}

TEST_F(SimSaveTest, TruncatedStreamsAreRefused) {
  saveGuest();
  auto full = readFile(savePath(), 64u << 20);
  ASSERT_TRUE(full.ok());
  for (size_t cut : {size_t{0}, size_t{10}, size_t{40}, full->size() / 2, full->size() - 1}) {
    std::string path = dir_ + "/cut.save";
    ASSERT_TRUE(writeFileAtomic(path, full->substr(0, cut)).ok());
    DomId r = 0;
    auto b = restoreFrom(path, r);
    ASSERT_FALSE(b.ok()) << "cut at " << cut;
    EXPECT_EQ(b.error().code, ErrorCode::Corrupt) << b.error().message;
    EXPECT_TRUE(hyp_->destroy(r).ok());
  }
}

TEST_F(SimSaveTest, AlteredOrForeignStreamsAreRefused) {
  saveGuest();
  auto full = readFile(savePath(), 64u << 20);
  ASSERT_TRUE(full.ok());
  std::vector<std::pair<std::string, std::string>> cases;
  std::string flipped = *full;
  flipped[flipped.size() / 2] ^= 0x01;  // inside page data
  cases.emplace_back("flipped page byte", flipped);
  std::string magic = *full;
  magic[0] = 'Y';
  cases.emplace_back("bad magic", magic);
  std::string sum = *full;
  sum[sum.size() - 1] ^= 0x80;
  cases.emplace_back("bad checksum", sum);
  cases.emplace_back("not a stream", std::string(4096, 'z'));
  for (const auto& [what, bytes] : cases) {
    std::string path = dir_ + "/bad.save";
    ASSERT_TRUE(writeFileAtomic(path, bytes).ok());
    DomId r = 0;
    auto b = restoreFrom(path, r);
    ASSERT_FALSE(b.ok()) << what;
    EXPECT_EQ(b.error().code, ErrorCode::Corrupt) << what << ": " << b.error().message;
    EXPECT_TRUE(hyp_->destroy(r).ok());
  }
}

}  // namespace
}  // namespace xvirt::hv::sim::test
