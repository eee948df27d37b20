// The REMOTE_PROGRAM procedure table, made from the one list in driver/RemoteProcedures.h, and the
// per-connection dispatcher. To find where a libvirt API is served, grep for its REMOTE_PROC name or
// its camel-case name (DOMAIN_GET_INFO, domainGetInfo): the list's row and the handler in
// driver/api/ are all there is.
#include "driver/RemoteDispatch.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "common/Log.h"
#include "driver/ErrorMap.h"
#include "driver/api/Handlers.h"

namespace xvirt::driver {

namespace {

using namespace procflag;

// One row per procedure, from the one list; sorted by number.
#define XVIRT_TABLE_ROW(number, NAME, handler, flags) \
  ProcedureEntry{rpc::proc::REMOTE_PROC_##NAME, #NAME, api::handler, flags},
constexpr std::array kProcedures = {XVIRT_REMOTE_PROCEDURES(XVIRT_TABLE_ROW)};
#undef XVIRT_TABLE_ROW

constexpr bool sortedByNumber() {
  for (size_t i = 1; i < kProcedures.size(); ++i)
    if (kProcedures[i - 1].number >= kProcedures[i].number) return false;
  return true;
}
static_assert(sortedByNumber(), "keep driver/RemoteProcedures.h sorted by number, one row per procedure");

// The naming scheme: the handler of REMOTE_PROC_<NAME> is <name> in camel case (DOMAIN_GET_XML_DESC
// -> domainGetXmlDesc).
constexpr char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr bool namedAfter(std::string_view handler, std::string_view remoteName) {
  size_t j = 0;
  bool wordStart = false;
  for (char c : remoteName) {
    if (c == '_') {
      wordStart = true;
      continue;
    }
    if (j >= handler.size() || handler[j++] != (wordStart ? c : lower(c))) return false;
    wordStart = false;
  }
  return j == handler.size();
}
#define XVIRT_CHECK_NAME(number, NAME, handler, flags) \
  static_assert(namedAfter(#handler, #NAME), "the handler of REMOTE_PROC_" #NAME " is named after it in camel case");
XVIRT_REMOTE_PROCEDURES(XVIRT_CHECK_NAME)
#undef XVIRT_CHECK_NAME

rpc::CallReply errorReply(int32_t code, std::string message) { return rpc::CallReply::fail(remoteError(code, std::move(message))); }

}  // namespace

std::span<const ProcedureEntry> remoteProcedures() { return kProcedures; }

const ProcedureEntry* findRemoteProcedure(int32_t number) {
  auto it = std::lower_bound(kProcedures.begin(), kProcedures.end(), number,
                             [](const ProcedureEntry& e, int32_t n) { return e.number < n; });
  return it != kProcedures.end() && it->number == number ? &*it : nullptr;
}

Result<hv::PhysInfo> DriverContext::physInfo() {
  std::lock_guard lock(hvMu_);
  return hypervisor.physInfo();
}

ClientSession::ClientSession(DriverContext& ctx, rpc::Connection& conn)
    : ctx_(ctx), connectionId_(conn.id()), readOnlySocket_(conn.readOnlySocket()) {}

rpc::CallReply ClientSession::handleCall(rpc::Connection& conn, const rpc::Header& h, std::span<const uint8_t> payload) {
  const ProcedureEntry* e = findRemoteProcedure(h.proc);
  if (!e) {
    logDebug("Client " + std::to_string(connectionId_) + " called unsupported procedure " + std::to_string(h.proc) + ".");
    return errorReply(virerr::kNoSupport,
                      "this function is not supported by the connection driver: xvirtd does not implement remote procedure " +
                          std::to_string(h.proc) + ".");
  }
  if (logVerbosity() >= 2)  // no strings built per call unless they are printed
    logDebug("Client " + std::to_string(connectionId_) + " calls " + e->name + " (serial " + std::to_string(h.serial) + ").");
  if (!(e->flags & kPreOpen) && !isOpen())
    return errorReply(virerr::kInvalidConn, std::string("The connection is not open; ") + e->name +
                                                " needs a successful CONNECT_OPEN first.");
  if ((e->flags & kMutating) && readOnly())
    return errorReply(virerr::kOperationDenied,
                      std::string("operation forbidden: read only access prevents ") + e->name + ".");
  if (!e->handler)
    return errorReply(virerr::kNoSupport, std::string("this function is not supported by the connection driver: ") +
                                              e->name + " (remote procedure " + std::to_string(h.proc) +
                                              ") is not implemented by xvirtd yet.");
  Call call{ctx_, *this, conn, rpc::XdrReader(payload), rpc::XdrWriter(), {}};
  call.serial = h.serial;
  if (e->flags & kNoArgs) {
    if (auto st = call.args.finish(); !st) return rpc::CallReply::fail(toRemoteError(st.error()));
  }
  Status st = e->handler(call);
  if (!st) {
    logDebug(std::string(e->name) + " failed: " + st.error().message);
    return rpc::CallReply::fail(toRemoteError(st.error()));
  }
  rpc::CallReply reply = rpc::CallReply::ok(call.ret.take());
  reply.afterReply = std::move(call.afterReply);
  return reply;
}

bool ClientSession::runsInline(const rpc::Header& h) const {
  const ProcedureEntry* e = findRemoteProcedure(h.proc);
  return e && (e->flags & kInline);  // unknown procedures are pooled: their error is cheap either way
}

void ClientSession::closed(rpc::Connection&) {
  // EOF without CONNECT_CLOSE is how python clients leave: clean up exactly as for a close.
  close();
  std::map<uint32_t, std::shared_ptr<ConsoleStream>> streams;
  {
    std::lock_guard lock(mu_);
    streams.swap(streams_);
  }
  for (auto& [serial, stream] : streams) stream->stop();
}

void ClientSession::handleStream(rpc::Connection&, const rpc::Header& h, std::span<const uint8_t> payload) {
  std::shared_ptr<ConsoleStream> stream;
  {
    std::lock_guard lock(mu_);
    auto it = streams_.find(h.serial);
    // Packets for a stream that is gone can race with its close; libvirtd ignores them too.
    if (it == streams_.end() || h.proc != rpc::proc::REMOTE_PROC_DOMAIN_OPEN_CONSOLE) return;
    stream = it->second;
    if (h.status != rpc::MessageStatus::Continue) streams_.erase(it);
  }
  switch (h.status) {
    case rpc::MessageStatus::Continue: stream->clientData(payload); break;
    case rpc::MessageStatus::Ok: stream->clientFinish(); break;
    case rpc::MessageStatus::Error: stream->clientAbort(); break;
  }
}

void ClientSession::addStream(std::shared_ptr<ConsoleStream> stream) {
  std::vector<std::shared_ptr<ConsoleStream>> done;
  {
    std::lock_guard lock(mu_);
    // Streams that ended on the server's side (an error) wait here for the connection's end;
    // collect them whenever a new one opens.
    for (auto it = streams_.begin(); it != streams_.end();) {
      if (it->second->closed()) {
        done.push_back(std::move(it->second));
        it = streams_.erase(it);
      } else {
        ++it;
      }
    }
    streams_[stream->serial()] = std::move(stream);
  }
  for (auto& s : done) s->stop();
}

Status ClientSession::open(bool readOnlyRequested) {
  std::lock_guard lock(mu_);
  if (open_) return makeError(ErrorCode::OperationInvalid, "The connection is already open.");
  open_ = true;
  // The read-only socket makes every connection on it read-only, whatever the client asked for.
  readOnly_ = readOnlyRequested || readOnlySocket_;
  return okStatus();
}

void ClientSession::close() {
  {
    std::lock_guard lock(mu_);
    open_ = false;
    closeCallback_ = false;
  }
  ctx_.events.removeConnection(connectionId_);
}

bool ClientSession::isOpen() const {
  std::lock_guard lock(mu_);
  return open_;
}

bool ClientSession::readOnly() const {
  std::lock_guard lock(mu_);
  return readOnly_ || readOnlySocket_;
}

void ClientSession::setCloseCallback(bool on) {
  std::lock_guard lock(mu_);
  closeCallback_ = on;
}

}  // namespace xvirt::driver
