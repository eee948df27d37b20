// Fuzz target "rpc": a client's byte stream as xvirtd frames it (length, header, payload) and every
// call through the real procedure table, so each implemented procedure decodes its args. The
// handlers run against a registry without domains and the fake hypervisor of the driver tests:
// nothing is started or written, and the few handlers that work without domains (open,
// capabilities, xl/xm conversion, event registration) run whole.
//
// Input: one byte of options (bit 0: the read-only socket; bit 1: skip the implicit CONNECT_OPEN),
// then packets exactly as a client sends them.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>

#include "driver/EventBus.h"
#include "driver/RemoteDispatch.h"
#include "driver/rpc/Connection.h"
#include "driver/rpc/Packet.h"
#include "driver/rpc/WorkerPool.h"
#include "tests/driver/FakeHypervisor.h"

using namespace xvirt;

namespace {

struct Daemon {
  test::FakeHypervisor hypervisor;
  driver::EmptyDomainRegistry domains;
  driver::EventBus events;
  driver::DriverContext ctx{hypervisor, domains, events, false};
  rpc::WorkerPool pool{1};  // Connection wants one; calls here never reach it
};

Daemon& daemon() {
  static Daemon* d = new Daemon();  // lives as long as the process, as xvirtd's does
  return *d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t options = data[0];
  std::span<const uint8_t> in(data + 1, size - 1);

  Daemon& d = daemon();
  auto conn = std::make_shared<rpc::Connection>(1, UniqueFd(), (options & 1) != 0, rpc::PeerCredentials{}, d.pool, 1);
  driver::ClientSession session(d.ctx, *conn);
  if (!(options & 2)) (void)session.open(false);

  while (in.size() >= rpc::kLengthBytes) {
    auto length = rpc::decodeLength(in.first<rpc::kLengthBytes>());
    if (!length) break;  // xvirtd closes the connection here
    if (in.size() < *length) break;  // a half packet: xvirtd waits for the rest
    std::span<const uint8_t> packet = in.subspan(rpc::kLengthBytes, *length - rpc::kLengthBytes);
    in = in.subspan(*length);
    auto header = rpc::decodeHeader(packet);
    if (!header) break;
    std::span<const uint8_t> payload = packet.subspan(rpc::kHeaderBytes);
    if (header->prog != rpc::kRemoteProgram || header->vers != rpc::kProgramVersion) continue;
    if (header->type == rpc::MessageType::Stream) {
      session.handleStream(*conn, *header, payload);
      continue;
    }
    if (header->type != rpc::MessageType::Call) continue;
    rpc::CallReply reply = session.handleCall(*conn, *header, payload);
    // The reply must always fit a packet: a handler that answers more than the limit is a bug.
    if (!reply.error && !rpc::encodePacket(*header, reply.payload)) std::abort();
    if (reply.error) (void)reply.error->encode();
  }
  session.closed(*conn);
  if (d.events.size() != 0) std::abort();  // the close must drop every registration of the connection
  return 0;
}
