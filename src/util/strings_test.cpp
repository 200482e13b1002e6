// Tests for the string helpers.
#include "util/strings.h"

#include <gtest/gtest.h>

namespace fw {
namespace {

TEST(Strings, SplitKeepsEmptyFields) {
  auto v = split("a,,b", ',');
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[1], "");
  EXPECT_EQ(split("", ',').size(), 1u);
}

TEST(Strings, CaseAndTrim) {
  EXPECT_EQ(trim("  x y \n"), "x y");
  EXPECT_EQ(to_lower_ascii("iPhone OS"), "iphone os");
  EXPECT_TRUE(iequals_ascii("Android", "ANDROID"));
  EXPECT_TRUE(istarts_with_ascii("Mozilla/5.0", "mozilla"));
  EXPECT_EQ(json_escape("a\"b\\\n\x01"), "a\\\"b\\\\\\n\\u0001");
}

}  // namespace
}  // namespace fw
