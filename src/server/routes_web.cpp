// The dashboard's routes (see routes_web.h): embedded files, sessions, CSV export.
// Handlers run on I/O threads; they share only the SessionStore (thread-safe) and Services.
#include "server/routes_web.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include <fmt/format.h>

#include "server/routes.h"
#include "server/web_assets.h"
#include "server/web_csv.h"
#include "service/tokens.h"

namespace fw::server {

namespace json = boost::json;

namespace {

constexpr size_t kExportMaxRows = 2'000'000;
constexpr size_t kExportMaxBytes = 512u << 20;

bool changes_state(Verb m) { return m != Verb::get && m != Verb::head && m != Verb::options; }

bool request_is_tls(const Request& req) {
  // Behind a TLS-terminating proxy that says so, or on a TLS listener (the server sets it).
  return req.header("x-forwarded-proto") == "https" || req.header(":scheme") == "https";
}

std::string timezone_of(Services& s) {
  std::string tz = "Europe/Moscow";
  (void)s.store.read([&](store::Tx& tx) -> Status {
    if (auto v = tx.get_setting("timezone"); v && !v->empty()) tz = *v;
    return {};
  });
  return tz;
}

json::object session_json(const Session& sess, Services& s) {
  return {{"actor", sess.actor},
          {"role", std::string(model::to_string(sess.role))},
          {"expires_at", format_time(sess.expires_at)},
          {"csrf_token", sess.csrf},
          {"timezone", timezone_of(s)}};
}

Result<Session> current_session(const Request& req, SessionStore& sessions) {
  const std::string id = cookie_value(req.header("cookie"), kSessionCookie);
  if (id.empty()) return fail(Errc::unauthenticated, "not signed in", "cookie");
  FW_TRY(auto sess, sessions.find(id));
  if (!sess) return fail(Errc::unauthenticated, "the session has expired; sign in again", "cookie");
  return *sess;
}

Result<Response> post_session(Request& req, Services& s, SessionStore& sessions) {
  if (!req.header("content-type").starts_with("application/json"))
    return fail(Errc::invalid_argument, "expected Content-Type: application/json", "content-type");
  FW_TRY(json::value body, parse_body(req));
  const json::object* o = body.if_object();
  if (!o) return fail(Errc::invalid_argument, "expected a JSON object", "body");
  for (const auto& kv : *o)
    if (kv.key() != "token") return fail(Errc::invalid_argument, "unknown field", std::string(kv.key()));
  const json::value* tok = o->if_contains("token");
  if (!tok || !tok->is_string() || tok->get_string().empty() || tok->get_string().size() > 256)
    return fail(Errc::invalid_argument, "expected the admin token as a string", "token");
  FW_TRY(model::ApiToken t, service::authenticate(s.store, std::string_view(tok->get_string()), s.clock.now()));
  if (t.role == model::Role::agent) return fail(Errc::permission_denied, "agent tokens cannot sign in", "token");
  FW_TRY(Session sess, sessions.create(t));
  Response r = json_response(201, session_json(sess, s));
  r.headers.emplace_back("Set-Cookie", session_set_cookie(sess, s.clock.now(), request_is_tls(req)));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Result<Response> get_session(Request& req, Services& s, SessionStore& sessions) {
  FW_TRY(Session sess, current_session(req, sessions));
  Response r = json_response(200, session_json(sess, s));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Result<Response> delete_session(Request& req, SessionStore& sessions) {
  if (auto sess = current_session(req, sessions)) {
    if (!csrf_ok(*sess, req.header("x-csrf-token")))
      return fail(Errc::permission_denied, "missing or wrong CSRF token", "X-CSRF-Token");
    FW_TRY_STATUS(sessions.erase(sess->id));
  }
  Response r = no_content();
  r.headers.emplace_back("Set-Cookie", session_clear_cookie(request_is_tls(req)));
  return r;
}

// Runs the list route /api/v1/{list} page by page with the request's filters and turns
// every item into a CSV row.
Result<Response> export_csv(Request& req, const Router& router) {
  const std::string list(req.param("list"));
  const std::string path = "/api/v1/" + list;
  Router::Match m = router.match(Verb::get, path);
  if (!m.route || m.route->access == Access::public_ || m.route->pattern != path)
    return fail(Errc::not_found, "no such list", "list");
  Request inner = req;
  inner.path = path;
  inner.target = path;
  inner.params = m.params;
  std::erase_if(inner.query, [](const auto& kv) { return kv.first == "cursor" || kv.first == "limit" || kv.first == "format"; });
  const size_t base = inner.query.size();
  CsvWriter csv;
  std::string cursor;
  for (;;) {
    inner.query.resize(base);
    inner.query.emplace_back("limit", "1000");
    if (!cursor.empty()) inner.query.emplace_back("cursor", cursor);
    FW_TRY(Response page, m.route->handler(inner));
    if (page.status != 200) return fail(Errc::internal, fmt::format("the list answered {}", page.status), path);
    boost::system::error_code ec;
    json::value v = json::parse(page.body, ec);
    const json::object* o = ec ? nullptr : v.if_object();
    const json::array* items = o && o->if_contains("items") ? o->at("items").if_array() : nullptr;
    if (!items) return fail(Errc::invalid_argument, "this endpoint is not a list", "list");
    for (const auto& it : *items)
      if (const auto* io = it.if_object()) csv.add(*io);
    if (csv.rows() > kExportMaxRows || csv.bytes() > kExportMaxBytes)
      return fail(Errc::too_large, "the export is too large; narrow the filters", "list");
    const json::value* next = o->if_contains("next_cursor");
    if (!next || !next->is_string() || next->get_string().empty()) break;
    cursor = std::string(next->get_string());
  }
  Response r;
  r.content_type = "text/csv; charset=utf-8";
  r.body = csv.finish();
  r.headers.emplace_back("Content-Disposition", fmt::format("attachment; filename=\"{}.csv\"", list));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

// ?org_unit=&os_family=&type=&source=&managed=&search=&owner_id= -> DeviceFilter (the
// devices list's filters, parsed by the shared device_filter of http.h).
Result<store::DeviceFilter> count_filter(const Request& req) {
  FW_TRY_STATUS(check_query(req, {"org_unit", "owner_id", "os_family", "type", "source", "managed", "search"}));
  return device_filter(req);
}

Result<Response> device_count(Request& req, Services& s) {
  FW_TRY(store::DeviceFilter f, count_filter(req));
  int64_t n = 0;
  FW_TRY_STATUS(s.store.read([&](store::Tx& tx) -> Status {
    FW_TRY(n, tx.count_devices(f));
    return {};
  }));
  return json_response(200, json::object{{"total", n}});
}

Result<Response> device_sightings(Request& req, Services& s) {
  FW_TRY_STATUS(check_query(req, {}));
  json::array items;
  FW_TRY_STATUS(s.store.read([&](store::Tx& tx) -> Status {
    FW_TRY(auto d, tx.get_device(req.param("id")));
    FW_TRY(auto xs, tx.list_sightings(d.id, "", 100));
    for (const auto& x : xs)
      items.push_back(json::object{{"user", x.user}, {"person_id", x.person_id}, {"user_agent", x.user_agent},
                                   {"activesync_id", x.activesync_id}, {"client_ip", x.client_ip},
                                   {"os_family", x.os_family}, {"os_version", x.os_version},
                                   {"first_seen", format_time(x.first_seen)}, {"last_seen", format_time(x.last_seen)},
                                   {"count", x.count}});
    return {};
  }));
  return json_response(200, json::object{{"items", std::move(items)}});
}

// A device's finding history: every status change of its findings, newest first (the page
// shows the times in the organisation's zone). ?limit= 1..1000, default 200.
Result<Response> device_history(Request& req, Services& s) {
  FW_TRY_STATUS(check_query(req, {"limit"}));
  FW_TRY(store::PageRequest page, page_request(req));
  if (!req.query_value("limit")) page.limit = 200;
  json::array items;
  FW_TRY_STATUS(s.store.read([&](store::Tx& tx) -> Status {
    FW_TRY(auto d, tx.get_device(req.param("id")));  // 404 for an unknown device
    FW_TRY(auto cs, tx.list_device_finding_changes(d.id, page.limit));
    for (const auto& c : cs)
      items.push_back(json::object{{"policy_id", c.policy_id},
                                   {"rule_key", c.rule_key},
                                   {"status", std::string(store::to_string(c.status))},
                                   {"person_id", c.person_id},
                                   {"at", format_time(c.at)}});
    return {};
  }));
  return json_response(200, json::object{{"items", std::move(items)}});
}

// The phone and tablet platform mix, week by week: a device counts in the week ending at t
// when first_seen <= t and last_seen >= t - 14 days (it was in use around then). One scan of
// the inventory, cached for five minutes (the figure moves slowly; the scan is the cost).
class PlatformMix {
 public:
  Result<std::string> get(Services& s, int weeks) {
    const Time now = s.clock.now();
    {
      std::lock_guard lock(mu_);
      auto it = cache_.find(weeks);
      if (it != cache_.end() && now - it->second.at < std::chrono::minutes(5) && now >= it->second.at)
        return it->second.body;
    }
    constexpr int64_t kDay = 86400;
    struct Seen {
      int64_t first, last;
      std::string family;
    };
    std::vector<Seen> seen;
    int64_t latest = 0;
    // Three columns of each phone and tablet (no apps or facts): one light statement each.
    FW_TRY_STATUS(s.store.read([&](store::Tx& tx) -> Status {
      for (auto type : {model::DeviceType::phone, model::DeviceType::tablet})
        FW_TRY_STATUS(tx.scan_device_spans(type, [&](std::string_view family, Time first, Time last) -> Status {
          seen.push_back({to_unix(first), to_unix(last), family.empty() ? "Other" : std::string(family)});
          latest = std::max(latest, seen.back().last);
          return {};
        }));
      return {};
    }));
    // The series ends at the newest sighting (an inventory imported long ago still shows its
    // own recent weeks), never after now.
    const int64_t end = std::min(to_unix(now), latest > 0 ? latest : to_unix(now));
    std::vector<int64_t> points;
    for (int w = weeks - 1; w >= 0; --w) points.push_back(end - int64_t{w} * 7 * kDay);
    std::map<std::string, std::vector<int64_t>> counts;
    for (const auto& d : seen) {
      auto& row = counts[d.family];
      if (row.empty()) row.assign(points.size(), 0);
      for (size_t i = 0; i < points.size(); ++i)
        if (d.first <= points[i] && d.last >= points[i] - 14 * kDay) ++row[i];
    }
    std::vector<std::pair<int64_t, std::string>> order;  // most devices now first
    for (const auto& [fam, row] : counts) order.emplace_back(-row.back(), fam);
    std::sort(order.begin(), order.end());
    json::array families, series;
    for (const auto& [_, fam] : order) families.emplace_back(fam);
    for (size_t i = 0; i < points.size(); ++i) {
      json::object c;
      for (const auto& [fam, row] : counts) c[fam] = row[i];
      series.push_back(json::object{{"date", format_time(from_unix(points[i]))}, {"counts", std::move(c)}});
    }
    std::string body = json::serialize(json::object{
        {"method", "phones and tablets in use in the week: first seen before its end, last seen at most 14 days before"},
        {"families", std::move(families)},
        {"series", std::move(series)}});
    body += '\n';
    std::lock_guard lock(mu_);
    cache_[weeks] = {now, body};
    return body;
  }

 private:
  struct Entry {
    Time at{};
    std::string body;
  };
  std::mutex mu_;
  std::map<int, Entry> cache_;  // guarded by mu_
};

Result<Response> platform_mix(Request& req, Services& s, PlatformMix& mix) {
  FW_TRY_STATUS(check_query(req, {"weeks"}));
  int weeks = 12;
  if (auto v = req.query_value("weeks")) {
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), weeks);
    if (ec != std::errc() || p != v->data() + v->size() || weeks < 2 || weeks > 104)
      return fail(Errc::invalid_argument, "expected a number of weeks from 2 to 104", "weeks");
  }
  FW_TRY(std::string body, mix.get(s, weeks));
  Response r;
  r.body = std::move(body);
  return r;
}

Result<Response> static_file(Request& req) {
  if (req.path.starts_with("/api/")) return fail(Errc::not_found, "no such endpoint", req.path);
  const WebAsset* a = find_web_asset(req.path);
  if (!a) return fail(Errc::not_found, "no such file", req.path);
  Response r;
  for (const auto& h : web_security_headers()) r.headers.emplace_back(h.name, h.value);
  r.headers.emplace_back("ETag", a->etag);
  r.headers.emplace_back("Cache-Control", "no-cache");
  if (req.header("if-none-match") == a->etag) {
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  r.content_type = a->content_type;
  r.body = a->body;
  return r;
}

}  // namespace

Status sort_param(const Request& req, store::PageRequest& p) {
  if (auto v = req.query_value("sort")) {
    if (v->size() > 64) return fail(Errc::invalid_argument, "sort field too long", "sort");
    p.sort = std::string(*v);
  }
  return {};
}

Result<std::optional<model::ApiToken>> web_session_auth(const Request& req, SessionStore& sessions) {
  const std::string id = cookie_value(req.header("cookie"), kSessionCookie);
  if (id.empty()) return std::optional<model::ApiToken>{};
  FW_TRY(auto sess, sessions.find(id));
  if (!sess) return fail(Errc::unauthenticated, "the session has expired; sign in again", "cookie");
  if (changes_state(req.method) && !csrf_ok(*sess, req.header("x-csrf-token")))
    return fail(Errc::permission_denied, "missing or wrong CSRF token", "X-CSRF-Token");
  model::ApiToken t;
  t.id = sess->token_id;
  t.name = sess->actor;
  t.role = sess->role;
  t.scope_path = sess->scope_path;
  t.expires_at = sess->expires_at;
  return std::optional<model::ApiToken>{std::move(t)};
}

void add_web_routes(Router& r, Services& s) {
  // Sessions are rows of the store; this object only holds the references.
  auto sessions = std::make_shared<SessionStore>(s.store, s.clock);
  r.add(Verb::post, "/api/v1/session", Access::public_,
        [&s, sessions](Request& q) { return post_session(q, s, *sessions); });
  r.add(Verb::get, "/api/v1/session", Access::public_,
        [&s, sessions](Request& q) { return get_session(q, s, *sessions); });
  r.add(Verb::delete_, "/api/v1/session", Access::public_,
        [sessions](Request& q) { return delete_session(q, *sessions); });
  r.add(Verb::get, "/api/v1/export/{list}", Access::read, [&r](Request& q) { return export_csv(q, r); });
  r.add(Verb::get, "/api/v1/dashboard/device-count", Access::read, [&s](Request& q) { return device_count(q, s); });
  r.add(Verb::get, "/api/v1/dashboard/devices/{id}/sightings", Access::read,
        [&s](Request& q) { return device_sightings(q, s); });
  r.add(Verb::get, "/api/v1/dashboard/devices/{id}/history", Access::read,
        [&s](Request& q) { return device_history(q, s); });
  auto mix = std::make_shared<PlatformMix>();
  r.add(Verb::get, "/api/v1/dashboard/platform-mix", Access::read,
        [&s, mix](Request& q) { return platform_mix(q, s, *mix); });
  s.alt_auth = [sessions](const Request& q) { return web_session_auth(q, *sessions); };
  if (!r.fallback()) r.set_fallback([](Request& q) { return static_file(q); });
}

}  // namespace fw::server
