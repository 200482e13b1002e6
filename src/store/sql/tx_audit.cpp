// SqlTx: the hash-chained audit log, API tokens and settings.
// Audit chain: hash = hex SHA-256 of audit_canonical(e) (format in audit_hash.h and
// docs/storage.md); appends go through the one-row audit_head table, which serialises them.
// Used by the one thread that runs the transaction.
#include <charconv>
#include <string>

#include "store/sql/audit_hash.h"
#include "store/sql/tx.h"

namespace fw::store::sql {

namespace {

constexpr std::string_view kAuditCols =
    "seq, at, actor, action, entity, before_json, after_json, prev_hash, hash";

model::AuditEvent audit_from(const Row& r) {
  model::AuditEvent e;
  e.seq = r.i64(0);
  e.at = r.time(1);
  e.actor = r.text(2);
  e.action = r.text(3);
  e.entity = r.text(4);
  e.before_json = r.text(5);
  e.after_json = r.text(6);
  e.prev_hash = r.text(7);
  e.hash = r.text(8);
  return e;
}

}  // namespace

Result<model::AuditEvent> SqlTx::append_audit(model::AuditEvent e) {
  // Take the head first: on PostgreSQL the UPDATE locks the row until commit, so concurrent
  // appenders queue (or fail serialization and are retried) instead of forking the chain.
  FW_TRY(auto n, exec("UPDATE audit_head SET last_seq = last_seq + 1 WHERE id = 1", {}));
  if (n != 1) return fail(Errc::internal, "audit_head row missing", "audit_head");
  FW_TRY_STATUS(query("SELECT last_seq, last_hash FROM audit_head WHERE id = 1", {}, [&](const Row& r) -> Status {
    e.seq = r.i64(0);
    e.prev_hash = r.text(1);
    return {};
  }));
  e.hash = audit_hash(e);
  FW_TRY_STATUS(exec("INSERT INTO audit_events (" + std::string(kAuditCols) + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     {e.seq, e.at, e.actor, e.action, e.entity, e.before_json, e.after_json, e.prev_hash, e.hash}));
  FW_TRY_STATUS(exec("UPDATE audit_head SET last_hash = ? WHERE id = 1", {e.hash}));
  return e;
}

Result<Page<model::AuditEvent>> SqlTx::list_audit(const PageRequest& p) {
  int limit = clamp_limit(p.limit);
  int64_t after = 0;
  if (!p.cursor.empty()) {
    FW_TRY(auto keys, decode_cursor(p.cursor, 1));
    auto [ptr, ec] = std::from_chars(keys[0].data(), keys[0].data() + keys[0].size(), after);
    if (ec != std::errc{} || ptr != keys[0].data() + keys[0].size())
      return fail(Errc::invalid_argument, "malformed pagination cursor", "cursor");
  }
  Page<model::AuditEvent> page;
  FW_TRY_STATUS(query("SELECT " + std::string(kAuditCols) + " FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?",
                      {after, limit + 1}, [&](const Row& r) -> Status {
                        page.items.push_back(audit_from(r));
                        return {};
                      }));
  if (static_cast<int>(page.items.size()) > limit) {
    page.items.resize(limit);
    page.next_cursor = encode_cursor({std::to_string(page.items.back().seq)});
  }
  return page;
}

Result<int64_t> SqlTx::verify_audit_chain() {
  constexpr int kBatch = 1000;
  int64_t last_seq = 0, count = 0;
  std::string last_hash;
  for (;;) {
    int got = 0;
    FW_TRY_STATUS(query("SELECT " + std::string(kAuditCols) + " FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?",
                        {last_seq, kBatch}, [&](const Row& r) -> Status {
                          auto e = audit_from(r);
                          ++got;
                          std::string where = "audit seq " + std::to_string(e.seq);
                          if (e.seq != last_seq + 1)
                            return fail(Errc::conflict,
                                        "audit log has a gap: expected seq " + std::to_string(last_seq + 1), where);
                          if (e.prev_hash != last_hash)
                            return fail(Errc::conflict, "prev_hash does not match the previous event's hash", where);
                          if (audit_hash(e) != e.hash)
                            return fail(Errc::conflict, "hash does not match the event's contents", where);
                          last_seq = e.seq;
                          last_hash = e.hash;
                          ++count;
                          return {};
                        }));
    if (got < kBatch) break;
  }
  int64_t head_seq = -1;
  std::string head_hash;
  FW_TRY_STATUS(query("SELECT last_seq, last_hash FROM audit_head WHERE id = 1", {}, [&](const Row& r) -> Status {
    head_seq = r.i64(0);
    head_hash = r.text(1);
    return {};
  }));
  if (head_seq != last_seq || head_hash != last_hash)
    return fail(Errc::conflict,
                "audit chain head (seq " + std::to_string(head_seq) + ") does not match the newest event (seq " +
                    std::to_string(last_seq) + "): events were removed or the head was altered",
                "audit seq " + std::to_string(last_seq + 1));
  return count;
}

// ===== tokens =====

Status SqlTx::put_token(const model::ApiToken& t) {
  if (t.id.empty()) return fail(Errc::invalid_argument, "token id is empty", "id");
  if (t.secret_hash.empty()) return fail(Errc::invalid_argument, "token secret hash is empty", "secret_hash");
  FW_TRY_STATUS(exec("INSERT INTO api_tokens (" + std::string(kTokenColumns) +
                         ") VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                         "ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role, "
                         "scope_path = excluded.scope_path, secret_hash = excluded.secret_hash, "
                         "created_at = excluded.created_at, expires_at = excluded.expires_at, revoked = excluded.revoked",
                     {t.id, t.name, model::to_string(t.role), t.scope_path, t.secret_hash, t.created_at,
                      time_or_null(t.expires_at), t.revoked}));
  return {};
}

Result<model::ApiToken> SqlTx::find_token_by_hash(std::string_view secret_hash) {
  model::ApiToken t;
  FW_TRY_STATUS(query_one("SELECT " + std::string(kTokenColumns) + " FROM api_tokens WHERE secret_hash = ?",
                          {secret_hash}, "token", [&](const Row& r) -> Status {
                            FW_TRY(t, token_from_row(r));
                            return {};
                          }));
  return t;
}

// ===== settings =====

Status SqlTx::put_setting(std::string_view key, std::string_view value) {
  if (key.empty()) return fail(Errc::invalid_argument, "setting key is empty", "key");
  FW_TRY_STATUS(exec("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                     {key, value}));
  return {};
}

Result<std::string> SqlTx::get_setting(std::string_view key) {
  std::string v;
  FW_TRY_STATUS(query_one("SELECT value FROM settings WHERE key = ?", {key}, "setting " + std::string(key),
                          [&](const Row& r) -> Status {
                            v = r.text(0);
                            return {};
                          }));
  return v;
}

}  // namespace fw::store::sql
