// End-to-end tests of the HTTP API: a real server bound to 127.0.0.1:0 over a real SQLite
// file, driven over loopback HTTP. Status codes, auth, malformed JSON, size limits,
// unknown fields, CRUD with audit, pagination and filters. Single-threaded test code.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "support/http_client.h"
#include "support/test_server.h"
#include "store/store.h"

namespace fw {
namespace {

namespace json = boost::json;
using boost::beast::http::verb;
using testing::http_request;
using testing::HttpResult;

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto o = srv_.open_with_admin("fw-api");
    ASSERT_TRUE(o) << o.error().to_string();
    token_ = srv_.admin_token();
    auto a = srv_.token("auditor", model::Role::auditor);
    ASSERT_TRUE(a);
    auditor_ = *a;
    auto st = srv_.start();
    ASSERT_TRUE(st) << st.error().to_string();
    port_ = srv_.port();
    ASSERT_NE(port_, 0);
  }

  HttpResult get(const std::string& target, const std::string& token = "-") {
    return http_request(port_, verb::get, target, "", token == "-" ? token_ : token);
  }
  HttpResult send(verb m, const std::string& target, const std::string& body, const std::string& token = "-") {
    return http_request(port_, m, target, body, token == "-" ? token_ : token);
  }

  // Org unit /hq with /hq/it below it, two people, so devices have owners.
  void seed_people() {
    ASSERT_EQ(send(verb::post, "/api/v1/org-units", R"({"path":"/hq","name":"HQ"})").status, 201);
    ASSERT_EQ(send(verb::post, "/api/v1/org-units", R"({"path":"/hq/it","name":"IT"})").status, 201);
    ASSERT_EQ(send(verb::post, "/api/v1/org-units", R"({"path":"/branch","name":"Branch"})").status, 201);
    ASSERT_EQ(send(verb::post, "/api/v1/people",
                   R"({"id":"p1","name":"Ivan Petrov","email":"ipetrov@example.org","org_unit":"/hq/it"})")
                  .status,
              201);
    ASSERT_EQ(send(verb::post, "/api/v1/people",
                   R"({"id":"p2","name":"Olga Smirnova","email":"osmirnova@example.org","org_unit":"/branch"})")
                  .status,
              201);
  }

  FixedClock clock_{from_unix(1677650400)};
  testing::TestServer srv_{clock_};
  uint16_t port_ = 0;
  std::string token_, auditor_;
};

TEST_F(ApiTest, HealthzAndMetricsArePublic) {
  auto h = get("/healthz", "");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.json().at("status").as_string(), "ok");
  EXPECT_EQ(h.json().at("store").as_string(), "sqlite");
  get("/api/v1/devices");
  auto m = get("/metrics", "");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("fleetward_http_requests_total{route=\"/api/v1/devices\",method=\"GET\",status=\"200\"} 1"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("fleetward_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"} 1"),
            std::string::npos);
}

TEST_F(ApiTest, AuthFailuresAre401Json) {
  struct Case {
    const char* name;
    std::map<std::string, std::string> headers;
  } cases[] = {
      {"no token", {}},
      {"bad token", {{"Authorization", "Bearer fw_0000000000000000000000000000000000000000000000000000000000000000"}}},
      {"not bearer", {{"Authorization", "Basic dXNlcjpwYXNz"}}},
      {"empty bearer", {{"Authorization", "Bearer "}}},
  };
  for (const auto& c : cases) {
    auto r = http_request(port_, verb::get, "/api/v1/devices", "", "", c.headers);
    EXPECT_EQ(r.status, 401) << c.name;
    EXPECT_EQ(r.headers["content-type"], "application/json") << c.name;
    EXPECT_EQ(r.error_code(), "unauthenticated") << c.name;
    EXPECT_EQ(r.headers["www-authenticate"], "Bearer") << c.name;
  }
  // Writes need auth too, and nothing is written.
  auto w = send(verb::post, "/api/v1/org-units", R"({"path":"/x"})", "");
  EXPECT_EQ(w.status, 401);
  EXPECT_EQ(get("/api/v1/org-units").json().at("items").as_array().size(), 0u);
}

TEST_F(ApiTest, AuditorMayReadButNotWrite) {
  EXPECT_EQ(get("/api/v1/devices", auditor_).status, 200);
  auto r = send(verb::post, "/api/v1/org-units", R"({"path":"/x"})", auditor_);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.error_code(), "permission_denied");
}

TEST_F(ApiTest, BadBodiesAre400NamingThePlace) {
  struct Case {
    const char* name;
    const char* target;
    std::string body;
    int status;
    const char* code;
    const char* where;
  } cases[] = {
      {"malformed", "/api/v1/org-units", R"({"path": "/a",)", 400, "parse_error", "byte 14"},
      {"garbage after", "/api/v1/org-units", R"({"path":"/a"} x)", 400, "parse_error", "byte 14"},
      {"not an object", "/api/v1/org-units", R"([1,2])", 400, "invalid_argument", ""},
      {"unknown field", "/api/v1/org-units", R"({"path":"/a","colour":"red"})", 400, "invalid_argument", "colour"},
      {"wrong type", "/api/v1/org-units", R"({"path":5})", 400, "invalid_argument", "path"},
      {"bad path", "/api/v1/org-units", R"({"path":"no-slash"})", 400, "invalid_argument", "path"},
      {"device bool", "/api/v1/devices", R"({"id":"d","os_family":"iOS","managed":"yes"})", 400, "invalid_argument",
       "managed"},
      {"device enum", "/api/v1/devices", R"({"id":"d","os_family":"iOS","type":"watch"})", 400, "invalid_argument",
       "type"},
      {"device family", "/api/v1/devices", R"({"id":"d","os_family":"iPhone OS"})", 400, "invalid_argument",
       "os_family"},
      {"nested unknown", "/api/v1/devices", R"({"id":"d","os_family":"iOS","apps":[{"id":"a","size":3}]})", 400,
       "invalid_argument", "apps[0].size"},
      {"bad time", "/api/v1/devices", R"({"id":"d","os_family":"iOS","last_seen":"yesterday"})", 400,
       "invalid_argument", "last_seen"},
      {"bad id", "/api/v1/devices", R"({"id":"a/b","os_family":"iOS"})", 400, "invalid_argument", "id"},
      {"empty body", "/api/v1/devices", "", 400, "invalid_argument", "body"},
      {"too deep", "/api/v1/devices", std::string(40, '[') + std::string(40, ']'), 400, "invalid_argument", ""},
  };
  for (const auto& c : cases) {
    auto r = send(verb::post, c.target, c.body);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body;
    if (r.status >= 400) {
      EXPECT_EQ(r.error_code(), c.code) << c.name;
      if (*c.where) {
        EXPECT_EQ(r.error_where(), c.where) << c.name;
      }
    }
  }
  EXPECT_EQ(get("/api/v1/devices").json().at("items").as_array().size(), 0u);
}

TEST_F(ApiTest, OversizedBodyIs413) {
  std::string big = R"({"path":"/a","name":")" + std::string(2 << 20, 'x') + "\"}";
  auto r = send(verb::post, "/api/v1/org-units", big);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.error_code(), "too_large");
  EXPECT_EQ(get("/api/v1/org-units").json().at("items").as_array().size(), 0u);
}

TEST_F(ApiTest, OversizedHeaderIs431) {
  auto r = http_request(port_, verb::get, "/healthz", "", "", {{"X-Junk", std::string(20000, 'a')}});
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(r.error_code(), "too_large");
}

TEST_F(ApiTest, UnknownRouteAndMethod) {
  auto r = get("/api/v1/nothing");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.error_code(), "not_found");
  auto m = send(verb::post, "/api/v1/devices/abc", "{}");
  EXPECT_EQ(m.status, 405);
  EXPECT_NE(m.headers["allow"].find("GET"), std::string::npos);
  auto q = get("/api/v1/devices?colour=red");
  EXPECT_EQ(q.status, 400);
  EXPECT_EQ(q.error_where(), "colour");
  for (const char* bad : {"/api/v1/devices?limit=0", "/api/v1/devices?limit=1001", "/api/v1/devices?limit=x",
                          "/api/v1/devices?managed=maybe", "/api/v1/devices?type=watch",
                          "/api/v1/devices?last_seen_before=soon"}) {
    EXPECT_EQ(get(bad).status, 400) << bad;
  }
}

TEST_F(ApiTest, CrudWithAudit) {
  seed_people();
  // Create.
  auto c = send(verb::post, "/api/v1/devices",
                R"({"id":"d1","owner_id":"p1","os_family":"iOS","os_version":"16.3.1","vendor":"Apple",
                    "model":"iPhone 13","type":"phone","managed":true,
                    "apps":[{"id":"us.zoom.videomeetings","name":"Zoom","version":"5.13.5"}],
                    "facts":{"encrypted":true}})");
  ASSERT_EQ(c.status, 201) << c.body;
  EXPECT_EQ(c.headers["location"], "/api/v1/devices/d1");
  auto g = get("/api/v1/devices/d1");
  ASSERT_EQ(g.status, 200);
  auto d = g.json().as_object();
  EXPECT_EQ(d.at("os_version").as_string(), "16.3.1");
  EXPECT_EQ(d.at("apps").as_array().size(), 1u);
  EXPECT_EQ(d.at("facts").at("encrypted").as_bool(), true);
  EXPECT_EQ(d.at("first_seen").as_string(), "2023-03-01T06:00:00Z");  // defaulted from the clock
  // Duplicate id.
  auto dup = send(verb::post, "/api/v1/devices", R"({"id":"d1","os_family":"Android"})");
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(dup.error_code(), "already_exists");
  // Missing owner.
  auto orphan = send(verb::post, "/api/v1/devices", R"({"id":"d2","owner_id":"nobody","os_family":"Android"})");
  EXPECT_EQ(orphan.status, 409);
  EXPECT_EQ(orphan.error_where(), "owner_id");
  // PATCH changes only what is given.
  auto p = send(verb::patch, "/api/v1/devices/d1", R"({"os_version":"16.4"})");
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(p.json().at("os_version").as_string(), "16.4");
  EXPECT_EQ(p.json().at("model").as_string(), "iPhone 13");
  // PUT replaces.
  auto u = send(verb::put, "/api/v1/devices/d1", R"({"os_family":"Android","vendor":"Samsung","owner_id":"p1"})");
  ASSERT_EQ(u.status, 200) << u.body;
  EXPECT_EQ(u.json().at("model").as_string(), "");
  EXPECT_EQ(u.json().at("apps").as_array().size(), 0u);
  // The id in the body must match the URL.
  EXPECT_EQ(send(verb::patch, "/api/v1/devices/d1", R"({"id":"other"})").status, 400);
  EXPECT_EQ(send(verb::put, "/api/v1/devices/nope", R"({"os_family":"iOS"})").status, 404);
  EXPECT_EQ(send(verb::patch, "/api/v1/devices/nope", R"({"os_family":"iOS"})").status, 404);
  // Deleting a person who owns a device, or a unit with people, is a conflict.
  EXPECT_EQ(send(verb::delete_, "/api/v1/people/p1", "").status, 409);
  EXPECT_EQ(send(verb::delete_, "/api/v1/org-units/hq.it", "").status, 409);
  // Delete.
  EXPECT_EQ(send(verb::delete_, "/api/v1/devices/d1", "").status, 204);
  EXPECT_EQ(get("/api/v1/devices/d1").status, 404);
  EXPECT_EQ(send(verb::delete_, "/api/v1/devices/d1", "").status, 404);
  EXPECT_EQ(send(verb::delete_, "/api/v1/people/p1", "").status, 204);

  // Every change is in the audit log, with the token's name and before/after.
  auto a = get("/api/v1/audit?limit=100");
  ASSERT_EQ(a.status, 200);
  std::vector<std::string> actions;
  auto av = a.json();
  for (const auto& e : av.at("items").as_array()) {
    auto action = std::string(e.at("action").as_string());
    actions.push_back(action);
    if (action.starts_with("device.")) {
      EXPECT_EQ(e.at("actor").as_string(), "token:test");
    }
    if (action == "device.update") {
      EXPECT_TRUE(e.at("before").is_object());
      EXPECT_TRUE(e.at("after").is_object());
    }
    if (action == "device.delete") {
      EXPECT_TRUE(e.at("after").is_null());
    }
  }
  std::vector<std::string> want = {"device.create", "device.update", "device.update", "device.delete",
                                   "person.delete"};
  ASSERT_GE(actions.size(), want.size());
  std::vector<std::string> got_tail(actions.end() - static_cast<long>(want.size()), actions.end());
  EXPECT_EQ(got_tail, want);
}

TEST_F(ApiTest, PaginationWalksEveryDeviceOnce) {
  seed_people();
  for (int i = 0; i < 25; ++i) {
    auto body = json::serialize(json::object{{"id", "dev-" + std::to_string(100 + i)},
                                             {"owner_id", i % 2 ? "p1" : "p2"},
                                             {"os_family", i % 3 ? "Android" : "iOS"}});
    ASSERT_EQ(send(verb::post, "/api/v1/devices", body).status, 201);
  }
  std::vector<std::string> ids;
  std::string cursor;
  int pages = 0;
  do {
    auto r = get("/api/v1/devices?limit=7" + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(r.status, 200) << r.body;
    auto v = r.json();
    for (const auto& d : v.at("items").as_array()) ids.emplace_back(d.at("id").as_string());
    cursor = v.at("next_cursor").is_null() ? "" : std::string(v.at("next_cursor").as_string());
    ASSERT_LT(++pages, 10);
  } while (!cursor.empty());
  EXPECT_EQ(pages, 4);
  ASSERT_EQ(ids.size(), 25u);
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 25u);
}

TEST_F(ApiTest, Filters) {
  seed_people();
  struct Dev {
    const char* id;
    const char* owner;
    const char* family;
    const char* type;
    bool managed;
    const char* last_seen;
    const char* model;
  } devs[] = {
      {"a1", "p1", "iOS", "phone", true, "2023-02-27T10:00:00Z", "iPhone 13"},
      {"a2", "p1", "iPadOS", "tablet", false, "2023-01-10T10:00:00Z", "iPad Air"},
      {"a3", "p2", "Android", "phone", true, "2023-02-20T10:00:00Z", "Galaxy A52"},
      {"a4", "p2", "iOS", "phone", false, "2022-12-01T10:00:00Z", "iPhone 11"},
      {"a5", "p1", "Windows", "desktop", true, "2023-02-28T10:00:00Z", "ThinkPad T14"},
  };
  for (const auto& d : devs) {
    auto body = json::serialize(json::object{{"id", d.id},
                                             {"owner_id", d.owner},
                                             {"os_family", d.family},
                                             {"type", d.type},
                                             {"managed", d.managed},
                                             {"first_seen", "2022-01-01T00:00:00Z"},
                                             {"last_seen", d.last_seen},
                                             {"model", d.model}});
    ASSERT_EQ(send(verb::post, "/api/v1/devices", body).status, 201);
  }
  struct Case {
    std::string query;
    std::vector<std::string> want;
  } cases[] = {
      {"os_family=iOS", {"a1", "a4"}},
      {"type=tablet", {"a2"}},
      {"managed=true", {"a1", "a3", "a5"}},
      {"managed=false&os_family=iOS", {"a4"}},
      {"org_unit=/hq", {"a1", "a2", "a5"}},
      {"org_unit=/branch", {"a3", "a4"}},
      {"org_unit=/hq/it&type=phone", {"a1"}},
      {"last_seen_before=2023-02-01T00:00:00Z", {"a2", "a4"}},
      {"last_seen_after=2023-02-25", {"a1", "a5"}},
      {"search=galaxy", {"a3"}},
      {"owner_id=p2", {"a3", "a4"}},
      {"source=import", {"a1", "a2", "a3", "a4", "a5"}},
      {"source=agent", {}},
  };
  for (const auto& c : cases) {
    auto r = get("/api/v1/devices?" + c.query);
    ASSERT_EQ(r.status, 200) << c.query << ": " << r.body;
    std::vector<std::string> got;
    auto rv = r.json();
    for (const auto& d : rv.at("items").as_array()) got.emplace_back(d.at("id").as_string());
    EXPECT_EQ(got, c.want) << c.query;
  }
  // People and org units.
  auto people = get("/api/v1/people?org_unit=/hq");
  ASSERT_EQ(people.status, 200);
  ASSERT_EQ(people.json().at("items").as_array().size(), 1u);
  EXPECT_EQ(people.json().at("items").at(0).at("id").as_string(), "p1");
  EXPECT_EQ(get("/api/v1/people?search=smirnova").json().at("items").as_array().size(), 1u);
  EXPECT_EQ(get("/api/v1/org-units?org_unit=/hq").json().at("items").as_array().size(), 2u);
}

TEST_F(ApiTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  testing::HttpConnection c("127.0.0.1", port_);
  for (int i = 0; i < 3; ++i) {
    auto r = c.request(verb::get, "/api/v1/devices", "", token_);
    EXPECT_EQ(r.status, 200);
  }
  auto bad = c.request(verb::get, "/api/v1/devices", "", "wrong");
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(c.request(verb::get, "/healthz").status, 200);
}

TEST_F(ApiTest, StopClosesIdleConnectionsAndEnds) {
  testing::HttpConnection idle("127.0.0.1", port_);
  EXPECT_EQ(idle.request(verb::get, "/healthz").status, 200);
  auto t0 = std::chrono::steady_clock::now();
  srv_.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  // The listener is gone.
  EXPECT_THROW(testing::HttpConnection("127.0.0.1", port_), std::exception);
}

TEST_F(ApiTest, InFlightRequestFinishesDuringShutdown) {
  seed_people();
  // Send the head of a request, start shutdown, then finish the body: it is still answered.
  testing::HttpConnection c("127.0.0.1", port_);
  std::string body = R"({"id":"late","os_family":"Linux"})";
  std::string head = "POST /api/v1/devices HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token_ +
                     "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  boost::asio::write(c.stream().socket(), boost::asio::buffer(head));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  srv_.server().stop();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  boost::asio::write(c.stream().socket(), boost::asio::buffer(body));
  boost::beast::flat_buffer buf;
  boost::beast::http::response<boost::beast::http::string_body> res;
  boost::beast::http::read(c.stream(), buf, res);
  EXPECT_EQ(res.result_int(), 201u) << res.body();
  EXPECT_FALSE(res.keep_alive());
  srv_.stop();
  auto n = srv_.store().read([](store::Tx& tx) -> Status {
    auto d = tx.get_device("late");
    if (!d) return fail(d.error());
    return {};
  });
  EXPECT_TRUE(n) << n.error().to_string();
}

}  // namespace
}  // namespace fw
