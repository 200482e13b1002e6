// Tests of fw::Version: parsing and ordering, as tables of cases.
#include "util/version.h"

#include <gtest/gtest.h>

namespace fw {
namespace {

Version V(std::string_view s) {
  auto r = Version::parse(s);
  EXPECT_TRUE(r.has_value()) << s;
  return r ? *r : Version();
}

TEST(Version, Order) {
  struct Case { const char* a; const char* b; int want; };  // sign of a <=> b
  const Case cases[] = {
      {"16.3.1", "17", -1},         {"4.0.2.249", "4.0", 1},   {"13", "13.0", 0},
      {"13", "13.0.0", 0},          {"12.1-rc1", "12.1", -1},  {"12.1-rc1", "12.1-rc2", -1},
      {"12.1-beta2", "12.1-rc1", -1}, {"12.1-rc", "12.1-rc.1", -1}, {"12.1-rc10", "12.1-rc9", 1},
      {"12.1.1", "12.1", 1},        {"v2.0", "2", 0},           {"2.0+build5", "2.0", 0},
      {"10", "9", 1},               {"1.10", "1.9", 1},         {"17.0b2", "17.0", -1},
      {"1.0-alpha", "1.0-ALPHA", 0}, {"1.0-1", "1.0-alpha", -1}, {"007", "7", 0},
  };
  for (const auto& c : cases) {
    auto got = V(c.a) <=> V(c.b);
    int g = got < 0 ? -1 : got > 0 ? 1 : 0;
    EXPECT_EQ(g, c.want) << c.a << " vs " << c.b;
  }
}

TEST(Version, Errors) {
  const std::string bad[] = {"", "abc", ".1", "1.2.3.4.5.6.7.8.9", "1.2.3!",
                             "12345678901234567890", "1-", std::string(200, '1')};
  for (const auto& s : bad) EXPECT_FALSE(Version::parse(s).has_value()) << s;
}

TEST(Version, ToString) {
  EXPECT_EQ(V("v16.3.1").to_string(), "16.3.1");
  EXPECT_EQ(V("12.1-rc1+b7").to_string(), "12.1-rc1+b7");
  EXPECT_EQ(V(" 13 ").to_string(), "13");
}

}  // namespace
}  // namespace fw
