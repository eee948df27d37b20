// Server: listens on UNIX sockets (its own or inherited through systemd socket activation), accepts
// clients with their SO_PEERCRED identity, runs keepalive and reaps finished connections.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/Result.h"
#include "common/UniqueFd.h"
#include "driver/rpc/Connection.h"
#include "driver/rpc/WorkerPool.h"

namespace xvirt::rpc {

struct ServerOptions {
  unsigned workers = 4;
  unsigned maxInflightPerClient = 5;  // libvirtd's max_client_requests
  unsigned maxClients = 1024;         // each client costs two threads
  KeepaliveConfig keepalive;
  // Session daemons serve their own user only (root may always connect); the socket directory's
  // mode already says so, SO_PEERCRED makes sure.
  std::optional<uid_t> onlyUid;
};

class Server {
 public:
  using HandlerFactory = std::function<std::unique_ptr<CallHandler>(Connection&)>;

  Server(ServerOptions options, HandlerFactory factory);
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Creates a listening socket at path with the given mode. Refuses when another daemon answers
  // there; removes a stale socket file left by a dead one. Call before start(): it changes the
  // process umask for a moment.
  Status listenUnix(const std::string& path, mode_t mode, bool readOnly);
  // Adopts an already listening socket (systemd socket activation).
  Status adoptListener(UniqueFd fd, bool readOnly, std::string description);

  Status start();  // the accept and housekeeping threads
  void stop();     // closes listeners and every connection, joins all threads; unlinks our sockets
  size_t connectionCount() const;

 private:
  struct Listener {
    UniqueFd fd;
    bool readOnly;
    std::string path;  // empty when inherited: not ours to unlink
  };
  void acceptLoop();
  void housekeepingLoop();
  void accept(const Listener& l);

  ServerOptions options_;
  HandlerFactory factory_;
  std::unique_ptr<WorkerPool> pool_;
  std::vector<Listener> listeners_;
  UniqueFd wakeFd_;  // eventfd that interrupts poll() on stop

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, std::shared_ptr<Connection>> conns_;
  uint64_t nextId_ = 1;
  bool stopping_ = false;
  bool reapPending_ = false;
  bool started_ = false;
  std::thread acceptThread_;
  std::thread housekeepingThread_;
};

}  // namespace xvirt::rpc
