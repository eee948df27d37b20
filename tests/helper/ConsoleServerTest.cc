#include "helper/console/ConsoleServer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "common/File.h"
#include "tests/lib/TestUtil.h"

using namespace xvirt;
using namespace xvirt::helper;

namespace {

// A guest console backed by a pipe: the test writes guest output into it.
class PipeChannel : public hv::ConsoleChannel {
 public:
  PipeChannel() {
    int fds[2];
    EXPECT_EQ(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    r_.reset(fds[0]);
    w_.reset(fds[1]);
  }
  int pollFd() const override { return r_.get(); }
  Result<std::string> read() override {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(r_.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    return out;
  }
  Result<size_t> write(std::string_view data) override {
    input += data;
    return data.size();
  }
  void guestWrites(const std::string& s) { ASSERT_EQ(::write(w_.get(), s.data(), s.size()), (ssize_t)s.size()); }
  std::string input;

 private:
  UniqueFd r_, w_;
};

void pumpLoop() {
  for (int i = 0; i < 50; ++i) g_main_context_iteration(nullptr, FALSE);
}

}  // namespace

TEST(ConsoleTarget, ParsesQemuSerialSpecs) {
  EXPECT_EQ(ConsoleTarget::parse("pty")->kind, ConsoleTarget::Kind::Pty);
  EXPECT_EQ(ConsoleTarget::parse("file:/x.log")->path, "/x.log");
  EXPECT_EQ(ConsoleTarget::parse("null")->kind, ConsoleTarget::Kind::Null);
  auto bad = ConsoleTarget::parse("udp:1.2.3.4:5");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "The serial device 'udp:1.2.3.4:5' is not one of pty, file:PATH, stdio or null.");
}

TEST(ConsoleServer, PtyCarriesBothWays) {
  auto server = ConsoleServer::create(*ConsoleTarget::parse("pty"), "console0");
  ASSERT_TRUE(server.ok()) << server.error().message;
  auto chan = std::make_unique<PipeChannel>();
  PipeChannel* guest = chan.get();
  (*server)->attach(std::move(chan));
  guest->guestWrites("Booting demo\r\n");
  pumpLoop();
  UniqueFd user(::open((*server)->ptyPath().c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK));
  ASSERT_TRUE(user);
  char buf[256];
  ssize_t n = ::read(user.get(), buf, sizeof buf);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "Booting demo\r\n");
  ASSERT_EQ(::write(user.get(), "ls\r", 3), 3);
  for (int i = 0; i < 200 && guest->input.empty(); ++i) {
    g_main_context_iteration(nullptr, FALSE);
    g_usleep(500);
  }
  EXPECT_EQ(guest->input, "ls\r");
  EXPECT_EQ((*server)->filename(), "pty:" + (*server)->ptyPath());
}

TEST(ConsoleServer, UnreadPtyOutputIsBoundedAndCounted) {
  auto server = ConsoleServer::create(*ConsoleTarget::parse("pty"), "console0");
  ASSERT_TRUE(server.ok());
  auto chan = std::make_unique<PipeChannel>();
  PipeChannel* guest = chan.get();
  (*server)->attach(std::move(chan));
  std::string chunk(32768, 'x');
  for (int i = 0; i < 16; ++i) {  // 512 KiB, nobody reading
    guest->guestWrites(chunk);
    pumpLoop();
  }
  EXPECT_EQ((*server)->bytesFromGuest(), 16u * 32768u);
  EXPECT_GT((*server)->droppedBytes(), 0u);
  EXPECT_LT((*server)->droppedBytes(), 16u * 32768u - ConsoleServer::kBufferLimit + 1);
}

TEST(ConsoleServer, FileTargetKeepsEverything) {
  xvirt::test::TempDir tmp("xvirt-console");
  ASSERT_TRUE(tmp.ok());
  const std::string& dir = tmp.path();
  auto server = ConsoleServer::create(*ConsoleTarget::parse("file:" + dir + "/c.log"), "console0");
  ASSERT_TRUE(server.ok());
  auto chan = std::make_unique<PipeChannel>();
  PipeChannel* guest = chan.get();
  (*server)->attach(std::move(chan));
  guest->guestWrites("line one\n");
  pumpLoop();
  guest->guestWrites("line two\n");
  pumpLoop();
  EXPECT_EQ(*readFile(dir + "/c.log"), "line one\nline two\n");
}
