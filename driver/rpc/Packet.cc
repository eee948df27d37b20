// Packet framing: the length check happens on 4 bytes, so a hostile length never sizes a buffer.
#include "driver/rpc/Packet.h"

#include <string>

#include "driver/rpc/Xdr.h"

namespace xvirt::rpc {

Result<uint32_t> decodeLength(std::span<const uint8_t, kLengthBytes> bytes) {
  XdrReader r(bytes);
  uint32_t len = r.u32();
  if (len < kMinPacket)
    return makeError(ErrorCode::InvalidArgument,
                     "The packet length " + std::to_string(len) + " is shorter than the 28-byte minimum.");
  if (len > kMaxPacket)
    return makeError(ErrorCode::InvalidArgument, "The packet length " + std::to_string(len) +
                                                     " exceeds the limit of " + std::to_string(kMaxPacket) + " bytes.");
  return len;
}

Result<Header> decodeHeader(std::span<const uint8_t> bytes) {
  if (bytes.size() < kHeaderBytes)
    return makeError(ErrorCode::InvalidArgument, "The packet header is shorter than 24 bytes.");
  XdrReader r(bytes.first(kHeaderBytes));
  Header h;
  h.prog = r.u32();
  h.vers = r.u32();
  h.proc = r.i32();
  int32_t type = r.i32();
  h.serial = r.u32();
  int32_t status = r.i32();
  if (type < 0 || type > static_cast<int32_t>(MessageType::StreamHole))
    return makeError(ErrorCode::InvalidArgument, "The packet has the unknown message type " + std::to_string(type) + ".");
  if (status < 0 || status > static_cast<int32_t>(MessageStatus::Continue))
    return makeError(ErrorCode::InvalidArgument, "The packet has the unknown status " + std::to_string(status) + ".");
  h.type = static_cast<MessageType>(type);
  h.status = static_cast<MessageStatus>(status);
  return h;
}

Result<std::vector<uint8_t>> encodePacket(const Header& h, std::span<const uint8_t> payload) {
  size_t total = kMinPacket + payload.size();
  if (total > kMaxPacket)
    return makeError(ErrorCode::OperationFailed, "The reply of " + std::to_string(total) +
                                                     " bytes exceeds the protocol's 32 MiB message limit.");
  XdrWriter w;
  w.u32(static_cast<uint32_t>(total));
  w.u32(h.prog);
  w.u32(h.vers);
  w.i32(h.proc);
  w.i32(static_cast<int32_t>(h.type));
  w.u32(h.serial);
  w.i32(static_cast<int32_t>(h.status));
  std::vector<uint8_t> out = w.take();
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

}  // namespace xvirt::rpc
