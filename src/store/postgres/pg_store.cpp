// The PostgreSQL Store: a small pool of libpq connections; each transaction takes one.
// Writes run SERIALIZABLE and are retried (with backoff) on serialization failures,
// deadlocks and a connection found dropped at BEGIN; reads run REPEATABLE READ READ ONLY (one consistent snapshot, never retried).
// Thread-safe: write() and read() may be called from any thread; at most kMaxConns
// connections are open, further callers wait for one to come back.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "store/drivers.h"
#include "store/postgres/pg_conn.h"
#include "store/sql/migrate.h"
#include "store/sql/tx.h"

namespace fw::store {

namespace {

using sql::PgConn;

constexpr size_t kMaxConns = 8;
// Hot rows (the audit chain head, a policy's next version) make concurrent writers collide;
// with jittered backoff capped at 200 ms, 20 attempts ride out bursts of a few writers.
constexpr int kWriteAttempts = 20;

// Before each migration step: one migrator at a time across servers, and the key_text
// domain (TEXT with bytewise "C" collation, so ids sort as on SQLite) in the current schema.
constexpr std::string_view kMigrationPrologue = R"sql(
SELECT pg_advisory_xact_lock(7478310512);
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                 WHERE t.typname = 'key_text' AND n.nspname = current_schema()) THEN
    CREATE DOMAIN key_text AS TEXT COLLATE "C";
  END IF;
END $$;
)sql";

class PgStore final : public Store {
 public:
  PgStore(std::string url, std::unique_ptr<PgConn> first, int version) : url_(std::move(url)), version_(version) {
    idle_.push_back(std::move(first));
    open_ = 1;
  }

  Status write(const std::function<Status(Tx&)>& fn) override {
    std::mt19937 rng(std::random_device{}());
    for (int attempt = 1;; ++attempt) {
      auto st = with_conn([&](PgConn& c) { return run(c, "BEGIN ISOLATION LEVEL SERIALIZABLE", fn); });
      if (st || st.error().where != sql::kRetryable || attempt == kWriteAttempts) {
        if (!st && st.error().where == sql::kRetryable)
          st.error().message = "gave up after " + std::to_string(attempt) + " serialization failures: " + st.error().message;
        return st;
      }
      int ms = std::min(1 << std::min(attempt, 8), 200) + static_cast<int>(rng() % (10u * attempt));
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    }
  }

  Status read(const std::function<Status(Tx&)>& fn) override {
    // Retried once: a pooled connection the server dropped fails at BEGIN (retryable), and
    // the second attempt opens a fresh one.
    for (int attempt = 1;; ++attempt) {
      auto st = with_conn([&](PgConn& c) { return run(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", fn); });
      if (st || st.error().where != sql::kRetryable || attempt == 2) return st;
    }
  }

  int schema_version() const override { return version_; }
  std::string_view backend() const override { return "postgres"; }

 private:
  static Status run(PgConn& c, std::string_view begin, const std::function<Status(Tx&)>& fn) {
    if (auto st = c.exec_script(begin); !st) {
      // Nothing has run yet: a dropped connection here is safe to retry on a new one.
      if (c.broken()) st.error().where = std::string(sql::kRetryable);
      return st;
    }
    return sql::finish_transaction(c, fn);
  }

  // Takes a pooled connection (opening one if fewer than kMaxConns exist, else waiting),
  // runs f, and gives it back unless it broke.
  template <class F>
  Status with_conn(F&& f) {
    std::unique_ptr<PgConn> c;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return !idle_.empty() || open_ < kMaxConns; });
      if (!idle_.empty()) {
        c = std::move(idle_.back());
        idle_.pop_back();
      } else {
        ++open_;
      }
    }
    if (!c) {
      auto opened = PgConn::open(url_);
      if (!opened) {
        std::lock_guard lock(mu_);
        --open_;
        cv_.notify_one();
        return std::unexpected(opened.error());
      }
      c = std::move(*opened);
    }
    Status st;
    try {
      st = f(*c);
    } catch (...) {
      give_back(std::move(c));
      throw;
    }
    give_back(std::move(c));
    return st;
  }

  void give_back(std::unique_ptr<PgConn> c) {
    std::lock_guard lock(mu_);
    if (c->broken()) {
      --open_;
    } else {
      idle_.push_back(std::move(c));
    }
    cv_.notify_one();
  }

  const std::string url_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<PgConn>> idle_;  // guarded by mu_
  size_t open_ = 0;                            // guarded by mu_: idle + in use
  const int version_;
};

}  // namespace

Result<std::unique_ptr<Store>> open_postgres(std::string_view url, int target_version) {
  std::string u(url);
  FW_TRY(auto conn, PgConn::open(u));
  sql::MigrationHooks hooks;
  hooks.begin = "BEGIN";
  hooks.after_begin = kMigrationPrologue;
  FW_TRY(int version, sql::migrate(*conn, hooks, target_version));
  return std::unique_ptr<Store>(new PgStore(std::move(u), std::move(conn), version));
}

}  // namespace fw::store
