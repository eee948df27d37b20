#include "helper/monitor/MonitorServer.h"

#include <fcntl.h>
#include <glib-unix.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <deque>

#include "common/Clock.h"
#include "common/Log.h"
#include "common/Strings.h"

namespace xvirt::helper {

QmpError qmpErrorFrom(const Error& error) {
  switch (error.code) {
    case ErrorCode::DeviceNotFound: return {"DeviceNotFound", error.message};
    case ErrorCode::NoSupport: return {"CommandNotFound", error.message};
    default: return {"GenericError", error.message};
  }
}

struct MonitorServer::Client {
  MonitorServer* server = nullptr;
  uint64_t id = 0;
  UniqueFd fd;
  guint source = 0;
  GIOCondition watched = GIOCondition(0);
  std::string in;
  std::string out;
  bool discarding = false;  // skipping the rest of an over-long line
  bool negotiated = false;
  bool busy = false;        // a command is running; later lines wait their turn
  bool inRunNext = false;
  std::deque<std::string> pending;
};

MonitorServer::MonitorServer(const MonitorSchema& schema, Json version)
    : schema_(&schema), version_(std::move(version)) {}

MonitorServer::MonitorServer(SchemaSource schema, Json version)
    : schemaSource_(schema), version_(std::move(version)) {}

const MonitorSchema& MonitorServer::schema() {
  if (!schema_) schema_ = &schemaSource_();
  return *schema_;
}

MonitorServer::~MonitorServer() {
  greeter_.reset();  // clients it greeted are closed with it
  if (listenSource_) g_source_remove(listenSource_);
  for (auto& [id, c] : clients_)
    if (c->source) g_source_remove(c->source);
  if (!path_.empty()) ::unlink(path_.c_str());
}

void MonitorServer::addCommand(const std::string& name, Handler handler) {
  if (!schema().command(name)) {
    logError("Monitor command " + name + " is not in the monitor schema.");
    std::abort();
  }
  handlers_[name] = std::move(handler);
}

void MonitorServer::addSyncCommand(const std::string& name, std::function<QmpResult(const Json&)> fn) {
  addCommand(name, [fn = std::move(fn)](const Json& args, Reply reply) { reply(fn(args)); });
}

std::vector<std::string> MonitorServer::commandNames() const {
  std::vector<std::string> names = {"qmp_capabilities"};
  for (const auto& [name, handler] : handlers_) names.push_back(name);
  return names;
}

Status MonitorServer::listen(const std::string& path) {
  XVIRT_TRY(bindSocket(path));
  listenSource_ = g_unix_fd_add(listenFd_.get(), G_IO_IN, &MonitorServer::onAccept, this);
  return okStatus();
}

Status MonitorServer::listenEarly(const std::string& path) {
  XVIRT_TRY(bindSocket(path));
  greeter_ = std::make_unique<MonitorGreeter>(listenFd_.get(), greetingLine());
  return okStatus();
}

void MonitorServer::serve() {
  if (greeter_) {
    for (auto& g : greeter_->stop()) {
      Client& c = addClient(std::move(g.fd));
      c.out = std::move(g.unsent);
      flush(c);
      updateWatch(c);
    }
    greeter_.reset();
  }
  if (listenFd_ && !listenSource_)
    listenSource_ = g_unix_fd_add(listenFd_.get(), G_IO_IN, &MonitorServer::onAccept, this);
}

Status MonitorServer::bindSocket(const std::string& path) {
  sockaddr_un addr{};
  // The socket is bound under a temporary name and renamed once it listens, so a client that sees
  // the path never gets ECONNREFUSED from a socket that is bound but not yet listening.
  if (path.size() >= sizeof addr.sun_path)
    return makeError(ErrorCode::InvalidArgument, "The monitor socket path " + path + " is too long.");
  // (A path with no room for the suffix is bound directly.)
  const std::string tmp = path.size() + 4 < sizeof addr.sun_path ? path + ".tmp" : path;
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return Error::system("Cannot create the monitor socket", errno);
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", tmp.c_str());
  ::unlink(tmp.c_str());
  // Only the owner (root for system guests, the user for session guests) may reach the monitor.
  mode_t old = ::umask(0177);
  int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  ::umask(old);
  if (rc < 0) return Error::system("Cannot bind the monitor socket " + path, err);
  if (::listen(fd.get(), 16) < 0 || (tmp != path && ::rename(tmp.c_str(), path.c_str()) < 0)) {
    err = errno;
    ::unlink(tmp.c_str());
    return Error::system("Cannot listen on the monitor socket " + path, err);
  }
  path_ = path;
  listenFd_ = std::move(fd);
  return okStatus();
}

gboolean MonitorServer::onAccept(gint fd, GIOCondition, gpointer self) {
  auto* server = static_cast<MonitorServer*>(self);
  for (;;) {
    int cfd = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (cfd < 0) break;
    server->adopt(UniqueFd(cfd));
  }
  return G_SOURCE_CONTINUE;
}

std::string MonitorServer::greetingLine() const {
  return Json::object({{"QMP", Json::object({{"version", version_}, {"capabilities", Json::array()}})}}).dump() +
         "\r\n";
}

MonitorServer::Client& MonitorServer::addClient(UniqueFd fd) {
  int flags = ::fcntl(fd.get(), F_GETFL);
  if (!(flags & O_NONBLOCK)) ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK);
  auto c = std::make_unique<Client>();
  c->server = this;
  c->id = nextClientId_++;
  c->fd = std::move(fd);
  Client& ref = *c;
  clients_[ref.id] = std::move(c);
  return ref;
}

void MonitorServer::adopt(UniqueFd fd) {
  Client& c = addClient(std::move(fd));
  c.out = greetingLine();
  flush(c);
  updateWatch(c);
}

void MonitorServer::updateWatch(Client& c) {
  GIOCondition want = GIOCondition(G_IO_IN | G_IO_HUP | G_IO_ERR | (c.out.empty() ? 0 : G_IO_OUT));
  if (c.source && want == c.watched) return;
  if (c.source) g_source_remove(c.source);
  c.watched = want;
  // GLib blocks a dispatching source unless it may recurse, which removes and re-adds its fd and
  // wakes the loop through its eventfd twice per command (an extra poll and read each time).
  // Nothing here runs a nested loop, so the block buys nothing.
  GSource* src = g_unix_fd_source_new(c.fd.get(), want);
  g_source_set_callback(src, G_SOURCE_FUNC(&MonitorServer::onClientIo), &c, nullptr);
  g_source_set_can_recurse(src, TRUE);
  c.source = g_source_attach(src, nullptr);
  g_source_unref(src);
}

void MonitorServer::dropClient(uint64_t id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  if (it->second->source) g_source_remove(it->second->source);
  clients_.erase(it);
}

gboolean MonitorServer::onClientIo(gint, GIOCondition cond, gpointer data) {
  auto& c = *static_cast<Client*>(data);
  MonitorServer& s = *c.server;
  const uint64_t id = c.id;
  const guint self = c.source;  // flush()/updateWatch() may replace it while we run
  auto drop = [&]() {
    if (c.source && c.source != self) g_source_remove(c.source);
    s.clients_.erase(id);
    return G_SOURCE_REMOVE;
  };
  if (cond & G_IO_OUT) s.flush(c);
  if (cond & (G_IO_IN | G_IO_HUP | G_IO_ERR)) {
    char buf[65536];
    ssize_t n = ::read(c.fd.get(), buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return drop();
    if (n > 0) {
      size_t start = 0;
      for (ssize_t i = 0; i < n; ++i) {
        if (buf[i] != '\n') continue;
        if (!c.discarding) {
          c.in.append(buf + start, static_cast<size_t>(i) - start);
          c.pending.push_back(std::move(c.in));
        }
        c.in.clear();
        c.discarding = false;
        start = static_cast<size_t>(i) + 1;
      }
      if (!c.discarding) c.in.append(buf + start, static_cast<size_t>(n) - start);
      if (c.in.size() > kMaxLine) {
        // Refuse the line now (QEMU answers over-long input with a GenericError too) and skip to
        // its end, so a runaway client costs at most kMaxLine bytes of memory.
        c.in.clear();
        c.discarding = true;
        s.send(c, Json::object({{"error", Json::object({{"class", "GenericError"},
                                                         {"desc", "QMP input exceeds the maximum line length of " +
                                                                      std::to_string(kMaxLine) + " bytes"}})}}));
      }
      // Handlers never drop the client they serve, so `c` stays valid here.
      s.runNext(c);
    }
  }
  s.updateWatch(c);
  return c.source == self ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

void MonitorServer::runNext(Client& c) {
  if (c.inRunNext) return;
  c.inRunNext = true;
  while (!c.busy && !c.pending.empty()) {
    std::string line = std::move(c.pending.front());
    c.pending.pop_front();
    handleLine(c, line);
  }
  c.inRunNext = false;
}

void MonitorServer::handleLine(Client& c, const std::string& rawLine) {
  std::string_view line = trim(rawLine);
  if (line.empty()) return;
  auto fail = [&](const Json* id, const char* cls, std::string desc) {
    Json reply = Json::object({{"error", Json::object({{"class", cls}, {"desc", std::move(desc)}})}});
    if (id) reply.set("id", *id);
    send(c, reply);
  };
  auto parsed = Json::parse(line);
  if (!parsed.ok()) return fail(nullptr, "GenericError", "JSON parse error, " + parsed.error().message);
  const Json& msg = *parsed;
  if (!msg.isObject()) return fail(nullptr, "GenericError", "QMP input must be a JSON object");
  const Json* id = msg.get("id");
  for (const auto& [key, value] : msg.asObject())
    if (key != "execute" && key != "arguments" && key != "id")
      return fail(id, "GenericError", "QMP input member '" + key + "' is unexpected");
  const Json* execute = msg.get("execute");
  if (!execute) return fail(id, "GenericError", "QMP input lacks member 'execute'");
  if (!execute->isString()) return fail(id, "GenericError", "QMP input member 'execute' must be a string");
  const Json* argsIn = msg.get("arguments");
  if (argsIn && !argsIn->isObject())
    return fail(id, "GenericError", "QMP input member 'arguments' must be an object");
  Json args = argsIn ? *argsIn : Json::object();
  const std::string& name = execute->asString();

  if (name == "qmp_capabilities") {
    if (c.negotiated)
      return fail(id, "CommandNotFound", "Capabilities negotiation is already complete, command ignored");
    if (auto problem = schema().checkArguments(*schema().command(name), args))
      return fail(id, "GenericError", *problem);
    c.negotiated = true;
    Json reply = Json::object({{"return", Json::object()}});
    if (id) reply.set("id", *id);
    return send(c, reply);
  }
  if (!c.negotiated)
    return fail(id, "CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'");
  const CommandSpec* spec = schema().command(name);
  auto handler = handlers_.find(name);
  if (!spec || handler == handlers_.end())
    return fail(id, "CommandNotFound", "The command " + name + " has not been found");
  if (auto problem = schema().checkArguments(*spec, args)) return fail(id, "GenericError", *problem);

  c.busy = true;
  uint64_t clientId = c.id;
  std::optional<Json> idCopy = id ? std::optional<Json>(*id) : std::nullopt;
  handler->second(args, [this, clientId, idCopy](QmpResult result) {
    auto it = clients_.find(clientId);
    if (it == clients_.end()) return;  // the client left while its command ran
    Client& client = *it->second;
    Json reply;
    if (auto* value = std::get_if<Json>(&result)) {
      reply = Json::object({{"return", *value}});
    } else {
      const auto& e = std::get<QmpError>(result);
      reply = Json::object({{"error", Json::object({{"class", e.errorClass}, {"desc", e.desc}})}});
    }
    if (idCopy) reply.set("id", *idCopy);
    client.busy = false;
    send(client, reply);
    runNext(client);
  });
}

void MonitorServer::send(Client& c, const Json& msg) {
  c.out += msg.dump();
  c.out += "\r\n";
  flush(c);
}

void MonitorServer::flush(Client& c) {
  while (!c.out.empty()) {
    ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      c.out.clear();  // the peer is gone; the read side notices and drops the client
      return;
    }
    c.out.erase(0, static_cast<size_t>(n));
  }
  if (c.out.size() > kMaxOutput) {
    logWarning("Dropping a monitor client that stopped reading (" + std::to_string(c.out.size()) +
               " bytes unread).");
    ::shutdown(c.fd.get(), SHUT_RDWR);
    c.out.clear();
    return;
  }
  if (!c.out.empty() && !(c.watched & G_IO_OUT) && c.source) {
    // Ask to be told when the socket drains; the I/O callback re-arms as needed.
    g_source_remove(c.source);
    c.source = 0;
    updateWatch(c);
  }
}

void MonitorServer::emitEvent(const std::string& name, Json data) {
  uint64_t us = SystemClock::instance().realtimeNs() / 1000;
  Json msg = Json::object({{"event", name},
                           {"data", std::move(data)},
                           {"timestamp", Json::object({{"seconds", static_cast<long long>(us / 1000000)},
                                                       {"microseconds", static_cast<long long>(us % 1000000)}})}});
  std::vector<uint64_t> ids;
  for (auto& [id, c] : clients_)
    if (c->negotiated) ids.push_back(id);
  for (uint64_t id : ids) {
    auto it = clients_.find(id);
    if (it != clients_.end()) send(*it->second, msg);
  }
}

}  // namespace xvirt::helper
