#include "common/Uuid.h"

#include <gtest/gtest.h>

using xvirt::Uuid;

TEST(Uuid, ParseAndFormat) {
  auto u = Uuid::parse("c7a5fdbd-edaf-9455-926a-d65c16db1809");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->str(), "c7a5fdbd-edaf-9455-926a-d65c16db1809");
  EXPECT_EQ(Uuid::parse("c7a5fdbdedaf9455926ad65c16db1809")->str(), u->str());
  EXPECT_FALSE(Uuid::parse("c7a5fdbd-edaf-9455-926a-d65c16db180"));
  EXPECT_FALSE(Uuid::parse("z7a5fdbd-edaf-9455-926a-d65c16db1809"));
  EXPECT_FALSE(Uuid::generate().isNull());
}
