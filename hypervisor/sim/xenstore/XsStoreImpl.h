// XsStore::Impl: the xenstore engine behind the XsStore facade — canonical paths, node tree,
// permission checks, transactions and change notification — with xenstored's errno-style results.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <glib.h>

#include "hypervisor/sim/xenstore/XsStore.h"

namespace xvirt::sim {

// xenstored's limits (xs_wire.h).
inline constexpr size_t kXsPayloadMax = 4096;
inline constexpr size_t kXsAbsPathMax = 3072;
inline constexpr size_t kXsRelPathMax = 2048;

// Canonicalises `in` as xenstored does for a connection of domain `domid`: relative paths resolve
// under /local/domain/<domid>; special watch paths ("@...") are allowed only when `allowSpecial`.
// Returns 0 or EINVAL.
int xsCanonicalize(uint32_t domid, std::string_view in, bool allowSpecial, std::string& out);

// The access `domid` has under `perms` ('n', 'r', 'w' or 'b'), with xenstored's rules.
char xsAccess(uint32_t domid, const std::vector<XsNodePerm>& perms);

// Whether a change at `changed` fires a watch on `watched`; `exact` is false for removals, which
// also fire watches below the removed node. `eventPath` receives the path the event names.
bool xsWatchMatches(const std::string& watched, const std::string& changed, bool exact, std::string& eventPath);

class XsStore::Impl {
 public:
  struct Node {
    std::string value;
    std::vector<XsNodePerm> perms;
    std::vector<std::string> children;  // names, in creation order as xenstored lists them
    uint64_t gen = 0;                   // bumped on every change; 0 never names a live node
  };
  // Called synchronously after each committed change (removals with exact = false).
  using ChangeListener = std::function<void(const std::string& path, bool exact)>;

  Impl();
  ~Impl();

  // Node operations on canonical absolute paths, inside transaction `tx` (0: none). Each returns
  // 0 or an errno value as xenstored would send it.
  int read(uint32_t tx, uint32_t domid, const std::string& path, std::string& value);
  int write(uint32_t tx, uint32_t domid, const std::string& path, std::string_view value);
  int mkdir(uint32_t tx, uint32_t domid, const std::string& path);
  int rm(uint32_t tx, uint32_t domid, const std::string& path);
  int directory(uint32_t tx, uint32_t domid, const std::string& path, std::vector<std::string>& children,
                uint64_t& gen);
  int getPerms(uint32_t tx, uint32_t domid, const std::string& path, std::vector<XsNodePerm>& perms);
  int setPerms(uint32_t tx, uint32_t domid, const std::string& path, const std::vector<XsNodePerm>& perms);

  // Transactions: start returns a new id (never 0); end commits or aborts and returns 0, EAGAIN on
  // a conflict or ENOENT for an unknown id.
  uint32_t transactionStart();
  int transactionEnd(uint32_t tx, bool commit);
  bool hasTransaction(uint32_t tx) const { return txns_.count(tx) != 0; }
  size_t transactionCount() const { return txns_.size(); }

  uint64_t addListener(ChangeListener listener);
  void removeListener(uint64_t id);
  void notify(const std::string& path, bool exact);

  // Internal watches with deferred callbacks (XsStore::addWatch).
  uint64_t addWatch(const std::string& path, WatchCallback callback);
  void removeWatch(uint64_t id);

  size_t nodeCount() const { return nodes_.size(); }

  // Guards everything here. The XsStore facade takes it itself; XsServer holds it around the
  // requests it handles on its connection threads (and the listeners run under it).
  std::mutex& mutex() { return mutex_; }

 private:
  struct Txn;
  Txn* txnFor(uint32_t tx, Txn& scratch, int& err);
  int finish(Txn& t, uint32_t tx, int err);
  int commit(Txn& t);
  int createPath(Txn& t, uint32_t domid, const std::string& path, Node*& node);
  void removeSubtree(Txn& t, const std::string& path);
  static gboolean dispatchWatches(gpointer self);

  std::unordered_map<std::string, Node> nodes_;
  std::unordered_map<uint32_t, std::unique_ptr<Txn>> txns_;
  uint32_t nextTx_ = 1;
  uint64_t nextGen_ = 1;
  uint64_t nextListener_ = 1;
  std::map<uint64_t, ChangeListener> listeners_;

  struct InternalWatch {
    std::string path;
    WatchCallback callback;
  };
  std::map<uint64_t, InternalWatch> watches_;
  std::vector<std::pair<uint64_t, std::string>> pendingWatch_;
  GMainContext* context_ = nullptr;
  GSource* idle_ = nullptr;
  std::mutex mutex_;
};

}  // namespace xvirt::sim
