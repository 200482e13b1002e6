// SqlTx: dashboard sign-in sessions (table web_sessions, migration 0007). The session's
// name, role and scope are read from its API token through a join, so a revoked or expired
// token ends its sessions without touching them. Used by the one thread running the transaction.
#include "store/sql/tx.h"

namespace fw::store::sql {

Status SqlTx::put_web_session(const WebSession& s) {
  if (s.id_hash.size() != 64) return fail(Errc::invalid_argument, "session hash must be 64 hex characters", "id_hash");
  if (s.token_id.empty()) return fail(Errc::invalid_argument, "session token id is empty", "token_id");
  FW_TRY_STATUS(exec("INSERT INTO web_sessions (id_hash, csrf, token_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                     {s.id_hash, s.csrf, s.token_id, s.created_at, s.expires_at}));
  return {};
}

Result<WebSession> SqlTx::find_web_session(std::string_view id_hash, Time now) {
  WebSession s;
  std::string role;
  FW_TRY_STATUS(query_one(
      "SELECT s.id_hash, s.csrf, s.token_id, s.created_at, s.expires_at, t.name, t.role, t.scope_path "
      "FROM web_sessions s JOIN api_tokens t ON t.id = s.token_id "
      "WHERE s.id_hash = ? AND s.expires_at > ? AND t.revoked = 0 AND (t.expires_at IS NULL OR t.expires_at > ?)",
      {id_hash, now, now}, "session", [&](const Row& r) -> Status {
        s.id_hash = r.text(0);
        s.csrf = r.text(1);
        s.token_id = r.text(2);
        s.created_at = r.time(3);
        s.expires_at = r.time(4);
        s.token_name = r.text(5);
        role = r.text(6);
        s.scope_path = r.text(7);
        return {};
      }));
  auto parsed = model::parse_role(role);
  if (!parsed) return fail(Errc::internal, "stored token has a bad role", "token/" + s.token_id);
  s.role = *parsed;
  return s;
}

Status SqlTx::delete_web_session(std::string_view id_hash) {
  FW_TRY_STATUS(exec("DELETE FROM web_sessions WHERE id_hash = ?", {id_hash}));
  return {};
}

Result<int64_t> SqlTx::delete_web_sessions_of_token(std::string_view token_id) {
  return exec("DELETE FROM web_sessions WHERE token_id = ?", {token_id});
}

Result<int64_t> SqlTx::purge_web_sessions(Time now) {
  return exec("DELETE FROM web_sessions WHERE expires_at <= ?", {now});
}

}  // namespace fw::store::sql
