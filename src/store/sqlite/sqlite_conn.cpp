// SqliteConn: a sql::Conn over one sqlite3 handle with a per-connection statement cache.
// Used by one thread at a time (opened with SQLITE_OPEN_NOMUTEX; the store serialises).
#include "store/sqlite/sqlite_conn.h"

namespace fw::store::sql {

namespace {

class SqliteRow final : public Row {
 public:
  explicit SqliteRow(sqlite3_stmt* s) : s_(s) {}
  bool is_null(int col) const override { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  int64_t i64(int col) const override { return sqlite3_column_int64(s_, col); }
  std::string text(int col) const override {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    if (!p) return {};
    return std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, col)));
  }

 private:
  sqlite3_stmt* s_;
};

// Resets a cached statement when the call ends, whatever happened.
struct ResetGuard {
  sqlite3_stmt* s;
  ~ResetGuard() {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
};

}  // namespace

Result<std::unique_ptr<SqliteConn>> SqliteConn::open(const std::string& path, bool writer) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_NOMUTEX | (writer ? (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) : SQLITE_OPEN_READONLY);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return fail(Errc::io_error, "cannot open SQLite database: " + msg, path);
  }
  sqlite3_extended_result_codes(db, 1);
  std::unique_ptr<SqliteConn> c(new SqliteConn(db));
  // foreign_keys must be set outside a transaction; busy_timeout covers other processes.
  FW_TRY_STATUS(c->exec_script("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; "
                               "PRAGMA case_sensitive_like = ON;"));
  if (writer) {
    std::string mode;
    FW_TRY_STATUS(c->query("PRAGMA journal_mode = WAL", {}, [&](const Row& r) -> Status {
      mode = r.text(0);
      return {};
    }));
    if (mode != "wal") return fail(Errc::io_error, "cannot switch SQLite to WAL mode (got " + mode + ")", path);
    // FULL: every commit fsyncs the WAL, so an acknowledged write survives power loss.
    // The writer's page cache is 64 MiB (SQLite's default is 2 MiB): the pages that
    // check-ins update (agent_devices and its key index: 15 MiB for 100,000 devices; the
    // devices rows and their last_seen indexes, 70 MiB) mostly stay in memory instead of
    // being read again with pread in every batch. Pages are allocated as they are used.
    FW_TRY_STATUS(c->exec_script("PRAGMA synchronous = FULL; PRAGMA cache_size = -65536;"));
    // The database file grows in 16 MiB steps (fallocate) instead of a page at a time when
    // a checkpoint copies new pages into it: growing the file block by block made the WAL's
    // fsync on the writer wait for the file system's journal behind the checkpoint.
    int chunk = 16 << 20;
    sqlite3_file_control(db, "main", SQLITE_FCNTL_CHUNK_SIZE, &chunk);
  }
  return c;
}

SqliteConn::~SqliteConn() {
  for (auto& [sql, s] : cache_) sqlite3_finalize(s);
  sqlite3_close_v2(db_);
}

Error SqliteConn::error(int rc, std::string_view sql) const {
  std::string msg = sqlite3_errmsg(db_);
  std::string where = "sqlite: " + std::string(sql.substr(0, 80));
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return Error{Errc::already_exists, msg, where};
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return Error{Errc::conflict, msg, where};
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
      return Error{Errc::invalid_argument, msg, where};
    default: break;
  }
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT: return Error{Errc::conflict, msg, where};
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Error{Errc::unavailable, "database is busy: " + msg, std::string(kRetryable)};
    case SQLITE_READONLY: return Error{Errc::internal, "write attempted in a read-only transaction: " + msg, where};
    case SQLITE_ERROR:
    case SQLITE_MISUSE:
    case SQLITE_RANGE: return Error{Errc::internal, msg, where};
    default: return Error{Errc::io_error, msg, where};
  }
}

Result<sqlite3_stmt*> SqliteConn::prepare(std::string_view sql, std::span<const Param> params) {
  sqlite3_stmt* s = nullptr;
  auto it = cache_.find(sql);
  if (it != cache_.end()) {
    s = it->second;
  } else {
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    if (rc != SQLITE_OK) return std::unexpected(error(rc, sql));
    cache_.emplace(std::string(sql), s);
  }
  if (sqlite3_bind_parameter_count(s) != static_cast<int>(params.size()))
    return fail(Errc::internal, "wrong number of SQL parameters", "sqlite: " + std::string(sql.substr(0, 80)));
  for (size_t i = 0; i < params.size(); ++i) {
    const Param& p = params[i];
    int idx = static_cast<int>(i) + 1, rc = SQLITE_OK;
    switch (p.kind) {
      case Param::Kind::null: rc = sqlite3_bind_null(s, idx); break;
      case Param::Kind::integer: rc = sqlite3_bind_int64(s, idx, p.i); break;
      case Param::Kind::text:
        rc = sqlite3_bind_text64(s, idx, p.s.data(), p.s.size(), SQLITE_STATIC, SQLITE_UTF8);
        break;
    }
    if (rc != SQLITE_OK) {
      sqlite3_clear_bindings(s);
      return std::unexpected(error(rc, sql));
    }
  }
  return s;
}

Result<int64_t> SqliteConn::exec(std::string_view sql, std::span<const Param> params) {
  FW_TRY(sqlite3_stmt * s, prepare(sql, params));
  ResetGuard guard{s};
  for (;;) {
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return std::unexpected(error(sqlite3_extended_errcode(db_), sql));
  }
  return static_cast<int64_t>(sqlite3_changes64(db_));
}

Status SqliteConn::query(std::string_view sql, std::span<const Param> params, const RowFn& fn) {
  FW_TRY(sqlite3_stmt * s, prepare(sql, params));
  ResetGuard guard{s};
  SqliteRow row(s);
  for (;;) {
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return {};
    if (rc != SQLITE_ROW) return std::unexpected(error(sqlite3_extended_errcode(db_), sql));
    FW_TRY_STATUS(fn(row));
  }
}

Status SqliteConn::exec_script(std::string_view sql) {
  std::string text(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    Error e = error(sqlite3_extended_errcode(db_), sql);
    if (err) e.message = err;
    sqlite3_free(err);
    return std::unexpected(e);
  }
  return {};
}

}  // namespace fw::store::sql
