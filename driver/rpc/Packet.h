// Framing of libvirt RPC packets: a big-endian length that counts itself, a 24-byte header, then
// the XDR payload. Lengths are checked before any buffer is sized from them.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/Result.h"

namespace xvirt::rpc {

inline constexpr uint32_t kRemoteProgram = 0x20008086;
inline constexpr uint32_t kKeepaliveProgram = 0x6b656570;  // "keep"
inline constexpr uint32_t kProgramVersion = 1;             // both programs

inline constexpr size_t kLengthBytes = 4;
inline constexpr size_t kHeaderBytes = 24;
inline constexpr size_t kMinPacket = kLengthBytes + kHeaderBytes;      // 28
inline constexpr size_t kMaxMessage = 32u << 20;                       // 32 MiB
inline constexpr size_t kMaxPacket = kMaxMessage + kLengthBytes;       // what the length may say

enum class MessageType : int32_t {
  Call = 0,
  Reply = 1,
  Message = 2,
  Stream = 3,
  CallWithFds = 4,
  ReplyWithFds = 5,
  StreamHole = 6,
};

enum class MessageStatus : int32_t { Ok = 0, Error = 1, Continue = 2 };

struct Header {
  uint32_t prog = kRemoteProgram;
  uint32_t vers = kProgramVersion;
  int32_t proc = 0;
  MessageType type = MessageType::Call;
  uint32_t serial = 0;
  MessageStatus status = MessageStatus::Ok;

  bool operator==(const Header&) const = default;
};

// Checks the 4 length bytes that start a packet; returns the whole packet length (incl. those 4).
// Fails for less than 28 or more than 32 MiB + 4, before the caller allocates anything.
Result<uint32_t> decodeLength(std::span<const uint8_t, kLengthBytes> bytes);

// Decodes the 24 header bytes that follow the length.
Result<Header> decodeHeader(std::span<const uint8_t> bytes);

// The 28 bytes that start a packet (length and header) for a payload of payloadBytes.
void encodePrefix(const Header& header, size_t payloadBytes, uint8_t (&out)[kMinPacket]);

// A whole packet: length, header, payload. Fails if the payload would exceed the limit.
Result<std::vector<uint8_t>> encodePacket(const Header& header, std::span<const uint8_t> payload);

}  // namespace xvirt::rpc
