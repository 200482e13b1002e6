// End-to-end: GET /api/v1/reports/{id}?format=csv gives one table per request (?table=,
// default units), with one header row, RFC 4180 line ends, and a UTF-8 byte-order mark only
// with ?bom=1; the parameters' errors are 400 naming them. A real server on 127.0.0.1:0 over
// a real SQLite file, a campaign and a policy applied. Single-threaded test code.
#include <gtest/gtest.h>

#include "service/policies.h"
#include "support/http_client.h"
#include "support/test_server.h"

namespace fw {
namespace {

using boost::beast::http::verb;
using testing::HttpResult;

const char* kCampaign = R"Y(kind: campaign
id: replace-ios
title: Replace iPhones
scope: [/administration]
start: 2023-03-01T00:00:00+03:00
deadline: 2023-03-31T23:59:59+03:00
rules:
  - {id: no-ios, severity: critical, require: '!(device.os.family in ["iOS", "iPadOS"])'}
)Y";

const char* kPolicy = R"Y(kind: policy
id: baseline
title: Baseline
scope: [/administration]
rules:
  - {id: os-known, severity: low, require: 'device.os.family != ""'}
)Y";

class ReportCsvApi : public ::testing::Test {
 protected:
  void SetUp() override {
    auto st = srv_.open_with_admin("fw-report-csv");
    ASSERT_TRUE(st) << st.error().to_string();
    st = srv_.start();
    ASSERT_TRUE(st) << st.error().to_string();
    for (const char* body : {R"({"path":"/administration","name":"Администрация, центр"})",
                             R"({"path":"/administration/ict","name":"ICT \"core\""})"})
      ASSERT_EQ(srv_.send(verb::post, "/api/v1/org-units", body).status, 201);
    ASSERT_EQ(srv_.send(verb::post, "/api/v1/people",
                        R"({"id":"p1","name":"Ольга","email":"o@x","org_unit":"/administration/ict"})")
                  .status,
              201);
    for (const char* doc : {kCampaign, kPolicy}) {
      auto ap = service::apply_policy_text(srv_.store(), clock_, "test", doc, "doc.yaml");
      ASSERT_TRUE(ap) << ap.error().to_string();
    }
  }

  SystemClock clock_;
  testing::TestServer srv_{clock_};
};

// The rows of a CSV body (CRLF-separated), each checked to have `columns` cells.
std::vector<std::string> rows(const std::string& body, size_t columns) {
  std::vector<std::string> out;
  EXPECT_TRUE(body.ends_with("\r\n")) << body;
  for (size_t b = 0; b < body.size();) {
    size_t e = body.find("\r\n", b);
    if (e == std::string::npos) break;
    std::string line = body.substr(b, e - b);
    size_t cells = 1;
    bool quoted = false;
    for (char c : line) {
      if (c == '"') quoted = !quoted;
      if (c == ',' && !quoted) ++cells;
    }
    EXPECT_FALSE(quoted) << line;
    EXPECT_EQ(cells, columns) << line;
    out.push_back(line);
    b = e + 2;
  }
  return out;
}

TEST_F(ReportCsvApi, OneTablePerRequest) {
  struct Case {
    const char* query;
    const char* header;
    size_t columns;
  } cases[] = {
      {"", "Org unit,Path,Level,People,Non-compliant people,Unknown,Devices,Non-compliant devices,Compliance", 9},
      {"&table=units", "Org unit,Path,Level,", 9},
      {"&table=rules", "Rule,Title,Severity,Pass,Fail,Exempt,Unknown,N/A", 8},
      {"&table=platforms", "Platform,Devices,Non-compliant", 3},
      {"&table=burndown", "Date,People,Devices", 3},
      {"&table=overdue", "Person,E-mail,Org unit,Manager,Device,Failing rules,Days overdue", 7},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.query);
    auto r = srv_.send(verb::get, std::string("/api/v1/reports/replace-ios?format=csv&lang=en") + c.query);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.headers["content-type"], "text/csv; charset=utf-8");
    auto lines = rows(r.body, c.columns);
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines[0].rfind(c.header, 0), 0u) << lines[0];
    for (size_t i = 1; i < lines.size(); ++i) EXPECT_FALSE(lines[i].empty()) << "an empty line: a second table?";
  }
  // Names with a comma or quotes are quoted as RFC 4180 says.
  auto units = srv_.send(verb::get, "/api/v1/reports/replace-ios?format=csv&lang=en");
  EXPECT_NE(units.body.find("\"Администрация, центр\",/administration,"), std::string::npos) << units.body;
  EXPECT_NE(units.body.find("\"ICT \"\"core\"\"\",/administration/ict,"), std::string::npos) << units.body;
}

TEST_F(ReportCsvApi, ByteOrderMarkOnlyWhenAsked) {
  auto plain = srv_.send(verb::get, "/api/v1/reports/replace-ios?format=csv&lang=ru");
  ASSERT_EQ(plain.status, 200) << plain.body;
  EXPECT_EQ(plain.body.rfind("Подразделение,Путь,", 0), 0u) << plain.body;
  auto bom = srv_.send(verb::get, "/api/v1/reports/replace-ios?format=csv&lang=ru&bom=1&table=rules");
  ASSERT_EQ(bom.status, 200) << bom.body;
  EXPECT_EQ(bom.body.rfind("\xEF\xBB\xBFПравило,Название,Важность,", 0), 0u) << bom.body;
  EXPECT_NE(bom.body.find("no-ios,,критическая,"), std::string::npos) << bom.body;
  auto off = srv_.send(verb::get, "/api/v1/reports/replace-ios?format=csv&bom=0");
  EXPECT_EQ(off.body, plain.body);
}

TEST_F(ReportCsvApi, ParameterErrorsNameTheParameter) {
  struct Case {
    const char* path;
    const char* where;
  } cases[] = {
      {"/api/v1/reports/replace-ios?format=csv&table=all", "table"},
      {"/api/v1/reports/replace-ios?format=json&table=rules", "table"},
      {"/api/v1/reports/replace-ios?format=html&bom=1", "bom"},
      {"/api/v1/reports/replace-ios?format=csv&bom=yes", "bom"},
      {"/api/v1/reports/baseline?format=csv&table=burndown", "table"},
      {"/api/v1/reports/baseline?format=csv&table=overdue", "table"},
  };
  for (const auto& c : cases) {
    auto r = srv_.send(verb::get, c.path);
    EXPECT_EQ(r.status, 400) << c.path << ": " << r.body;
    EXPECT_NE(r.body.find(std::string("\"where\":\"") + c.where + "\""), std::string::npos) << c.path << ": " << r.body;
  }
  // A policy has the other tables; JSON and HTML are as they were.
  EXPECT_EQ(srv_.send(verb::get, "/api/v1/reports/baseline?format=csv&table=rules").status, 200);
  auto json = srv_.send(verb::get, "/api/v1/reports/replace-ios");
  EXPECT_EQ(json.status, 200);
  EXPECT_NE(json.body.find("\"burndown\":["), std::string::npos);
  EXPECT_EQ(srv_.send(verb::get, "/api/v1/reports/replace-ios?format=html").headers["content-type"],
            "text/html; charset=utf-8");
}

}  // namespace
}  // namespace fw
