#include "common/File.h"
#include "tests/lib/TestUtil.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>

using namespace xvirt;

TEST(File, WriteAtomicThenRead) {
  xvirt::test::TempDir tmp("xvirt-file");
  ASSERT_TRUE(tmp.ok());
  const std::string& dir = tmp.path();
  ASSERT_TRUE(makeDirs(dir + "/a/b", 0700).ok());
  std::string path = dir + "/a/b/f.xml";
  ASSERT_TRUE(writeFileAtomic(path, "hello", 0600).ok());
  ASSERT_TRUE(writeFileAtomic(path, "world", 0600).ok());
  auto text = readFile(path);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "world");
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(readFile(dir + "/missing").ok());
}
