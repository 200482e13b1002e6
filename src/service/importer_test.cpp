// Tests of the CSV reader behind `fleetward import` (the import itself is tested end to end
// in tests/cli).
#include <gtest/gtest.h>

#include "service/importer.h"

namespace fw::service {
namespace {

TEST(ParseCsv, Cases) {
  struct Case {
    const char* name;
    std::string text;
    std::vector<std::vector<std::string>> fields;
    std::vector<int> lines;
  } cases[] = {
      {"simple", "a,b\n1,2\n", {{"a", "b"}, {"1", "2"}}, {1, 2}},
      {"crlf and no final newline", "a,b\r\n1,2", {{"a", "b"}, {"1", "2"}}, {1, 2}},
      {"empty fields", "a,,c\n,,\n", {{"a", "", "c"}, {"", "", ""}}, {1, 2}},
      {"quotes", "\"a,b\",\"say \"\"hi\"\"\"\n", {{"a,b", "say \"hi\""}}, {1}},
      {"quoted newline keeps line count", "x,\"1\n2\"\ny,z\n", {{"x", "1\n2"}, {"y", "z"}}, {1, 3}},
      {"blank lines skipped", "a\n\n\nb\n", {{"a"}, {"b"}}, {1, 4}},
      {"semicolons", "a;b\n1;2,5\n", {{"a", "b"}, {"1", "2,5"}}, {1, 2}},
      {"bom", "\xEF\xBB\xBFid\nx\n", {{"id"}, {"x"}}, {1, 2}},
      {"utf-8", "name\nИван Петров\n", {{"name"}, {"Иван Петров"}}, {1, 2}},
      {"lone CR ends a line (fuzz: records on one line)", "a\rb\r\nc\r", {{"a"}, {"b"}, {"c"}}, {1, 2, 3}},
  };
  for (const auto& c : cases) {
    auto r = parse_csv(c.text);
    ASSERT_TRUE(r) << c.name << ": " << r.error().to_string();
    ASSERT_EQ(r->size(), c.fields.size()) << c.name;
    for (size_t i = 0; i < r->size(); ++i) {
      EXPECT_EQ((*r)[i].fields, c.fields[i]) << c.name << " record " << i;
      EXPECT_EQ((*r)[i].line, c.lines[i]) << c.name << " record " << i;
    }
  }
}

TEST(ParseCsv, Errors) {
  struct Case {
    const char* name;
    std::string text;
    Errc code;
    const char* where;
  } cases[] = {
      {"unterminated", "a\n\"open\n", Errc::parse_error, "line 2"},
      {"junk after quote", "a\n\"x\"y\n", Errc::parse_error, "line 2"},
      {"huge field", "a\n" + std::string(70000, 'x') + "\n", Errc::too_large, "line 2"},
  };
  for (const auto& c : cases) {
    auto r = parse_csv(c.text);
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error().code, c.code) << c.name;
    EXPECT_EQ(r.error().where, c.where) << c.name;
  }
}

}  // namespace
}  // namespace fw::service
