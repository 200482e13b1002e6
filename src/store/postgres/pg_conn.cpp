// PgConn: a sql::Conn over one libpq connection with per-connection prepared statements.
// Used by one thread at a time (the pool in pg_store.cpp guarantees it).
#include "store/postgres/pg_conn.h"

#include <cstdlib>
#include <cstring>
#include <vector>

namespace fw::store::sql {

namespace {

class PgRow final : public Row {
 public:
  PgRow(PGresult* r, int row) : r_(r), row_(row) {}
  bool is_null(int col) const override { return PQgetisnull(r_, row_, col) != 0; }
  int64_t i64(int col) const override {
    if (is_null(col)) return 0;
    return std::strtoll(PQgetvalue(r_, row_, col), nullptr, 10);
  }
  std::string text(int col) const override {
    if (is_null(col)) return {};
    return std::string(PQgetvalue(r_, row_, col), static_cast<size_t>(PQgetlength(r_, row_, col)));
  }

 private:
  PGresult* r_;
  int row_;
};

struct ResultGuard {
  PGresult* r;
  ~ResultGuard() { PQclear(r); }
};

void quiet(void*, const char*) {}  // NOTICEs ("relation already exists, skipping") are not errors

}  // namespace

std::string pg_placeholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  char quote = 0;
  for (char ch : sql) {
    if (quote) {
      if (ch == quote) quote = 0;
      out += ch;
    } else if (ch == '\'' || ch == '"') {
      quote = ch;
      out += ch;
    } else if (ch == '?') {
      out += '$' + std::to_string(++n);
    } else {
      out += ch;
    }
  }
  return out;
}

Result<std::unique_ptr<PgConn>> PgConn::open(const std::string& url) {
  PGconn* c = PQconnectdb(url.c_str());
  if (!c) return fail(Errc::unavailable, "out of memory connecting to PostgreSQL", "postgres");
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    PQfinish(c);
    return fail(Errc::unavailable, "cannot connect to PostgreSQL: " + msg, "postgres");
  }
  PQsetNoticeProcessor(c, quiet, nullptr);
  std::unique_ptr<PgConn> conn(new PgConn(c));
  FW_TRY_STATUS(conn->exec_script("SET client_encoding = 'UTF8'"));
  return conn;
}

PgConn::~PgConn() { PQfinish(c_); }

Error PgConn::error(PGresult* r, std::string_view sql) const {
  std::string msg = r ? PQresultErrorMessage(r) : PQerrorMessage(c_);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  if (msg.starts_with("ERROR:  ")) msg = msg.substr(8);
  const char* st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string state = st ? st : "";
  std::string where = "postgres: " + std::string(sql.substr(0, 80));
  if (state == "23505") return Error{Errc::already_exists, msg, where};
  if (state == "23503") return Error{Errc::conflict, msg, where};
  if (state == "23514" || state == "23502" || state == "22P02" || state == "22001" ||
      state == "22021")
    return Error{Errc::invalid_argument, msg, where};
  if (state == "40001" || state == "40P01") return Error{Errc::conflict, msg, std::string(kRetryable)};
  if (state == "25006") return Error{Errc::internal, "write attempted in a read-only transaction: " + msg, where};
  if (state.starts_with("08") || state.starts_with("57P") || PQstatus(c_) != CONNECTION_OK)
    return Error{Errc::unavailable, msg, where};
  if (state.starts_with("42")) return Error{Errc::internal, msg, where};
  return Error{Errc::io_error, msg, where};
}

Result<PGresult*> PgConn::run(std::string_view sql, std::span<const Param> params) {
  std::string key(sql);
  auto it = prepared_.find(key);
  if (it == prepared_.end()) {
    std::string name = "fw_s" + std::to_string(prepared_.size() + 1);
    std::string text = pg_placeholders(sql);
    PGresult* r = PQprepare(c_, name.c_str(), text.c_str(), 0, nullptr);
    ResultGuard g{r};
    if (PQresultStatus(r) != PGRES_COMMAND_OK) return std::unexpected(error(r, sql));
    it = prepared_.emplace(std::move(key), std::move(name)).first;
  }
  std::vector<std::string> ints;
  ints.reserve(params.size());
  std::vector<const char*> values(params.size());
  std::vector<int> lengths(params.size()), formats(params.size(), 0);
  for (size_t i = 0; i < params.size(); ++i) {
    const Param& p = params[i];
    switch (p.kind) {
      case Param::Kind::null: values[i] = nullptr; break;
      case Param::Kind::integer:
        ints.push_back(std::to_string(p.i));
        values[i] = ints.back().c_str();
        lengths[i] = static_cast<int>(ints.back().size());
        break;
      case Param::Kind::text:
        if (std::memchr(p.s.data(), '\0', p.s.size()))
          return fail(Errc::invalid_argument, "text contains a NUL byte", "parameter " + std::to_string(i + 1));
        // Text parameters need not be NUL-terminated in binary format; send as binary text
        // (format 1 for text/varchar is the raw bytes), so string_views work as they are.
        values[i] = p.s.data() ? p.s.data() : "";
        lengths[i] = static_cast<int>(p.s.size());
        formats[i] = 1;
        break;
    }
  }
  PGresult* r = PQexecPrepared(c_, it->second.c_str(), static_cast<int>(params.size()), values.data(), lengths.data(),
                               formats.data(), 0);
  auto status = PQresultStatus(r);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    Error e = error(r, sql);
    PQclear(r);
    return std::unexpected(e);
  }
  return r;
}

Result<int64_t> PgConn::exec(std::string_view sql, std::span<const Param> params) {
  FW_TRY(PGresult * r, run(sql, params));
  ResultGuard g{r};
  const char* n = PQcmdTuples(r);
  return static_cast<int64_t>(n && *n ? std::strtoll(n, nullptr, 10) : 0);
}

Status PgConn::query(std::string_view sql, std::span<const Param> params, const RowFn& fn) {
  FW_TRY(PGresult * r, run(sql, params));
  ResultGuard g{r};
  int rows = PQntuples(r);
  for (int i = 0; i < rows; ++i) {
    PgRow row(r, i);
    FW_TRY_STATUS(fn(row));
  }
  return {};
}

Status PgConn::exec_script(std::string_view sql) {
  std::string text(sql);
  PGresult* r = PQexec(c_, text.c_str());
  ResultGuard g{r};
  auto status = PQresultStatus(r);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) return std::unexpected(error(r, sql));
  if (sql == "COMMIT" && std::strcmp(PQcmdStatus(r), "COMMIT") != 0)
    return fail(Errc::conflict, "transaction was rolled back by the server", "postgres: COMMIT");
  return {};
}

}  // namespace fw::store::sql
