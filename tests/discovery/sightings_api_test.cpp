// End-to-end tests of POST /api/v1/sightings and POST /api/v1/exchange-devices: a real
// server on 127.0.0.1:0 over a real SQLite file, driven over loopback HTTP. Mixed NDJSON
// (raw combined and W3C lines, parsed sightings), bad lines reported by number and field
// while the good ones are stored, idempotent re-posting, auth, limits, audit, and the
// Exchange CSV resolving an Outlook-iOS-Android device. Single-threaded test code.
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "hq_people.h"
#include "service/inventory.h"
#include "service/service_test_util.h"
#include "store/store.h"
#include "support/http_client.h"
#include "support/test_server.h"

namespace fw {
namespace {

namespace json = boost::json;
namespace http = boost::beast::http;

// POST with an explicit Content-Type (the client's default is application/json).
testing::HttpResult post(uint16_t port, const std::string& target, const std::string& body,
                         const std::string& content_type, const std::string& token) {
  return testing::http_request(port, http::verb::post, target, body, token, {{"Content-Type", content_type}});
}

constexpr const char* kFields =
    "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) "
    "sc-status sc-substatus sc-win32-status time-taken";

std::string jstr(const std::string& s) { return json::serialize(json::value(json::string(s))); }

class SightingsApi : public ::testing::Test {
 protected:
  void SetUp() override {
    auto o = srv_.open("fw-sightings-api");
    ASSERT_TRUE(o) << o.error().to_string();
    auto t = srv_.token("shipper", model::Role::operator_);
    ASSERT_TRUE(t) << t.error().to_string();
    token_ = *t;
    auto a = srv_.token("auditor", model::Role::auditor);
    ASSERT_TRUE(a);
    auditor_ = *a;
    ASSERT_TRUE(srv_.store().write([&](store::Tx& tx) {
      return testing::put_hq_people(tx, service::Change{"test", clock_.now()}, 4);
    }));
    server::ServerOptions so;
    so.upload_limit = 2u << 20;  // this route's limit (64 MiB by default), small for the limit test
    auto st = srv_.start(so);
    ASSERT_TRUE(st) << st.error().to_string();
    port_ = srv_.port();
  }

  testing::HttpResult ndjson(const std::string& body, const std::string& query = "", const std::string& token = "-") {
    return post(port_, "/api/v1/sightings" + query, body, "application/x-ndjson", token == "-" ? token_ : token);
  }

  // The log devices by owner: owner id -> (os family, may_be size).
  std::map<std::string, std::vector<model::Device>> log_devices() {
    std::map<std::string, std::vector<model::Device>> out;
    EXPECT_TRUE(srv_.store().read([&](store::Tx& tx) -> Status {
      store::DeviceFilter f;
      f.source = model::DeviceSource::log;
      return tx.scan_devices(f, [&](const model::Device& d) -> Status {
        out[d.owner_id].push_back(d);
        return {};
      });
    }));
    return out;
  }

  // The mixed batch: 4 good lines (combined, W3C with its fields, two parsed sightings) and
  // 5 bad ones, with a blank line that is skipped but counted in the numbering.
  std::string mixed_batch() {
    std::string combined =
        "10.0.0.7 - ipetrov [01/Mar/2023:12:00:01 +0300] \"GET /portal/ HTTP/1.1\" 200 512 \"-\" \"Mozilla/5.0 "
        "(iPhone; CPU iPhone OS 16_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.3 "
        "Mobile/15E148 Safari/604.1\"";
    std::string w3c =
        "2023-03-01 09:00:01 10.0.0.1 POST /Microsoft-Server-ActiveSync/default.eas "
        "User=akuznetsova&DeviceId=ApplANNA01&DeviceType=iPhone&Cmd=Sync 443 CORP\\akuznetsova 192.168.1.20 "
        "Apple-iPhone13C2/1907.70 - 200 0 0 31";
    std::string b;
    b += R"({"line": )" + jstr(combined) + R"(, "format": "combined"})" "\n";                       // 1
    b += R"({"line": )" + jstr(w3c) + R"(, "format": "w3c", "fields": )" + jstr(kFields) + "}\n";  // 2
    b += R"({"time": "2023-03-01T09:05:00Z", "user": "osmirnova@example.org", "ip": "10.0.0.9",)"
         R"( "user_agent": "Outlook-iOS-Android/1.0",)"
         R"( "activesync": {"device_id": "OUTLOOKOLGA", "device_type": "Outlook", "device_os": "iOS 16.2 20C65"}})"
         "\n";  // 3
    b += R"({"time": "2023-03-01T09:06:00Z", "user": "CORP\\oorlov", "user_agent": "Outlook-iOS-Android/1.0",)"
         R"( "activesync": {"device_id": "OUTLOOKOLEG", "device_type": "Outlook"}})" "\n";  // 4
    b += "\n";                                                                                // 5 (blank)
    b += "{not json\n";                                                                       // 6
    b += R"({"time": "2023-03-01T09:06:00Z", "user_agent": "x", "colour": "red"})" "\n";     // 7
    b += R"({"time": "yesterday", "user_agent": "x"})" "\n";                                 // 8
    b += R"({"time": "2023-03-01T09:06:00Z", "user": )" + jstr(std::string(300, 'u')) + R"(, "user_agent": "x"})" "\n";  // 9
    b += R"({"line": "this is not a log line", "format": "combined"})" "\n";                 // 10
    return b;
  }

  FixedClock clock_{from_unix(1677650400)};
  testing::TestServer srv_{clock_};
  uint16_t port_ = 0;
  std::string token_, auditor_;
};

TEST_F(SightingsApi, MixedBatchStoresGoodLinesAndReportsBadOnes) {
  auto r = ndjson(mixed_batch(), "?strip_domain=example.org");
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = r.json().as_object();
  EXPECT_EQ(v.at("lines").to_number<int64_t>(), 9);
  EXPECT_EQ(v.at("accepted").to_number<int64_t>(), 4);
  EXPECT_EQ(v.at("rejected_count").to_number<int64_t>(), 5);
  std::vector<std::pair<int64_t, std::string>> rejected;
  for (const auto& x : v.at("rejected").as_array())
    rejected.emplace_back(x.at("line").to_number<int64_t>(), std::string(x.at("field").as_string()));
  std::vector<std::pair<int64_t, std::string>> want = {
      {6, "json byte 1"}, {7, "colour"}, {8, "time"}, {9, "user"}, {10, "line byte 0"}};
  ASSERT_EQ(rejected.size(), want.size()) << r.body;
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(rejected[i].first, want[i].first) << r.body;
    EXPECT_TRUE(rejected[i].second.starts_with(want[i].second.substr(0, want[i].second.find(' '))))
        << rejected[i].second << " / " << r.body;
  }
  EXPECT_EQ(v.at("devices_created").to_number<int64_t>(), 4) << r.body;
  EXPECT_EQ(v.at("evaluated").to_number<int64_t>(), 4) << r.body;
  EXPECT_TRUE(v.at("unattributed_users").as_array().empty()) << r.body;

  auto devs = log_devices();
  ASSERT_EQ(devs["p1"].size(), 1u);
  EXPECT_EQ(devs["p1"][0].os_family, "iOS");  // Safari on iPhone (combined)
  ASSERT_EQ(devs["p3"].size(), 1u);
  EXPECT_EQ(devs["p3"][0].os_family, "iOS");  // native ActiveSync (W3C)
  EXPECT_EQ(devs["p3"][0].model, "iPhone13,2");
  ASSERT_EQ(devs["p2"].size(), 1u);
  EXPECT_EQ(devs["p2"][0].os_family, "iOS");  // Outlook, resolved by the sighting's device_os
  EXPECT_TRUE(devs["p2"][0].may_be.empty());
  ASSERT_EQ(devs["p4"].size(), 1u);
  EXPECT_EQ(devs["p4"][0].os_family, "Other");  // Outlook with nothing else: unknown
  EXPECT_EQ(devs["p4"][0].may_be, (std::vector<std::string>{"iOS", "Android"}));
  EXPECT_FALSE(devs["p4"][0].managed);

  // Posting the same batch again updates counts but creates no device.
  auto again = ndjson(mixed_batch(), "?strip_domain=example.org");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.json().at("devices_created").to_number<int64_t>(), 0);
  EXPECT_EQ(again.json().at("devices_updated").to_number<int64_t>(), 4);
  auto devs2 = log_devices();
  size_t n = 0;
  for (const auto& [k, ds] : devs2) n += ds.size();
  EXPECT_EQ(n, 4u);
  ASSERT_TRUE(srv_.store().read([&](store::Tx& tx) -> Status {
    auto ss = tx.list_sightings(devs2["p1"][0].id, "", 10);
    EXPECT_TRUE(ss);
    EXPECT_EQ(ss->size(), 1u);
    EXPECT_EQ(ss->at(0).count, 2);
    return {};
  }));

  // Audited: one batch event per request, by the token's name.
  auto audit = testing::http_request(port_, http::verb::get, "/api/v1/audit?limit=1000", "", token_);
  ASSERT_EQ(audit.status, 200);
  int batches = 0;
  auto audit_json = audit.json();
  for (const auto& e : audit_json.at("items").as_array())
    if (e.at("action").as_string() == "sightings.ingest") {
      ++batches;
      EXPECT_NE(std::string(e.at("actor").as_string()).find("shipper"), std::string::npos) << e;
    }
  EXPECT_EQ(batches, 2);
}

TEST_F(SightingsApi, W3cFieldsFromTheQueryAndDirectiveLines) {
  std::string line =
      "2023-03-01 09:00:01 10.0.0.1 GET /owa/ - 443 CORP\\ipetrov 192.168.1.20 "
      "Mozilla/5.0+(Linux;+Android+13;+SM-G991B)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/116.0.0.0+Mobile+"
      "Safari/537.36 - 200 0 0 31";
  std::string q = "?format=w3c&fields=";
  for (char c : std::string(kFields)) q += c == ' ' ? std::string("%20") : std::string(1, c);
  auto r = ndjson(R"({"line": )" + jstr(line) + "}\n", q);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json().at("accepted").to_number<int64_t>(), 1) << r.body;
  // Without fields, the same line needs its #Fields directive first (as a line of its own).
  auto r2 = ndjson(R"({"line": )" + jstr(std::string("#Fields: ") + kFields) + R"(, "format": "w3c"})" "\n" +
                   R"({"line": )" + jstr(line) + R"(, "format": "w3c"})" "\n");
  ASSERT_EQ(r2.status, 200) << r2.body;
  EXPECT_EQ(r2.json().at("accepted").to_number<int64_t>(), 2) << r2.body;
  EXPECT_EQ(r2.json().at("rejected_count").to_number<int64_t>(), 0) << r2.body;
  auto devs = log_devices();
  ASSERT_EQ(devs["p1"].size(), 1u);
  EXPECT_EQ(devs["p1"][0].os_family, "Android");
}

TEST_F(SightingsApi, AuthContentTypeAndLimits) {
  std::string one = R"({"time": "2023-03-01T09:06:00Z", "user": "ipetrov", "user_agent": "curl/8.0"})" "\n";
  EXPECT_EQ(ndjson(one, "", "").status, 401);
  EXPECT_EQ(ndjson(one, "", auditor_).status, 403);  // write access only
  auto ct = post(port_, "/api/v1/sightings", one, "application/json", token_);
  EXPECT_EQ(ct.status, 400);
  EXPECT_EQ(ct.error_where(), "Content-Type");
  auto unknown = ndjson(one, "?colour=red");
  EXPECT_EQ(unknown.status, 400);
  std::string many;
  for (int i = 0; i < 10001; ++i) many += "{}\n";
  auto big = ndjson(many);
  EXPECT_EQ(big.status, 413) << big.body;
  EXPECT_EQ(big.error_where(), "line 10001");
  // The route's own body limit (the server's upload limit, set to 2 MiB above).
  auto huge = ndjson(std::string(3u << 20, ' '));
  EXPECT_EQ(huge.status, 413);
  EXPECT_NE(huge.body.find("larger than 2097152 bytes (the limit of POST /api/v1/sightings)"), std::string::npos)
      << huge.body;
  // Nothing was stored by the rejected requests.
  EXPECT_TRUE(log_devices().empty());
}

TEST_F(SightingsApi, ExchangeCsvResolvesOutlookDevices) {
  std::string batch =
      R"({"time": "2023-03-01T09:06:00Z", "user": "CORP\\oorlov", "user_agent": "Outlook-iOS-Android/1.0",)"
      R"( "activesync": {"device_id": "OUTLOOKOLEG", "device_type": "Outlook"}})" "\n";
  ASSERT_EQ(ndjson(batch).status, 200);
  ASSERT_EQ(log_devices()["p4"].at(0).os_family, "Other");
  std::string csv =
      "\xEF\xBB\xBF#TYPE Microsoft.Exchange.Data.Directory.Management.MobileDevice\r\n"
      "\"DeviceId\",\"DeviceOS\",\"DeviceType\",\"DeviceUserAgent\",\"DeviceModel\",\"UserDisplayName\"\r\n"
      "\"OutlookOleg\",\"Android 13.0.0\",\"Outlook\",\"Outlook-iOS-Android/1.0\",\"Outlook for iOS and Android\","
      "\"corp.example.org/Users/Oleg Orlov\"\r\n"
      "\"\",\"iOS 16\",\"iPhone\",\"\",\"\",\"x\"\r\n";
  auto r = post(port_, "/api/v1/exchange-devices", csv, "text/csv", token_);
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = r.json().as_object();
  EXPECT_EQ(v.at("rows").to_number<int64_t>(), 1);
  EXPECT_EQ(v.at("devices_resolved").to_number<int64_t>(), 1);
  EXPECT_EQ(v.at("evaluated").to_number<int64_t>(), 1);
  ASSERT_EQ(v.at("rejected").as_array().size(), 1u);
  EXPECT_EQ(v.at("rejected").as_array()[0].at("line").to_number<int64_t>(), 4);
  EXPECT_EQ(v.at("rejected").as_array()[0].at("field").as_string(), "DeviceId");
  auto d = log_devices()["p4"].at(0);
  EXPECT_EQ(d.os_family, "Android");
  EXPECT_EQ(d.os_version, "13.0.0");
  EXPECT_TRUE(d.may_be.empty());
  // A CSV with no DeviceId column is refused as a whole, naming the line.
  auto bad = post(port_, "/api/v1/exchange-devices", "Name,DeviceOS\nx,y\n", "text/csv", token_);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.error_where(), "body:1");
  EXPECT_EQ(post(port_, "/api/v1/exchange-devices", csv, "text/csv", auditor_).status, 403);
}

}  // namespace
}  // namespace fw
