// The agent's admin API over real HTTP on 127.0.0.1:0 (real server, SQLite store): the
// asynchronous check-in route, commands queued with POST /api/v1/devices/{id}/commands and
// delivered in check-in answers with their results listed by GET, the lock/wipe right
// (operator 403, admin 201), and revocation (the next check-in gets 401 with a JSON error).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "service/service_test_util.h"
#include "support/http_client.h"
#include "support/test_server.h"

namespace fw {
namespace {

namespace json = boost::json;

// One HTTP/1.1 request on a fresh connection: method ("GET", "POST"), path, bearer token.
testing::HttpResult http(uint16_t port, const std::string& method, const std::string& path, const std::string& bearer,
                         const std::string& body = "") {
  return testing::http_request(port, boost::beast::http::string_to_verb(method), path, body, bearer);
}

struct Fleet {
  SystemClock clock;
  testing::TestServer srv{clock};
  std::string admin, op;  // token secrets
  std::string device, credential;
  int64_t seq = 0;

  Fleet() {
    auto st = srv.open("fw-agent-admin");
    EXPECT_TRUE(st) << st.error().to_string();
    EXPECT_TRUE(srv.store().write([&](store::Tx& tx) -> Status {
      FW_TRY_STATUS(testing::put_org_units(tx, service::Change{"test", clock.now()}, {"/field"}));
      FW_TRY(auto a, service::create_token(tx, "admin", model::Role::admin, "test", clock.now()));
      FW_TRY(auto o, service::create_token(tx, "ops", model::Role::operator_, "test", clock.now()));
      admin = a.secret;
      op = o.secret;
      return {};
    }));
    st = srv.start(1);  // one I/O thread is enough: check-ins do not hold it while they wait
    EXPECT_TRUE(st) << st.error().to_string();
    auto sec = http(port(), "POST", "/api/v1/agent/enroll-secrets", admin,
                    R"({"org_unit_path": "/field", "ttl": "1h", "max_uses": 5})");
    EXPECT_EQ(sec.status, 201) << sec.body;
    auto en = http(port(), "POST", "/api/v1/agent/enroll", "",
                   json::serialize(json::object{{"protocol", 1},
                                                {"enroll_secret", sec.json().at("secret")},
                                                {"hardware_id", "hw-admin-test"}}));
    EXPECT_EQ(en.status, 200) << en.body;
    device = std::string(en.json().at("device_id").as_string());
    credential = std::string(en.json().at("credential").as_string());
  }
  uint16_t port() const { return srv.port(); }

  testing::HttpResult checkin(json::array results = {}) {
    ++seq;
    json::object r{{"protocol", 1},
                   {"device_id", device},
                   {"seq", seq},
                   {"kind", seq == 1 ? "full" : "delta"},
                   {"collected_at", "2027-01-15T08:00:00Z"},
                   {"command_results", std::move(results)}};
    if (seq == 1) {
      r["facts"] = json::object{{"os", {{"family", "Aurora OS"}, {"version", "4.0.2"}}},
                                {"apps", json::array{json::object{{"id", "us.zoom.videomeetings"}, {"version", "5"}}}}};
    } else {
      r["facts"] = json::object{};
      r["base_seq"] = seq - 1;
    }
    return http(port(), "POST", "/api/v1/agent/checkin", credential, json::serialize(r));
  }
};

TEST(AgentAdminApi, CommandsGoOutInCheckinsAndResultsComeBack) {
  Fleet f;
  auto first = f.checkin();
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_TRUE(first.json().at("commands").as_array().empty());

  std::string cmds = "/api/v1/devices/" + f.device + "/commands";
  auto q = http(f.port(), "POST", cmds, f.op, R"({"type": "remove-app", "args": {"app_id": "us.zoom.videomeetings"}})");
  ASSERT_EQ(q.status, 201) << q.body;
  std::string id(q.json().at("id").as_string());
  EXPECT_EQ(q.json().at("state"), "queued");

  auto a = f.checkin();
  ASSERT_EQ(a.status, 200) << a.body;
  auto delivered = a.json().at("commands").as_array();
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(delivered[0].at("id").as_string(), id);
  EXPECT_EQ(delivered[0].at("args").at("app_id"), "us.zoom.videomeetings");

  auto b = f.checkin(json::array{json::object{{"id", id}, {"status", "failed"}, {"exit_code", 1},
                                              {"output", "package not installed"}}});
  ASSERT_EQ(b.status, 200) << b.body;
  EXPECT_TRUE(b.json().at("commands").as_array().empty());
  auto list = http(f.port(), "GET", cmds + "?state=failed", f.op);
  ASSERT_EQ(list.status, 200) << list.body;
  auto items = list.json().at("items").as_array();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].at("result").at("output"), "package not installed");
  EXPECT_EQ(items[0].at("created_by"), "token:ops");

  struct Case {
    const char* name;
    std::string token, path, body;
    int status;
  } cases[] = {
      {"wipe by an operator", f.op, cmds, R"({"type": "wipe"})", 403},
      {"lock by an operator", f.op, cmds, R"({"type": "lock"})", 403},
      {"lock by an admin", f.admin, cmds, R"({"type": "lock"})", 201},
      {"unknown type", f.admin, cmds, R"({"type": "format-disk"})", 400},
      {"unknown field", f.admin, cmds, R"({"type": "refresh", "when": "now"})", 400},
      {"no token", "", cmds, R"({"type": "refresh"})", 401},
      {"unknown device", f.admin, "/api/v1/devices/dev-nope/commands", R"({"type": "refresh"})", 404},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = http(f.port(), "POST", c.path, c.token, c.body);
    EXPECT_EQ(r.status, c.status) << r.body;
    if (r.status >= 400) {
      EXPECT_TRUE(r.json().at("error").is_object()) << r.body;
    }
  }
  EXPECT_EQ(http(f.port(), "GET", cmds + "?state=maybe", f.op).status, 400);
}

TEST(AgentAdminApi, RevokedDeviceGets401WithJsonError) {
  Fleet f;
  ASSERT_EQ(f.checkin().status, 200);
  std::string revoke = "/api/v1/devices/" + f.device + "/revoke";
  EXPECT_EQ(http(f.port(), "POST", revoke, "").status, 401);
  auto r = http(f.port(), "POST", revoke, f.op);
  EXPECT_EQ(r.status, 204) << r.body;
  auto c = f.checkin();
  ASSERT_EQ(c.status, 401) << c.body;
  EXPECT_EQ(c.json().at("error").at("code"), "unauthenticated");
  EXPECT_NE(std::string(c.json().at("error").at("message").as_string()).find("revoked"), std::string::npos) << c.body;
  EXPECT_EQ(http(f.port(), "POST", "/api/v1/devices/dev-nope/revoke", f.op).status, 404);
}

}  // namespace
}  // namespace fw
