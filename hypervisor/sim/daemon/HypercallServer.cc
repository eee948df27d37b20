// The hypercall socket (docs/sim.md, "Hypercall protocol"). Everything runs on the GLib main
// context, so the model needs no locks; a connection that misbehaves only ever loses itself.
#include "hypervisor/sim/daemon/HypercallServer.h"

#include <glib-unix.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/Log.h"
#include "hypervisor/sim/SimProtocol.h"

namespace xvirt::hv::sim {

struct HypercallServer::Conn {
  HypercallServer* server = nullptr;
  uint64_t id = 0;
  UniqueFd fd;
  guint source = 0;
  GIOCondition watching = G_IO_IN;
  std::string in;
  std::string out;
  bool console = false;     // after console_attach: bytes are event-channel notifications
  DomId consoleDomid = 0;
  bool deviceModel = false; // after dm_attach: the device model's lifeline, closed when it dies
  DomId dmDomid = 0;
  int64_t dmPid = 0;
  guint slowTimer = 0;      // a delayed call is pending: later lines wait behind it
  std::string slowOp;
  Json slowReq;
  bool closeAfterFlush = false;
  bool dead = false;
};

HypercallServer::HypercallServer(SimHostModel& model) : model_(model) {
  model_.onConsoleOutput = [this](DomId d) { consoleOutput(d); };
  model_.onDomainGone = [this](DomId d) { domainGone(d); };
}

HypercallServer::~HypercallServer() {
  model_.onConsoleOutput = nullptr;
  model_.onDomainGone = nullptr;
  for (auto& [id, c] : conns_) {
    if (c->source) g_source_remove(c->source);
    if (c->slowTimer) g_source_remove(c->slowTimer);
  }
  if (listenSource_) g_source_remove(listenSource_);
  if (sweepSource_) g_source_remove(sweepSource_);
  if (!path_.empty()) ::unlink(path_.c_str());
}

Status HypercallServer::listen(const std::string& socketPath) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socketPath.size() >= sizeof addr.sun_path)
    return makeError(ErrorCode::InvalidArgument, "The socket path " + socketPath + " is too long.");
  std::memcpy(addr.sun_path, socketPath.c_str(), socketPath.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return Error::system("Creating the hypercall socket", errno);
  ::unlink(socketPath.c_str());  // stale from a daemon that died: the lock says none runs now
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
    return Error::system("Binding " + socketPath, errno);
  ::chmod(socketPath.c_str(), 0600);
  if (::listen(fd.get(), 64) < 0) return Error::system("Listening on " + socketPath, errno);
  path_ = socketPath;
  listenFd_ = std::move(fd);
  listenSource_ = g_unix_fd_add(listenFd_.get(), G_IO_IN, &HypercallServer::onAcceptCb, this);
  return okStatus();
}

gboolean HypercallServer::onAcceptCb(gint, GIOCondition, gpointer self) {
  static_cast<HypercallServer*>(self)->accept();
  return G_SOURCE_CONTINUE;
}

void HypercallServer::accept() {
  for (;;) {
    int fd = ::accept4(listenFd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        logWarning(std::string("Accepting a hypercall connection: ") + std::strerror(errno));
      return;
    }
    auto c = std::make_unique<Conn>();
    c->server = this;
    c->id = nextId_++;
    c->fd.reset(fd);
    c->source = g_unix_fd_add(fd, G_IO_IN, &HypercallServer::onConnCb, c.get());
    conns_[c->id] = std::move(c);
  }
}

gboolean HypercallServer::onConnCb(gint, GIOCondition cond, gpointer data) {
  auto* c = static_cast<Conn*>(data);
  if (!c->server->onIo(*c, cond)) {
    c->source = 0;  // returning REMOVE drops the source
    c->server->close(*c);
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

bool HypercallServer::onIo(Conn& c, GIOCondition cond) {
  if (cond & G_IO_OUT) {
    if (!flush(c)) return false;
  }
  if (cond & (G_IO_IN | G_IO_HUP | G_IO_ERR)) {
    char buf[65536];
    ssize_t n = ::read(c.fd.get(), buf, sizeof buf);
    if (n == 0) return false;
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    if (c.deviceModel) return true;  // nothing more is said on a lifeline
    if (c.console) {
      // Each byte is a notification; what the client wrote is in the ring.
      model_.consoleKick(c.consoleDomid);
      return !c.dead;
    }
    if (c.closeAfterFlush) return true;  // after a fatal error: ignore the rest
    c.in.append(buf, static_cast<size_t>(n));
    processLines(c);
  }
  if (c.dead) return false;
  updateWatch(c);
  return true;
}

void HypercallServer::processLines(Conn& c) {
  while (!c.dead && !c.console && !c.slowTimer && !c.closeAfterFlush) {
    size_t nl = c.in.find('\n');
    if (nl == std::string::npos) {
      if (c.in.size() > kMaxLineBytes) {
        c.in.clear();
        c.closeAfterFlush = true;  // send() closes once the error reply is out
        send(c, errorReply(makeError(ErrorCode::InvalidArgument, "The request is longer than " +
                                                                   std::to_string(kMaxLineBytes) + " bytes.")).dump() + "\n");
      }
      return;
    }
    std::string line = c.in.substr(0, nl);
    c.in.erase(0, nl + 1);
    if (line.size() > kMaxLineBytes) {
      send(c, errorReply(makeError(ErrorCode::InvalidArgument, "The request is too long.")).dump() + "\n");
      continue;
    }
    handleLine(c, line);
  }
}

void HypercallServer::handleLine(Conn& c, const std::string& line) {
  if (line.find_first_not_of(" \t\r") == std::string::npos) return;
  auto req = Json::parse(line);
  if (!req.ok()) {
    send(c, errorReply(makeError(ErrorCode::InvalidArgument, "The request is not valid JSON.")).dump() + "\n");
    return;
  }
  const Json* op = req->get("op");
  if (!req->isObject() || !op || !op->isString()) {
    send(c, errorReply(makeError(ErrorCode::InvalidArgument, "A request is an object with a string 'op'.")).dump() + "\n");
    return;
  }
  const std::string opName = op->asString();
  if (opName == "console_attach") {
    auto domid = requireInt(*req, "domid", 0, 0xffffffffll);
    Status st = domid.ok() ? model_.checkConsole(static_cast<DomId>(*domid)) : Status(domid.takeError());
    if (!st.ok()) {
      send(c, errorReply(st.error()).dump() + "\n");
      return;
    }
    send(c, okReply(Json::object()).dump() + "\n");
    c.console = true;
    c.consoleDomid = static_cast<DomId>(*domid);
    c.in.clear();
    model_.consoleKick(c.consoleDomid);  // output from before the attach
    return;
  }
  if (opName == "dm_attach") {
    auto domid = requireInt(*req, "domid", 1, 0xffffffffll);
    auto pid = requireInt(*req, "pid", 1, 0x7fffffffll);
    Status st = !domid.ok() ? Status(domid.takeError())
                : !pid.ok() ? Status(pid.takeError())
                            : model_.attachDeviceModel(static_cast<DomId>(*domid), *pid);
    if (!st.ok()) {
      send(c, errorReply(st.error()).dump() + "\n");
      return;
    }
    send(c, okReply(Json::object()).dump() + "\n");
    c.deviceModel = true;
    c.dmDomid = static_cast<DomId>(*domid);
    c.dmPid = *pid;
    c.in.clear();
    return;
  }
  if (unsigned ms = model_.slowMs(opName)) {
    c.slowOp = opName;
    c.slowReq = *req;
    c.slowTimer = g_timeout_add(ms, &HypercallServer::onSlowDoneCb, &c);
    return;
  }
  finishCall(c, opName, *req);
}

gboolean HypercallServer::onSlowDoneCb(gpointer data) {
  auto* c = static_cast<Conn*>(data);
  c->slowTimer = 0;
  HypercallServer* self = c->server;
  self->finishCall(*c, c->slowOp, c->slowReq);
  self->processLines(*c);
  if (!c->dead) self->updateWatch(*c);
  return G_SOURCE_REMOVE;
}

void HypercallServer::finishCall(Conn& c, const std::string& op, const Json& req) {
  Result<Json> r = model_.call(op, req);
  send(c, (r.ok() ? okReply(std::move(r).value()) : errorReply(r.error())).dump() + "\n");
}

void HypercallServer::send(Conn& c, const std::string& data) {
  if (c.dead) return;
  c.out += data;
  if (c.out.size() > kMaxQueuedOutput) {
    logWarning("Dropping a hypercall client that does not read its replies.");
    close(c);
    return;
  }
  if (!flush(c)) close(c);
}

bool HypercallServer::flush(Conn& c) {
  while (!c.out.empty()) {
    ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      if (errno == EINTR) continue;
      return false;
    }
    c.out.erase(0, static_cast<size_t>(n));
  }
  return !c.closeAfterFlush;
}

void HypercallServer::updateWatch(Conn& c) {
  if (c.dead || !c.source) return;
  GIOCondition want = c.out.empty() ? G_IO_IN : static_cast<GIOCondition>(G_IO_IN | G_IO_OUT);
  if (want == c.watching) return;
  g_source_remove(c.source);
  c.source = g_unix_fd_add(c.fd.get(), want, &HypercallServer::onConnCb, &c);
  c.watching = want;
}

void HypercallServer::close(Conn& c) {
  if (c.dead) return;
  c.dead = true;
  if (c.deviceModel) model_.deviceModelGone(c.dmDomid, c.dmPid);
  if (c.source) g_source_remove(c.source);
  if (c.slowTimer) g_source_remove(c.slowTimer);
  c.source = c.slowTimer = 0;
  c.fd.reset();
  // Freed from an idle callback: we may be inside one of this connection's own callbacks.
  if (!sweepSource_) sweepSource_ = g_idle_add(&HypercallServer::sweepCb, this);
}

gboolean HypercallServer::sweepCb(gpointer self) {
  auto* s = static_cast<HypercallServer*>(self);
  s->sweepSource_ = 0;
  for (auto it = s->conns_.begin(); it != s->conns_.end();)
    it = it->second->dead ? s->conns_.erase(it) : std::next(it);
  return G_SOURCE_REMOVE;
}

void HypercallServer::consoleOutput(DomId domid) {
  for (auto& [id, c] : conns_)
    if (c->console && !c->dead && c->consoleDomid == domid && c->out.empty()) {
      send(*c, "\x01");  // one pending notification is enough to wake the reader
      updateWatch(*c);
    }
}

void HypercallServer::domainGone(DomId domid) {
  for (auto& [id, c] : conns_)
    if ((c->console && c->consoleDomid == domid) || (c->deviceModel && c->dmDomid == domid)) close(*c);
}

}  // namespace xvirt::hv::sim
