// XsServer: one non-blocking connection per client on the GLib main context; requests are
// handled in order and answered at once, watch events are queued behind the replies.
#include "hypervisor/sim/xenstore/XsServer.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <vector>

#include <xen/io/xs_wire.h>

#include "common/Log.h"
#include "hypervisor/sim/xenstore/XsStoreImpl.h"

namespace xvirt::sim {

namespace {

constexpr size_t kHeader = sizeof(xsd_sockmsg);
const std::string kDom0Path = "/local/domain/0/";

const char* errorName(int err) {
  for (const auto& e : xsd_errors)
    if (e.errnum == err) return e.errstring;
  return "EIO";
}

// The request's NUL-terminated strings; `rest` is what follows the last NUL (WRITE's value).
std::vector<std::string_view> splitArgs(std::string_view payload, std::string_view* rest = nullptr) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t nul; (nul = payload.find('\0', start)) != std::string_view::npos; start = nul + 1)
    out.push_back(payload.substr(start, nul - start));
  if (rest) *rest = payload.substr(start);
  return out;
}

template <typename T>
bool parseNumber(std::string_view s, T& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

std::string ok() { return std::string("OK", 3); }

}  // namespace

struct XsServer::FdSource {
  GSource base;
  gpointer tag;
  XsServer* server;
  uint64_t connId;  // 0: the listening socket
};

struct XsServer::Conn {
  struct Watch {
    std::string path;  // canonical
    std::string token;
    bool relative = false;
  };
  uint64_t id = 0;
  UniqueFd fd;
  GSource* source = nullptr;
  GIOCondition polled = GIOCondition(G_IO_IN | G_IO_HUP | G_IO_ERR);
  std::string in;
  std::string out;
  size_t outOff = 0;
  bool closing = false;  // refused a request it cannot recover from: flush, then close
  bool dead = false;
  std::vector<Watch> watches;
  std::set<uint32_t> txns;
};

struct XsServer::Request {
  xsd_sockmsg hdr;
  std::string_view payload;
};

XsServer::XsServer(XsStore& store) : store_(store), context_(g_main_context_ref_thread_default()) {
  listenerId_ = store_.impl().addListener([this](const std::string& path, bool exact) { onChange(path, exact); });
}

XsServer::~XsServer() {
  store_.impl().removeListener(listenerId_);
  while (!conns_.empty()) drop(conns_.begin()->first);
  for (GSource* s : {listenSource_, sweep_}) {
    if (!s) continue;
    g_source_destroy(s);
    g_source_unref(s);
  }
  if (!path_.empty()) ::unlink(path_.c_str());
  g_main_context_unref(context_);
}

gboolean XsServer::dispatchFd(GSource* source, GSourceFunc, gpointer) {
  auto* fs = reinterpret_cast<FdSource*>(source);
  GIOCondition cond = g_source_query_unix_fd(source, fs->tag);
  if (fs->connId == 0) {
    fs->server->onAccept();
    return G_SOURCE_CONTINUE;
  }
  auto it = fs->server->conns_.find(fs->connId);
  if (it == fs->server->conns_.end()) return G_SOURCE_REMOVE;
  return fs->server->onConnIo(*it->second, cond) ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

GSource* XsServer::watchFd(int fd, uint64_t connId, GIOCondition cond) {
  // One source per fd whose conditions change in place (g_source_modify_unix_fd), so a
  // connection's poll set can change from inside any callback without re-creating sources.
  static GSourceFuncs funcs = {nullptr, nullptr, &XsServer::dispatchFd, nullptr, nullptr, nullptr};
  GSource* source = g_source_new(&funcs, sizeof(FdSource));
  auto* fs = reinterpret_cast<FdSource*>(source);
  fs->tag = g_source_add_unix_fd(source, fd, cond);
  fs->server = this;
  fs->connId = connId;
  // GLib blocks a non-recursive source while it dispatches by taking its fds out of the poll set;
  // putting them back signals the context's wake-up fd: two syscalls and an extra loop pass per
  // request. Our callbacks never iterate the context, so recursion cannot happen anyway.
  g_source_set_can_recurse(source, TRUE);
  g_source_attach(source, context_);
  return source;
}

Status XsServer::listen(const std::string& socketPath) {
  sockaddr_un addr{};
  if (socketPath.size() >= sizeof addr.sun_path)
    return makeError(ErrorCode::InvalidArgument, "The xenstore socket path " + socketPath + " is too long.");
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return Error::system("Cannot create the xenstore socket", errno);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socketPath.c_str(), socketPath.size() + 1);
  ::unlink(socketPath.c_str());
  mode_t old = ::umask(0177);  // xenstored's socket is owner-only too
  int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  ::umask(old);
  if (rc < 0) return Error::system("Cannot bind the xenstore socket " + socketPath, err);
  if (::listen(fd.get(), 64) < 0) return Error::system("Cannot listen on the xenstore socket " + socketPath, errno);
  path_ = socketPath;
  listenFd_ = std::move(fd);
  listenSource_ = watchFd(listenFd_.get(), 0, G_IO_IN);
  return okStatus();
}

void XsServer::onAccept() {
  for (;;) {
    int fd = ::accept4(listenFd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    auto c = std::make_unique<Conn>();
    c->id = nextConnId_++;
    c->fd.reset(fd);
    c->source = watchFd(fd, c->id, GIOCondition(G_IO_IN | G_IO_HUP | G_IO_ERR));
    conns_.emplace(c->id, std::move(c));
  }
}

void XsServer::drop(uint64_t connId) {
  auto it = conns_.find(connId);
  if (it == conns_.end()) return;
  Conn& c = *it->second;
  // A client that goes away mid-transaction leaves nothing behind: its transactions are
  // aborted and its watches die with it.
  for (uint32_t tx : c.txns) (void)store_.impl().transactionEnd(tx, false);
  g_source_destroy(c.source);
  g_source_unref(c.source);
  conns_.erase(it);
}

gboolean XsServer::sweepDead(gpointer self) {
  auto* server = static_cast<XsServer*>(self);
  GSource* sweep = std::exchange(server->sweep_, nullptr);
  std::vector<uint64_t> dead;
  for (const auto& [id, c] : server->conns_)
    if (c->dead) dead.push_back(id);
  for (uint64_t id : dead) server->drop(id);
  g_source_unref(sweep);
  return G_SOURCE_REMOVE;
}

bool XsServer::onConnIo(Conn& c, GIOCondition cond) {
  const uint64_t id = c.id;
  if (c.dead) {
    drop(id);
    return false;
  }
  if ((cond & G_IO_OUT) && !flush(c)) {
    drop(id);
    return false;
  }
  if ((cond & (G_IO_IN | G_IO_HUP | G_IO_ERR)) && !c.closing && !readInput(c)) {
    drop(id);
    return false;
  }
  if (c.dead || (c.closing && c.outOff == c.out.size())) {
    drop(id);
    return false;
  }
  return true;
}

bool XsServer::readInput(Conn& c) {
  // libxenstore writes a request's header and payload with two write()s, so a wake-up often finds
  // only the header. Reading again at once usually finds the rest and saves a trip through poll
  // (on a paravirtualised dom0 that is most of the cost of a request); a few tries, then poll.
  for (int attempt = 0; attempt < 4; ++attempt) {
    char buf[16384];
    ssize_t n = ::read(c.fd.get(), buf, sizeof buf);
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    if (n == 0) return false;  // EOF, possibly inside a message: nothing more can arrive
    c.in.append(buf, static_cast<size_t>(n));
    size_t off = 0;
    while (!c.closing && !c.dead && c.in.size() - off >= kHeader) {
      Request r;
      std::memcpy(&r.hdr, c.in.data() + off, kHeader);
      if (r.hdr.len > XENSTORE_PAYLOAD_MAX) {
        // xenstored drops such a client; we say why first, then close.
        r.payload = {};
        replyError(c, r, E2BIG);
        c.closing = true;
        break;
      }
      if (c.in.size() - off < kHeader + r.hdr.len) break;
      r.payload = std::string_view(c.in).substr(off + kHeader, r.hdr.len);
      handle(c, r);
      off += kHeader + r.hdr.len;
    }
    c.in.erase(0, off);
    if (c.in.empty() || c.closing || c.dead) return true;
  }
  return true;
}

void XsServer::queue(Conn& c, uint32_t type, uint32_t reqId, uint32_t txId, std::string_view payload) {
  if (c.dead) return;
  xsd_sockmsg hdr{type, reqId, txId, static_cast<uint32_t>(payload.size())};
  c.out.append(reinterpret_cast<const char*>(&hdr), kHeader);
  c.out.append(payload);
  if (c.out.size() - c.outOff > kMaxQueuedOutput) {
    logWarning("xenstore client " + std::to_string(c.id) + " does not read its replies; disconnecting it.");
    c.dead = true;
  } else if (flush(c)) {
    return;
  } else {
    c.dead = true;
  }
  // Dropped from an idle callback: we may be inside this connection's own request or a change
  // notification that is iterating over the connections.
  c.out.clear();
  c.outOff = 0;
  g_source_modify_unix_fd(c.source, reinterpret_cast<FdSource*>(c.source)->tag, GIOCondition(0));
  if (!sweep_) {
    sweep_ = g_idle_source_new();
    g_source_set_callback(sweep_, &XsServer::sweepDead, this, nullptr);
    g_source_attach(sweep_, context_);
  }
}

bool XsServer::flush(Conn& c) {
  while (c.outOff < c.out.size()) {
    ssize_t n = ::send(c.fd.get(), c.out.data() + c.outOff, c.out.size() - c.outOff, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) return false;
      break;
    }
    c.outOff += static_cast<size_t>(n);
  }
  if (c.outOff == c.out.size()) {
    c.out.clear();
    c.outOff = 0;
  }
  GIOCondition want = GIOCondition((c.closing ? 0 : G_IO_IN) | G_IO_HUP | G_IO_ERR | (c.out.empty() ? 0 : G_IO_OUT));
  // Only on a change: g_source_modify_unix_fd() wakes the main context, a syscall and an extra
  // loop iteration per reply otherwise.
  if (want != c.polled) {
    c.polled = want;
    g_source_modify_unix_fd(c.source, reinterpret_cast<FdSource*>(c.source)->tag, want);
  }
  return true;
}

void XsServer::reply(Conn& c, const Request& r, uint32_t type, std::string_view payload) {
  queue(c, type, r.hdr.req_id, r.hdr.tx_id, payload);
}

void XsServer::replyError(Conn& c, const Request& r, int err) {
  const char* name = errorName(err);
  queue(c, XS_ERROR, r.hdr.req_id, r.hdr.tx_id, std::string_view(name, std::strlen(name) + 1));
}

void XsServer::handle(Conn& c, const Request& r) {
  switch (r.hdr.type) {
    case XS_READ: case XS_WRITE: case XS_MKDIR: case XS_RM: case XS_DIRECTORY: case XS_DIRECTORY_PART:
    case XS_GET_PERMS: case XS_SET_PERMS:
      return handleNodeOp(c, r);
    case XS_WATCH: case XS_UNWATCH: case XS_RESET_WATCHES: case XS_TRANSACTION_START: case XS_TRANSACTION_END:
      return handleWatchOp(c, r);
    case XS_INTRODUCE: case XS_RELEASE: case XS_IS_DOMAIN_INTRODUCED: case XS_GET_DOMAIN_PATH: case XS_RESUME:
    case XS_SET_TARGET:
      return handleDomainOp(c, r);
    case XS_CONTROL:
      return handleControl(c, r);
    default:
      return replyError(c, r, ENOSYS);  // includes WATCH_EVENT and ERROR, which only we send
  }
}

void XsServer::handleNodeOp(Conn& c, const Request& r) {
  auto& impl = store_.impl();
  const uint32_t tx = r.hdr.tx_id;
  if (tx != 0 && !c.txns.count(tx)) return replyError(c, r, ENOENT);
  std::string_view rest;
  auto args = splitArgs(r.payload, &rest);
  // Every op names its node first; WRITE's value is what follows that first NUL.
  bool shapeOk = !args.empty();
  if (r.hdr.type == XS_WRITE) {
    rest = shapeOk ? r.payload.substr(args[0].size() + 1) : std::string_view();
  } else if (r.hdr.type == XS_DIRECTORY_PART) {
    shapeOk = args.size() == 2 && rest.empty();
  } else if (r.hdr.type != XS_SET_PERMS) {
    shapeOk = args.size() == 1 && rest.empty();
  } else {
    shapeOk = args.size() >= 2 && rest.empty();
  }
  std::string path;
  if (!shapeOk || xsCanonicalize(0, args[0], false, path)) return replyError(c, r, EINVAL);

  int err = 0;
  std::string out;
  switch (r.hdr.type) {
    case XS_READ:
      if (!(err = impl.read(tx, 0, path, out))) return reply(c, r, XS_READ, out);
      break;
    case XS_WRITE: err = impl.write(tx, 0, path, rest); break;
    case XS_MKDIR: err = impl.mkdir(tx, 0, path); break;
    case XS_RM: err = impl.rm(tx, 0, path); break;
    case XS_GET_PERMS: {
      std::vector<XsNodePerm> perms;
      if ((err = impl.getPerms(tx, 0, path, perms))) break;
      for (const auto& p : perms) (out += p.perm) += std::to_string(p.domid) + '\0';
      return reply(c, r, XS_GET_PERMS, out);
    }
    case XS_SET_PERMS: {
      std::vector<XsNodePerm> perms;
      for (size_t i = 1; i < args.size(); ++i) {
        XsNodePerm p;
        if (args[i].empty() || !parseNumber(args[i].substr(1), p.domid)) return replyError(c, r, EINVAL);
        p.perm = args[i][0];
        perms.push_back(p);
      }
      err = impl.setPerms(tx, 0, path, perms);
      break;
    }
    case XS_DIRECTORY:
    case XS_DIRECTORY_PART: {
      std::vector<std::string> children;
      uint64_t gen = 0;
      if ((err = impl.directory(tx, 0, path, children, gen))) break;
      for (const auto& name : children) (out += name) += '\0';
      if (r.hdr.type == XS_DIRECTORY) {
        if (out.size() > XENSTORE_PAYLOAD_MAX) return replyError(c, r, E2BIG);  // the client asks in parts
        return reply(c, r, XS_DIRECTORY, out);
      }
      // DIRECTORY_PART: generation, then as many whole names from byte offset `off` as fit; a
      // final empty string marks the end of the list (xenstored's format).
      size_t off = 0;
      if (!parseNumber(args[1], off)) return replyError(c, r, EINVAL);
      std::string part = std::to_string(gen) + '\0';
      const size_t maxLen = XENSTORE_PAYLOAD_MAX - part.size() - 1;
      size_t len = 0;
      while (off + len < out.size()) {
        size_t next = out.find('\0', off + len) + 1 - off;
        if (next > maxLen) break;
        len = next;
      }
      if (off < out.size()) part.append(out, off, len);
      if (off + len >= out.size()) part += '\0';
      return reply(c, r, XS_DIRECTORY_PART, part);
    }
  }
  if (err) return replyError(c, r, err);
  reply(c, r, r.hdr.type, ok());
}

void XsServer::handleWatchOp(Conn& c, const Request& r) {
  auto& impl = store_.impl();
  std::string_view rest;
  auto args = splitArgs(r.payload, &rest);
  switch (r.hdr.type) {
    case XS_WATCH:
    case XS_UNWATCH: {
      std::string path;
      if (args.size() != 2 || !rest.empty() || xsCanonicalize(0, args[0], true, path)) return replyError(c, r, EINVAL);
      std::string token(args[1]);
      auto it = std::find_if(c.watches.begin(), c.watches.end(),
                             [&](const Conn::Watch& w) { return w.path == path && w.token == token; });
      if (r.hdr.type == XS_UNWATCH) {
        if (it == c.watches.end()) return replyError(c, r, ENOENT);
        c.watches.erase(it);
        return reply(c, r, XS_UNWATCH, ok());
      }
      if (it != c.watches.end()) return replyError(c, r, EEXIST);
      if (c.watches.size() >= kMaxWatches) return replyError(c, r, E2BIG);
      bool relative = args[0][0] != '/' && args[0][0] != '@';
      c.watches.push_back({path, token, relative});
      reply(c, r, XS_WATCH, ok());
      // xenstored fires every new watch once, so the client can read the initial state.
      std::string event = std::string(args[0]) + '\0' + token + '\0';
      return queue(c, XS_WATCH_EVENT, 0, 0, event);
    }
    case XS_RESET_WATCHES:
      c.watches.clear();
      for (uint32_t tx : c.txns) (void)impl.transactionEnd(tx, false);
      c.txns.clear();
      return reply(c, r, XS_RESET_WATCHES, ok());
    case XS_TRANSACTION_START: {
      if (r.hdr.tx_id != 0) return replyError(c, r, EBUSY);
      if (c.txns.size() >= kMaxTransactions) return replyError(c, r, ENOSPC);
      uint32_t tx = impl.transactionStart();
      c.txns.insert(tx);
      return reply(c, r, XS_TRANSACTION_START, std::to_string(tx) + '\0');
    }
    default: {  // XS_TRANSACTION_END
      if (args.size() != 1 || !rest.empty() || (args[0] != "T" && args[0] != "F")) return replyError(c, r, EINVAL);
      if (!c.txns.erase(r.hdr.tx_id)) return replyError(c, r, ENOENT);
      if (int err = impl.transactionEnd(r.hdr.tx_id, args[0] == "T")) return replyError(c, r, err);
      return reply(c, r, XS_TRANSACTION_END, ok());
    }
  }
}

void XsServer::handleDomainOp(Conn& c, const Request& r) {
  std::string_view rest;
  auto args = splitArgs(r.payload, &rest);
  uint32_t domid = 0;
  if (args.empty() || !rest.empty() || !parseNumber(args[0], domid)) return replyError(c, r, EINVAL);
  switch (r.hdr.type) {
    case XS_INTRODUCE: {
      uint64_t mfn = 0;
      uint32_t port = 0;
      if (args.size() != 3 || domid == 0 || !parseNumber(args[1], mfn) || !parseNumber(args[2], port))
        return replyError(c, r, EINVAL);
      if (introduce_) {
        Status s = introduce_(domid, mfn, port);
        if (!s.ok()) return replyError(c, r, s.error().code == ErrorCode::Denied ? EACCES : EINVAL);
      }
      bool fresh = introduced_.insert(domid).second;
      reply(c, r, XS_INTRODUCE, ok());
      if (fresh) store_.fireSpecial("@introduceDomain");
      return;
    }
    case XS_RELEASE: {
      if (args.size() != 1 || domid == 0) return replyError(c, r, EINVAL);
      if (!introduced_.count(domid)) return replyError(c, r, ENOENT);
      if (release_) {
        Status s = release_(domid);
        if (!s.ok()) return replyError(c, r, s.error().code == ErrorCode::Denied ? EACCES : EINVAL);
      }
      introduced_.erase(domid);
      reply(c, r, XS_RELEASE, ok());
      return store_.fireSpecial("@releaseDomain");
    }
    case XS_IS_DOMAIN_INTRODUCED:
      if (args.size() != 1) return replyError(c, r, EINVAL);
      return reply(c, r, r.hdr.type, std::string(isIntroduced(domid) ? "T" : "F", 2));
    case XS_GET_DOMAIN_PATH:
      if (args.size() != 1) return replyError(c, r, EINVAL);
      return reply(c, r, r.hdr.type, "/local/domain/" + std::to_string(domid) + '\0');
    case XS_RESUME:
      if (args.size() != 1) return replyError(c, r, EINVAL);
      if (!isIntroduced(domid)) return replyError(c, r, ENOENT);
      return reply(c, r, r.hdr.type, ok());
    default: {  // XS_SET_TARGET: accepted; the sim has no device-model stubdomains to privilege
      uint32_t target = 0;
      if (args.size() != 2 || !parseNumber(args[1], target)) return replyError(c, r, EINVAL);
      if (!isIntroduced(domid) || !isIntroduced(target)) return replyError(c, r, ENOENT);
      return reply(c, r, r.hdr.type, ok());
    }
  }
}

void XsServer::handleControl(Conn& c, const Request& r) {
  std::string_view rest;
  auto args = splitArgs(r.payload, &rest);
  if (args.empty() || !rest.empty()) return replyError(c, r, EINVAL);
  if (args[0] == "print") {
    if (args.size() > 1) logInfo("xenstore client: " + std::string(args[1]));
    return reply(c, r, XS_CONTROL, ok());
  }
  if (args[0] == "stats") {
    // Not in xenstored: the counters the robustness tests compare against their baseline.
    size_t watches = 0;
    for (const auto& [id, conn] : conns_) watches += conn->watches.size();
    std::string s = "nodes=" + std::to_string(store_.nodeCount()) +
                    " transactions=" + std::to_string(store_.transactionCount()) +
                    " connections=" + std::to_string(conns_.size()) + " watches=" + std::to_string(watches);
    return reply(c, r, XS_CONTROL, s + '\0');
  }
  if (args[0] == "help") return reply(c, r, XS_CONTROL, std::string("print\nstats\nhelp\n") + '\0');
  replyError(c, r, EINVAL);
}

void XsServer::onChange(const std::string& path, bool exact) {
  std::string eventPath;
  for (auto& [id, c] : conns_) {
    for (const auto& w : c->watches) {
      if (!xsWatchMatches(w.path, path, exact, eventPath)) continue;
      // A watch set with a relative path hears relative paths, as from xenstored.
      if (w.relative && eventPath.compare(0, kDom0Path.size(), kDom0Path) == 0) eventPath.erase(0, kDom0Path.size());
      queue(*c, XS_WATCH_EVENT, 0, 0, eventPath + '\0' + w.token + '\0');
    }
  }
}

}  // namespace xvirt::sim
