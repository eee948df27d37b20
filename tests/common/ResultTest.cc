#include "common/Result.h"

#include <gtest/gtest.h>

using namespace xvirt;

static Result<int> half(int v) {
  if (v % 2) return makeError(ErrorCode::InvalidArgument, "odd");
  return v / 2;
}

static Result<int> quarter(int v) {
  XVIRT_ASSIGN_OR_RETURN(int h, half(v));
  return half(h);
}

TEST(Result, PropagatesErrors) {
  EXPECT_EQ(*quarter(8), 2);
  auto r = quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "odd");
}

TEST(Result, SystemErrorCarriesErrno) {
  Error e = Error::system("Cannot open x", ENOENT);
  EXPECT_EQ(e.sysErrno, ENOENT);
  EXPECT_EQ(e.message, "Cannot open x: No such file or directory");
}
