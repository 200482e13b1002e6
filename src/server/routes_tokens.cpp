// Admin API tokens over HTTP: GET/POST /api/v1/tokens, DELETE /api/v1/tokens/{id}. Admin
// tokens (or an admin's dashboard session) only; creation and revocation are audited by
// service/tokens.cpp. A revoked token fails its next request (every request reads the token)
// and its dashboard sessions are deleted. Handlers are stateless; they run on I/O threads.
#include <boost/json.hpp>

#include "server/routes.h"
#include "service/tokens.h"
#include "util/time.h"

namespace fw::server {

namespace json = boost::json;

namespace {

Status require_admin(const Request& req) {
  if (!req.token || req.token->role != model::Role::admin)
    return fail(Errc::permission_denied, "only admin tokens may manage tokens", "Authorization");
  return {};
}

json::object token_json(const model::ApiToken& t) {
  json::object o{{"id", t.id},
                 {"name", t.name},
                 {"role", std::string(model::to_string(t.role))},
                 {"scope_path", t.scope_path},
                 {"created_at", format_time(t.created_at)},
                 {"revoked", t.revoked}};
  o["expires_at"] = t.expires_at ? json::value(format_time(*t.expires_at)) : json::value(nullptr);
  return o;
}

// {"name": "...", "role": "admin|operator|auditor|manager", "scope_path": "/...",
//  "expires_in": "90d"}: only name and role are required.
Result<service::TokenSpec> spec_from(const json::value& body, Time now) {
  const auto* o = body.if_object();
  if (!o) return fail(Errc::invalid_argument, "expected a JSON object", "body");
  for (const auto& kv : *o) {
    const std::string_view k = kv.key();
    if (k != "name" && k != "role" && k != "scope_path" && k != "expires_in")
      return fail(Errc::invalid_argument, "unknown field (name, role, scope_path, expires_in)",
                  "body." + std::string(k.substr(0, 64)));
  }
  auto text = [&](std::string_view k, bool required) -> Result<std::string> {
    const auto* v = o->if_contains(k);
    if (!v || v->is_null()) {
      if (required) return fail(Errc::invalid_argument, "required", "body." + std::string(k));
      return std::string();
    }
    if (!v->is_string()) return fail(Errc::invalid_argument, "expected a string", "body." + std::string(k));
    return std::string(v->get_string());
  };
  service::TokenSpec spec;
  FW_TRY(spec.name, text("name", true));
  FW_TRY(auto role, text("role", true));
  auto r = model::parse_role(role);
  if (!r) return fail(Errc::invalid_argument, "expected admin, operator, auditor or manager", "body.role");
  spec.role = *r;
  FW_TRY(spec.scope_path, text("scope_path", false));
  FW_TRY(auto expires, text("expires_in", false));
  if (!expires.empty()) {
    auto d = parse_duration(expires);
    if (!d || d->count() <= 0)
      return fail(Errc::invalid_argument, "expected a positive duration such as 90d", "body.expires_in");
    spec.expires_at = now + *d;
  }
  return spec;
}

}  // namespace

void add_token_routes(Router& r, Services& s) {
  r.add(Verb::get, "/api/v1/tokens", Access::read, [&s](Request& req) -> Result<Response> {
    FW_TRY_STATUS(require_admin(req));
    FW_TRY_STATUS(check_query(req, {}));
    json::array items;
    FW_TRY_STATUS(s.store.read([&](store::Tx& tx) -> Status {
      FW_TRY(auto all, tx.list_tokens());
      for (const auto& t : all) items.push_back(token_json(t));
      return {};
    }));
    return json_response(200, json::object{{"items", std::move(items)}});
  });

  r.add(Verb::post, "/api/v1/tokens", Access::write, [&s](Request& req) -> Result<Response> {
    FW_TRY_STATUS(require_admin(req));
    FW_TRY(auto body, parse_body(req));
    const Time now = s.clock.now();
    FW_TRY(auto spec, spec_from(body, now));
    std::optional<service::NewToken> created;
    FW_TRY_STATUS(s.store.write([&](store::Tx& tx) -> Status {
      FW_TRY(auto t, service::create_token(tx, spec, req.actor(), now));
      created = std::move(t);
      return {};
    }));
    json::object o = token_json(created->token);
    o["secret"] = created->secret;  // shown once
    return json_response(201, o);
  });

  r.add(Verb::delete_, "/api/v1/tokens/{id}", Access::write, [&s](Request& req) -> Result<Response> {
    FW_TRY_STATUS(require_admin(req));
    const std::string id(req.param("id"));
    int64_t ended = 0;
    model::ApiToken t;
    FW_TRY_STATUS(s.store.write([&](store::Tx& tx) -> Status {
      FW_TRY(ended, service::revoke_token(tx, id, req.actor(), s.clock.now()));
      FW_TRY(t, tx.get_token(id));
      return {};
    }));
    json::object o = token_json(t);
    o["sessions_ended"] = ended;
    return json_response(200, o);
  });
}

}  // namespace fw::server
