#include "common/Json.h"

#include <gtest/gtest.h>

using xvirt::Json;

TEST(Json, RoundTripKeepsMemberOrder) {
  auto parsed = Json::parse(R"({"b": 1, "a": [true, null, "x\n"], "c": {"d": 2.5}})");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->dump(), R"({"b": 1, "a": [true, null, "x\n"], "c": {"d": 2.5}})");
  EXPECT_EQ(parsed->getInt("b"), 1);
  EXPECT_EQ(parsed->get("a")->asArray().size(), 3u);
}

// Found in review while adding the fuzzers: getInt() on 1e300 (a save image's vCPU record, a helper's
// event) converted an out-of-range double to int64, which is undefined (UBSan: float-cast-overflow).
TEST(Json, OutOfRangeNumbersSaturateAsIntegers) {
  auto parsed = Json::parse(R"({"big": 1e300, "small": -1e300, "edge": 9223372036854775808, "frac": -2.9})");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->getInt("big"), INT64_MAX);
  EXPECT_EQ(parsed->getInt("small"), INT64_MIN);
  EXPECT_EQ(parsed->getInt("edge"), INT64_MAX);
  EXPECT_EQ(parsed->getInt("frac"), -2);
}

TEST(Json, InvalidTextIsAnError) {
  auto parsed = Json::parse("{\"a\": ");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, xvirt::ErrorCode::InvalidArgument);
  EXPECT_NE(parsed.error().message.find("Invalid JSON"), std::string::npos);
}

TEST(Json, SetReplacesAndPrettyPrints) {
  Json j = Json::object({{"x", 1}});
  j.set("x", "two");
  j.set("y", Json::array());
  EXPECT_EQ(j.dump(false), "{\n  \"x\": \"two\",\n  \"y\": []\n}");
  EXPECT_EQ(Json("\x01").dump(), "\"\\u0001\"");
}

TEST(Json, ParserFollowsRfc8259) {
  auto s = Json::parse(R"(  {"s": "a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00", "n": -12, "big": 12345678901234567890,
                         "d": -1.5e3, "z": 0, "e": [], "o": {}, "dup": 1, "dup": 2}  )");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->getString("s"), "a\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_TRUE(s->get("n")->isInt());
  EXPECT_EQ(s->getInt("n"), -12);
  EXPECT_EQ(s->get("big")->type(), Json::Type::Double);  // beyond int64: kept as a number
  EXPECT_EQ(s->get("d")->asDouble(), -1500.0);
  EXPECT_EQ(s->get("d")->type(), Json::Type::Double);
  EXPECT_EQ(s->getInt("dup"), 2);
  EXPECT_TRUE(Json::parse("42")->isInt());
  EXPECT_TRUE(Json::parse("\"x\"")->isString());
  for (const char* bad : {"", "  ", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "+1", "tru", "nul", "\"\\x\"",
                          "\"\\ud800\"", "\"a\nb\"", "{} {}", "[1] x", "{'a': 1}", "\"\xff\""}) {
    auto r = Json::parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().message.rfind("Invalid JSON: ", 0), 0u) << r.error().message;
    }
  }
  // Nesting is bounded, so a hostile monitor line cannot exhaust the stack.
  EXPECT_TRUE(Json::parse(std::string(500, '[') + std::string(500, ']')).ok());
  EXPECT_FALSE(Json::parse(std::string(100000, '[') + std::string(100000, ']')).ok());
}
