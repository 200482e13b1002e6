// Private to store/: one SQLite connection as a sql::Conn, with its prepared statements
// cached by SQL text for the connection's lifetime. Not thread-safe: the store hands a
// connection to one transaction (one thread) at a time.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>
#include <unordered_map>

#include "store/sql/db.h"

namespace fw::store::sql {

class SqliteConn final : public Conn {
 public:
  // Opens `path` (read-write and created if missing, or read-only) and applies the
  // per-connection settings (see docs/storage.md): foreign_keys=ON, busy_timeout,
  // case_sensitive_like=ON; the writer also sets journal_mode=WAL and synchronous=FULL.
  static Result<std::unique_ptr<SqliteConn>> open(const std::string& path, bool writer);
  ~SqliteConn() override;
  SqliteConn(const SqliteConn&) = delete;
  SqliteConn& operator=(const SqliteConn&) = delete;

  Result<int64_t> exec(std::string_view sql, std::span<const Param> params) override;
  Status query(std::string_view sql, std::span<const Param> params, const RowFn& fn) override;
  Status exec_script(std::string_view sql) override;
  Dialect dialect() const override { return Dialect::sqlite; }
  using Conn::exec;
  using Conn::query;

  sqlite3* raw() { return db_; }  // for tests and the benchmark baseline

 private:
  explicit SqliteConn(sqlite3* db) : db_(db) {}
  Result<sqlite3_stmt*> prepare(std::string_view sql, std::span<const Param> params);
  Error error(int rc, std::string_view sql) const;

  sqlite3* db_;
  // Looked up by the SQL text as a view: no string is made per statement run.
  struct SqlHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, sqlite3_stmt*, SqlHash, std::equal_to<>> cache_;
};

}  // namespace fw::store::sql
