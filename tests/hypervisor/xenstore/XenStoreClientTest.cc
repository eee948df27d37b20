// The real libxenstore, through the XenStore wrapper, against XsServer on its own thread:
// node operations, permissions, watches, domain ops, and conflicting transactions.
#include <gtest/gtest.h>
#include <poll.h>
// xenstore.h (Xen 4.17) has no extern "C" guard of its own.
extern "C" {
#include <xenstore.h>
}

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <vector>

#include "hypervisor/XenStore.h"
#include "hypervisor/sim/xenstore/XsServerThread.h"
#include "tests/lib/TestUtil.h"

namespace xvirt {
namespace {

using hv::XenStore;
using hv::XenStoreTransaction;
using hv::XsPerm;

class XenStoreClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    socket_ = dir_ / "socket";
    auto server = sim::XsServerThread::start(socket_);
    ASSERT_TRUE(server.ok()) << server.error().message;
    server_ = std::move(*server);
    auto xs = XenStore::open(socket_);
    ASSERT_TRUE(xs.ok()) << xs.error().message;
    xs_ = std::move(*xs);
  }
  void TearDown() override {
    xs_.reset();
    server_.reset();
  }
  // The server's own counters, asked over the protocol (it runs on another thread).
  std::string stats(XenStore& xs) {
    std::unique_ptr<char, decltype(&std::free)> s(xs_control_command(xs.handle(), "stats", nullptr, 0), &std::free);
    return s ? std::string(s.get()) : std::string("error");
  }
  // Waits (poll with a timeout) for a watch event and returns it.
  std::pair<std::string, std::string> nextEvent(XenStore& xs) {
    if (pending_.empty()) {
      pollfd p{xs.watchFd(), POLLIN, 0};
      EXPECT_EQ(::poll(&p, 1, 5000), 1) << "no watch event within 5 s";
      auto events = xs.readWatches();
      EXPECT_TRUE(events.ok());
      if (events.ok()) pending_.insert(pending_.end(), events->begin(), events->end());
    }
    if (pending_.empty()) return {};
    auto e = pending_.front();
    pending_.erase(pending_.begin());
    return e;
  }

  xvirt::test::TempDir dir_{"xvirt-xs"};
  std::string socket_;
  std::unique_ptr<sim::XsServerThread> server_;
  std::unique_ptr<XenStore> xs_;
  std::vector<std::pair<std::string, std::string>> pending_;
};

TEST_F(XenStoreClientTest, NodeOperations) {
  ASSERT_TRUE(xs_->write("/vm/a/b", "hello").ok());
  EXPECT_EQ(*xs_->read("/vm/a/b"), "hello");
  EXPECT_EQ(xs_->read("/vm/none").error().code, ErrorCode::DeviceNotFound);
  EXPECT_NE(xs_->read("/vm/none").error().message.find("/vm/none"), std::string::npos);
  EXPECT_EQ(*xs_->tryRead("/vm/none"), std::nullopt);
  ASSERT_TRUE(xs_->mkdir("/vm/a/c").ok());
  EXPECT_EQ(*xs_->directory("/vm/a"), (std::vector<std::string>{"b", "c"}));
  ASSERT_TRUE(xs_->setPerms("/vm/a/b", {{3, 'n'}, {4, 'r'}}).ok());
  EXPECT_EQ(*xs_->getPerms("/vm/a/b"), (std::vector<XsPerm>{{3, 'n'}, {4, 'r'}}));
  EXPECT_EQ(xs_->write("/bad//path", "x").error().code, ErrorCode::InvalidArgument);
  ASSERT_TRUE(xs_->rm("/vm").ok());
  ASSERT_TRUE(xs_->rm("/vm").ok());
  EXPECT_EQ(xs_->directory("/vm").error().code, ErrorCode::DeviceNotFound);
  // Many children: the list no longer fits one reply, so libxenstore falls back to DIRECTORY_PART.
  for (int i = 0; i < 400; ++i) ASSERT_TRUE(xs_->write("/many/child-number-" + std::to_string(i), "").ok());
  auto many = xs_->directory("/many");
  ASSERT_TRUE(many.ok()) << many.error().message;
  EXPECT_EQ(many->size(), 400u);
  EXPECT_EQ(many->back(), "child-number-399");
}

TEST_F(XenStoreClientTest, OpenNamesAMissingSocket) {
  const char* env = std::getenv("XENSTORED_PATH");
  const std::optional<std::string> before = env ? std::optional<std::string>(env) : std::nullopt;
  auto missing = XenStore::open(dir_ / "no-such-socket");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::SystemError);
  EXPECT_NE(missing.error().message.find("no-such-socket"), std::string::npos);
  env = std::getenv("XENSTORED_PATH");
  EXPECT_EQ(env ? std::optional<std::string>(env) : std::nullopt, before);  // restored after the open
}

TEST_F(XenStoreClientTest, ConflictingTransactionsRetry) {
  auto other = XenStore::open(socket_);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(xs_->write("/counter", "0").ok());
  std::string baseline = stats(*xs_);

  // Raw libxenstore first: of two transactions over the same node, the second commit gets EAGAIN.
  xs_transaction_t t1 = xs_transaction_start(xs_->handle());
  xs_transaction_t t2 = xs_transaction_start((*other)->handle());
  ASSERT_NE(t1, XBT_NULL);
  ASSERT_NE(t2, XBT_NULL);
  unsigned len = 0;
  std::free(xs_read(xs_->handle(), t1, "/counter", &len));
  std::free(xs_read((*other)->handle(), t2, "/counter", &len));
  ASSERT_TRUE(xs_write(xs_->handle(), t1, "/counter", "1", 1));
  ASSERT_TRUE(xs_write((*other)->handle(), t2, "/counter", "2", 1));
  EXPECT_TRUE(xs_transaction_end(xs_->handle(), t1, false));
  errno = 0;
  EXPECT_FALSE(xs_transaction_end((*other)->handle(), t2, false));
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_EQ(*xs_->read("/counter"), "1");

  // Through the wrapper: the first attempt collides with another client's commit and is re-run.
  int attempts = 0;
  Status s = xs_->transaction([&](XenStoreTransaction& tx) -> Status {
    ++attempts;
    XVIRT_ASSIGN_OR_RETURN(auto value, tx.tryRead("/counter"));
    if (attempts == 1) XVIRT_TRY((*other)->write("/counter", "10"));
    return tx.write("/counter", std::to_string(std::stoi(value.value_or("0")) + 1));
  });
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(*xs_->read("/counter"), "11");
  // An error inside the function aborts the transaction and is returned as is.
  Status failed = xs_->transaction([&](XenStoreTransaction& tx) -> Status {
    XVIRT_TRY(tx.write("/counter", "99"));
    return makeError(ErrorCode::OperationFailed, "Stop here.");
  });
  EXPECT_EQ(failed.error().message, "Stop here.");
  EXPECT_EQ(*xs_->read("/counter"), "11");
  EXPECT_EQ(stats(*xs_), baseline);
}

TEST_F(XenStoreClientTest, WatchesFireOnRegistrationWriteAndRemoval) {
  ASSERT_TRUE(xs_->watch("/watched", "tok").ok());
  EXPECT_EQ(nextEvent(*xs_), (std::pair<std::string, std::string>{"/watched", "tok"}));
  auto writer = XenStore::open(socket_);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->write("/watched/leaf", "1").ok());
  EXPECT_EQ(nextEvent(*xs_), (std::pair<std::string, std::string>{"/watched/leaf", "tok"}));
  ASSERT_TRUE((*writer)->rm("/watched").ok());
  EXPECT_EQ(nextEvent(*xs_), (std::pair<std::string, std::string>{"/watched", "tok"}));
  ASSERT_TRUE(xs_->unwatch("/watched", "tok").ok());
  EXPECT_EQ(xs_->unwatch("/watched", "tok").error().code, ErrorCode::DeviceNotFound);
}

// Each connection has a thread of its own in the server: clients writing and reading at once,
// a socket watcher and an internal (XsStore::addWatch) watcher must all see every change.
TEST_F(XenStoreClientTest, ConcurrentClientsSeeEveryChange) {
  constexpr int kClients = 4, kWrites = 200;
  ASSERT_TRUE(xs_->watch("/conc", "tok").ok());
  EXPECT_EQ(nextEvent(*xs_), (std::pair<std::string, std::string>{"/conc", "tok"}));
  // The facade may be used from any thread now; callbacks run on the server's context.
  sim::XsStore& store = server_->store();
  const size_t nodesBefore = store.nodeCount();
  std::mutex mu;
  std::condition_variable cv;
  int internal = 0;
  uint64_t watchId = store.addWatch("/conc", [&](const std::string&) {
    std::lock_guard lock(mu);
    ++internal;
    cv.notify_all();
  });
  std::vector<std::thread> clients;
  std::atomic<int> failures{0};
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      auto xs = XenStore::open(socket_);
      if (!xs.ok()) return void(++failures);
      for (int n = 0; n < kWrites; ++n) {
        std::string path = "/conc/c" + std::to_string(i) + "/n" + std::to_string(n);
        if (!(*xs)->write(path, std::to_string(n)).ok()) {
          ++failures;
          continue;
        }
        auto read = (*xs)->read(path);
        if (!read.ok() || *read != std::to_string(n)) ++failures;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures.load(), 0);
  // One event per write, as from xenstored (parents created on the way fire nothing of their own).
  const int expected = kClients * kWrites;
  int heard = 0;
  for (; heard < expected; ++heard) {
    auto e = nextEvent(*xs_);
    if (e.first.empty()) break;
    EXPECT_EQ(e.second, "tok");
  }
  EXPECT_EQ(heard, expected);
  {
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::seconds(10), [&] { return internal >= expected; });
    EXPECT_EQ(internal, expected);
  }
  store.removeWatch(watchId);
  EXPECT_EQ(store.nodeCount(), nodesBefore + 1 + kClients * (kWrites + 1));
  // The clients' connections are gone once their threads have noticed; stats waits for nothing.
  for (int i = 0; i < 100 && stats(*xs_).find("connections=1 ") == std::string::npos; ++i)
    ASSERT_TRUE(xs_->read("/conc").ok());
  EXPECT_EQ(stats(*xs_), "nodes=" + std::to_string(store.nodeCount()) + " transactions=0 connections=1 watches=1");
}

TEST_F(XenStoreClientTest, DomainOperations) {
  int introduced = 0, released = 0;
  // Set while the server thread idles; the requests below reach it only afterwards, through the socket.
  server_->server().setIntroduceHandler([&](uint32_t domid, uint64_t, uint32_t) -> Status {
    if (domid == 66) return makeError(ErrorCode::NoDomain, "Domain 66 does not exist.");
    ++introduced;
    return okStatus();
  });
  server_->server().setReleaseHandler([&](uint32_t) -> Status { ++released; return okStatus(); });
  ASSERT_TRUE(xs_->watch("@introduceDomain", "in").ok());
  ASSERT_TRUE(xs_->watch("@releaseDomain", "out").ok());
  EXPECT_EQ(nextEvent(*xs_).second, "in");
  EXPECT_EQ(nextEvent(*xs_).second, "out");
  EXPECT_EQ(*xs_->domainPath(7), "/local/domain/7");
  EXPECT_FALSE(xs_is_domain_introduced(xs_->handle(), 7));
  ASSERT_TRUE(xs_->introduceDomain(7, 0x1234, 3).ok());
  EXPECT_EQ(nextEvent(*xs_), (std::pair<std::string, std::string>{"@introduceDomain", "in"}));
  EXPECT_TRUE(xs_is_domain_introduced(xs_->handle(), 7));
  EXPECT_FALSE(xs_->introduceDomain(66, 1, 1).ok());
  ASSERT_TRUE(xs_->releaseDomain(7).ok());
  EXPECT_EQ(nextEvent(*xs_), (std::pair<std::string, std::string>{"@releaseDomain", "out"}));
  EXPECT_FALSE(xs_->releaseDomain(7).ok());
  EXPECT_EQ(introduced, 1);
  EXPECT_EQ(released, 1);
}

}  // namespace
}  // namespace xvirt
