// Tests for the TZif reader: real zones from tzdata, POSIX footer rules, bad input.
#include "util/timezone.h"

#include <gtest/gtest.h>

namespace fw {
namespace {

Time T(const char* s) { return *parse_time(s); }

TEST(TimeZone, MoscowOffsetsAcrossHistory) {
  auto z = TimeZone::load("Europe/Moscow");
  ASSERT_TRUE(z) << z.error().to_string();
  struct Case { const char* at; int offset; const char* abbr; } cases[] = {
      {"2023-03-31T20:59:59Z", 3 * 3600, "MSK"},
      {"2013-07-01T00:00:00Z", 4 * 3600, "MSK"},   // 2011-2014: permanent +04
      {"2010-07-01T00:00:00Z", 4 * 3600, "MSD"},   // summer time
      {"2010-01-01T00:00:00Z", 3 * 3600, "MSK"},
      {"2040-06-01T00:00:00Z", 3 * 3600, "MSK"},   // past the last transition: footer
  };
  for (auto& c : cases) {
    EXPECT_EQ(z->offset_at(T(c.at)), c.offset) << c.at;
    EXPECT_EQ(z->abbreviation_at(T(c.at)), c.abbr) << c.at;
  }
  EXPECT_EQ(z->format(T("2023-03-31T20:59:59Z")), "2023-03-31T23:59:59+03:00");
  EXPECT_EQ(z->format_date(T("2023-03-31T21:00:00Z")), "2023-04-01");
  EXPECT_EQ(z->format_short(T("2023-03-31T20:59:59Z")), "2023-03-31 23:59");
}

TEST(TimeZone, BerlinDstBoundariesFromTheFooterRule) {
  auto z = TimeZone::load("Europe/Berlin");
  ASSERT_TRUE(z) << z.error().to_string();
  // 2050 is past the transitions listed in the file: the footer rule decides.
  struct Case { const char* at; int offset; } cases[] = {
      {"2050-03-27T00:59:59Z", 3600}, {"2050-03-27T01:00:00Z", 7200},   // last Sunday of March
      {"2050-10-30T00:59:59Z", 7200}, {"2050-10-30T01:00:00Z", 3600},   // last Sunday of October
      {"2023-03-26T00:59:59Z", 3600}, {"2023-03-26T01:00:00Z", 7200},
  };
  for (auto& c : cases) EXPECT_EQ(z->offset_at(T(c.at)), c.offset) << c.at;
}

TEST(TimeZone, SouthernHemisphereRule) {
  auto z = TimeZone::load("Australia/Sydney");
  ASSERT_TRUE(z) << z.error().to_string();
  EXPECT_EQ(z->offset_at(T("2050-01-15T00:00:00Z")), 11 * 3600);
  EXPECT_EQ(z->offset_at(T("2050-07-15T00:00:00Z")), 10 * 3600);
}

TEST(TimeZone, StartOfDayInLocalTime) {
  auto z = TimeZone::load("Europe/Moscow");
  ASSERT_TRUE(z);
  EXPECT_EQ(z->start_of_day(T("2023-03-31T20:59:59Z")), T("2023-03-30T21:00:00Z"));
  EXPECT_EQ(z->start_of_day(T("2023-03-31T21:00:00Z")), T("2023-03-31T21:00:00Z"));
  EXPECT_EQ(z->start_of_next_day(T("2023-03-31T20:59:59Z")), T("2023-03-31T21:00:00Z"));
  auto b = TimeZone::load("Europe/Berlin");
  ASSERT_TRUE(b);
  // The day of the spring change is 23 hours long.
  EXPECT_EQ(b->start_of_day(T("2023-03-26T12:00:00Z")), T("2023-03-25T23:00:00Z"));
  EXPECT_EQ(b->start_of_next_day(T("2023-03-26T12:00:00Z")), T("2023-03-26T22:00:00Z"));
}

TEST(TimeZone, UtcAndFixed) {
  EXPECT_EQ(TimeZone::load("UTC")->offset_at(T("2023-01-01T00:00:00Z")), 0);
  auto f = TimeZone::fixed(3 * 3600);
  EXPECT_EQ(f.name(), "+03:00");
  EXPECT_EQ(f.format(T("2023-03-31T20:59:59Z")), "2023-03-31T23:59:59+03:00");
}

TEST(TimeZone, RejectsBadNamesAndData) {
  struct Case { const char* name; Errc code; } cases[] = {
      {"../etc/passwd", Errc::invalid_argument},
      {"/etc/passwd", Errc::invalid_argument},
      {"Europe/Moscow;rm", Errc::invalid_argument},
      {"Nowhere/Atlantis", Errc::not_found},
  };
  for (auto& c : cases) {
    auto z = TimeZone::load(c.name);
    ASSERT_FALSE(z) << c.name;
    EXPECT_EQ(z.error().code, c.code) << c.name;
  }
  for (std::string data : {std::string(""), std::string("TZif2"), std::string(60, 'x'),
                           std::string("TZif2") + std::string(39, '\0')}) {
    auto z = TimeZone::parse_tzif(data, "bad");
    ASSERT_FALSE(z);
    EXPECT_EQ(z.error().code, Errc::parse_error);
  }
}

}  // namespace
}  // namespace fw
