// domain-xml/DomainMetadata: one element per namespace under <metadata>, found, replaced, removed,
// and the errors virDomainSetMetadata reports for bad XML and keys.
#include <gtest/gtest.h>

#include "domain-xml/DomainMetadata.h"

namespace xvirt::dom::test {
namespace {

constexpr const char* kA = "http://example.org/a/";
constexpr const char* kB = "http://example.org/b/";

TEST(DomainMetadata, SetFindReplaceRemove) {
  auto one = setMetadataElement("", kA, "a", "<foo level='2'>x</foo>");
  ASSERT_TRUE(one.ok()) << one.error().message;
  auto found = findMetadataElement(*one, kA);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*found, "<a:foo xmlns:a=\"http://example.org/a/\" level=\"2\">x</a:foo>");
  EXPECT_FALSE(findMetadataElement(*one, kB).has_value());

  auto two = setMetadataElement(*one, kB, "b", "<bar/>");
  ASSERT_TRUE(two.ok());
  auto replaced = setMetadataElement(*two, kA, "a2", "<foo>y</foo>");
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(*findMetadataElement(*replaced, kA), "<a2:foo xmlns:a2=\"http://example.org/a/\">y</a2:foo>");
  EXPECT_TRUE(findMetadataElement(*replaced, kB).has_value());
  EXPECT_EQ(replaced->find("a:foo"), std::string::npos) << *replaced;

  auto removed = setMetadataElement(*replaced, kA, "", "");
  ASSERT_TRUE(removed.ok());
  EXPECT_FALSE(findMetadataElement(*removed, kA).has_value());
  EXPECT_TRUE(findMetadataElement(*removed, kB).has_value());
}

TEST(DomainMetadata, BadXmlAndKeysChangeNothing) {
  auto bad = setMetadataElement("", kA, "a", "<foo");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::XmlError);
  EXPECT_NE(bad.error().message.find("The metadata XML is not well-formed"), std::string::npos) << bad.error().message;
  auto key = setMetadataElement("", kA, "not a name", "<foo/>");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(key.error().message, "invalid argument: the metadata key 'not a name' is not a valid XML namespace prefix.");
}

}  // namespace
}  // namespace xvirt::dom::test
