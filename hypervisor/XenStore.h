// XenStore: an RAII wrapper over libxenstore. The same code talks to a real xenstored and to
// xvirt-simxen's xenstore (libxenstore honours XENSTORED_PATH), so there is one implementation.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/Result.h"

struct xs_handle;

namespace xvirt::hv {

// One xenstore permission entry, as xenstore-chmod writes it: 'n' none, 'r' read, 'w' write, 'b' both.
struct XsPerm {
  uint32_t domid = 0;
  char perm = 'n';
  friend bool operator==(const XsPerm&, const XsPerm&) = default;
};

class XenStoreTransaction;

class XenStore {
 public:
  // Connects to the xenstore daemon. socketPath empty: libxenstore's default (XENSTORED_PATH or
  // the system socket / xenbus device).
  static Result<std::unique_ptr<XenStore>> open(const std::string& socketPath = {});
  ~XenStore();
  XenStore(const XenStore&) = delete;
  XenStore& operator=(const XenStore&) = delete;

  Result<std::string> read(const std::string& path);            // NoDomain-free: DeviceNotFound on ENOENT
  Result<std::optional<std::string>> tryRead(const std::string& path);  // nullopt when absent
  Status write(const std::string& path, std::string_view value);
  Status mkdir(const std::string& path);
  Status rm(const std::string& path);                           // absent is not an error
  Result<std::vector<std::string>> directory(const std::string& path);
  Result<std::vector<XsPerm>> getPerms(const std::string& path);
  Status setPerms(const std::string& path, const std::vector<XsPerm>& perms);

  // Runs fn inside a transaction and commits; on EAGAIN (a conflicting commit) the whole
  // function is run again, up to maxAttempts times.
  Status transaction(const std::function<Status(XenStoreTransaction&)>& fn, int maxAttempts = 16);

  // Watches. The fd is readable when a watch fired; readWatch() returns (path, token) pairs.
  Status watch(const std::string& path, const std::string& token);
  Status unwatch(const std::string& path, const std::string& token);
  int watchFd() const;
  Result<std::vector<std::pair<std::string, std::string>>> readWatches();

  Status introduceDomain(uint32_t domid, uint64_t storeMfn, uint32_t storeEvtchn);
  Status releaseDomain(uint32_t domid);
  // XS_RESUME: xenstored forgets that the domain shut down (after its suspend was cancelled), so it
  // fires @releaseDomain again when the domain really shuts down.
  Status resumeDomain(uint32_t domid);
  Result<std::string> domainPath(uint32_t domid);               // /local/domain/N

  xs_handle* handle() const { return xs_; }

 private:
  explicit XenStore(xs_handle* xs) : xs_(xs) {}
  xs_handle* xs_;
};

// Operations inside one transaction (see XenStore::transaction).
class XenStoreTransaction {
 public:
  Result<std::optional<std::string>> tryRead(const std::string& path);
  Status write(const std::string& path, std::string_view value);
  Status mkdir(const std::string& path);
  Status rm(const std::string& path);
  Result<std::vector<std::string>> directory(const std::string& path);
  Status setPerms(const std::string& path, const std::vector<XsPerm>& perms);

 private:
  friend class XenStore;
  XenStoreTransaction(xs_handle* xs, uint32_t t) : xs_(xs), t_(t) {}
  xs_handle* xs_;
  uint32_t t_;
};

}  // namespace xvirt::hv
