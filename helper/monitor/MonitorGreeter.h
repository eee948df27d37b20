// MonitorGreeter: accepts monitor clients and sends them the QMP greeting from a thread of its own
// while the main thread is still building the domain, so the greeting never waits for the build.
#pragma once

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/UniqueFd.h"

namespace xvirt::helper {

class MonitorGreeter {
 public:
  // A client accepted and greeted; `unsent` is what of the greeting its socket did not take.
  struct Greeted {
    UniqueFd fd;
    std::string unsent;
  };

  // Starts greeting clients of `listenFd` (non-blocking, listening; the caller keeps owning it).
  MonitorGreeter(int listenFd, std::string greeting);
  ~MonitorGreeter();
  MonitorGreeter(const MonitorGreeter&) = delete;
  MonitorGreeter& operator=(const MonitorGreeter&) = delete;

  // Stops the thread and hands over every client greeted so far. Whatever those clients sent
  // meanwhile is still unread in their sockets: their commands run once the main loop serves them.
  std::vector<Greeted> stop();

 private:
  void run();

  int listenFd_;
  std::string greeting_;
  UniqueFd wake_;  // eventfd: tells the thread to stop
  std::mutex mutex_;
  std::vector<Greeted> greeted_;
  std::thread thread_;
};

}  // namespace xvirt::helper
