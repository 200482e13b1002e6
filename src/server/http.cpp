// Request/response helpers for route handlers (see http.h). Pure.
#include "server/http.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "service/model_json.h"

namespace fw::server {

std::optional<std::string_view> Request::query_value(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return std::string_view(v);
  }
  return std::nullopt;
}

std::string_view Request::header(std::string_view lower_name) const {
  for (auto it = headers.rbegin(); it != headers.rend(); ++it) {
    if (it->first.size() == lower_name.size() &&
        std::equal(lower_name.begin(), lower_name.end(), it->first.begin(),
                   [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); }))
      return it->second;
  }
  return {};
}

std::string_view Request::param(std::string_view name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string_view() : std::string_view(it->second);
}

std::string Request::actor() const { return token ? "token:" + token->name : "anonymous"; }

Response json_response(unsigned status, const boost::json::value& v) {
  Response r;
  r.status = status;
  r.body = boost::json::serialize(v);
  r.body += '\n';
  return r;
}

Response json_object_response(unsigned status, boost::json::object&& o) {
  Response r;
  r.status = status;
  r.json.emplace(std::move(o));
  return r;
}

Response no_content() {
  Response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

Result<boost::json::value> parse_body(const Request& req) {
  if (req.body.empty()) return fail(Errc::invalid_argument, "the request needs a JSON body", "body");
  return service::parse_json(req.body, {.max_bytes = 1 << 20, .max_depth = 32});
}

Status check_query(const Request& req, std::initializer_list<std::string_view> allowed) {
  for (const auto& [k, v] : req.query) {
    if (k.empty()) {
      if (v.empty()) continue;  // a stray '&' ("?&limit=1")
      return fail(Errc::invalid_argument, "a query parameter has a value but no name (\"=" + v + "\")", "query");
    }
    bool ok = false;
    for (auto a : allowed) ok = ok || a == k;
    if (!ok) return fail(Errc::invalid_argument, "unknown query parameter", k);
  }
  return {};
}

Result<store::PageRequest> page_request(const Request& req) {
  store::PageRequest p;
  if (auto l = req.query_value("limit")) {
    int n = 0;
    auto [ptr, ec] = std::from_chars(l->data(), l->data() + l->size(), n);
    if (ec != std::errc() || ptr != l->data() + l->size() || n < 1 || n > 1000) {
      return fail(Errc::invalid_argument, "expected a number from 1 to 1000", "limit");
    }
    p.limit = n;
  }
  if (auto c = req.query_value("cursor")) {
    if (c->size() > 512) return fail(Errc::invalid_argument, "cursor too long", "cursor");
    p.cursor = std::string(*c);
  }
  return p;
}

Result<std::optional<bool>> query_bool(const Request& req, std::string_view name) {
  auto v = req.query_value(name);
  if (!v) return std::optional<bool>{};
  if (*v == "true" || *v == "1") return std::optional<bool>{true};
  if (*v == "false" || *v == "0") return std::optional<bool>{false};
  return fail(Errc::invalid_argument, "expected true or false", std::string(name));
}

Result<std::optional<Time>> query_time(const Request& req, std::string_view name) {
  auto v = req.query_value(name);
  if (!v) return std::optional<Time>{};
  auto t = parse_time(*v);
  if (!t) return fail(Errc::invalid_argument, "expected an RFC 3339 time: " + t.error().message, std::string(name));
  return std::optional<Time>{*t};
}

Result<store::DeviceFilter> device_filter(const Request& req) {
  store::DeviceFilter f;
  if (auto v = req.query_value("org_unit")) f.subtree = std::string(*v);
  if (auto v = req.query_value("owner_id")) f.owner_id = std::string(*v);
  if (auto v = req.query_value("os_family")) f.os_family = std::string(*v);
  if (auto v = req.query_value("search")) f.search = std::string(*v);
  if (auto v = req.query_value("type")) {
    f.type = model::parse_device_type(*v);
    if (!f.type) return fail(Errc::invalid_argument, "expected one of phone, tablet, desktop, other", "type");
  }
  if (auto v = req.query_value("source")) {
    f.source = model::parse_device_source(*v);
    if (!f.source) return fail(Errc::invalid_argument, "expected one of agent, log, import, exchange", "source");
  }
  FW_TRY(f.managed, query_bool(req, "managed"));
  FW_TRY(f.seen_before, query_time(req, "last_seen_before"));
  FW_TRY(f.seen_after, query_time(req, "last_seen_after"));
  return f;
}

}  // namespace fw::server
