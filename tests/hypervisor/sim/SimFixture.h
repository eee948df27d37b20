// SimFixture: a real xvirt-simxen in a temporary directory for each test, with a SimHypervisor, a
// libxenstore handle on its xenstore socket, and event-driven waits (console fd, xenstore watches).
#pragma once

#include <gtest/gtest.h>
#include <glib.h>
#include <poll.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <string>

extern "C" {  // libxenstore's header has no C++ guards
#include <xenstore.h>
}

#include "common/File.h"
#include "hypervisor/sim/SimHost.h"
#include "hypervisor/sim/SimHypervisor.h"
#include "hypervisor/sim/SimProtocol.h"
#include "tests/lib/TestUtil.h"

namespace xvirt::hv::sim::test {

inline uint64_t nowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

using xvirt::test::waitUntil;

class SimFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tmp_.ok());
    Status s = ensureSimHost(dir_);
    ASSERT_TRUE(s.ok()) << s.error().message;
    auto h = openSimHypervisor(dir_);
    ASSERT_TRUE(h.ok()) << h.error().message;
    hyp_.reset(static_cast<SimHypervisor*>(h->release()));
    setenv("XENSTORED_PATH", xenstoreSocketPath(dir_).c_str(), 1);
    xs_ = xs_open(0);
    ASSERT_NE(xs_, nullptr);
  }

  void TearDown() override {
    if (xs_) xs_close(xs_);
    hyp_.reset();
    stopDaemon();
  }

  pid_t daemonPid() const {
    auto text = readFile(dir_ + "/simxen.pid");
    return text.ok() ? static_cast<pid_t>(std::stol(*text)) : 0;
  }

  // Exited, or a zombie waiting for init to reap it (which may take a while in a container).
  static bool gone(pid_t pid) {
    if (::kill(pid, 0) < 0) return true;
    auto stat = readFile("/proc/" + std::to_string(pid) + "/stat");
    if (!stat.ok()) return true;
    size_t paren = stat->rfind(')');
    return paren != std::string::npos && paren + 2 < stat->size() && (*stat)[paren + 2] == 'Z';
  }

  // The daemon is not our child (it is detached): wait for its pid to go away.
  void stopDaemon() {
    pid_t pid = daemonPid();
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    EXPECT_TRUE(waitUntil([&] { return gone(pid); })) << "xvirt-simxen did not stop on SIGTERM";
  }

  // A paused PV domain built from a small kernel file.
  DomId buildGuest(const std::string& cmdline = "console=hvc0", uint64_t memKib = 8192) {
    kernel_ = dir_ + "/vmlinuz-test";
    std::string bytes(50000, '\0');
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7 + 3);
    EXPECT_TRUE(writeFileAtomic(kernel_, bytes).ok());
    CreateParams cp;
    cp.uuid = Uuid::generate();
    cp.maxVcpus = 2;
    auto domid = hyp_->createDomain(cp);
    EXPECT_TRUE(domid.ok()) << domid.error().message;
    EXPECT_TRUE(hyp_->setMaxMemory(*domid, memKib).ok());
    EXPECT_TRUE(hyp_->setMaxVcpus(*domid, 2).ok());
    auto b = hyp_->buildPV(*domid, PvBuildParams{memKib, kernel_, "", cmdline});
    EXPECT_TRUE(b.ok()) << b.error().message;
    if (b.ok()) build_ = *b;
    return *domid;
  }

  // Reads the console until `needle` appears (waiting on its fd) or the timeout passes.
  std::string readConsoleUntil(ConsoleChannel& con, const std::string& needle, int timeoutMs = 10000) {
    std::string all;
    uint64_t deadline = nowMs() + static_cast<uint64_t>(timeoutMs);
    for (;;) {
      auto got = con.read();
      if (!got.ok()) break;
      all += *got;
      if (all.find(needle) != std::string::npos) break;
      uint64_t now = nowMs();
      if (now >= deadline) break;
      pollfd p{con.pollFd(), POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(deadline - now));
    }
    return all;
  }

  std::string xsRead(const std::string& path) {
    unsigned len = 0;
    void* v = xs_read(xs_, XBT_NULL, path.c_str(), &len);
    if (!v) return "<absent>";
    std::string s(static_cast<char*>(v), len);
    free(v);
    return s;
  }

  bool xsWrite(const std::string& path, const std::string& value) {
    return xs_write(xs_, XBT_NULL, path.c_str(), value.data(), static_cast<unsigned>(value.size()));
  }

  // Waits for `path` to read `value`, woken by a xenstore watch on it.
  bool waitXs(const std::string& path, const std::string& value, int timeoutMs = 10000) {
    std::string token = "wait-" + std::to_string(++watchSeq_);
    if (!xs_watch(xs_, path.c_str(), token.c_str())) return false;
    uint64_t deadline = nowMs() + static_cast<uint64_t>(timeoutMs);
    bool ok = false;
    for (;;) {
      if (xsRead(path) == value) {
        ok = true;
        break;
      }
      uint64_t now = nowMs();
      if (now >= deadline) break;
      pollfd p{xs_fileno(xs_), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(deadline - now)) > 0) {
        unsigned n = 0;
        free(xs_read_watch(xs_, &n));
      }
    }
    xs_unwatch(xs_, path.c_str(), token.c_str());
    return ok;
  }

  xvirt::test::TempDir tmp_{"xvirt-sim"};  // removed after TearDown stopped the daemon
  std::string dir_ = tmp_.path();
  std::unique_ptr<SimHypervisor> hyp_;
  struct xs_handle* xs_ = nullptr;
  std::string kernel_;
  BuildResult build_;
  int watchSeq_ = 0;
};

}  // namespace xvirt::hv::sim::test
