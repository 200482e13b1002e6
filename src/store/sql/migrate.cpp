// The migration runner (see migrate.h). Each step is one transaction: lock, read the
// applied version, apply the next file, record it, commit; so a crash or an error never
// leaves a migration half-applied, and concurrent openers on PostgreSQL apply it once.
#include "store/sql/migrate.h"

#include <chrono>
#include <string>

namespace fw::store::sql {

namespace {

constexpr std::string_view kCreateVersionTable =
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

Result<int> read_version(Conn& c) {
  FW_TRY_STATUS(c.exec_script(kCreateVersionTable));
  int64_t v = 0;
  FW_TRY_STATUS(c.query("SELECT COALESCE(MAX(version), 0) FROM schema_version", {},
                        [&](const Row& r) -> Status {
                          v = r.i64(0);
                          return {};
                        }));
  return static_cast<int>(v);
}

// Runs fn inside begin/commit; rolls back on any error.
template <class F>
auto in_tx(Conn& c, const MigrationHooks& hooks, F&& fn) -> decltype(fn()) {
  FW_TRY_STATUS(c.exec_script(hooks.begin));
  auto body = [&]() -> decltype(fn()) {
    if (!hooks.after_begin.empty()) FW_TRY_STATUS(c.exec_script(hooks.after_begin));
    return fn();
  };
  auto r = body();
  if (!r) {
    (void)c.exec_script("ROLLBACK");
    return r;
  }
  if (auto st = c.exec_script("COMMIT"); !st) {
    (void)c.exec_script("ROLLBACK");
    return std::unexpected(st.error());
  }
  return r;
}

// The part of a migration this engine runs: lines "-- @sqlite" / "-- @postgres" start a
// part for one engine, "-- @all" goes back to portable SQL (the file starts portable).
std::string for_dialect(std::string_view sql, Dialect d) {
  std::string out;
  bool keep = true;
  while (!sql.empty()) {
    size_t n = sql.find('\n');
    std::string_view line = sql.substr(0, n == std::string_view::npos ? sql.size() : n + 1);
    sql.remove_prefix(line.size());
    std::string_view t = line;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.remove_suffix(1);
    if (t == "-- @sqlite") keep = d == Dialect::sqlite;
    else if (t == "-- @postgres") keep = d == Dialect::postgres;
    else if (t == "-- @all") keep = true;
    else if (keep) out += line;
  }
  return out;
}

}  // namespace

Result<int> applied_version(Conn& c) {
  return in_tx(c, MigrationHooks{}, [&]() { return read_version(c); });
}

Result<int> migrate(Conn& c, const MigrationHooks& hooks, int target) {
  const auto& all = migrations();
  if (target <= 0 || target > static_cast<int>(all.size())) target = static_cast<int>(all.size());
  for (;;) {
    bool done = false;
    auto step = in_tx(c, hooks, [&]() -> Result<int> {
      FW_TRY(int v, read_version(c));
      if (v > static_cast<int>(all.size())) {
        return fail(Errc::conflict,
                    "database schema version " + std::to_string(v) + " is newer than this binary's " +
                        std::to_string(all.size()),
                    "schema_version");
      }
      if (v >= target) {
        done = true;
        return v;
      }
      const Migration& m = all[static_cast<size_t>(v)];
      if (auto st = c.exec_script(for_dialect(m.sql, c.dialect())); !st) {
        Error e = st.error();
        e.message = "migration " + std::string(m.name) + " failed: " + e.message;
        return std::unexpected(e);
      }
      auto now = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
      FW_TRY_STATUS(c.exec("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                           {m.version, m.name, int64_t{now}}));
      return m.version;
    });
    if (!step) return step;
    if (done) return *step;
  }
}

}  // namespace fw::store::sql
