// The server, connections and dispatcher in-process: event delivery and ordering, registrations
// dropped on EOF, server-side keepalive, and reply shapes, over a real UNIX socket in a temp dir.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <thread>

#include "common/UniqueFd.h"
#include "driver/ErrorMap.h"
#include "driver/EventBus.h"
#include "driver/RemoteDispatch.h"
#include "driver/RemoteProcedures.h"
#include "driver/rpc/Packet.h"
#include "driver/rpc/ProcedureNumbers.h"
#include "driver/rpc/Server.h"
#include "tests/driver/FakeDomains.h"
#include "tests/driver/FakeHypervisor.h"
#include "tests/lib/TestUtil.h"

namespace xvirt::driver {
namespace {

using rpc::Header;
using rpc::MessageStatus;
using rpc::MessageType;

struct Packet {
  Header h;
  std::vector<uint8_t> payload;
};

class RawClient {
 public:
  explicit RawClient(const std::string& path) : fd_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    EXPECT_EQ(::connect(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  }
  void call(int32_t procNum, uint32_t serial, const std::vector<uint8_t>& args = {}) {
    auto p = rpc::encodePacket(Header{rpc::kRemoteProgram, 1, procNum, MessageType::Call, serial, MessageStatus::Ok}, args);
    ASSERT_TRUE(p.ok());
    ASSERT_EQ(::write(fd_.get(), p->data(), p->size()), ssize_t(p->size()));
  }
  // Waits up to the timeout for a whole packet; nullopt on EOF or timeout.
  std::optional<Packet> read(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    uint8_t len[4];
    if (!readFully(len, 4, timeout)) return std::nullopt;
    auto n = rpc::decodeLength(std::span<const uint8_t, 4>(len, 4));
    if (!n) return std::nullopt;
    std::vector<uint8_t> body(n.value() - 4);
    if (!readFully(body.data(), body.size(), timeout)) return std::nullopt;
    auto h = rpc::decodeHeader(body);
    if (!h) return std::nullopt;
    return Packet{h.value(), std::vector<uint8_t>(body.begin() + 24, body.end())};
  }
  std::optional<Packet> readReply() {
    for (;;) {
      auto p = read();
      if (!p || p->h.type == MessageType::Reply) return p;
    }
  }
  void open(uint32_t flags = 0) {
    rpc::XdrWriter w;
    w.u32(0);  // name: NULL
    w.u32(flags);
    call(rpc::proc::REMOTE_PROC_CONNECT_OPEN, 1, w.bytes());
    auto r = readReply();
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->h.status, MessageStatus::Ok);
  }
  void closeSocket() { fd_.reset(); }

 private:
  bool readFully(uint8_t* buf, size_t len, std::chrono::milliseconds timeout) {
    size_t got = 0;
    while (got < len) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, int(timeout.count())) <= 0) return false;
      ssize_t n = ::read(fd_.get(), buf + got, len - got);
      if (n <= 0) return false;
      got += size_t(n);
    }
    return true;
  }
  UniqueFd fd_;
};

using xvirt::test::waitUntil;

class RpcServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = xvirt::test::makeTempDir("xvirt-rpc-test");
    ASSERT_FALSE(dir_.empty());
    domains_ = std::make_unique<test::FakeDomains>(dir_ + "/state", hv_, events_);
    ctx_ = std::make_unique<DriverContext>(hv_, domains_->manager, events_, false);
    rpc::ServerOptions options;
    options.keepalive = rpc::KeepaliveConfig{1, 2};
    server_ = std::make_unique<rpc::Server>(options, [this](rpc::Connection& conn) {
      return std::make_unique<ClientSession>(*ctx_, conn);
    });
    ASSERT_TRUE(server_->listenUnix(sock(), 0600, false).ok());
    ASSERT_TRUE(server_->listenUnix(sock() + "-ro", 0666, true).ok());
    ASSERT_TRUE(server_->start().ok());
  }
  void TearDown() override {
    server_->stop();
    server_.reset();
    ctx_.reset();
    domains_.reset();
    xvirt::test::removeTree(dir_);
  }
  std::string sock() const { return dir_ + "/sock"; }

  std::string dir_;
  test::FakeHypervisor hv_;
  EventBus events_;
  std::unique_ptr<test::FakeDomains> domains_;  // no domains: the manager over an empty temp dir
  std::unique_ptr<DriverContext> ctx_;
  std::unique_ptr<rpc::Server> server_;
};

TEST_F(RpcServerTest, LifecycleEventFollowsTheRegisterReply) {
  RawClient c(sock());
  c.open();
  rpc::XdrWriter args;
  args.i32(kEventIdLifecycle);
  args.u32(0);  // all domains
  c.call(rpc::proc::REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, 2, args.bytes());
  auto reply = c.read();
  ASSERT_TRUE(reply.has_value());
  ASSERT_EQ(reply->h.type, MessageType::Reply);
  rpc::XdrReader r(reply->payload);
  int32_t callbackId = r.i32();
  ASSERT_TRUE(r.finish().ok());
  ASSERT_TRUE(waitUntil([&] { return events_.activeSize() == 1; }));

  DomainRef dom{"vm1", *Uuid::parse("c7a5fdbd-edaf-9455-926a-d65c16db1809"), 3};
  events_.publishLifecycle(dom, 2, 0);
  auto ev = c.read();
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(ev->h, (Header{rpc::kRemoteProgram, 1, rpc::proc::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE, MessageType::Message, 0,
                           MessageStatus::Ok}));
  rpc::XdrReader er(ev->payload);
  EXPECT_EQ(er.i32(), callbackId);
  EXPECT_EQ(DomainRef::decode(er), dom);
  EXPECT_EQ(er.i32(), 2);
  EXPECT_EQ(er.i32(), 0);
  EXPECT_TRUE(er.finish().ok());
}

TEST_F(RpcServerTest, RegistrationsAreDroppedOnEof) {
  RawClient c(sock());
  c.open();
  rpc::XdrWriter args;
  args.i32(kEventIdLifecycle);
  args.u32(0);
  c.call(rpc::proc::REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, 2, args.bytes());
  ASSERT_TRUE(c.readReply().has_value());
  EXPECT_EQ(events_.size(), 1u);
  c.closeSocket();
  EXPECT_TRUE(waitUntil([&] { return events_.size() == 0; }));
}

TEST_F(RpcServerTest, DeregisterOfAForeignIdFails) {
  RawClient c(sock());
  c.open();
  rpc::XdrWriter args;
  args.i32(12345);
  c.call(rpc::proc::REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, 2, args.bytes());
  auto r = c.readReply();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->h.status, MessageStatus::Error);
}

TEST_F(RpcServerTest, ServerPingsOnlyClientsThatProbedKeepalive) {
  RawClient c(sock());
  rpc::XdrWriter args;
  args.i32(rpc::feature::kProgramKeepalive);
  c.call(rpc::proc::REMOTE_PROC_CONNECT_SUPPORTS_FEATURE, 0, args.bytes());
  auto r = c.readReply();
  ASSERT_TRUE(r.has_value());
  rpc::XdrReader rr(r->payload);
  EXPECT_EQ(rr.i32(), 1);
  auto ping = c.read(std::chrono::seconds(5));
  ASSERT_TRUE(ping.has_value());
  EXPECT_EQ(ping->h, (Header{rpc::kKeepaliveProgram, 1, rpc::proc::KEEPALIVE_PROC_PING, MessageType::Message, 0,
                             MessageStatus::Ok}));
  // Not answering: after `count` unanswered pings the server closes the connection.
  std::optional<Packet> p;
  do {
    p = c.read(std::chrono::seconds(10));
  } while (p.has_value());
  EXPECT_TRUE(waitUntil([&] { return server_->connectionCount() == 0; }));
}

TEST_F(RpcServerTest, NodeInfoModelIs128Bytes) {
  RawClient c(sock());
  c.open();
  c.call(rpc::proc::REMOTE_PROC_NODE_GET_INFO, 2);
  auto r = c.readReply();
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->payload.size(), 128u + 8 + 6 * 4);
  rpc::XdrReader rr(r->payload);
  EXPECT_EQ(rr.charArray(32), "x86_64");
  EXPECT_EQ(rr.u64(), hv_.info.totalKib);
  EXPECT_EQ(rr.i32(), 4);     // cpus
  EXPECT_EQ(rr.i32(), 2400);  // MHz
}

TEST_F(RpcServerTest, SecurityModelIsEmptyCountedChars) {
  RawClient c(sock());
  c.open();
  c.call(rpc::proc::REMOTE_PROC_NODE_GET_SECURITY_MODEL, 2);
  auto r = c.readReply();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->payload, (std::vector<uint8_t>{0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}));
}

TEST_F(RpcServerTest, ReadOnlySocketDeniesMutatingProcedures) {
  RawClient c(sock() + "-ro");
  c.open();
  rpc::XdrWriter args;
  args.str("<domain/>");
  c.call(11, 2, args.bytes());  // DOMAIN_DEFINE_XML
  auto r = c.readReply();
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->h.status, MessageStatus::Error);
  rpc::XdrReader er(r->payload);
  auto e = rpc::RemoteError::decode(er);
  EXPECT_EQ(e.code, virerr::kOperationDenied);
  EXPECT_EQ(e.domain, virfrom::kXen);
}

TEST(ProcedureTable, SortedUniqueAndNamed) {
  auto table = remoteProcedures();
  ASSERT_FALSE(table.empty());
  for (const auto& e : table) {
    EXPECT_EQ(findRemoteProcedure(e.number), &e);
    EXPECT_NE(std::string(e.name), "");
  }
  EXPECT_EQ(findRemoteProcedure(9999), nullptr);
}

TEST(ErrorMap, CodesMatchLibvirt) {
  EXPECT_EQ(libvirtErrorNumber(ErrorCode::NoSupport), 3);
  EXPECT_EQ(libvirtErrorNumber(ErrorCode::NoDomain), 42);
  EXPECT_EQ(libvirtErrorNumber(ErrorCode::DomainExists), 28);
  EXPECT_EQ(libvirtErrorNumber(ErrorCode::Denied), 29);
  EXPECT_EQ(libvirtErrorNumber(ErrorCode::OperationInvalid), 55);
  EXPECT_EQ(libvirtErrorNumber(ErrorCode::XmlError), 27);
  EXPECT_EQ(toRemoteError(makeError(ErrorCode::NoDomain, "Domain not found.")).domain, 1);
}

}  // namespace
}  // namespace xvirt::driver
