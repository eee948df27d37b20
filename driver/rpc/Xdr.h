// XDR (RFC 4506) encoding and decoding for the libvirt remote protocol, with libvirt's traps in one
// place: `char` arrays are 4 bytes per char, any non-zero present-flag means present, every length bounded.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/Result.h"

namespace xvirt::rpc {

inline constexpr uint32_t kXdrStringMax = 4u << 20;  // REMOTE_STRING_MAX

class XdrWriter {
 public:
  void i32(int32_t v) { u32(static_cast<uint32_t>(v)); }
  void u32(uint32_t v);
  void i64(int64_t v) { u64(static_cast<uint64_t>(v)); }
  void u64(uint64_t v);
  void dbl(double v);
  void boolean(bool v) { u32(v ? 1 : 0); }
  void str(std::string_view s);                         // remote_nonnull_string / opaque<N>
  void optStr(const std::string* s);                    // remote_string: present-flag, then str
  void opaque(std::span<const uint8_t> bytes);          // opaque<N>: length, bytes, padding
  void fixedOpaque(std::span<const uint8_t> bytes);     // opaque[N]: bytes, padding
  void charArray(std::string_view s, size_t n);         // char[N]: N 4-byte ints, zero-filled
  void countedChars(std::string_view s);                // char<N>: count incl. NUL, 4 bytes per char

  const std::vector<uint8_t>& bytes() const { return buf_; }
  std::vector<uint8_t> take() { return std::move(buf_); }
  size_t size() const { return buf_.size(); }

 private:
  void pad(size_t len);
  std::vector<uint8_t> buf_;
};

// Decoding with a sticky error: after the first failure every read returns a zero value, and
// finish() reports that first failure. This keeps each args struct's decode a straight list of
// fields, as the .x file reads, while still failing cleanly on truncated or oversized input.
class XdrReader {
 public:
  explicit XdrReader(std::span<const uint8_t> data) : data_(data) {}

  int32_t i32() { return static_cast<int32_t>(u32()); }
  uint32_t u32();
  int64_t i64() { return static_cast<int64_t>(u64()); }
  uint64_t u64();
  double dbl();
  bool boolean() { return u32() != 0; }
  bool present() { return u32() != 0; }  // any non-zero flag (go-libvirt sends 0x01000000)
  std::string str(uint32_t max = kXdrStringMax, const char* what = "string");
  std::optional<std::string> optStr(uint32_t max = kXdrStringMax, const char* what = "string");
  std::vector<uint8_t> opaque(uint32_t max, const char* what);
  std::vector<uint8_t> fixedOpaque(size_t n);
  std::string charArray(size_t n);                         // char[N]; stops at the first NUL
  std::string countedChars(uint32_t max, const char* what);  // char<N>; count incl. NUL
  // Reads an array count and checks it against max before any element is read.
  uint32_t count(uint32_t max, const char* what);

  bool ok() const { return ok_; }
  size_t remaining() const { return data_.size() - pos_; }
  // The first decode error; also fails when bytes are left over after the last field.
  Status finish() const;
  void fail(std::string message);

 private:
  bool need(size_t n, const char* what);
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  bool ok_ = true;
  std::string error_;
};

}  // namespace xvirt::rpc
