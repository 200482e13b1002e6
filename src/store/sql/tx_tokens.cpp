// SqlTx: listing and revoking API tokens (table api_tokens of migration 0001; put and find
// by hash live in tx_audit.cpp). Revoking also deletes the token's dashboard sessions
// (web_sessions, migration 0007), which find_web_session already refuses through its join.
// Used by the one thread that runs the transaction.
#include "store/sql/tx.h"

namespace fw::store::sql {

const std::string_view kTokenColumns = "id, name, role, scope_path, secret_hash, created_at, expires_at, revoked";

Result<model::ApiToken> token_from_row(const Row& r) {
  model::ApiToken t;
  t.id = r.text(0);
  t.name = r.text(1);
  auto role = model::parse_role(r.text(2));
  if (!role) return fail(Errc::internal, "stored token has a bad role", "token/" + t.id);
  t.role = *role;
  t.scope_path = r.text(3);
  t.secret_hash = r.text(4);
  t.created_at = r.time(5);
  t.expires_at = r.opt_time(6);
  t.revoked = r.flag(7);
  return t;
}

Result<std::vector<model::ApiToken>> SqlTx::list_tokens() {
  std::vector<model::ApiToken> out;
  FW_TRY_STATUS(query("SELECT " + std::string(kTokenColumns) + " FROM api_tokens ORDER BY created_at, id", {},
                      [&](const Row& r) -> Status {
                        FW_TRY(auto t, token_from_row(r));
                        out.push_back(std::move(t));
                        return {};
                      }));
  return out;
}

Result<model::ApiToken> SqlTx::get_token(std::string_view id) {
  model::ApiToken t;
  FW_TRY_STATUS(query_one("SELECT " + std::string(kTokenColumns) + " FROM api_tokens WHERE id = ?", {id},
                          "token " + std::string(id), [&](const Row& r) -> Status {
                            FW_TRY(t, token_from_row(r));
                            return {};
                          }));
  return t;
}

Result<int64_t> SqlTx::revoke_token(std::string_view id) {
  FW_TRY(auto n, exec("UPDATE api_tokens SET revoked = 1 WHERE id = ?", {id}));
  if (n == 0) return fail(Errc::not_found, "token " + std::string(id) + " not found", "id");
  return delete_web_sessions_of_token(id);
}

}  // namespace fw::store::sql
