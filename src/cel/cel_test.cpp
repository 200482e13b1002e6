// Unit tests of the CEL subset: tables of expressions with their expected value or error.
#include <gtest/gtest.h>

#include "cel/cel.h"

namespace fw::cel {
namespace {

TEST(Cel, Smoke) {
  auto r = evaluate("1 + 2 == 3");
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->to_string(), "true");
}

}  // namespace
}  // namespace fw::cel
