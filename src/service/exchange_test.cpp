// Tests of the Exchange mobile-device import's pure parts: the Export-Csv parser (tables of
// good and bad inputs) and the reading of one row. The import itself, over SQLite and
// PostgreSQL, is tested in tests/discovery/exchange_store_test.cpp.
#include <gtest/gtest.h>

#include "service/exchange.h"

namespace fw::service {
namespace {

constexpr std::string_view kHeader =
    "\"FriendlyName\",\"DeviceId\",\"DeviceOS\",\"DeviceType\",\"DeviceUserAgent\",\"DeviceModel\","
    "\"UserDisplayName\",\"Identity\"\r\n";

TEST(ExchangeCsv, RealExportShape) {
  std::string text = "\xEF\xBB\xBF#TYPE Microsoft.Exchange.Data.Directory.Management.MobileDevice\r\n";
  text += kHeader;
  text += "\"\",\"ApplF17ABCDEF\",\"iOS 16.3.1 20D67\",\"iPhone\",\"Apple-iPhone14C5/2004.67\",\"iPhone14,5\","
          "\"corp.example.org/Users/Ivan Petrov\","
          "\"corp.example.org/Users/Ivan Petrov/ExchangeActiveSyncDevices/iPhone\xC2\xA7" "ApplF17ABCDEF\"\r\n";
  text += "\"Olga's \"\"work\"\" phone\",\"3C5B7A9E1F\",\"Android 13.0.0\",\"Outlook\",\"Outlook-iOS-Android/1.0\","
          "\"Outlook for iOS and Android\",\"Olga Smirnova\",\"\"\r\n";
  auto csv = parse_exchange_csv(text, "devices.csv");
  ASSERT_TRUE(csv) << csv.error().to_string();
  EXPECT_TRUE(csv->errors.empty());
  ASSERT_EQ(csv->rows.size(), 2u);
  EXPECT_EQ(csv->rows[0].line, 3u);
  EXPECT_EQ(csv->rows[0].device_id, "ApplF17ABCDEF");
  EXPECT_EQ(csv->rows[0].device_model, "iPhone14,5");
  EXPECT_EQ(csv->rows[0].user, "Ivan Petrov");
  EXPECT_EQ(csv->rows[1].device_type, "Outlook");
  EXPECT_EQ(csv->rows[1].user, "Olga Smirnova");
}

TEST(ExchangeCsv, UserColumnsInOrderOfPreference) {
  struct Case {
    const char* name;
    std::string text;
    std::string user;
  } cases[] = {
      {"upn beats display name", "DeviceId,UserPrincipalName,UserDisplayName\nX1,ivanov@example.org,Ivan Petrov\n",
       "ivanov@example.org"},
      {"User column first", "User,DeviceId,UserPrincipalName\nCORP\\ivanov,X1,other@example.org\n", "CORP\\ivanov"},
      {"identity backslash form", "DeviceId,Identity\nX1,Ivan Petrov\\ExchangeActiveSyncDevices\\iPhone\n",
       "Ivan Petrov"},
      {"no user at all", "DeviceId,DeviceOS\nX1,iOS 16\n", ""},
      {"columns any case, LF, quoted newline", "deviceid,\"DeviceModel\"\nX1,\"two\nlines\"\n", ""},
  };
  for (const auto& c : cases) {
    auto csv = parse_exchange_csv(c.text, "f.csv");
    ASSERT_TRUE(csv) << c.name << ": " << csv.error().to_string();
    ASSERT_EQ(csv->rows.size(), 1u) << c.name;
    EXPECT_EQ(csv->rows[0].user, c.user) << c.name;
    EXPECT_TRUE(csv->errors.empty()) << c.name;
  }
}

TEST(ExchangeCsv, BadRowsAreReportedAndTheRestKept) {
  std::string text =
      "DeviceId,DeviceOS,UserPrincipalName\n"
      "GOOD1,iOS 16.3,a@example.org\n"
      "TOOFEW,iOS 16.3\n"                      // line 3: field count
      ",Android 13,b@example.org\n"            // line 4: empty id
      "\"BAD ID\",Android 13,c@example.org\n"  // line 5: space in the id
      "X\"Y,iOS,\"d\"e\n"                      // line 6: text after a closing quote
      "GOOD2,\"Android\n13\",e@example.org\n"  // line 7 (continues on 8)
      "GOOD3," + std::string(5000, 'a') + ",f@example.org\n"  // line 9: too long
      "\n"
      "GOOD4,HarmonyOS 3.0.0,g@example.org\n";  // line 11
  auto csv = parse_exchange_csv(text, "f.csv");
  ASSERT_TRUE(csv) << csv.error().to_string();
  std::vector<std::string> errs;
  for (const auto& e : csv->errors) errs.push_back(e.to_string("f.csv"));
  std::vector<std::string> want = {
      "f.csv:3: record: 2 fields where the header has 3",
      "f.csv:4: DeviceId: empty",
      "f.csv:5: DeviceId: not an ActiveSync device id (1-128 printable ASCII characters, no spaces)",
      "f.csv:6: UserPrincipalName: text after the closing quote",
      "f.csv:9: DeviceOS: longer than 4096 bytes",
  };
  EXPECT_EQ(errs, want);
  ASSERT_EQ(csv->rows.size(), 3u);
  EXPECT_EQ(csv->rows[0].device_id, "GOOD1");
  EXPECT_EQ(csv->rows[1].device_id, "GOOD2");
  EXPECT_EQ(csv->rows[1].device_os, "Android\n13");
  EXPECT_EQ(csv->rows[1].line, 7u);
  EXPECT_EQ(csv->rows[2].device_id, "GOOD4");
  EXPECT_EQ(csv->rows[2].line, 11u);
  // A quote inside an unquoted field is text (Export-Csv never writes one, others do).
  auto q = parse_exchange_csv("DeviceId,DeviceModel\nA1,6\" screen\n", "f.csv");
  ASSERT_TRUE(q);
  ASSERT_EQ(q->rows.size(), 1u);
  EXPECT_EQ(q->rows[0].device_model, "6\" screen");
}

TEST(ExchangeCsv, FatalErrorsNameFileAndLine) {
  struct Case {
    const char* name;
    std::string text;
    std::string error;
  } cases[] = {
      {"empty", "", "x.csv:1: no header line (expected DeviceId,DeviceOS,...)"},
      {"only #TYPE", "#TYPE Foo\n", "x.csv:2: no header line (expected DeviceId,DeviceOS,...)"},
      {"no DeviceId column", "#TYPE Foo\nName,DeviceOS\n",
       "x.csv:2: header: no DeviceId column (is this Get-MobileDevice | Export-Csv output?)"},
      {"unterminated quote", "DeviceId\nA\n\"B\nC\n", "x.csv:3: quoted field opened here is never closed"},
  };
  for (const auto& c : cases) {
    auto csv = parse_exchange_csv(c.text, "x.csv");
    ASSERT_FALSE(csv) << c.name;
    EXPECT_EQ(csv.error().code, Errc::parse_error) << c.name;
    EXPECT_EQ(csv.error().to_string(), c.error) << c.name;
  }
  std::string huge(kMaxExchangeCsvBytes + 1, 'a');
  EXPECT_FALSE(parse_exchange_csv(huge, "x.csv"));
}

TEST(ExchangeRowReading, Table) {
  struct Case {
    const char* name;
    ExchangeRow row;
    std::string family, version, vendor, model;
    model::DeviceType type;
  } cases[] = {
      {"native iPhone", {0, "A1", "iOS 16.3.1 20D67", "iPhone14,5", "iPhone", "Apple-iPhone14C5/2004.67", ""},
       "iOS", "16.3.1", "Apple", "iPhone14,5", model::DeviceType::phone},
      {"Outlook on iOS", {0, "A2", "iOS 16.2", "Outlook for iOS and Android", "Outlook", "Outlook-iOS-Android/1.0", ""},
       "iOS", "16.2", "Apple", "", model::DeviceType::phone},
      {"Outlook on Android", {0, "A3", "Android 13.0.0", "Outlook for iOS and Android", "Outlook",
                              "Outlook-iOS-Android/1.0", ""},
       "Android", "13.0.0", "", "", model::DeviceType::phone},
      {"iPad on iOS 16 is iPadOS", {0, "A4", "iOS 16.3 20D47", "iPad13,4", "iPad", "Apple-iPad13C4/2004.47", ""},
       "iPadOS", "16.3", "Apple", "iPad13,4", model::DeviceType::tablet},
      {"iPad on iOS 12 stays iOS", {0, "A5", "iOS 12.5.7", "iPad5,3", "iPad", "", ""}, "iOS", "12.5.7", "Apple",
       "iPad5,3", model::DeviceType::tablet},
      {"Samsung native mail", {0, "A6", "Android 12", "SM-G991B", "SAMSUNGSMG991B", "", ""}, "Android", "12",
       "Samsung", "SM-G991B", model::DeviceType::phone},
      {"HarmonyOS", {0, "A7", "HarmonyOS 3.0.0", "NOH-NX9", "Android", "", ""}, "HarmonyOS", "3.0.0", "", "NOH-NX9",
       model::DeviceType::phone},
      {"DeviceType only", {0, "A8", "", "", "iPhone", "", ""}, "iOS", "", "Apple", "", model::DeviceType::phone},
      {"nothing known", {0, "A9", "", "Outlook for iOS and Android", "Outlook", "Outlook-iOS-Android/1.0", ""}, "",
       "", "", "", model::DeviceType::other},
  };
  for (const auto& c : cases) {
    auto r = read_exchange_row(c.row, nullptr);
    EXPECT_EQ(r.os_family, c.family) << c.name;
    EXPECT_EQ(r.os_version, c.version) << c.name;
    EXPECT_EQ(r.vendor, c.vendor) << c.name;
    EXPECT_EQ(r.model, c.model) << c.name;
    EXPECT_EQ(r.type, c.type) << c.name;
  }
}

TEST(ExchangeIdentity, UserPart) {
  EXPECT_EQ(exchange_identity_user("corp.example.org/Users/Ivan Petrov/ExchangeActiveSyncDevices/iPhone\xC2\xA7X"),
            "Ivan Petrov");
  EXPECT_EQ(exchange_identity_user("corp.example.org/Users/Ivan Petrov"), "Ivan Petrov");
  EXPECT_EQ(exchange_identity_user(" Olga Smirnova "), "Olga Smirnova");
  EXPECT_EQ(exchange_identity_user(""), "");
}

}  // namespace
}  // namespace fw::service
