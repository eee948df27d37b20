// XsStore unit tests: paths, permissions as xenstored keeps them, transactions and conflicts,
// deferred internal watches, limits.
#include <gtest/gtest.h>

#include <cerrno>
#include <functional>

#include "hypervisor/sim/xenstore/XsStoreImpl.h"

namespace xvirt::sim {
namespace {

using Perms = std::vector<XsNodePerm>;
bool samePerms(const Perms& a, const Perms& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].domid != b[i].domid || a[i].perm != b[i].perm) return false;
  return true;
}

// Runs the default main context until pred() holds or 5 s pass (a timeout source, no sleeping).
bool runUntil(const std::function<bool()>& pred) {
  bool timedOut = false;
  guint timer = g_timeout_add(5000, [](gpointer p) -> gboolean { *static_cast<bool*>(p) = true; return G_SOURCE_REMOVE; }, &timedOut);
  while (!pred() && !timedOut) g_main_context_iteration(nullptr, TRUE);
  if (!timedOut) g_source_remove(timer);
  return pred();
}

TEST(XsStore, CanonicalPaths) {
  std::string out;
  EXPECT_EQ(xsCanonicalize(3, "device/vbd", false, out), 0);
  EXPECT_EQ(out, "/local/domain/3/device/vbd");
  EXPECT_EQ(xsCanonicalize(0, "/", false, out), 0);
  EXPECT_EQ(xsCanonicalize(0, "/a//b", false, out), EINVAL);
  EXPECT_EQ(xsCanonicalize(0, "/a/", false, out), EINVAL);
  EXPECT_EQ(xsCanonicalize(0, "/a b", false, out), EINVAL);
  EXPECT_EQ(xsCanonicalize(0, "/a.b", false, out), EINVAL);
  EXPECT_EQ(xsCanonicalize(0, "", false, out), EINVAL);
  EXPECT_EQ(xsCanonicalize(0, "@releaseDomain", false, out), EINVAL);
  EXPECT_EQ(xsCanonicalize(0, "@releaseDomain", true, out), 0);
  EXPECT_EQ(xsCanonicalize(0, "/" + std::string(kXsAbsPathMax - 1, 'a'), false, out), 0);
  EXPECT_EQ(xsCanonicalize(0, "/" + std::string(kXsAbsPathMax, 'a'), false, out), EINVAL);
  EXPECT_EQ(xsCanonicalize(1, std::string(kXsRelPathMax + 1, 'a'), false, out), EINVAL);
}

TEST(XsStore, WriteCreatesParentsAndRmRemovesSubtrees) {
  XsStore store;
  EXPECT_EQ(store.nodeCount(), 1u);
  ASSERT_TRUE(store.write("/a/b/c", "v").ok());
  EXPECT_EQ(store.read("/a/b/c"), "v");
  EXPECT_EQ(store.read("/a/b"), "");
  EXPECT_EQ(store.directory("/a"), std::vector<std::string>{"b"});
  EXPECT_EQ(store.nodeCount(), 4u);
  ASSERT_TRUE(store.write("/a/b/d", "w").ok());
  EXPECT_EQ(store.directory("/a/b"), (std::vector<std::string>{"c", "d"}));
  ASSERT_TRUE(store.rm("/a/b").ok());
  EXPECT_EQ(store.read("/a/b/c"), std::nullopt);
  EXPECT_TRUE(store.directory("/a").empty());
  EXPECT_EQ(store.nodeCount(), 2u);
  EXPECT_TRUE(store.rm("/a/nothing").ok());  // absent is not an error
  EXPECT_FALSE(store.rm("/").ok());
  EXPECT_EQ(store.write("/big", std::string(kXsPayloadMax + 1, 'x')).error().code, ErrorCode::InvalidArgument);
}

TEST(XsStore, PermissionsAsXenstored) {
  XsStore store;
  ASSERT_TRUE(store.mkdir("/local/domain/5").ok());
  ASSERT_TRUE(store.setPerms("/local/domain/5", {{5, 'n'}, {7, 'r'}}).ok());
  // dom0's new nodes inherit the parent's perms, owner included.
  ASSERT_TRUE(store.write("/local/domain/5/name", "guest").ok());
  EXPECT_TRUE(samePerms(store.perms("/local/domain/5/name"), {{5, 'n'}, {7, 'r'}}));
  // The owner may write; an unprivileged writer owns what it creates.
  ASSERT_TRUE(store.write("data/x", "1", 5).ok());
  EXPECT_TRUE(samePerms(store.perms("/local/domain/5/data/x"), {{5, 'n'}, {7, 'r'}}));
  // Domain 7 may read but not write; domain 9 gets the owner entry's default, none.
  auto& impl = store.impl();
  std::string v;
  EXPECT_EQ(impl.read(0, 7, "/local/domain/5/name", v), 0);
  EXPECT_EQ(impl.write(0, 7, "/local/domain/5/name", "x"), EACCES);
  EXPECT_EQ(impl.write(0, 7, "/local/domain/5/new", "x"), EACCES);
  EXPECT_EQ(impl.read(0, 9, "/local/domain/5/name", v), EACCES);
  EXPECT_EQ(impl.rm(0, 7, "/local/domain/5/name"), EACCES);
  // Domain 7 creating under a node it may write becomes the new node's owner.
  ASSERT_TRUE(store.setPerms("/local/domain/5/data", {{5, 'n'}, {7, 'b'}}).ok());
  EXPECT_EQ(impl.write(0, 7, "/local/domain/5/data/y", "1"), 0);
  EXPECT_TRUE(samePerms(store.perms("/local/domain/5/data/y"), {{7, 'n'}, {7, 'b'}}));
  // Only the owner may change perms, and may not give the node away.
  EXPECT_EQ(impl.setPerms(0, 7, "/local/domain/5/name", {{7, 'b'}}), EPERM);
  EXPECT_EQ(impl.setPerms(0, 5, "/local/domain/5/name", {{6, 'b'}}), EPERM);
  EXPECT_EQ(impl.setPerms(0, 5, "/local/domain/5/name", {{5, 'r'}}), 0);
  EXPECT_EQ(impl.setPerms(0, 0, "/local/domain/5/name", {{5, 'x'}}), EINVAL);
  EXPECT_EQ(impl.setPerms(0, 0, "/local/domain/5/name", {}), EINVAL);
}

TEST(XsStore, TransactionIsolationAndCommit) {
  XsStore store;
  auto& impl = store.impl();
  ASSERT_TRUE(store.write("/t/a", "0").ok());
  uint32_t tx = impl.transactionStart();
  EXPECT_EQ(impl.write(tx, 0, "/t/b/c", "1"), 0);
  EXPECT_EQ(store.read("/t/b/c"), std::nullopt);  // not visible outside before commit
  std::string v;
  EXPECT_EQ(impl.read(tx, 0, "/t/b/c", v), 0);
  EXPECT_EQ(v, "1");
  EXPECT_EQ(impl.rm(tx, 0, "/t/a"), 0);
  EXPECT_EQ(store.read("/t/a"), "0");
  EXPECT_EQ(store.transactionCount(), 1u);
  EXPECT_EQ(impl.transactionEnd(tx, true), 0);
  EXPECT_EQ(store.transactionCount(), 0u);
  EXPECT_EQ(store.read("/t/b/c"), "1");
  EXPECT_EQ(store.read("/t/a"), std::nullopt);
  EXPECT_EQ(impl.transactionEnd(tx, true), ENOENT);
  EXPECT_EQ(impl.read(tx, 0, "/t/b/c", v), ENOENT);

  uint32_t aborted = impl.transactionStart();
  EXPECT_EQ(impl.write(aborted, 0, "/t/gone", "1"), 0);
  EXPECT_EQ(impl.transactionEnd(aborted, false), 0);
  EXPECT_EQ(store.read("/t/gone"), std::nullopt);
}

TEST(XsStore, ConflictingTransactionsGetEagain) {
  XsStore store;
  auto& impl = store.impl();
  ASSERT_TRUE(store.write("/c/counter", "0").ok());
  uint32_t t1 = impl.transactionStart();
  uint32_t t2 = impl.transactionStart();
  std::string v;
  EXPECT_EQ(impl.read(t1, 0, "/c/counter", v), 0);
  EXPECT_EQ(impl.read(t2, 0, "/c/counter", v), 0);
  EXPECT_EQ(impl.write(t1, 0, "/c/counter", "1"), 0);
  EXPECT_EQ(impl.write(t2, 0, "/c/counter", "2"), 0);
  EXPECT_EQ(impl.transactionEnd(t1, true), 0);
  EXPECT_EQ(impl.transactionEnd(t2, true), EAGAIN);
  EXPECT_EQ(store.read("/c/counter"), "1");
  // A direct write to a node a transaction read also makes it fail; disjoint ones do not conflict.
  uint32_t t3 = impl.transactionStart();
  uint32_t t4 = impl.transactionStart();
  EXPECT_EQ(impl.read(t3, 0, "/c/counter", v), 0);
  EXPECT_EQ(impl.write(t4, 0, "/c/other", "x"), 0);
  ASSERT_TRUE(store.write("/c/counter", "5").ok());
  EXPECT_EQ(impl.transactionEnd(t3, true), EAGAIN);
  EXPECT_EQ(impl.transactionEnd(t4, true), 0);
  // A transaction that saw a node absent conflicts with its creation.
  uint32_t t5 = impl.transactionStart();
  EXPECT_EQ(impl.read(t5, 0, "/c/new", v), ENOENT);
  ASSERT_TRUE(store.write("/c/new", "1").ok());
  EXPECT_EQ(impl.transactionEnd(t5, true), EAGAIN);
  EXPECT_EQ(store.transactionCount(), 0u);
}

TEST(XsStore, WatchesAreDeferredAndCoverSubtreesAndRemovals) {
  XsStore store;
  std::vector<std::string> seen;
  uint64_t id = store.addWatch("/w", [&](const std::string& p) {
    seen.push_back(p);
    // Re-entering the store from a callback is allowed: it only queues more events.
    if (p == "/w/a") {
      ASSERT_TRUE(store.write("/w/from-callback", "1").ok());
    }
  });
  ASSERT_TRUE(store.write("/w/a", "1").ok());
  EXPECT_TRUE(seen.empty());  // never called from inside write()
  ASSERT_TRUE(runUntil([&] { return seen.size() >= 2; }));
  EXPECT_EQ(seen, (std::vector<std::string>{"/w/a", "/w/from-callback"}));
  seen.clear();

  std::vector<std::string> below;
  uint64_t deep = store.addWatch("/w/x/y", [&](const std::string& p) { below.push_back(p); });
  ASSERT_TRUE(store.write("/w/x/y", "1").ok());
  ASSERT_TRUE(store.rm("/w").ok());
  ASSERT_TRUE(runUntil([&] { return below.size() >= 2 && seen.size() >= 2; }));
  EXPECT_EQ(below, (std::vector<std::string>{"/w/x/y", "/w/x/y"}));  // a removed ancestor names the watch
  EXPECT_EQ(seen, (std::vector<std::string>{"/w/x/y", "/w"}));
  store.removeWatch(deep);
  store.removeWatch(id);

  int special = 0;
  store.addWatch("@releaseDomain", [&](const std::string& p) { special += p == "@releaseDomain"; });
  store.fireSpecial("@introduceDomain");
  store.fireSpecial("@releaseDomain");
  ASSERT_TRUE(runUntil([&] { return special == 1; }));
}

TEST(XsStore, TransactionEventsFireOnlyAtCommit) {
  XsStore store;
  int events = 0;
  store.addWatch("/tx", [&](const std::string&) { ++events; });
  auto& impl = store.impl();
  uint32_t t = impl.transactionStart();
  EXPECT_EQ(impl.write(t, 0, "/tx/a", "1"), 0);
  while (g_main_context_iteration(nullptr, FALSE)) {}
  EXPECT_EQ(events, 0);
  EXPECT_EQ(impl.transactionEnd(t, true), 0);
  ASSERT_TRUE(runUntil([&] { return events == 1; }));
}

}  // namespace
}  // namespace xvirt::sim
