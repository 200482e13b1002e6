// Tests of the CSV export conversion: quoting, nested values, formula guard, columns.
#include "server/web_csv.h"

#include <gtest/gtest.h>

namespace fw::server {
namespace {

namespace json = boost::json;

TEST(CsvField, Table) {
  const struct {
    std::string in, want;
  } cases[] = {
      {"plain", "plain"},
      {"", ""},
      {"a,b", "\"a,b\""},
      {"say \"hi\"", "\"say \"\"hi\"\"\""},
      {"two\nlines", "\"two\nlines\""},
      {"Иванов И.И.", "Иванов И.И."},
      {"=SUM(A1)", "'=SUM(A1)"},
      {"+7 495", "'+7 495"},
      {"@cmd", "'@cmd"},
      {"-5", "-5"},
      {"-1.5e3", "-1.5e3"},
      {"-x", "'-x"},
  };
  for (const auto& c : cases) EXPECT_EQ(csv_field(c.in), c.want) << c.in;
}

TEST(CsvCell, Nested) {
  const struct {
    const char* json;
    std::string want;
  } cases[] = {
      {"null", ""},
      {"true", "true"},
      {"42", "42"},
      {"\"x\"", "x"},
      {"[\"iPadOS\",\"macOS\"]", "iPadOS; macOS"},
      {"[{\"id\":\"us.zoom\",\"name\":\"Zoom\"},{\"id\":\"ru.trueconf\"}]", "us.zoom; ru.trueconf"},
      {"[{\"name\":\"n\"}]", "n"},
      {"{}", ""},
      {"{\"a\":1}", "{\"a\":1}"},
  };
  for (const auto& c : cases) EXPECT_EQ(csv_cell(json::parse(c.json)), c.want) << c.json;
}

TEST(CsvWriter, ColumnsFromFirstItem) {
  CsvWriter w;
  w.add(json::parse(R"({"id":"d1","os_family":"iOS","managed":true})").as_object());
  w.add(json::parse(R"({"id":"d2","managed":false,"extra":1})").as_object());
  EXPECT_EQ(w.rows(), 2u);
  EXPECT_EQ(w.finish(), "\xEF\xBB\xBFid,os_family,managed\r\nd1,iOS,true\r\nd2,,false\r\n");
}

TEST(CsvWriter, Empty) {
  CsvWriter w;
  EXPECT_EQ(w.finish(), "\xEF\xBB\xBF");
}

}  // namespace
}  // namespace fw::server
