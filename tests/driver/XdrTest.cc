// XDR primitives and packet framing, including libvirt's traps, checked against golden bytes that
// virsh 9.0.0 sent on the wire.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "driver/LibvirtConstants.h"
#include "driver/RemoteProcedures.h"
#include "driver/rpc/Packet.h"
#include "driver/rpc/ProcedureNumbers.h"
#include "driver/rpc/RemoteError.h"
#include "driver/rpc/TypedParam.h"
#include "driver/rpc/Xdr.h"

namespace xvirt::rpc {
namespace {

std::vector<uint8_t> hex(std::string text) {
  std::vector<uint8_t> out;
  std::string digits;
  for (char c : text)
    if (std::isxdigit(static_cast<unsigned char>(c))) digits.push_back(c);
  for (size_t i = 0; i + 1 < digits.size(); i += 2) out.push_back(uint8_t(std::stoul(digits.substr(i, 2), nullptr, 16)));
  return out;
}

std::vector<uint8_t> packet(const Header& h, const std::vector<uint8_t>& payload = {}) {
  auto p = encodePacket(h, payload);
  EXPECT_TRUE(p.ok());
  return p.value();
}

Header call(int32_t procNum, uint32_t serial) {
  return Header{kRemoteProgram, 1, procNum, MessageType::Call, serial, MessageStatus::Ok};
}
Header reply(int32_t procNum, uint32_t serial, MessageStatus st = MessageStatus::Ok) {
  return Header{kRemoteProgram, 1, procNum, MessageType::Reply, serial, st};
}

TEST(Xdr, IntegersAreBigEndian) {
  XdrWriter w;
  w.u32(0x01020304);
  w.i32(-2);
  w.u64(0x0102030405060708ull);
  EXPECT_EQ(w.bytes(), hex("01020304 fffffffe 0102030405060708"));
  XdrReader r(w.bytes());
  EXPECT_EQ(r.u32(), 0x01020304u);
  EXPECT_EQ(r.i32(), -2);
  EXPECT_EQ(r.u64(), 0x0102030405060708ull);
  EXPECT_TRUE(r.finish().ok());
}

TEST(Xdr, StringsArePaddedWithZeros) {
  XdrWriter w;
  w.str("xen:///system");
  EXPECT_EQ(w.bytes(), hex("0000000d 78656e3a 2f2f2f73 79737465 6d000000"));
  XdrReader r(w.bytes());
  EXPECT_EQ(r.str(), "xen:///system");
  EXPECT_TRUE(r.finish().ok());
}

TEST(Xdr, PaddingValueIsIgnoredOnDecode) {
  auto rBytes = hex("00000001 41ffffff");
  XdrReader r(rBytes);
  EXPECT_EQ(r.str(), "A");
  EXPECT_TRUE(r.finish().ok());
}

TEST(Xdr, CharArrayTakesFourBytesPerChar) {
  XdrWriter w;
  w.charArray("x86_64", 32);
  ASSERT_EQ(w.size(), 128u);  // NODE_GET_INFO model: char[32]
  EXPECT_EQ(std::vector<uint8_t>(w.bytes().begin(), w.bytes().begin() + 8), hex("00000078 00000038"));
  XdrReader r(w.bytes());
  EXPECT_EQ(r.charArray(32), "x86_64");
  EXPECT_TRUE(r.finish().ok());
}

TEST(Xdr, CountedCharsIncludeTheNul) {
  XdrWriter w;
  w.countedChars("");
  EXPECT_EQ(w.bytes(), hex("00000001 00000000"));
  XdrWriter w2;
  w2.countedChars("none");
  EXPECT_EQ(w2.bytes(), hex("00000005 0000006e 0000006f 0000006e 00000065 00000000"));
  XdrReader r(w2.bytes());
  EXPECT_EQ(r.countedChars(257, "model"), "none");
  EXPECT_TRUE(r.finish().ok());
}

TEST(Xdr, AnyNonZeroPresentFlagMeansPresent) {
  // go-libvirt writes the flag as the bytes 01 00 00 00.
  auto rBytes = hex("01000000 00000003 61626300");
  XdrReader r(rBytes);
  auto s = r.optStr();
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(*s, "abc");
  EXPECT_TRUE(r.finish().ok());
  auto absentBytes = hex("00000000");
  XdrReader absent(absentBytes);
  EXPECT_FALSE(absent.optStr().has_value());
  EXPECT_TRUE(absent.finish().ok());
}

TEST(Xdr, OversizedStringIsRejectedBeforeReading) {
  auto rBytes = hex("00400001");
  XdrReader r(rBytes);  // 4 MiB + 1
  r.str();
  auto st = r.finish();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("more than the limit"), std::string::npos);
}

TEST(Xdr, ArrayCountIsBoundedAndCheckedAgainstTheData) {
  auto overBytes = hex("00000015");
  XdrReader over(overBytes);
  over.count(20, "auth type list");
  EXPECT_FALSE(over.finish().ok());
  auto lyingBytes = hex("00001000 00000000");
  XdrReader lying(lyingBytes);  // claims 4096 elements, holds one
  lying.count(16384, "domain list");
  EXPECT_FALSE(lying.finish().ok());
}

TEST(Xdr, TruncatedAndTrailingDataFail) {
  auto shortReadBytes = hex("0000");
  XdrReader shortRead(shortReadBytes);
  shortRead.u32();
  EXPECT_FALSE(shortRead.finish().ok());
  auto trailingBytes = hex("00000001 00000002");
  XdrReader trailing(trailingBytes);
  trailing.u32();
  EXPECT_FALSE(trailing.finish().ok());
}

TEST(Xdr, TypedParamsRoundTrip) {
  std::vector<TypedParam> params = {TypedParam::makeULLong("cpu_time", 123456789ull),
                                    TypedParam::makeInt("state.state", 1), TypedParam::makeString("name", "vm"),
                                    TypedParam::makeDouble("load", 0.5), TypedParam::makeBool("on", true)};
  XdrWriter w;
  encodeTypedParams(w, params);
  XdrReader r(w.bytes());
  EXPECT_EQ(decodeTypedParams(r, 16), params);
  EXPECT_TRUE(r.finish().ok());
  EXPECT_EQ(filterTypedParams(params, 0).size(), 4u);
  EXPECT_EQ(filterTypedParams(params, driver::flags::kTypedParamStringOkay).size(), 5u);
}

TEST(Golden, AuthListCallAndReply) {
  auto bytes = hex("0000001c 20008086 00000001 00000042 00000000 00000000 00000000");
  EXPECT_EQ(packet(call(proc::REMOTE_PROC_AUTH_LIST, 0)), bytes);
  auto h = decodeHeader(std::span(bytes).subspan(4));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h.value(), call(proc::REMOTE_PROC_AUTH_LIST, 0));

  XdrWriter ret;
  ret.u32(1);
  ret.i32(0);
  EXPECT_EQ(packet(reply(proc::REMOTE_PROC_AUTH_LIST, 0), ret.bytes()),
            hex("00000024 20008086 00000001 00000042 00000001 00000000 00000000 00000001 00000000"));
}

TEST(Golden, SupportsFeatureKeepalive) {
  XdrWriter args;
  args.i32(feature::kProgramKeepalive);
  auto bytes = hex("00000020 20008086 00000001 0000003c 00000000 00000001 00000000 0000000a");
  EXPECT_EQ(packet(call(proc::REMOTE_PROC_CONNECT_SUPPORTS_FEATURE, 1), args.bytes()), bytes);
  XdrReader r(std::span<const uint8_t>(bytes).subspan(kMinPacket));
  EXPECT_EQ(r.i32(), 10);
  EXPECT_TRUE(r.finish().ok());
}

TEST(Golden, ConnectOpen) {
  auto bytes = hex("00000038 20008086 00000001 00000001 00000000 00000002 00000000"
                   "00000001 0000000d 78656e3a 2f2f2f73 79737465 6d000000 00000000");
  std::string name = "xen:///system";
  XdrWriter args;
  args.optStr(&name);
  args.u32(0);
  EXPECT_EQ(packet(call(proc::REMOTE_PROC_CONNECT_OPEN, 2), args.bytes()), bytes);
  auto len = decodeLength(std::span<const uint8_t, 4>(bytes.data(), 4));
  ASSERT_TRUE(len.ok());
  EXPECT_EQ(len.value(), bytes.size());
  XdrReader r(std::span<const uint8_t>(bytes).subspan(kMinPacket));
  EXPECT_EQ(r.optStr().value_or("?"), name);
  EXPECT_EQ(r.u32(), 0u);
  EXPECT_TRUE(r.finish().ok());
}

TEST(Golden, VoidReply) {
  EXPECT_EQ(packet(reply(proc::REMOTE_PROC_CONNECT_OPEN, 2)),
            hex("0000001c 20008086 00000001 00000001 00000001 00000002 00000000"));
}

TEST(Golden, ErrorReply) {
  RemoteError e = RemoteError::make(42, 41, "Domain not found");
  auto bytes = packet(reply(23, 6, MessageStatus::Error), e.encode());
  auto prefix = hex("20008086 00000001 00000017 00000001 00000006 00000001 0000002a 00000029 00000001");
  ASSERT_GT(bytes.size(), 4 + prefix.size());
  EXPECT_EQ(std::vector<uint8_t>(bytes.begin() + 4, bytes.begin() + 4 + long(prefix.size())), prefix);
  XdrReader r(std::span<const uint8_t>(bytes).subspan(kMinPacket));
  RemoteError back = RemoteError::decode(r);
  EXPECT_TRUE(r.finish().ok());
  EXPECT_EQ(back.code, 42);
  EXPECT_EQ(back.domain, 41);
  EXPECT_EQ(back.message.value_or(""), "Domain not found");
  EXPECT_EQ(back.level, 2);
}

TEST(Golden, KeepalivePingPong) {
  Header ping{kKeepaliveProgram, 1, proc::KEEPALIVE_PROC_PING, MessageType::Message, 0, MessageStatus::Ok};
  Header pong{kKeepaliveProgram, 1, proc::KEEPALIVE_PROC_PONG, MessageType::Message, 0, MessageStatus::Ok};
  EXPECT_EQ(packet(ping), hex("0000001c 6b656570 00000001 00000001 00000002 00000000 00000000"));
  EXPECT_EQ(packet(pong), hex("0000001c 6b656570 00000001 00000002 00000002 00000000 00000000"));
}

TEST(Framing, ShortAndOversizedLengthsAreRejected) {
  uint8_t shortLen[4] = {0, 0, 0, 0x1b};
  EXPECT_FALSE(decodeLength(std::span<const uint8_t, 4>(shortLen, 4)).ok());
  uint8_t minLen[4] = {0, 0, 0, 0x1c};
  EXPECT_TRUE(decodeLength(std::span<const uint8_t, 4>(minLen, 4)).ok());
  uint8_t maxLen[4] = {0x02, 0, 0, 0x04};  // 32 MiB + 4
  EXPECT_TRUE(decodeLength(std::span<const uint8_t, 4>(maxLen, 4)).ok());
  uint8_t overLen[4] = {0x02, 0, 0, 0x05};
  EXPECT_FALSE(decodeLength(std::span<const uint8_t, 4>(overLen, 4)).ok());
  uint8_t huge[4] = {0xff, 0xff, 0xff, 0xff};
  EXPECT_FALSE(decodeLength(std::span<const uint8_t, 4>(huge, 4)).ok());
}

TEST(Framing, UnknownTypeOrStatusIsRejected) {
  auto bytes = hex("20008086 00000001 00000001 00000007 00000000 00000000");
  EXPECT_FALSE(decodeHeader(bytes).ok());
  auto badStatus = hex("20008086 00000001 00000001 00000000 00000000 00000003");
  EXPECT_FALSE(decodeHeader(badStatus).ok());
  EXPECT_FALSE(decodeHeader(hex("20008086 00000001")).ok());
}

TEST(Framing, OversizedPayloadCannotBeEncoded) {
  std::vector<uint8_t> big(kMaxMessage - kHeaderBytes + 1);
  EXPECT_FALSE(encodePacket(reply(7, 1), big).ok());
}

}  // namespace
}  // namespace xvirt::rpc
