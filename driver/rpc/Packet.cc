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

void encodePrefix(const Header& h, size_t payloadBytes, uint8_t (&out)[kMinPacket]) {
  const uint32_t words[7] = {static_cast<uint32_t>(kMinPacket + payloadBytes), h.prog, h.vers,
                             static_cast<uint32_t>(h.proc), static_cast<uint32_t>(h.type), h.serial,
                             static_cast<uint32_t>(h.status)};
  for (size_t i = 0; i < 7; ++i) {
    out[4 * i] = static_cast<uint8_t>(words[i] >> 24);
    out[4 * i + 1] = static_cast<uint8_t>(words[i] >> 16);
    out[4 * i + 2] = static_cast<uint8_t>(words[i] >> 8);
    out[4 * i + 3] = static_cast<uint8_t>(words[i]);
  }
}

Result<std::vector<uint8_t>> encodePacket(const Header& h, std::span<const uint8_t> payload) {
  size_t total = kMinPacket + payload.size();
  if (total > kMaxPacket)
    return makeError(ErrorCode::OperationFailed, "The reply of " + std::to_string(total) +
                                                     " bytes exceeds the protocol's 32 MiB message limit.");
  uint8_t prefix[kMinPacket];
  encodePrefix(h, payload.size(), prefix);
  std::vector<uint8_t> out;
  out.reserve(total);  // one allocation per packet
  out.insert(out.end(), prefix, prefix + kMinPacket);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

}  // namespace xvirt::rpc
