// XsServer: xenstored's wire protocol (xs_wire.h) on a UNIX socket, serving an XsStore to the real
// libxenstore and Debian's xenstore-* tools. Every socket connection is dom0, as with xenstored.
#pragma once

#include <glib.h>

#include <cstdint>
#include <functional>
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/Result.h"
#include "common/UniqueFd.h"
#include "hypervisor/sim/xenstore/XsStore.h"

namespace xvirt::sim {

class XsServer {
 public:
  // Per-connection limits, as xenstored's default quotas.
  static constexpr size_t kMaxWatches = 128;
  static constexpr size_t kMaxTransactions = 10;
  // A client that does not read its replies and events is cut off beyond this backlog.
  static constexpr size_t kMaxQueuedOutput = 1 << 20;

  // Sources attach to the thread-default GLib main context current at construction; `store` must
  // outlive the server (closing connections aborts their transactions in it). Each connection is
  // served by a thread of its own with blocking I/O, under the store's lock (XsStore::Impl::mutex).
  explicit XsServer(XsStore& store);
  ~XsServer();
  XsServer(const XsServer&) = delete;
  XsServer& operator=(const XsServer&) = delete;

  // Binds (replacing a stale socket file) and starts accepting; the socket is owner-only (0600).
  Status listen(const std::string& socketPath);
  size_t connectionCount() const;

  // INTRODUCE / RELEASE from a client (the toolstack). The handler may refuse a domain the host
  // does not know (the client then gets EINVAL, or EACCES for Denied); without a handler every
  // domain is accepted. On success @introduceDomain / @releaseDomain fire. Handlers run on the
  // server's GLib main context (the connection thread waits), so they may use its other objects.
  using IntroduceHandler = std::function<Status(uint32_t domid, uint64_t mfn, uint32_t port)>;
  using ReleaseHandler = std::function<Status(uint32_t domid)>;
  void setIntroduceHandler(IntroduceHandler handler) { introduce_ = std::move(handler); }
  void setReleaseHandler(ReleaseHandler handler) { release_ = std::move(handler); }
  // Whether a domain was introduced (dom0 always is); forgetDomain() is for a domain the host
  // destroyed without a RELEASE (the caller fires @releaseDomain itself).
  bool isIntroduced(uint32_t domid) const;
  void forgetDomain(uint32_t domid);

 private:
  struct Conn;
  struct Request;
  using Lock = std::unique_lock<std::mutex>;
  static gboolean onAcceptReady(gint fd, GIOCondition, gpointer self);
  static gboolean onWritable(gint fd, GIOCondition, gpointer data);
  void acceptPending();  // under the lock
  void serve(Conn& c);
  void parseInput(Lock& lock, Conn& c);
  void handle(Lock& lock, Conn& c, const Request& r);
  void handleNodeOp(Conn& c, const Request& r);
  void handleWatchOp(Conn& c, const Request& r);
  void handleDomainOp(Lock& lock, Conn& c, const Request& r);
  void handleControl(Conn& c, const Request& r);
  Status onContext(Lock& lock, std::function<Status()> fn);
  void reply(Conn& c, const Request& r, uint32_t type, std::string_view payload);
  void replyError(Conn& c, const Request& r, int err);
  void queue(Conn& c, uint32_t type, uint32_t reqId, uint32_t txId, std::string_view payload);
  void flush(Conn& c);
  void kill(Conn& c);
  void reap();
  void onChange(const std::string& path, bool exact);
  void indexWatch(const std::string& path, uint64_t conn, bool add);
  void dropWatches(Conn& c);
  bool introducedLocked(uint32_t domid) const { return domid == 0 || introduced_.count(domid) != 0; }

  XsStore& store_;
  std::mutex& mu_;  // the store's: one lock for the tree and everything below
  GMainContext* context_;
  uint64_t listenerId_ = 0;
  std::string path_;
  UniqueFd listenFd_;
  GSource* listenSource_ = nullptr;
  uint64_t nextConnId_ = 1;
  std::map<uint64_t, std::unique_ptr<Conn>> conns_;
  // Watched path -> connection id -> number of its watches on that path: a change is matched only
  // against the connections that watch one of its ancestors (or, for a removal, descendants),
  // not against every watch of every connection (1000 guests have thousands of watches).
  std::map<std::string, std::map<uint64_t, unsigned>> watchIndex_;
  std::vector<std::unique_ptr<Conn>> finished_;  // threads done or finishing, joined by reap()
  std::condition_variable allGone_;
  std::atomic<bool> stopping_{false};
  std::set<uint32_t> introduced_;
  IntroduceHandler introduce_;
  ReleaseHandler release_;
};

}  // namespace xvirt::sim
