// Fuzz target "rpc": a client's byte stream as xvirtd frames it (length, header, payload) and every
// call through the real procedure table, so each implemented procedure decodes its args. The
// handlers run against the real DomainManager over the fake hypervisor of the driver tests
// (tests/driver/FakeDomains.h), its files in a temp dir, with one defined, inactive domain ("demo"):
// lookups, definitions, the tuning edits (written to its config) and undefine run whole; a start
// fails before any helper is launched, so nothing runs. "demo" is defined again when an input
// undefined it.
//
// Input: one byte of options (bit 0: the read-only socket; bit 1: skip the implicit CONNECT_OPEN),
// then packets exactly as a client sends them.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "domain-xml/DomainXml.h"
#include "driver/EventBus.h"
#include "driver/RemoteDispatch.h"
#include "driver/rpc/Connection.h"
#include "driver/rpc/Packet.h"
#include "driver/rpc/WorkerPool.h"
#include "tests/driver/FakeDomains.h"
#include "tests/driver/FakeHypervisor.h"

using namespace xvirt;

namespace {

constexpr const char* kDemoXml = R"(<domain type='xen'>
  <name>demo</name>
  <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>
  <memory unit='MiB'>512</memory>
  <currentMemory unit='MiB'>256</currentMemory>
  <vcpu placement='static' cpuset='0-2' current='2'>4</vcpu>
  <cputune><vcpupin vcpu='1' cpuset='3'/></cputune>
  <os><type arch='x86_64' machine='xenpv'>linux</type><kernel>/boot/vmlinuz</kernel></os>
  <devices>
    <disk type='file' device='disk'><source file='/var/lib/xen/demo.img'/><target dev='xvda' bus='xen'/></disk>
    <interface type='bridge'><source bridge='xenbr0'/><mac address='00:16:3e:00:00:01'/></interface>
    <console type='pty'><target type='xen' port='0'/></console>
  </devices>
</domain>)";

// Removed when the process exits normally (a crash keeps it for the post-mortem).
std::string tempDir() {
  static char tmpl[] = "/tmp/xvirt-fuzz-rpc-XXXXXX";
  if (!::mkdtemp(tmpl)) std::abort();
  std::atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(tmpl, ec);
  });
  return tmpl;
}

struct Daemon {
  test::FakeHypervisor hypervisor;
  driver::EventBus events;
  test::FakeDomains domains{tempDir(), hypervisor, events};
  driver::DriverContext ctx{hypervisor, domains.manager, events, false};
  rpc::WorkerPool pool{1};  // Connection wants one; calls here never reach it

  void defineDemo() {
    if (!domains.manager.lookupByName("demo").ok() && !domains.manager.defineXml(kDemoXml, 0).ok()) std::abort();
  }
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
  d.defineDemo();
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
