// End-to-end tests of API token management (issue 7): GET/POST /api/v1/tokens and
// DELETE /api/v1/tokens/{id} over real HTTP on 127.0.0.1 with a real SQLite file (admin only,
// audited; a revoked token fails at once and its dashboard sessions end), and the CLI
// `fleetward token create|list|revoke` on a database file. Single-threaded test code.
#include <gtest/gtest.h>

#include <regex>

#include "support/http_client.h"
#include "support/run_cli.h"
#include "support/test_server.h"

namespace fw {
namespace {

namespace json = boost::json;
using boost::beast::http::verb;
using testing::http_request;
using testing::HttpResult;

class TokensApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(srv_.open("fw-tokens-api"));
    auto a = srv_.token("root", model::Role::admin);
    auto o = srv_.token("ops", model::Role::operator_);
    auto u = srv_.token("audit", model::Role::auditor);
    ASSERT_TRUE(a && o && u);
    admin_ = *a;
    operator_ = *o;
    auditor_ = *u;
    ASSERT_TRUE(srv_.start());
  }
  HttpResult call(verb m, const std::string& target, const std::string& body = "", const std::string& token = "-",
                  const std::map<std::string, std::string>& extra = {}) {
    std::map<std::string, std::string> h = extra;
    if (!body.empty()) h.emplace("Content-Type", "application/json");
    return http_request(srv_.port(), m, target, body, token == "-" ? admin_ : token, h);
  }

  SystemClock clock_;
  testing::TestServer srv_{clock_};
  std::string admin_, operator_, auditor_;
};

TEST_F(TokensApiTest, CreateListUseRevoke) {
  auto c = call(verb::post, "/api/v1/tokens", R"({"name":"night shift","role":"operator","expires_in":"30d"})");
  ASSERT_EQ(c.status, 201) << c.body;
  const json::object made = c.json().as_object();
  const std::string id(made.at("id").as_string());
  const std::string secret(made.at("secret").as_string());
  EXPECT_EQ(made.at("role").as_string(), "operator");
  EXPECT_FALSE(made.at("expires_at").is_null());
  EXPECT_TRUE(secret.starts_with("fw_"));

  // Listed (four tokens now), never with a secret or its hash.
  auto l = call(verb::get, "/api/v1/tokens");
  ASSERT_EQ(l.status, 200) << l.body;
  EXPECT_EQ(l.json().at("items").as_array().size(), 4u);
  EXPECT_EQ(l.body.find(secret), std::string::npos);
  EXPECT_EQ(l.body.find("secret"), std::string::npos);

  // The new token works, and signs in to the dashboard.
  EXPECT_EQ(call(verb::get, "/api/v1/devices?limit=1", "", secret).status, 200);
  auto s = call(verb::post, "/api/v1/session", json::serialize(json::object{{"token", secret}}), "");
  ASSERT_EQ(s.status, 201) << s.body;
  const std::string set_cookie = s.headers["set-cookie"];
  std::smatch m;
  ASSERT_TRUE(std::regex_search(set_cookie, m, std::regex("fw_session=([0-9a-f]+)"))) << set_cookie;
  const std::string cookie = "fw_session=" + m[1].str();
  EXPECT_EQ(call(verb::get, "/api/v1/session", "", "", {{"Cookie", cookie}}).status, 200);
  EXPECT_EQ(call(verb::get, "/api/v1/devices?limit=1", "", "", {{"Cookie", cookie}}).status, 200);

  // Revoked: the API refuses it on the next request and its session is gone.
  auto r = call(verb::delete_, "/api/v1/tokens/" + id);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json().at("revoked").as_bool(), true);
  EXPECT_EQ(r.json().at("sessions_ended").as_int64(), 1);
  EXPECT_EQ(call(verb::get, "/api/v1/devices?limit=1", "", secret).status, 401);
  EXPECT_EQ(call(verb::get, "/api/v1/session", "", "", {{"Cookie", cookie}}).status, 401);
  EXPECT_EQ(call(verb::get, "/api/v1/devices?limit=1", "", "", {{"Cookie", cookie}}).status, 401);
  // Signing in again with it fails; the list shows it revoked; the admin still works.
  EXPECT_EQ(call(verb::post, "/api/v1/session", json::serialize(json::object{{"token", secret}}), "").status, 401);
  bool seen = false;
  const json::value listed = call(verb::get, "/api/v1/tokens").json();
  for (const auto& t : listed.at("items").as_array())
    if (t.at("id").as_string() == id) {
      seen = true;
      EXPECT_TRUE(t.at("revoked").as_bool());
    }
  EXPECT_TRUE(seen);
  // Revoking again is fine; an unknown id is 404.
  EXPECT_EQ(call(verb::delete_, "/api/v1/tokens/" + id).status, 200);
  EXPECT_EQ(call(verb::delete_, "/api/v1/tokens/tok-nope").status, 404);

  // Both changes are in the audit log.
  auto audit = call(verb::get, "/api/v1/audit?limit=100");
  ASSERT_EQ(audit.status, 200);
  EXPECT_NE(audit.body.find("token.create"), std::string::npos);
  EXPECT_NE(audit.body.find("token.revoke"), std::string::npos);
  EXPECT_NE(audit.body.find("token/" + id), std::string::npos);
}

TEST_F(TokensApiTest, OnlyAdminsManageTokens) {
  for (const std::string& tok : {operator_, auditor_}) {
    EXPECT_EQ(call(verb::get, "/api/v1/tokens", "", tok).status, 403);
    EXPECT_EQ(call(verb::post, "/api/v1/tokens", R"({"name":"x","role":"admin"})", tok).status, 403);
  }
  std::string admin_id;
  const json::value all = call(verb::get, "/api/v1/tokens").json();
  for (const auto& t : all.at("items").as_array())
    if (t.at("name").as_string() == "root") admin_id = std::string(t.at("id").as_string());
  ASSERT_FALSE(admin_id.empty());
  EXPECT_EQ(call(verb::delete_, "/api/v1/tokens/" + admin_id, "", operator_).status, 403);
  EXPECT_EQ(call(verb::get, "/api/v1/tokens", "", "").status, 401);
}

TEST_F(TokensApiTest, BadRequestsNameTheField) {
  ASSERT_EQ(call(verb::post, "/api/v1/org-units", R"({"path":"/hq","name":"HQ"})").status, 201);
  const struct {
    std::string body, where;
  } cases[] = {
      {R"({"role":"admin"})", "body.name"},
      {R"({"name":"","role":"admin"})", "name"},
      {R"({"name":"x"})", "body.role"},
      {R"({"name":"x","role":"root"})", "body.role"},
      {R"({"name":"x","role":"agent"})", "role"},
      {R"({"name":"x","role":"manager"})", "scope_path"},
      {R"({"name":"x","role":"admin","scope_path":"/hq"})", "scope_path"},
      {R"({"name":"x","role":"admin","expires_in":"soon"})", "body.expires_in"},
      {R"({"name":"x","role":"admin","colour":"red"})", "body.colour"},
      {R"({"name":7,"role":"admin"})", "body.name"},
      {R"(["x"])", "body"},
  };
  for (const auto& c : cases) {
    auto r = call(verb::post, "/api/v1/tokens", c.body);
    EXPECT_EQ(r.status, 400) << c.body << " " << r.body;
    if (r.status == 400) EXPECT_EQ(r.error_where(), c.where) << c.body;
  }
  auto bad_json = call(verb::post, "/api/v1/tokens", "{\"name\":");
  EXPECT_EQ(bad_json.status, 400);
  // A manager with an existing unit is fine; with an unknown one, 404 naming it.
  EXPECT_EQ(call(verb::post, "/api/v1/tokens", R"({"name":"boss","role":"manager","scope_path":"/hq"})").status, 201);
  EXPECT_EQ(call(verb::post, "/api/v1/tokens", R"({"name":"boss","role":"manager","scope_path":"/nowhere"})").status,
            404);
}

TEST(TokenCli, CreateListRevoke) {
  testing::TestStore store;
  ASSERT_TRUE(store.open("fw-token-cli"));
  const std::string db = (store.dir() / "fleetward.db").string();  // the CLI opens it beside us (WAL)
  using testing::run_cli;
  using testing::shell_quote;
  auto c = run_cli("token create --lang en --db " + shell_quote(db) + " --name 'CI bot' --role auditor --expires 7d");
  ASSERT_EQ(c.code, 0) << c.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(c.out, m, std::regex("Created token (tok-[0-9a-f]+)"))) << c.out;
  const std::string id = m[1].str();
  ASSERT_TRUE(std::regex_search(c.out, m, std::regex("(fw_[0-9a-f]{64})"))) << c.out;
  const std::string secret = m[1].str();

  auto l = run_cli("token list --lang en --db " + shell_quote(db));
  ASSERT_EQ(l.code, 0) << l.out;
  EXPECT_NE(l.out.find(id + "\tCI bot\tauditor\t-\t"), std::string::npos) << l.out;
  EXPECT_NE(l.out.find("\tactive\n"), std::string::npos) << l.out;
  EXPECT_EQ(l.out.find(secret), std::string::npos);
  auto j = run_cli("token list --format json --db " + shell_quote(db));
  ASSERT_EQ(j.code, 0) << j.out;
  EXPECT_EQ(json::parse(j.out).at("items").as_array().size(), 1u);

  auto r = run_cli("token revoke " + id + " --lang en --db " + shell_quote(db));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("Revoked token " + id), std::string::npos);
  l = run_cli("token list --lang en --db " + shell_quote(db));
  EXPECT_NE(l.out.find("\trevoked\n"), std::string::npos) << l.out;

  // The secret no longer authenticates against this database.
  auto a = service::authenticate(*store, secret, SystemClock().now());
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, Errc::unauthenticated);

  // Errors name what the user typed.
  auto bad = run_cli("token create --db " + shell_quote(db) + " --name x --role wizard");
  EXPECT_EQ(bad.code, 2) << bad.out;
  EXPECT_NE(bad.out.find("--role"), std::string::npos) << bad.out;
  bad = run_cli("token create --db " + shell_quote(db) + " --name x --role manager");
  EXPECT_EQ(bad.code, 2) << bad.out;
  EXPECT_NE(bad.out.find("--scope"), std::string::npos) << bad.out;
  bad = run_cli("token revoke tok-nope --db " + shell_quote(db));
  EXPECT_EQ(bad.code, 1) << bad.out;
  EXPECT_NE(bad.out.find("tok-nope"), std::string::npos) << bad.out;
}

}  // namespace
}  // namespace fw
