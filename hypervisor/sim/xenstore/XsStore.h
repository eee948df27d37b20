// XsStore: the simulated host's xenstore database — the node tree with permissions, watches and
// transactions — as xenstored keeps it. XsServer (wire protocol) and the guest model both use it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/Result.h"

namespace xvirt::sim {

// Ownership and access of one node, xenstored style: the first entry is the owner and the default
// access for every domain not listed; later entries grant per-domain access.
struct XsNodePerm {
  uint32_t domid = 0;
  char perm = 'n';  // 'n' none, 'r' read, 'w' write, 'b' both
};

class XsStore {
 public:
  XsStore();
  ~XsStore();
  XsStore(const XsStore&) = delete;
  XsStore& operator=(const XsStore&) = delete;

  // --- Direct access for the simulated host itself (the hypervisor side, guest frontends). ---
  // Each call takes the store's lock, so any thread may use these (XsServer's connection threads
  // change the tree concurrently).
  // `asDomid` is the domain doing the write: new nodes are owned by it, and permission checks
  // apply to it unless it is 0 (dom0 may do anything).
  std::optional<std::string> read(const std::string& path) const;
  Status write(const std::string& path, std::string_view value, uint32_t asDomid = 0);
  Status mkdir(const std::string& path, uint32_t asDomid = 0);
  Status rm(const std::string& path, uint32_t asDomid = 0);  // absent is not an error
  std::vector<std::string> directory(const std::string& path) const;
  Status setPerms(const std::string& path, const std::vector<XsNodePerm>& perms);
  std::vector<XsNodePerm> perms(const std::string& path) const;

  // Internal watches: `callback(path)` is called for every change at or below `path` (and for
  // special paths such as "@releaseDomain"). Callbacks run from the GLib main context after the
  // change is complete, never re-entrantly from inside write()/rm().
  using WatchCallback = std::function<void(const std::string& changedPath)>;
  uint64_t addWatch(const std::string& path, WatchCallback callback);
  void removeWatch(uint64_t id);

  // Fires "@introduceDomain" / "@releaseDomain" to every watcher of that special path.
  void fireSpecial(const std::string& special);

  // Number of nodes and of open transactions, for tests and leak checks.
  size_t nodeCount() const;
  size_t transactionCount() const;

  // The wire-protocol server and transactions need the engine behind this facade.
  class Impl;
  Impl& impl() { return *impl_; }

 private:
  Impl* impl_;
};

}  // namespace xvirt::sim
