// Admin API tokens (see tokens.h). Stateless.
#include "service/tokens.h"

#include <fmt/format.h>

#include <boost/json.hpp>

#include "service/crypto.h"

namespace fw::service {

Result<NewToken> create_token(store::Tx& tx, std::string_view name, model::Role role, std::string_view actor,
                              Time now) {
  return create_token(tx, TokenSpec{.name = std::string(name), .role = role}, actor, now);
}

Result<NewToken> create_token(store::Tx& tx, const TokenSpec& spec, std::string_view actor, Time now) {
  const std::string& name = spec.name;
  const model::Role role = spec.role;
  if (name.empty() || name.size() > 128) return fail(Errc::invalid_argument, "1-128 characters", "name");
  if (role == model::Role::agent)
    return fail(Errc::invalid_argument, "agent credentials come from enrolment, not API tokens", "role");
  if (role == model::Role::manager) {
    if (!spec.scope_path.starts_with('/') || spec.scope_path.size() > 1024)
      return fail(Errc::invalid_argument, "a manager token needs the org-unit path it may see (\"/...\")",
                  "scope_path");
    FW_TRY_STATUS(tx.get_org_unit_by_path(spec.scope_path));
  } else if (!spec.scope_path.empty()) {
    return fail(Errc::invalid_argument, "only manager tokens have a scope", "scope_path");
  }
  if (spec.expires_at && *spec.expires_at <= now)
    return fail(Errc::invalid_argument, "the expiry is in the past", "expires_at");
  NewToken out;
  out.secret = "fw_" + random_hex(32);
  out.token.id = "tok-" + random_hex(8);
  out.token.name = name;
  out.token.role = role;
  out.token.scope_path = spec.scope_path;
  out.token.secret_hash = sha256_hex(out.secret);
  out.token.created_at = now;
  out.token.expires_at = spec.expires_at;
  FW_TRY_STATUS(tx.put_token(out.token));
  model::AuditEvent e;
  e.at = now;
  e.actor = std::string(actor);
  e.action = "token.create";
  e.entity = "token/" + out.token.id;
  e.after_json = boost::json::serialize(boost::json::object{
      {"id", out.token.id}, {"name", out.token.name}, {"role", std::string(model::to_string(role))}});
  FW_TRY_STATUS(tx.append_audit(std::move(e)));
  return out;
}

Result<NewToken> create_token(store::Store& store, std::string_view name, model::Role role, std::string_view actor,
                              Time now) {
  std::optional<NewToken> out;
  FW_TRY_STATUS(store.write([&](store::Tx& tx) -> Status {
    FW_TRY(auto t, create_token(tx, name, role, actor, now));
    out = std::move(t);
    return {};
  }));
  return std::move(*out);
}

Result<int64_t> revoke_token(store::Tx& tx, std::string_view id, std::string_view actor, Time now) {
  FW_TRY(auto t, tx.get_token(id));
  FW_TRY(auto sessions, tx.revoke_token(id));
  model::AuditEvent e;
  e.at = now;
  e.actor = std::string(actor);
  e.action = "token.revoke";
  e.entity = "token/" + t.id;
  e.after_json = boost::json::serialize(boost::json::object{
      {"id", t.id}, {"name", t.name}, {"role", std::string(model::to_string(t.role))}, {"sessions_ended", sessions}});
  FW_TRY_STATUS(tx.append_audit(std::move(e)));
  return sessions;
}

Result<model::ApiToken> authenticate(store::Store& store, std::string_view secret, Time now) {
  if (secret.empty() || secret.size() > 256) return fail(Errc::unauthenticated, "invalid token");
  auto hash = sha256_hex(secret);
  std::optional<model::ApiToken> found;
  auto st = store.read([&](store::Tx& tx) -> Status {
    auto t = tx.find_token_by_hash(hash);
    if (!t) {
      if (t.error().code == Errc::not_found) return fail(Errc::unauthenticated, "invalid token");
      return fail(t.error());
    }
    found = std::move(*t);
    return {};
  });
  if (!st) return fail(st.error());
  if (found->revoked || (found->expires_at && *found->expires_at <= now)) {
    return fail(Errc::unauthenticated, "invalid token");
  }
  return std::move(*found);
}

}  // namespace fw::service
