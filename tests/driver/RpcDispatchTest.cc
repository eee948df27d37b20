// The connection's hot path: calls a handler marks inline are answered on the reader thread (and
// may overtake a pooled call), many calls arriving in one read are all framed and answered, and a
// reply too large for the socket goes out whole before anything produced after it.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "common/UniqueFd.h"
#include "driver/rpc/Packet.h"
#include "driver/rpc/Server.h"
#include "tests/lib/TestUtil.h"

namespace xvirt::rpc {
namespace {

constexpr int32_t kBlocking = 1;  // pooled: waits until the test releases it
constexpr int32_t kQuick = 2;     // inline: answers its serial
constexpr int32_t kHuge = 3;      // inline: answers 8 MiB of a pattern
constexpr size_t kHugeBytes = 8u << 20;

class TestHandler : public CallHandler {
 public:
  explicit TestHandler(std::shared_future<void> release) : release_(std::move(release)) {}
  CallReply handleCall(Connection&, const Header& h, std::span<const uint8_t>) override {
    if (h.proc == kBlocking) release_.wait();
    std::vector<uint8_t> out(h.proc == kHuge ? kHugeBytes : 4);
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(i * 7 + h.serial);
    return CallReply::ok(std::move(out));
  }
  bool runsInline(const Header& h) const override { return h.proc != kBlocking; }

 private:
  std::shared_future<void> release_;
};

class RpcDispatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    ServerOptions options;
    options.workers = 1;  // a second pooled call would queue behind the blocked one
    std::shared_future<void> release = release_.get_future().share();
    server_ = std::make_unique<Server>(options, [release](Connection&) { return std::make_unique<TestHandler>(release); });
    ASSERT_TRUE(server_->listenUnix(dir_ / "sock", 0600, false).ok());
    ASSERT_TRUE(server_->start().ok());
    fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, (dir_ / "sock").c_str(), sizeof a.sun_path - 1);
    ASSERT_EQ(::connect(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  }
  void TearDown() override {
    if (!released_) release_.set_value();
    fd_.reset();
    server_.reset();
  }
  void release() {
    released_ = true;
    release_.set_value();
  }
  // Calls (proc, serial) sent with one write().
  void send(std::initializer_list<std::pair<int32_t, uint32_t>> calls) {
    std::vector<uint8_t> all;
    for (auto [procNum, serial] : calls) {
      auto p = encodePacket(Header{kRemoteProgram, 1, procNum, MessageType::Call, serial, MessageStatus::Ok}, {});
      ASSERT_TRUE(p.ok());
      all.insert(all.end(), p->begin(), p->end());
    }
    ASSERT_EQ(::write(fd_.get(), all.data(), all.size()), ssize_t(all.size()));
  }
  std::optional<std::pair<Header, std::vector<uint8_t>>> read() {
    uint8_t len[4];
    if (!readFully(len, 4)) return std::nullopt;
    auto n = decodeLength(std::span<const uint8_t, 4>(len, 4));
    if (!n) return std::nullopt;
    std::vector<uint8_t> body(n.value() - 4);
    if (!readFully(body.data(), body.size())) return std::nullopt;
    auto h = decodeHeader(body);
    if (!h) return std::nullopt;
    return std::pair{h.value(), std::vector<uint8_t>(body.begin() + kHeaderBytes, body.end())};
  }
  bool readFully(uint8_t* buf, size_t len) {
    for (size_t got = 0; got < len;) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, 10000) <= 0) return false;
      ssize_t n = ::read(fd_.get(), buf + got, len - got);
      if (n <= 0) return false;
      got += size_t(n);
    }
    return true;
  }
  static bool hasPattern(const std::vector<uint8_t>& payload, uint32_t serial) {
    for (size_t i = 0; i < payload.size(); ++i)
      if (payload[i] != static_cast<uint8_t>(i * 7 + serial)) return false;
    return true;
  }

  xvirt::test::TempDir dir_{"xvirt-rpc-dispatch"};
  std::promise<void> release_;
  bool released_ = false;
  std::unique_ptr<Server> server_;
  UniqueFd fd_;
};

TEST_F(RpcDispatchTest, InlineCallOvertakesABlockedPooledCall) {
  send({{kBlocking, 10}, {kQuick, 11}});
  auto first = read();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->first.serial, 11u);
  EXPECT_EQ(first->first.type, MessageType::Reply);
  EXPECT_TRUE(hasPattern(first->second, 11));
  release();
  auto second = read();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->first.serial, 10u);
  EXPECT_TRUE(hasPattern(second->second, 10));
}

TEST_F(RpcDispatchTest, ManyCallsInOneWriteAreAllAnswered) {
  std::vector<uint8_t> all;
  for (uint32_t serial = 1; serial <= 300; ++serial) {
    auto p = encodePacket(Header{kRemoteProgram, 1, kQuick, MessageType::Call, serial, MessageStatus::Ok}, {});
    all.insert(all.end(), p->begin(), p->end());
  }
  ASSERT_EQ(::write(fd_.get(), all.data(), all.size()), ssize_t(all.size()));
  for (uint32_t serial = 1; serial <= 300; ++serial) {
    auto r = read();
    ASSERT_TRUE(r.has_value()) << serial;
    EXPECT_EQ(r->first.serial, serial);  // inline calls of one connection answer in arrival order
  }
}

TEST_F(RpcDispatchTest, AReplyLargerThanTheSocketGoesOutWholeAndFirst) {
  send({{kHuge, 20}, {kQuick, 21}, {kHuge, 22}, {kQuick, 23}});
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let the socket fill up
  for (uint32_t serial : {20u, 21u, 22u, 23u}) {
    auto r = read();
    ASSERT_TRUE(r.has_value()) << serial;
    EXPECT_EQ(r->first.serial, serial);
    EXPECT_EQ(r->second.size(), serial % 2 ? 4u : kHugeBytes);
    EXPECT_TRUE(hasPattern(r->second, serial)) << serial;
  }
}

}  // namespace
}  // namespace xvirt::rpc
