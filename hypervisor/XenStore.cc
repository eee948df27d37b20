// XenStore: the libxenstore wrapper (one implementation for real xenstored and the sim).
//
// Every libxenstore call reports failure through errno, so each call site captures errno on the
// very next line, before anything else (logging, string building) can clobber it.
#include "hypervisor/XenStore.h"

// xenstore.h (Xen 4.17) has no extern "C" guard of its own.
extern "C" {
#include <xenstore.h>
}

#include <cerrno>
#include <cstdlib>
#include <mutex>

namespace xvirt::hv {

namespace {

// libxenstore frees with free(): these own what it returns.
struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
template <typename T>
using CPtr = std::unique_ptr<T, FreeDeleter>;

Error xsError(int err, const std::string& what, const std::string& path) {
  switch (err) {
    case ENOENT: return makeError(ErrorCode::DeviceNotFound, "The xenstore node " + path + " does not exist.");
    case EACCES:
    case EPERM: return makeError(ErrorCode::Denied, "Access to the xenstore node " + path + " is denied.");
    case EINVAL: return makeError(ErrorCode::InvalidArgument, "The xenstore request to " + what + " " + path + " is not valid.");
    case E2BIG: return makeError(ErrorCode::InvalidArgument, "The xenstore request to " + what + " " + path + " is too large.");
    case EAGAIN: return makeError(ErrorCode::OperationFailed, "The xenstore transaction on " + path + " conflicted with another one.");
    default: return Error::system("Cannot " + what + " the xenstore node " + path, err);
  }
}

Result<std::optional<std::string>> readIn(xs_handle* xs, xs_transaction_t t, const std::string& path) {
  unsigned len = 0;
  CPtr<char> value(static_cast<char*>(xs_read(xs, t, path.c_str(), &len)));
  int err = errno;
  if (!value) {
    if (err == ENOENT) return std::optional<std::string>();
    return xsError(err, "read", path);
  }
  return std::optional<std::string>(std::string(value.get(), len));
}

Status writeIn(xs_handle* xs, xs_transaction_t t, const std::string& path, std::string_view value) {
  bool ok = xs_write(xs, t, path.c_str(), value.data(), static_cast<unsigned>(value.size()));
  int err = errno;
  return ok ? okStatus() : Status(xsError(err, "write", path));
}

Status mkdirIn(xs_handle* xs, xs_transaction_t t, const std::string& path) {
  bool ok = xs_mkdir(xs, t, path.c_str());
  int err = errno;
  return ok ? okStatus() : Status(xsError(err, "create", path));
}

Status rmIn(xs_handle* xs, xs_transaction_t t, const std::string& path) {
  bool ok = xs_rm(xs, t, path.c_str());
  int err = errno;
  if (ok || err == ENOENT) return okStatus();
  return xsError(err, "remove", path);
}

Result<std::vector<std::string>> directoryIn(xs_handle* xs, xs_transaction_t t, const std::string& path) {
  unsigned num = 0;
  CPtr<char*> names(xs_directory(xs, t, path.c_str(), &num));
  int err = errno;
  if (!names) return xsError(err, "list", path);
  return std::vector<std::string>(names.get(), names.get() + num);
}

Status setPermsIn(xs_handle* xs, xs_transaction_t t, const std::string& path, const std::vector<XsPerm>& perms) {
  std::vector<xs_permissions> raw;
  for (const auto& p : perms) {
    unsigned flags = p.perm == 'r' ? XS_PERM_READ : p.perm == 'w' ? XS_PERM_WRITE
                   : p.perm == 'b' ? (XS_PERM_READ | XS_PERM_WRITE) : XS_PERM_NONE;
    raw.push_back(xs_permissions{p.domid, flags});
  }
  bool ok = xs_set_permissions(xs, t, path.c_str(), raw.data(), static_cast<unsigned>(raw.size()));
  int err = errno;
  return ok ? okStatus() : Status(xsError(err, "set the permissions of", path));
}

// libxenstore 4.17 takes the socket path only from the XENSTORED_PATH environment variable
// (xs_daemon_socket()); xs_open() has no path argument. So open(path) sets the variable for the
// duration of xs_open() and restores it, under a mutex so two opens cannot interleave. Other
// threads' getenv() calls could still observe the value briefly; xvirt reads XENSTORED_PATH
// nowhere else, and glibc never frees replaced environment strings.
std::mutex envMutex;

xs_handle* openAt(const std::string& socketPath, int& err) {
  std::lock_guard lock(envMutex);
  const char* old = std::getenv("XENSTORED_PATH");
  std::optional<std::string> saved = old ? std::optional<std::string>(old) : std::nullopt;
  ::setenv("XENSTORED_PATH", socketPath.c_str(), 1);
  xs_handle* xs = xs_open(XS_OPEN_SOCKETONLY);
  err = errno;
  if (saved) ::setenv("XENSTORED_PATH", saved->c_str(), 1);
  else ::unsetenv("XENSTORED_PATH");
  return xs;
}

}  // namespace

Result<std::unique_ptr<XenStore>> XenStore::open(const std::string& socketPath) {
  int err = 0;
  xs_handle* xs = nullptr;
  if (socketPath.empty()) {
    xs = xs_open(0);
    err = errno;
  } else {
    xs = openAt(socketPath, err);
  }
  if (!xs) {
    std::string where = socketPath.empty() ? std::string("the xenstore daemon") : socketPath;
    return Error::system("Cannot connect to xenstore at " + where, err ? err : ECONNREFUSED);
  }
  return std::unique_ptr<XenStore>(new XenStore(xs));
}

XenStore::~XenStore() { xs_close(xs_); }

Result<std::string> XenStore::read(const std::string& path) {
  XVIRT_ASSIGN_OR_RETURN(auto value, readIn(xs_, XBT_NULL, path));
  if (!value) return xsError(ENOENT, "read", path);
  return std::move(*value);
}

Result<std::optional<std::string>> XenStore::tryRead(const std::string& path) { return readIn(xs_, XBT_NULL, path); }
Status XenStore::write(const std::string& path, std::string_view value) { return writeIn(xs_, XBT_NULL, path, value); }
Status XenStore::mkdir(const std::string& path) { return mkdirIn(xs_, XBT_NULL, path); }
Status XenStore::rm(const std::string& path) { return rmIn(xs_, XBT_NULL, path); }
Result<std::vector<std::string>> XenStore::directory(const std::string& path) { return directoryIn(xs_, XBT_NULL, path); }
Status XenStore::setPerms(const std::string& path, const std::vector<XsPerm>& perms) {
  return setPermsIn(xs_, XBT_NULL, path, perms);
}

Result<std::vector<XsPerm>> XenStore::getPerms(const std::string& path) {
  unsigned num = 0;
  CPtr<xs_permissions> raw(xs_get_permissions(xs_, XBT_NULL, path.c_str(), &num));
  int err = errno;
  if (!raw) return xsError(err, "read the permissions of", path);
  std::vector<XsPerm> perms;
  for (unsigned i = 0; i < num; ++i) {
    unsigned rw = raw.get()[i].perms & (XS_PERM_READ | XS_PERM_WRITE);
    char c = rw == (XS_PERM_READ | XS_PERM_WRITE) ? 'b' : rw == XS_PERM_READ ? 'r' : rw == XS_PERM_WRITE ? 'w' : 'n';
    perms.push_back(XsPerm{raw.get()[i].id, c});
  }
  return perms;
}

Status XenStore::transaction(const std::function<Status(XenStoreTransaction&)>& fn, int maxAttempts) {
  for (int attempt = 1;; ++attempt) {
    xs_transaction_t t = xs_transaction_start(xs_);
    int err = errno;
    if (t == XBT_NULL) return Error::system("Cannot start a xenstore transaction", err);
    XenStoreTransaction tx(xs_, t);
    Status result = fn(tx);
    if (!result.ok()) {
      (void)xs_transaction_end(xs_, t, true);  // abort; the function's error is the one to report
      return result;
    }
    bool committed = xs_transaction_end(xs_, t, false);
    err = errno;
    if (committed) return okStatus();
    if (err != EAGAIN) return Error::system("Cannot commit a xenstore transaction", err);
    if (attempt >= maxAttempts)
      return makeError(ErrorCode::OperationFailed, "A xenstore transaction still conflicted after " +
                                                       std::to_string(maxAttempts) + " attempts.");
  }
}

Status XenStore::watch(const std::string& path, const std::string& token) {
  bool ok = xs_watch(xs_, path.c_str(), token.c_str());
  int err = errno;
  return ok ? okStatus() : Status(xsError(err, "watch", path));
}

Status XenStore::unwatch(const std::string& path, const std::string& token) {
  bool ok = xs_unwatch(xs_, path.c_str(), token.c_str());
  int err = errno;
  return ok ? okStatus() : Status(xsError(err, "stop watching", path));
}

int XenStore::watchFd() const { return xs_fileno(xs_); }

Result<std::vector<std::pair<std::string, std::string>>> XenStore::readWatches() {
  std::vector<std::pair<std::string, std::string>> events;
  for (;;) {
    CPtr<char*> vec(xs_check_watch(xs_));
    int err = errno;
    if (!vec) {
      if (err == EAGAIN || events.size() > 0) return events;
      return Error::system("Cannot read xenstore watch events", err);
    }
    events.emplace_back(vec.get()[XS_WATCH_PATH], vec.get()[XS_WATCH_TOKEN]);
  }
}

Status XenStore::introduceDomain(uint32_t domid, uint64_t storeMfn, uint32_t storeEvtchn) {
  bool ok = xs_introduce_domain(xs_, domid, storeMfn, storeEvtchn);
  int err = errno;
  if (ok) return okStatus();
  return Error::system("Cannot introduce domain " + std::to_string(domid) + " to xenstore", err);
}

Status XenStore::releaseDomain(uint32_t domid) {
  bool ok = xs_release_domain(xs_, domid);
  int err = errno;
  if (ok) return okStatus();
  return Error::system("Cannot release domain " + std::to_string(domid) + " from xenstore", err);
}

Status XenStore::resumeDomain(uint32_t domid) {
  bool ok = xs_resume_domain(xs_, domid);
  int err = errno;
  if (ok) return okStatus();
  return Error::system("Cannot tell xenstore that domain " + std::to_string(domid) + " resumed", err);
}

Result<std::string> XenStore::domainPath(uint32_t domid) {
  CPtr<char> path(xs_get_domain_path(xs_, domid));
  int err = errno;
  if (!path) return Error::system("Cannot get the xenstore path of domain " + std::to_string(domid), err);
  return std::string(path.get());
}

Result<std::optional<std::string>> XenStoreTransaction::tryRead(const std::string& path) { return readIn(xs_, t_, path); }
Status XenStoreTransaction::write(const std::string& path, std::string_view value) { return writeIn(xs_, t_, path, value); }
Status XenStoreTransaction::mkdir(const std::string& path) { return mkdirIn(xs_, t_, path); }
Status XenStoreTransaction::rm(const std::string& path) { return rmIn(xs_, t_, path); }
Result<std::vector<std::string>> XenStoreTransaction::directory(const std::string& path) { return directoryIn(xs_, t_, path); }
Status XenStoreTransaction::setPerms(const std::string& path, const std::vector<XsPerm>& perms) {
  return setPermsIn(xs_, t_, path, perms);
}

}  // namespace xvirt::hv
