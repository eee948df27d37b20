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
