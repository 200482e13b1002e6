// The SQLite Store: one writer connection serialised by a mutex (SQLite allows one writer;
// queuing in-process is cheaper than SQLITE_BUSY retries) and a pool of read-only reader
// connections, which WAL lets run beside the writer on their own snapshots. WAL checkpoints
// run on a checkpointer thread with a connection of its own (PASSIVE: they never block the
// writer), not inside a commit as SQLite's auto-checkpoint would.
// Thread-safe: write() and read() may be called from any thread.
#include <sqlite3.h>

#include <condition_variable>
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
      : path_(std::move(path)), writer_(std::move(writer)), version_(version) {
    // Replaces the auto-checkpoint (both are the connection's WAL hook): after each commit
    // the hook only tells the checkpointer how large the WAL is.
    sqlite3_wal_hook(writer_->raw(), &SqliteStore::on_wal_commit, this);
    checkpointer_ = std::thread([this] { run_checkpointer(); });
  }
  ~SqliteStore() override {
    {
      std::lock_guard lock(ckpt_mu_);
      ckpt_stop_ = true;
    }
    ckpt_cv_.notify_one();
    checkpointer_.join();
    sqlite3_wal_hook(writer_->raw(), nullptr, nullptr);
  }

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
  // WAL frames after which a checkpoint starts (SQLite's auto-checkpoint default is 1,000).
  // 8,000 frames (32 MiB): check-ins rewrite the same few thousand agent_devices pages
  // again and again, and a checkpoint copies only each page's last frame, so a longer WAL
  // means fewer copies of each page into the database file (and fewer of its fsyncs).
  static constexpr int kCheckpointPages = 8000;

  // The writer connection's WAL hook, called on the committing thread right after a commit
  // with the frames now in the WAL: it only wakes the checkpointer.
  static int on_wal_commit(void* self, sqlite3*, const char*, int pages) {
    auto* st = static_cast<SqliteStore*>(self);
    if (pages >= kCheckpointPages) {
      {
        std::lock_guard lock(st->ckpt_mu_);
        st->ckpt_wanted_ = true;
      }
      st->ckpt_cv_.notify_one();
    }
    return SQLITE_OK;
  }

  // PASSIVE checkpoints copy committed WAL frames into the database file beside the
  // running writer and readers (the WAL restarts from its beginning at the next write once
  // a checkpoint was complete). A checkpoint that could not copy everything (a reader on
  // an old snapshot) is retried after 100 ms; a failed one at the next large commit (the
  // WAL only grows meanwhile: nothing is lost, and the last connection's close checkpoints).
  void run_checkpointer() {
    std::unique_ptr<SqliteConn> conn;
    std::unique_lock lock(ckpt_mu_);
    for (;;) {
      ckpt_cv_.wait(lock, [&] { return ckpt_stop_ || ckpt_wanted_; });
      if (ckpt_stop_) return;
      ckpt_wanted_ = false;
      lock.unlock();
      bool partial = false;  // ran, but a reader kept some frames from being copied
      if (!conn) {
        if (auto c = SqliteConn::open(path_, /*writer=*/true)) conn = std::move(*c);
      }
      if (conn) {
        int log = 0, copied = 0;
        int rc = sqlite3_wal_checkpoint_v2(conn->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
        partial = rc == SQLITE_OK && copied < log;
      }
      lock.lock();
      if (partial && !ckpt_stop_) {
        ckpt_cv_.wait_for(lock, std::chrono::milliseconds(100), [&] { return ckpt_stop_; });
        ckpt_wanted_ = true;  // the next commit's hook would ask again; do not wait for it
      }
    }
  }

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
  std::mutex ckpt_mu_;
  std::condition_variable ckpt_cv_;
  bool ckpt_wanted_ = false;  // guarded by ckpt_mu_
  bool ckpt_stop_ = false;    // guarded by ckpt_mu_
  std::thread checkpointer_;  // started last, joined first
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
