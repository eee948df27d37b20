// HypercallServer: the hypercall socket of xvirt-simxen — line-delimited JSON requests, one reply
// each in order, and connections turned into console event channels by console_attach.
#pragma once

#include <glib.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/Result.h"
#include "common/UniqueFd.h"
#include "hypervisor/sim/daemon/SimHostModel.h"

namespace xvirt::hv::sim {

class HypercallServer {
 public:
  // A client that does not read its replies is cut off beyond this backlog.
  static constexpr size_t kMaxQueuedOutput = 16u << 20;

  explicit HypercallServer(SimHostModel& model);
  ~HypercallServer();
  HypercallServer(const HypercallServer&) = delete;
  HypercallServer& operator=(const HypercallServer&) = delete;

  Status listen(const std::string& socketPath);
  size_t connectionCount() const { return conns_.size(); }

 private:
  struct Conn;
  static gboolean onAcceptCb(gint fd, GIOCondition cond, gpointer self);
  static gboolean onConnCb(gint fd, GIOCondition cond, gpointer data);
  static gboolean onSlowDoneCb(gpointer data);
  static gboolean sweepCb(gpointer self);
  void accept();
  bool onIo(Conn& c, GIOCondition cond);
  void processLines(Conn& c);
  void handleLine(Conn& c, const std::string& line);
  void finishCall(Conn& c, const std::string& op, const Json& req);
  void send(Conn& c, const std::string& data);
  bool flush(Conn& c);
  void updateWatch(Conn& c);
  void close(Conn& c);
  void consoleOutput(DomId domid);
  void domainGone(DomId domid);

  SimHostModel& model_;
  std::string path_;
  UniqueFd listenFd_;
  guint listenSource_ = 0;
  guint sweepSource_ = 0;
  uint64_t nextId_ = 1;
  std::map<uint64_t, std::unique_ptr<Conn>> conns_;
};

}  // namespace xvirt::hv::sim
