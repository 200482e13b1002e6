// Tests of route matching, the error -> response mapping, query helpers and --listen parsing.
#include <gtest/gtest.h>

#include "server/errors.h"
#include "server/router.h"
#include "server/server.h"

namespace fw::server {
namespace {

Handler tag(std::string t) {
  return [t](Request&) -> Result<Response> {
    Response r;
    r.body = t;
    return r;
  };
}

TEST(Router, Matches) {
  Router r;
  r.add(Verb::get, "/api/v1/devices", Access::read, tag("list"));
  r.add(Verb::get, "/api/v1/devices/{id}", Access::read, tag("get"));
  r.add(Verb::delete_, "/api/v1/devices/{id}", Access::write, tag("delete"));
  r.add(Verb::get, "/api/v1/reports/{kind}/{id}", Access::read, tag("report"));
  struct Case {
    Verb method;
    const char* path;
    const char* want;  // handler tag, "405" or "404"
    std::map<std::string, std::string, std::less<>> params;
  } cases[] = {
      {Verb::get, "/api/v1/devices", "list", {}},
      {Verb::get, "/api/v1/devices/", "list", {}},  // trailing slash: empty last segment is dropped? no: see below
      {Verb::get, "/api/v1/devices/abc", "get", {{"id", "abc"}}},
      {Verb::head, "/api/v1/devices/abc", "get", {{"id", "abc"}}},
      {Verb::delete_, "/api/v1/devices/abc", "delete", {{"id", "abc"}}},
      {Verb::put, "/api/v1/devices/abc", "405", {}},
      {Verb::get, "/api/v1/reports/a/b", "report", {{"kind", "a"}, {"id", "b"}}},
      {Verb::get, "/api/v1/devices/a/b", "404", {}},
      {Verb::get, "/api/v2/devices", "404", {}},
      {Verb::get, "/", "404", {}},
  };
  for (const auto& c : cases) {
    auto m = r.match(c.method, c.path);
    std::string got = m.route ? "" : (m.path_known ? "405" : "404");
    if (m.route) {
      Request req;
      got = m.route->handler(req)->body;
      EXPECT_EQ(m.params, c.params) << c.path;
    }
    // "/api/v1/devices/" has an empty {id}: it must not reach the get handler.
    if (std::string(c.path) == "/api/v1/devices/") {
      EXPECT_NE(got, "get") << c.path;
      continue;
    }
    EXPECT_EQ(got, c.want) << c.path;
  }
  auto m = r.match(Verb::post, "/api/v1/devices/x");
  EXPECT_EQ(m.allowed, "GET, DELETE");
}

TEST(Errors, StatusAndBody) {
  struct Case {
    Errc code;
    unsigned status;
  } cases[] = {{Errc::invalid_argument, 400}, {Errc::parse_error, 400},   {Errc::unauthenticated, 401},
               {Errc::permission_denied, 403}, {Errc::not_found, 404},     {Errc::already_exists, 409},
               {Errc::conflict, 409},          {Errc::too_large, 413},     {Errc::rate_limited, 429},
               {Errc::internal, 500},          {Errc::unavailable, 503},   {Errc::io_error, 503},
               {Errc::timeout, 504}};
  for (const auto& c : cases) EXPECT_EQ(http_status(c.code), c.status) << to_string(c.code);
  auto r = error_response(Error{Errc::invalid_argument, "unknown field", "colour"});
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.content_type, "application/json");
  auto v = boost::json::parse(r.body);
  EXPECT_EQ(v.at("error").at("code").as_string(), "invalid_argument");
  EXPECT_EQ(v.at("error").at("message").as_string(), "unknown field");
  EXPECT_EQ(v.at("error").at("where").as_string(), "colour");
  auto u = error_response(Error{Errc::unauthenticated, "no", ""});
  ASSERT_EQ(u.headers.size(), 1u);
  EXPECT_EQ(u.headers[0].first, "WWW-Authenticate");
  EXPECT_EQ(error_response(Error{Errc::too_large, "x", ""}, 431).status, 431u);
}

TEST(Http, QueryHelpers) {
  Request req;
  req.query = {{"limit", "50"}, {"cursor", "abc"}, {"managed", "false"}, {"after", "2023-01-01"}};
  auto p = page_request(req);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->limit, 50);
  EXPECT_EQ(p->cursor, "abc");
  EXPECT_EQ(**query_bool(req, "managed"), false);
  EXPECT_FALSE(query_bool(req, "absent")->has_value());
  EXPECT_EQ(**query_time(req, "after"), from_unix(1672531200));
  EXPECT_FALSE(check_query(req, {"limit", "cursor", "managed"}));
  EXPECT_EQ(check_query(req, {"limit", "cursor", "managed"}).error().where, "after");
  // A stray '&' is no parameter; a value without a name is an error naming the query.
  req.query = {{"", ""}, {"limit", "5"}};
  EXPECT_TRUE(check_query(req, {"limit"}));
  req.query = {{"", "x"}};
  ASSERT_FALSE(check_query(req, {"limit"}));
  EXPECT_EQ(check_query(req, {"limit"}).error().where, "query");
}

TEST(Listen, Parse) {
  struct Case {
    const char* text;
    bool ok;
    const char* host;
    uint16_t port;
  } cases[] = {
      {"127.0.0.1:8080", true, "127.0.0.1", 8080}, {"127.0.0.1:0", true, "127.0.0.1", 0},
      {"[::1]:9000", true, "::1", 9000},           {":80", true, "0.0.0.0", 80},
      {"localhost", false, "", 0},                 {"1.2.3.4:99999", false, "", 0},
      {"1.2.3.4:x", false, "", 0},                 {"1.2.3.4:", false, "", 0},
  };
  for (const auto& c : cases) {
    ServerOptions o;
    auto st = parse_listen(c.text, o);
    EXPECT_EQ(st.has_value(), c.ok) << c.text;
    if (c.ok) {
      EXPECT_EQ(o.host, c.host) << c.text;
      EXPECT_EQ(o.port, c.port) << c.text;
    }
  }
}

}  // namespace
}  // namespace fw::server
