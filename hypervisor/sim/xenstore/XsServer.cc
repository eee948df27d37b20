// XsServer: one thread per client connection, asleep in a blocking recv() between requests, that
// handles what arrived under the store's lock and answers in one send; watch events are queued
// behind the replies. Accepting, and waiting for room for a backed-up client, is on the GLib context.
#include "hypervisor/sim/xenstore/XsServer.h"

#include <glib-unix.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>
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

struct XsServer::Conn {
  struct Watch {
    std::string path;  // canonical
    std::string token;
    bool relative = false;
  };
  uint64_t id = 0;
  UniqueFd fd;  // blocking; closed only after the thread is joined, so never reused under it
  std::thread thread;
  std::string in;  // only the connection's thread touches it
  // Everything below is guarded by the server's lock.
  std::string out;
  size_t outOff = 0;
  GSource* outSource = nullptr;  // waits on the main context for room when `out` backs up
  bool closing = false;  // refused a request it cannot recover from: flush, then close
  bool dead = false;
  std::vector<Watch> watches;
  std::set<uint32_t> txns;
};

struct XsServer::Request {
  xsd_sockmsg hdr;
  std::string_view payload;
};

XsServer::XsServer(XsStore& store)
    : store_(store), mu_(store.impl().mutex()), context_(g_main_context_ref_thread_default()) {
  Lock lock(mu_);
  listenerId_ = store_.impl().addListener([this](const std::string& path, bool exact) { onChange(path, exact); });
}

XsServer::~XsServer() {
  if (listenSource_) {
    g_source_destroy(listenSource_);
    g_source_unref(listenSource_);
  }
  {
    Lock lock(mu_);
    stopping_ = true;
    store_.impl().removeListener(listenerId_);
    for (auto& [id, c] : conns_) kill(*c);
    allGone_.wait(lock, [this] { return conns_.empty(); });
  }
  reap();
  if (!path_.empty()) ::unlink(path_.c_str());
  g_main_context_unref(context_);
}

size_t XsServer::connectionCount() const {
  Lock lock(mu_);
  return conns_.size();
}

bool XsServer::isIntroduced(uint32_t domid) const {
  Lock lock(mu_);
  return introducedLocked(domid);
}

void XsServer::forgetDomain(uint32_t domid) {
  Lock lock(mu_);
  introduced_.erase(domid);
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
  listenSource_ = g_unix_fd_source_new(listenFd_.get(), G_IO_IN);
  g_source_set_callback(listenSource_, G_SOURCE_FUNC(&XsServer::onAcceptReady), this, nullptr);
  g_source_attach(listenSource_, context_);
  return okStatus();
}

gboolean XsServer::onAcceptReady(gint, GIOCondition, gpointer self) {
  auto* server = static_cast<XsServer*>(self);
  server->reap();
  Lock lock(server->mu_);
  server->acceptPending();
  return G_SOURCE_CONTINUE;
}

void XsServer::acceptPending() {
  while (!stopping_) {
    // Blocking: the connection's thread sleeps in recv() and wakes with a request, which costs
    // one recv and one send per request (a poll loop costs a poll more, and GLib's bookkeeping).
    int fd = ::accept4(listenFd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    auto owned = std::make_unique<Conn>();
    Conn& c = *owned;
    c.fd.reset(fd);
    c.id = nextConnId_++;
    conns_.emplace(c.id, std::move(owned));
    c.thread = std::thread([this, &c] { serve(c); });
  }
}

void XsServer::serve(Conn& c) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF (possibly inside a message: nothing more can arrive), error, or kill()
    c.in.append(buf, static_cast<size_t>(n));
    Lock lock(mu_);
    if (c.dead) break;
    parseInput(lock, c);
    if (c.dead || (c.closing && c.outOff == c.out.size())) break;
  }
  // A client that goes away mid-transaction leaves nothing behind: its transactions are aborted
  // and its watches die with it.
  Lock lock(mu_);
  for (uint32_t tx : c.txns) (void)store_.impl().transactionEnd(tx, false);
  c.txns.clear();
  dropWatches(c);
  c.dead = true;
  if (c.outSource) {
    g_source_destroy(c.outSource);
    g_source_unref(std::exchange(c.outSource, nullptr));
  }
  auto it = conns_.find(c.id);
  finished_.push_back(std::move(it->second));
  conns_.erase(it);
  if (conns_.empty()) allGone_.notify_all();
}

void XsServer::reap() {
  std::vector<std::unique_ptr<Conn>> done;
  {
    Lock lock(mu_);
    done.swap(finished_);
  }
  for (auto& c : done) c->thread.join();  // each has left serve() or is about to
}

void XsServer::parseInput(Lock& lock, Conn& c) {
  // Every complete request in what arrived, in order; their replies leave in one send.
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
    handle(lock, c, r);
    off += kHeader + r.hdr.len;
  }
  c.in.erase(0, off);
  flush(c);
}

void XsServer::kill(Conn& c) {
  // The connection's thread wakes from recv() with EOF and cleans up; the fd stays open until
  // it is joined.
  c.dead = true;
  c.out.clear();
  c.outOff = 0;
  ::shutdown(c.fd.get(), SHUT_RDWR);
}

void XsServer::queue(Conn& c, uint32_t type, uint32_t reqId, uint32_t txId, std::string_view payload) {
  if (c.dead) return;
  xsd_sockmsg hdr{type, reqId, txId, static_cast<uint32_t>(payload.size())};
  c.out.append(reinterpret_cast<const char*>(&hdr), kHeader);
  c.out.append(payload);
  if (c.out.size() - c.outOff > kMaxQueuedOutput) {
    logWarning("xenstore client " + std::to_string(c.id) + " does not read its replies; disconnecting it.");
    return kill(c);
  }
  // A connection's own replies go out together when its batch is done (parseInput); events for
  // other connections go now, as their threads are asleep in recv().
  if (!c.thread.joinable() || c.thread.get_id() != std::this_thread::get_id()) flush(c);
}

void XsServer::flush(Conn& c) {
  while (!c.dead && c.outOff < c.out.size()) {
    ssize_t n = ::send(c.fd.get(), c.out.data() + c.outOff, c.out.size() - c.outOff, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) return kill(c);
      // The client is slow to read: the main context finishes the job when there is room.
      if (!c.outSource) {
        c.outSource = g_unix_fd_source_new(c.fd.get(), G_IO_OUT);
        auto* data = new std::pair<XsServer*, uint64_t>(this, c.id);
        g_source_set_callback(c.outSource, G_SOURCE_FUNC(&XsServer::onWritable), data,
                              [](gpointer p) { delete static_cast<std::pair<XsServer*, uint64_t>*>(p); });
        g_source_attach(c.outSource, context_);
      }
      return;
    }
    c.outOff += static_cast<size_t>(n);
  }
  c.out.clear();
  c.outOff = 0;
  if (c.closing) ::shutdown(c.fd.get(), SHUT_RDWR);  // said why; now close
}

gboolean XsServer::onWritable(gint, GIOCondition, gpointer data) {
  auto [server, id] = *static_cast<std::pair<XsServer*, uint64_t>*>(data);
  Lock lock(server->mu_);
  auto it = server->conns_.find(id);
  if (it == server->conns_.end()) return G_SOURCE_REMOVE;
  Conn& c = *it->second;
  if (c.outSource) {
    g_source_unref(std::exchange(c.outSource, nullptr));  // the return value removes it
  }
  server->flush(c);  // attaches a new source if there is still no room
  return G_SOURCE_REMOVE;
}

void XsServer::reply(Conn& c, const Request& r, uint32_t type, std::string_view payload) {
  queue(c, type, r.hdr.req_id, r.hdr.tx_id, payload);
}

void XsServer::replyError(Conn& c, const Request& r, int err) {
  const char* name = errorName(err);
  queue(c, XS_ERROR, r.hdr.req_id, r.hdr.tx_id, std::string_view(name, std::strlen(name) + 1));
}

void XsServer::handle(Lock& lock, Conn& c, const Request& r) {
  switch (r.hdr.type) {
    case XS_READ: case XS_WRITE: case XS_MKDIR: case XS_RM: case XS_DIRECTORY: case XS_DIRECTORY_PART:
    case XS_GET_PERMS: case XS_SET_PERMS:
      return handleNodeOp(c, r);
    case XS_WATCH: case XS_UNWATCH: case XS_RESET_WATCHES: case XS_TRANSACTION_START: case XS_TRANSACTION_END:
      return handleWatchOp(c, r);
    case XS_INTRODUCE: case XS_RELEASE: case XS_IS_DOMAIN_INTRODUCED: case XS_GET_DOMAIN_PATH: case XS_RESUME:
    case XS_SET_TARGET:
      return handleDomainOp(lock, c, r);
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
        indexWatch(it->path, c.id, false);
        c.watches.erase(it);
        return reply(c, r, XS_UNWATCH, ok());
      }
      if (it != c.watches.end()) return replyError(c, r, EEXIST);
      if (c.watches.size() >= kMaxWatches) return replyError(c, r, E2BIG);
      bool relative = args[0][0] != '/' && args[0][0] != '@';
      c.watches.push_back({path, token, relative});
      indexWatch(path, c.id, true);
      reply(c, r, XS_WATCH, ok());
      // xenstored fires every new watch once, so the client can read the initial state.
      std::string event = std::string(args[0]) + '\0' + token + '\0';
      return queue(c, XS_WATCH_EVENT, 0, 0, event);
    }
    case XS_RESET_WATCHES:
      dropWatches(c);
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

Status XsServer::onContext(Lock& lock, std::function<Status()> fn) {
  // Runs `fn` on the main context with our lock released, and waits. A server being destroyed
  // (on that context) cannot run it: the call is abandoned, and `fn` never runs.
  struct Call {
    std::mutex mu;
    std::condition_variable cv;
    std::function<Status()> fn;
    std::optional<Status> result;
    bool abandoned = false;
  };
  auto call = std::make_shared<Call>();
  call->fn = std::move(fn);
  g_main_context_invoke_full(context_, G_PRIORITY_DEFAULT, [](gpointer p) -> gboolean {
    auto& call = *static_cast<std::shared_ptr<Call>*>(p);
    std::unique_lock l(call->mu);
    if (!call->abandoned) {
      l.unlock();
      Status s = call->fn();
      l.lock();
      call->result = std::move(s);
      call->cv.notify_all();
    }
    return G_SOURCE_REMOVE;
  }, new std::shared_ptr<Call>(call), [](gpointer p) { delete static_cast<std::shared_ptr<Call>*>(p); });
  lock.unlock();
  std::unique_lock l(call->mu);
  while (!call->result && !stopping_) call->cv.wait_for(l, std::chrono::milliseconds(100));
  Status out = call->result ? std::move(*call->result)
                            : Status(makeError(ErrorCode::OperationFailed, "The xenstore server is stopping."));
  call->abandoned = true;
  l.unlock();
  lock.lock();
  return out;
}

void XsServer::handleDomainOp(Lock& lock, Conn& c, const Request& r) {
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
        Status s = onContext(lock, [&] { return introduce_(domid, mfn, port); });
        if (!s.ok()) return replyError(c, r, s.error().code == ErrorCode::Denied ? EACCES : EINVAL);
      }
      bool fresh = introduced_.insert(domid).second;
      reply(c, r, XS_INTRODUCE, ok());
      if (fresh) store_.impl().notify("@introduceDomain", true);
      return;
    }
    case XS_RELEASE: {
      if (args.size() != 1 || domid == 0) return replyError(c, r, EINVAL);
      if (!introduced_.count(domid)) return replyError(c, r, ENOENT);
      if (release_) {
        Status s = onContext(lock, [&] { return release_(domid); });
        if (!s.ok()) return replyError(c, r, s.error().code == ErrorCode::Denied ? EACCES : EINVAL);
      }
      introduced_.erase(domid);
      reply(c, r, XS_RELEASE, ok());
      return store_.impl().notify("@releaseDomain", true);
    }
    case XS_IS_DOMAIN_INTRODUCED:
      if (args.size() != 1) return replyError(c, r, EINVAL);
      return reply(c, r, r.hdr.type, std::string(introducedLocked(domid) ? "T" : "F", 2));
    case XS_GET_DOMAIN_PATH:
      if (args.size() != 1) return replyError(c, r, EINVAL);
      return reply(c, r, r.hdr.type, "/local/domain/" + std::to_string(domid) + '\0');
    case XS_RESUME:
      if (args.size() != 1) return replyError(c, r, EINVAL);
      if (!introducedLocked(domid)) return replyError(c, r, ENOENT);
      return reply(c, r, r.hdr.type, ok());
    default: {  // XS_SET_TARGET: accepted; the sim has no device-model stubdomains to privilege
      uint32_t target = 0;
      if (args.size() != 2 || !parseNumber(args[1], target)) return replyError(c, r, EINVAL);
      if (!introducedLocked(domid) || !introducedLocked(target)) return replyError(c, r, ENOENT);
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
    // Not in xenstored: the counters the robustness tests compare against their baseline. A
    // client whose connect() returned counts even if the main context has not accepted it yet.
    acceptPending();
    size_t watches = 0;
    for (const auto& [id, conn] : conns_) watches += conn->watches.size();
    std::string s = "nodes=" + std::to_string(store_.impl().nodeCount()) +
                    " transactions=" + std::to_string(store_.impl().transactionCount()) +
                    " connections=" + std::to_string(conns_.size()) + " watches=" + std::to_string(watches);
    return reply(c, r, XS_CONTROL, s + '\0');
  }
  if (args[0] == "help") return reply(c, r, XS_CONTROL, std::string("print\nstats\nhelp\n") + '\0');
  replyError(c, r, EINVAL);
}

void XsServer::indexWatch(const std::string& path, uint64_t conn, bool add) {
  if (add) {
    ++watchIndex_[path][conn];
    return;
  }
  auto p = watchIndex_.find(path);
  if (p == watchIndex_.end()) return;
  auto c = p->second.find(conn);
  if (c != p->second.end() && --c->second == 0) p->second.erase(c);
  if (p->second.empty()) watchIndex_.erase(p);
}

void XsServer::dropWatches(Conn& c) {
  for (const auto& w : c.watches) indexWatch(w.path, c.id, false);
  c.watches.clear();
}

void XsServer::onChange(const std::string& path, bool exact) {
  // The connections with a watch that xsWatchMatches could accept: on the changed path or one of
  // its ancestors, or (a removal) below it; special paths (@...) only match themselves.
  std::set<uint64_t> candidates;
  auto take = [&](std::map<std::string, std::map<uint64_t, unsigned>>::const_iterator it) {
    for (const auto& [id, n] : it->second) candidates.insert(id);
  };
  if (path.empty()) return;
  if (path[0] == '@') {
    if (auto it = watchIndex_.find(path); it != watchIndex_.end()) take(it);
  } else {
    auto look = [&](const std::string& p) {
      if (auto it = watchIndex_.find(p); it != watchIndex_.end()) take(it);
    };
    look("/");  // then "/local", "/local/domain", ... and the path itself
    for (size_t i = path.find('/', 1); i != std::string::npos; i = path.find('/', i + 1)) look(path.substr(0, i));
    look(path);
    if (!exact) {
      std::string below = path == "/" ? "/" : path + "/";
      for (auto it = watchIndex_.lower_bound(below);
           it != watchIndex_.end() && it->first.compare(0, below.size(), below) == 0; ++it)
        take(it);
    }
  }
  std::string eventPath;
  for (uint64_t id : candidates) {
    auto found = conns_.find(id);
    if (found == conns_.end()) continue;
    auto& c = found->second;
    for (const auto& w : c->watches) {
      if (!xsWatchMatches(w.path, path, exact, eventPath)) continue;
      // A watch set with a relative path hears relative paths, as from xenstored.
      if (w.relative && eventPath.compare(0, kDom0Path.size(), kDom0Path) == 0) eventPath.erase(0, kDom0Path.size());
      queue(*c, XS_WATCH_EVENT, 0, 0, eventPath + '\0' + w.token + '\0');
    }
  }
}

}  // namespace xvirt::sim
