// XsServer: xenstored's wire protocol (xs_wire.h) on a UNIX socket, serving an XsStore to the real
// libxenstore and Debian's xenstore-* tools. Every socket connection is dom0, as with xenstored.
#pragma once

#include <glib.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

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
  // outlive the server (closing connections aborts their transactions in it).
  explicit XsServer(XsStore& store);
  ~XsServer();
  XsServer(const XsServer&) = delete;
  XsServer& operator=(const XsServer&) = delete;

  // Binds (replacing a stale socket file) and starts accepting; the socket is owner-only (0600).
  Status listen(const std::string& socketPath);
  size_t connectionCount() const { return conns_.size(); }

  // INTRODUCE / RELEASE from a client (the toolstack). The handler may refuse a domain the host
  // does not know (the client then gets EINVAL, or EACCES for Denied); without a handler every
  // domain is accepted. On success @introduceDomain / @releaseDomain fire.
  using IntroduceHandler = std::function<Status(uint32_t domid, uint64_t mfn, uint32_t port)>;
  using ReleaseHandler = std::function<Status(uint32_t domid)>;
  void setIntroduceHandler(IntroduceHandler handler) { introduce_ = std::move(handler); }
  void setReleaseHandler(ReleaseHandler handler) { release_ = std::move(handler); }
  // Whether a domain was introduced (dom0 always is); forgetDomain() is for a domain the host
  // destroyed without a RELEASE (the caller fires @releaseDomain itself).
  bool isIntroduced(uint32_t domid) const { return domid == 0 || introduced_.count(domid) != 0; }
  void forgetDomain(uint32_t domid) { introduced_.erase(domid); }

 private:
  struct Conn;
  struct FdSource;
  struct Request;
  static gboolean dispatchFd(GSource* source, GSourceFunc, gpointer);
  static gboolean sweepDead(gpointer self);
  GSource* watchFd(int fd, uint64_t connId, GIOCondition cond);
  void onAccept();
  bool onConnIo(Conn& c, GIOCondition cond);
  bool readInput(Conn& c);
  void handle(Conn& c, const Request& r);
  void handleNodeOp(Conn& c, const Request& r);
  void handleWatchOp(Conn& c, const Request& r);
  void handleDomainOp(Conn& c, const Request& r);
  void handleControl(Conn& c, const Request& r);
  void reply(Conn& c, const Request& r, uint32_t type, std::string_view payload);
  void replyError(Conn& c, const Request& r, int err);
  void queue(Conn& c, uint32_t type, uint32_t reqId, uint32_t txId, std::string_view payload);
  bool flush(Conn& c);
  void onChange(const std::string& path, bool exact);
  void drop(uint64_t connId);

  XsStore& store_;
  GMainContext* context_;
  uint64_t listenerId_ = 0;
  std::string path_;
  UniqueFd listenFd_;
  GSource* listenSource_ = nullptr;
  GSource* sweep_ = nullptr;
  uint64_t nextConnId_ = 1;
  std::map<uint64_t, std::unique_ptr<Conn>> conns_;
  std::set<uint32_t> introduced_;
  IntroduceHandler introduce_;
  ReleaseHandler release_;
};

}  // namespace xvirt::sim
