// XDR primitives. All integers are big-endian; variable items are padded to 4 bytes with zeros.
#include "driver/rpc/Xdr.h"

#include <cstring>

namespace xvirt::rpc {

namespace {
size_t padOf(size_t len) { return (4 - (len & 3)) & 3; }
}  // namespace

void XdrWriter::u32(uint32_t v) {
  uint8_t b[4] = {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
  buf_.insert(buf_.end(), b, b + 4);
}

void XdrWriter::u64(uint64_t v) {
  u32(static_cast<uint32_t>(v >> 32));
  u32(static_cast<uint32_t>(v));
}

void XdrWriter::dbl(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  u64(bits);
}

void XdrWriter::pad(size_t len) { buf_.insert(buf_.end(), padOf(len), 0); }

void XdrWriter::str(std::string_view s) {
  u32(static_cast<uint32_t>(s.size()));
  buf_.insert(buf_.end(), s.begin(), s.end());
  pad(s.size());
}

void XdrWriter::optStr(const std::string* s) {
  u32(s ? 1 : 0);
  if (s) str(*s);
}

void XdrWriter::opaque(std::span<const uint8_t> bytes) {
  u32(static_cast<uint32_t>(bytes.size()));
  fixedOpaque(bytes);
}

void XdrWriter::fixedOpaque(std::span<const uint8_t> bytes) {
  buf_.insert(buf_.end(), bytes.begin(), bytes.end());
  pad(bytes.size());
}

void XdrWriter::charArray(std::string_view s, size_t n) {
  // rpcgen encodes char[N] with xdr_vector(xdr_char): one 4-byte int per char, so char[32] is 128 bytes.
  for (size_t i = 0; i < n; ++i) i32(i < s.size() ? static_cast<signed char>(s[i]) : 0);
}

void XdrWriter::countedChars(std::string_view s) {
  // libvirtd sends strlen+1 elements; the client runs strlen() on what it receives.
  u32(static_cast<uint32_t>(s.size() + 1));
  for (char c : s) i32(static_cast<signed char>(c));
  i32(0);
}

void XdrReader::fail(std::string message) {
  if (!ok_) return;
  ok_ = false;
  error_ = std::move(message);
}

bool XdrReader::need(size_t n, const char* what) {
  if (!ok_) return false;
  if (remaining() < n) {
    fail(std::string("The message ends in the middle of its ") + what + ".");
    return false;
  }
  return true;
}

uint32_t XdrReader::u32() {
  if (!need(4, "integer field")) return 0;
  const uint8_t* p = data_.data() + pos_;
  pos_ += 4;
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

uint64_t XdrReader::u64() {
  uint64_t hi = u32();
  uint64_t lo = u32();
  return (hi << 32) | lo;
}

double XdrReader::dbl() {
  uint64_t bits = u64();
  double v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

std::vector<uint8_t> XdrReader::opaque(uint32_t max, const char* what) {
  uint32_t len = u32();
  if (!ok_) return {};
  if (len > max) {
    fail(std::string("The ") + what + " is " + std::to_string(len) + " bytes long, more than the limit of " +
         std::to_string(max) + " bytes.");
    return {};
  }
  return fixedOpaque(len);
}

std::vector<uint8_t> XdrReader::fixedOpaque(size_t n) {
  size_t padded = n + padOf(n);
  if (!need(padded, "opaque data")) return {};
  std::vector<uint8_t> out(data_.begin() + pos_, data_.begin() + pos_ + n);
  pos_ += padded;  // padding bytes are ignored, whatever their value
  return out;
}

std::string XdrReader::str(uint32_t max, const char* what) {
  auto bytes = opaque(max, what);
  return std::string(bytes.begin(), bytes.end());
}

std::optional<std::string> XdrReader::optStr(uint32_t max, const char* what) {
  if (!present()) return std::nullopt;
  std::string s = str(max, what);
  if (!ok_) return std::nullopt;
  return s;
}

std::string XdrReader::charArray(size_t n) {
  std::string out;
  bool ended = false;
  for (size_t i = 0; i < n && ok_; ++i) {
    char c = static_cast<char>(i32());
    if (c == 0) ended = true;
    if (!ended) out.push_back(c);
  }
  return out;
}

std::string XdrReader::countedChars(uint32_t max, const char* what) {
  uint32_t n = count(max, what);
  std::string out = charArray(n);
  return ok_ ? out : std::string();
}

uint32_t XdrReader::count(uint32_t max, const char* what) {
  uint32_t n = u32();
  if (!ok_) return 0;
  if (n > max) {
    fail(std::string("The ") + what + " has " + std::to_string(n) + " elements, more than the limit of " +
         std::to_string(max) + ".");
    return 0;
  }
  // Every XDR element takes at least 4 bytes, so a count the remaining bytes cannot hold is a lie;
  // checking it here keeps a hostile count from sizing an allocation.
  if (n > remaining() / 4) {
    fail(std::string("The ") + what + " claims " + std::to_string(n) + " elements but the message is too short for them.");
    return 0;
  }
  return n;
}

Status XdrReader::finish() const {
  if (!ok_) return makeError(ErrorCode::InvalidArgument, "Cannot decode the call's arguments: " + error_);
  if (remaining() != 0)
    return makeError(ErrorCode::InvalidArgument, "Cannot decode the call's arguments: " + std::to_string(remaining()) +
                                                     " unexpected bytes follow the last field.");
  return okStatus();
}

}  // namespace xvirt::rpc
