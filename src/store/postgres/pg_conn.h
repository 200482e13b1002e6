// Private to store/: one libpq connection as a sql::Conn. Statements are prepared once per
// connection (named fw_s1, fw_s2, ... keyed by SQL text, '?' rewritten to $n) and run with
// text parameters. Not thread-safe: the pool hands a connection to one thread at a time.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <unordered_map>

#include "store/sql/db.h"

namespace fw::store::sql {

class PgConn final : public Conn {
 public:
  static Result<std::unique_ptr<PgConn>> open(const std::string& url);
  ~PgConn() override;
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  Result<int64_t> exec(std::string_view sql, std::span<const Param> params) override;
  Status query(std::string_view sql, std::span<const Param> params, const RowFn& fn) override;
  // Several statements, no parameters. A COMMIT that the server turned into a ROLLBACK
  // (the transaction had failed) is reported as an error.
  Status exec_script(std::string_view sql) override;
  Dialect dialect() const override { return Dialect::postgres; }
  using Conn::exec;
  using Conn::query;

  bool broken() const { return PQstatus(c_) != CONNECTION_OK; }

 private:
  explicit PgConn(PGconn* c) : c_(c) {}
  Result<PGresult*> run(std::string_view sql, std::span<const Param> params);
  Error error(PGresult* r, std::string_view sql) const;

  PGconn* c_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL text -> statement name
};

// "a = ? AND b = ?" -> "a = $1 AND b = $2" (outside quotes). Exposed for tests.
std::string pg_placeholders(std::string_view sql);

}  // namespace fw::store::sql
