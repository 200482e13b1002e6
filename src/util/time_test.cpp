// Tests for RFC 3339 times and durations.
#include "util/time.h"

#include <gtest/gtest.h>

#include "util/digits.h"

namespace fw {
namespace {

TEST(Time, ParsesOffsetsAndZulu) {
  auto a = parse_time("2023-03-31T23:59:59+03:00");
  ASSERT_TRUE(a) << a.error().to_string();
  EXPECT_EQ(format_time(*a), "2023-03-31T20:59:59Z");
  EXPECT_EQ(format_time(*a, 3 * 3600), "2023-03-31T23:59:59+03:00");
  auto b = parse_time("2023-03-31T20:59:59.123Z");
  ASSERT_TRUE(b);
  EXPECT_EQ(*a, *b);
  auto c = parse_time("2023-03-31");
  ASSERT_TRUE(c);
  EXPECT_EQ(format_time(*c), "2023-03-31T00:00:00Z");
  EXPECT_EQ(format_date(*a, 3 * 3600), "2023-03-31");
  EXPECT_EQ(format_date(*a, 4 * 3600), "2023-04-01");
}

TEST(Time, RejectsWithOffset) {
  struct Case { const char* in; const char* where; } cases[] = {
      {"2023-02-30", "byte 0"},
      {"2023-03-31X", "byte 10"},
      {"2023-03-31T25:00:00Z", "byte 11"},
      {"2023-03-31T10:00:00", "byte 19"},
      {"2023-03-31T10:00:00Zjunk", "byte 20"},
  };
  for (auto& c : cases) {
    auto r = parse_time(c.in);
    ASSERT_FALSE(r) << c.in;
    EXPECT_EQ(r.error().where, c.where) << c.in;
    EXPECT_EQ(r.error().code, Errc::parse_error);
  }
}

TEST(Duration, RoundTrips) {
  struct Case { const char* in; int64_t secs; const char* out; } cases[] = {
      {"7d", 7 * 86400, "7d"}, {"2w", 14 * 86400, "14d"}, {"1d12h", 129600, "1d12h"},
      {"-7d", -7 * 86400, "-7d"}, {"90s", 90, "1m30s"}, {"0s", 0, "0s"},
  };
  for (auto& c : cases) {
    auto r = parse_duration(c.in);
    ASSERT_TRUE(r) << c.in;
    EXPECT_EQ(r->count(), c.secs) << c.in;
    EXPECT_EQ(format_duration(*r), c.out) << c.in;
  }
  EXPECT_FALSE(parse_duration("7"));
  EXPECT_FALSE(parse_duration("7y"));
  EXPECT_FALSE(parse_duration(""));
}

TEST(Digits, FixedWidthFields) {
  struct Case {
    std::string_view s;
    size_t pos, n;
    bool ok;
    int want;
  } cases[] = {
      {"2023-03-01", 0, 4, true, 2023}, {"2023-03-01", 5, 2, true, 3},  {"2023-03-01", 8, 2, true, 1},
      {"2023-03-01", 4, 2, false, 0},   {"2023-03-01", 9, 2, false, 0}, {"2023-03-01", 11, 1, false, 0},
      {"", 0, 1, false, 0},             {"7", 0, 0, true, 0},           {"12a4", 0, 4, false, 0},
  };
  for (const auto& c : cases) {
    int out = -1;
    EXPECT_EQ(parse_digits(c.s, c.pos, c.n, out), c.ok) << c.s << " @" << c.pos << "+" << c.n;
    EXPECT_EQ(out, c.ok ? c.want : -1) << c.s << " @" << c.pos << "+" << c.n;
  }
}

}  // namespace
}  // namespace fw
