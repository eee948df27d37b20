// xvirt-simxen as a process: one instance per directory, the host it reports, faults, and bad
// input on the hypercall socket that must never take the daemon down.
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/Json.h"
#include "hypervisor/Backend.h"
#include "tests/hypervisor/sim/SimFixture.h"

namespace xvirt::hv::sim::test {
namespace {

class SimDaemonTest : public SimFixture {
 protected:
  UniqueFd rawConnect() {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::string path = hypercallSocketPath(dir_);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    return fd;
  }
  void sendAll(int fd, const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;  // the daemon may close on us mid-way: that is allowed
      off += static_cast<size_t>(n);
    }
  }
  // One reply line, or "" when the daemon closed the connection.
  std::string readLine(int fd) {
    std::string line;
    char c;
    for (;;) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 10000) <= 0) return "<timeout>";
      ssize_t n = ::recv(fd, &c, 1, 0);
      if (n <= 0) return line;
      if (c == '\n') return line;
      line += c;
    }
  }
  void expectAlive() {
    auto p = hyp_->physInfo();
    ASSERT_TRUE(p.ok()) << p.error().message;
  }
};

TEST_F(SimDaemonTest, SecondInstanceOnSameDirectoryIsRefused) {
  std::string binary = findSimxenBinary();
  ASSERT_FALSE(binary.empty());
  pid_t child = fork();
  if (child == 0) {
    execl(binary.c_str(), binary.c_str(), "--dir", dir_.c_str(), "--log-file", "-", nullptr);
    _exit(127);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  expectAlive();
  // And ensureSimHost on a served directory leaves the running daemon alone.
  pid_t before = daemonPid();
  ASSERT_TRUE(ensureSimHost(dir_).ok());
  EXPECT_EQ(daemonPid(), before);
}

// What a program gets of the simulated host from hv::openBackend (hypervisor/Backend.h).
TEST_F(SimDaemonTest, OpenBackendGivesWhatAProgramNeeds) {
  BackendOptions options;
  options.choice = BackendChoice::Sim;
  options.simDir = dir_;
  auto b = openBackend(options);
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->name, "sim");
  EXPECT_EQ(b->simDir, dir_);
  EXPECT_EQ(b->hypervisor->xenstorePath(), xenstoreSocketPath(dir_));
  EXPECT_TRUE(b->deviceModel.standIn);
  auto xs = b->openXenStore();
  ASSERT_TRUE(xs.ok()) << xs.error().message;
  auto dom0 = (*xs)->tryRead("/local/domain/0/name");
  ASSERT_TRUE(dom0.ok()) << dom0.error().message;
  EXPECT_TRUE(dom0->has_value());
}

TEST_F(SimDaemonTest, HostLooksLikeXen417WithDom0) {
  auto p = hyp_->physInfo();
  ASSERT_TRUE(p.ok());
  EXPECT_GE(p->nrCpus, 2u);
  EXPECT_EQ(p->versionMajor, 4u);
  EXPECT_EQ(p->versionMinor, 17u);
  EXPECT_EQ(p->extraVersion, "-sim");
  EXPECT_EQ(p->totalKib, 16ull << 20);
  auto d0 = hyp_->domainInfo(0);
  ASSERT_TRUE(d0.ok());
  EXPECT_EQ(d0->nrOnlineVcpus, p->nrCpus);
  EXPECT_EQ(p->freeKib, p->totalKib - d0->maxMemKib);
  EXPECT_EQ(xsRead("/local/domain/0/name"), "Domain-0");
  EXPECT_EQ(hyp_->pause(0).error().code, ErrorCode::OperationInvalid);
  EXPECT_EQ(hyp_->destroy(0).error().code, ErrorCode::OperationInvalid);
  EXPECT_EQ(hyp_->domainInfo(4242).error().code, ErrorCode::NoDomain);
}

// domainInfo reads the host's domain-info table (SimInfoTable.h): it must say what the `info`
// hypercall says in every state, answer while the host process is stopped (no round trip), and
// never answer for a host that is gone or while a test fault on `info` is armed.
TEST_F(SimDaemonTest, DomainInfoTableAgreesWithTheHypercall) {
  DomId d = buildGuest();
  auto compare = [&](const char* state) {
    SCOPED_TRACE(state);
    auto fromTable = hyp_->domainInfo(d);
    auto fromCall = hyp_->call("info", Json::object({{"domid", d}}));
    ASSERT_TRUE(fromTable.ok() && fromCall.ok());
    auto called = domainInfoFromJson(*fromCall);
    ASSERT_TRUE(called.ok());
    EXPECT_EQ(fromTable->uuid, called->uuid);
    EXPECT_EQ(fromTable->kind, called->kind);
    EXPECT_EQ(fromTable->paused, called->paused);
    EXPECT_EQ(fromTable->running, called->running);
    EXPECT_EQ(fromTable->blocked, called->blocked);
    EXPECT_EQ(fromTable->shutdown, called->shutdown);
    EXPECT_EQ(fromTable->shutdownReason, called->shutdownReason);
    EXPECT_EQ(fromTable->memKib, called->memKib);
    EXPECT_EQ(fromTable->maxMemKib, called->maxMemKib);
    EXPECT_EQ(fromTable->nrOnlineVcpus, called->nrOnlineVcpus);
    EXPECT_EQ(fromTable->maxVcpuId, called->maxVcpuId);
    EXPECT_LE(fromTable->cpuTimeNs, called->cpuTimeNs);  // read first, so never ahead
  };
  compare("built, paused");
  ASSERT_TRUE(hyp_->unpause(d).ok());
  compare("running");
  uint64_t t0 = hyp_->domainInfo(d)->cpuTimeNs;
  ::poll(nullptr, 0, 20);
  EXPECT_GT(hyp_->domainInfo(d)->cpuTimeNs, t0);  // running vCPUs accrue between reads
  ASSERT_TRUE(hyp_->pause(d).ok());
  compare("paused again");
  auto p1 = hyp_->domainInfo(d), p2 = (::poll(nullptr, 0, 5), hyp_->domainInfo(d));
  EXPECT_EQ(p1->cpuTimeNs, p2->cpuTimeNs);  // a paused domain accrues nothing
  auto call = hyp_->call("info", Json::object({{"domid", d}}));
  EXPECT_EQ(domainInfoFromJson(*call)->cpuTimeNs, p1->cpuTimeNs);

  // No hypercall: the answer comes while xvirt-simxen cannot run.
  pid_t host = daemonPid();
  ASSERT_EQ(::kill(host, SIGSTOP), 0);
  auto whileStopped = hyp_->domainInfo(d);
  ::kill(host, SIGCONT);
  ASSERT_TRUE(whileStopped.ok());
  EXPECT_TRUE(whileStopped->paused);

  // An armed fault on `info` is honoured, once.
  ASSERT_TRUE(hyp_->fault(Json::object({{"fail_next", "info"}})).ok());
  EXPECT_EQ(hyp_->domainInfo(d).error().code, ErrorCode::OperationFailed);
  EXPECT_TRUE(hyp_->domainInfo(d).ok());

  ASSERT_TRUE(hyp_->unpause(d).ok());
  ASSERT_TRUE(hyp_->shutdown(d, ShutdownReason::Reboot).ok());
  compare("shut down");
  ASSERT_TRUE(hyp_->destroy(d).ok());
  EXPECT_EQ(hyp_->domainInfo(d).error().code, ErrorCode::NoDomain);

  // A killed host's table still lists its domains: the client must not believe it.
  DomId e = buildGuest();
  ASSERT_TRUE(hyp_->domainInfo(e).ok());
  ASSERT_EQ(::kill(daemonPid(), SIGKILL), 0);
  // (Once the last of its threads has exited and its sockets closed: the pid turns zombie earlier.)
  EXPECT_TRUE(waitUntil([&] { return !hyp_->domainInfo(e).ok(); }));
  EXPECT_FALSE(hyp_->domainInfo(e).ok());
}

TEST_F(SimDaemonTest, DomainIdsIncreaseAndAreNotReused) {
  CreateParams cp;
  auto a = hyp_->createDomain(cp);
  auto b = hyp_->createDomain(cp);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, 1u);
  EXPECT_EQ(*b, 2u);
  ASSERT_TRUE(hyp_->destroy(*a).ok());
  auto c = hyp_->createDomain(cp);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, 3u);
}

TEST_F(SimDaemonTest, FailNextMakesExactlyOneCallFail) {
  ASSERT_TRUE(hyp_->fault(Json::object({{"fail_next", "create"}})).ok());
  auto first = hyp_->createDomain(CreateParams{});
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, ErrorCode::OperationFailed);
  EXPECT_TRUE(hyp_->createDomain(CreateParams{}).ok());

  DomId d = buildGuest();
  ASSERT_TRUE(hyp_->fault(Json::object({{"fail_next", "unpause"}})).ok());
  EXPECT_FALSE(hyp_->unpause(d).ok());
  EXPECT_TRUE(hyp_->unpause(d).ok());
}

TEST_F(SimDaemonTest, FailNextBuildAndSave) {
  CreateParams cp;
  auto d = hyp_->createDomain(cp);
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(hyp_->setMaxMemory(*d, 4096).ok());
  ASSERT_TRUE(hyp_->fault(Json::object({{"fail_next", "build"}})).ok());
  EXPECT_FALSE(hyp_->buildPV(*d, PvBuildParams{4096, "", "", ""}).ok());
  ASSERT_TRUE(hyp_->buildPV(*d, PvBuildParams{4096, "", "", ""}).ok());
  ASSERT_TRUE(hyp_->fault(Json::object({{"fail_next", "save"}})).ok());
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  UniqueFd r(fds[0]), w(fds[1]);
  EXPECT_FALSE(hyp_->saveDomain(*d, w.get()).ok());
}

TEST_F(SimDaemonTest, SlowOpDelaysOnlyThatOp) {
  ASSERT_TRUE(hyp_->fault(Json::object({{"slow", "list"}, {"ms", 300}})).ok());
  uint64_t t0 = nowMs();
  ASSERT_TRUE(hyp_->listDomains().ok());
  EXPECT_GE(nowMs() - t0, 300u);
  t0 = nowMs();
  ASSERT_TRUE(hyp_->physInfo().ok());
  EXPECT_LT(nowMs() - t0, 300u);
  ASSERT_TRUE(hyp_->fault(Json::object({{"slow", "list"}, {"ms", 0}})).ok());
}

TEST_F(SimDaemonTest, MalformedRequestsGetErrorsAndOthersKeepWorking) {
  UniqueFd fd = rawConnect();
  auto errorCode = [&](const std::string& request) {
    sendAll(fd.get(), request + "\n");
    auto j = Json::parse(readLine(fd.get()));
    if (!j.ok() || !j->get("error")) return std::string("<no error reply>");
    return j->get("error")->getString("code");
  };
  EXPECT_EQ(errorCode("this is not json"), "invalid-argument");
  EXPECT_EQ(errorCode("[1,2,3]"), "invalid-argument");
  EXPECT_EQ(errorCode("{\"op\": 5}"), "invalid-argument");
  EXPECT_EQ(errorCode("{\"op\": \"launch-missiles\"}"), "no-support");
  EXPECT_EQ(errorCode("{\"op\": \"info\", \"domid\": \"one\"}"), "invalid-argument");
  EXPECT_EQ(errorCode("{\"op\": \"info\", \"domid\": -1}"), "invalid-argument");
  EXPECT_EQ(errorCode("{\"op\": \"create\", \"kind\": \"pv\", \"max_vcpus\": 1e9}"), "invalid-argument");
  EXPECT_EQ(errorCode("{\"op\": \"set_affinity\", \"domid\": 0, \"vcpu\": 0, \"cpus\": [999]}"), "invalid-argument");
  EXPECT_EQ(errorCode("{\"op\": \"console_attach\", \"domid\": 77}"), "no-domain");
  // The same connection still works after errors.
  sendAll(fd.get(), "{\"op\": \"physinfo\"}\n");
  EXPECT_NE(readLine(fd.get()).find("\"ok\""), std::string::npos);
  expectAlive();
}

TEST_F(SimDaemonTest, HugeLineClosesOnlyThatConnection) {
  UniqueFd fd = rawConnect();
  sendAll(fd.get(), "{\"op\": \"" + std::string(kMaxLineBytes + 4096, 'x'));
  std::string reply = readLine(fd.get());
  EXPECT_NE(reply.find("longer than"), std::string::npos) << reply;
  EXPECT_EQ(readLine(fd.get()), "");  // closed
  expectAlive();
}

TEST_F(SimDaemonTest, DisconnectMidRequestIsHarmless) {
  for (int i = 0; i < 20; ++i) {
    UniqueFd fd = rawConnect();
    sendAll(fd.get(), "{\"op\": \"create\", \"kind\": \"p");
  }
  {
    // A client that sends requests and never reads the replies, then goes away.
    UniqueFd fd = rawConnect();
    for (int i = 0; i < 2000; ++i) sendAll(fd.get(), "{\"op\": \"physinfo\"}\n");
  }
  expectAlive();
  auto list = hyp_->listDomains();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);  // only dom0: no half-read create ran
}

TEST_F(SimDaemonTest, SigtermRemovesSocketsAndPidButKeepsRam) {
  DomId d = buildGuest();
  (void)d;
  stopDaemon();
  EXPECT_FALSE(pathExists(hypercallSocketPath(dir_)));
  EXPECT_FALSE(pathExists(xenstoreSocketPath(dir_)));
  EXPECT_FALSE(pathExists(dir_ + "/simxen.pid"));
  EXPECT_TRUE(pathExists(ramFilePath(dir_, d)));
  // The client reports a lost host with a clear error rather than hanging.
  auto p = hyp_->physInfo();
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find(dir_), std::string::npos);
}

TEST_F(SimDaemonTest, StopsWhenItsRuntimeDirectoryIsRemoved) {
  pid_t pid = daemonPid();
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::unlink((dir_ + "/lock").c_str()), 0);
  EXPECT_TRUE(waitUntil([&] { return gone(pid); }));
}

}  // namespace
}  // namespace xvirt::hv::sim::test
