// The SQLite Store: one writer connection serialised by a mutex (SQLite allows one writer;
// queuing in-process is cheaper than SQLITE_BUSY retries) and a pool of read-only reader
// connections, which WAL lets run beside the writer on their own snapshots.
// Thread-safe: write() and read() may be called from any thread.
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/drivers.h"
#include "store/sql/migrate.h"
#include "store/sql/tx.h"
#include "store/sqlite/sqlite_conn.h"

namespace fw::store {

namespace {

using sql::SqliteConn;

bool retryable(const Error& e) { return e.where == sql::kRetryable; }

class SqliteStore final : public Store {
 public:
  SqliteStore(std::string path, std::unique_ptr<SqliteConn> writer, int version)
      : path_(std::move(path)), writer_(std::move(writer)), version_(version) {}

  Status write(const std::function<Status(Tx&)>& fn) override {
    std::lock_guard lock(write_mu_);
    constexpr int kAttempts = 5;
    for (int attempt = 1;; ++attempt) {
      auto st = write_once(fn);
      if (st || !retryable(st.error()) || attempt == kAttempts) return st;
      std::this_thread::sleep_for(std::chrono::milliseconds(10 * attempt));
    }
  }

  Status read(const std::function<Status(Tx&)>& fn) override {
    FW_TRY(auto conn, take_reader());
    auto st = run(*conn, "BEGIN", fn);
    give_back(std::move(conn));
    return st;
  }

  int schema_version() const override { return version_; }
  std::string_view backend() const override { return "sqlite"; }

 private:
  // Caller holds write_mu_.
  Status write_once(const std::function<Status(Tx&)>& fn) { return run(*writer_, "BEGIN IMMEDIATE", fn); }

  // Runs fn in a transaction on c; commits on success, else rolls back.
  static Status run(SqliteConn& c, std::string_view begin, const std::function<Status(Tx&)>& fn) {
    FW_TRY_STATUS(c.exec_script(begin));
    return sql::finish_transaction(c, fn);
  }

  Result<std::unique_ptr<SqliteConn>> take_reader() {
    {
      std::lock_guard lock(pool_mu_);
      if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        return c;
      }
    }
    return SqliteConn::open(path_, /*writer=*/false);
  }

  void give_back(std::unique_ptr<SqliteConn> c) {
    constexpr size_t kMaxIdle = 8;
    std::lock_guard lock(pool_mu_);
    if (idle_.size() < kMaxIdle) idle_.push_back(std::move(c));
  }

  const std::string path_;
  std::mutex write_mu_;
  std::unique_ptr<SqliteConn> writer_;  // guarded by write_mu_
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<SqliteConn>> idle_;  // guarded by pool_mu_
  const int version_;
};

}  // namespace

Result<std::unique_ptr<Store>> open_sqlite(std::string_view path, int target_version) {
  std::string p(path);
  if (p == ":memory:" || p.starts_with("file:"))
    return fail(Errc::invalid_argument, "SQLite store needs a file path (readers open it separately)", p);
  FW_TRY(auto writer, SqliteConn::open(p, /*writer=*/true));
  sql::MigrationHooks hooks;
  hooks.begin = "BEGIN IMMEDIATE";
  FW_TRY(int version, sql::migrate(*writer, hooks, target_version));
  return std::unique_ptr<Store>(new SqliteStore(std::move(p), std::move(writer), version));
}

}  // namespace fw::store
