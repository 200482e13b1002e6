// Test helper: a fresh, private database for one test on either backend.
//   SQLite: a new file in a new temp directory (removed afterwards).
//   PostgreSQL: a new schema in $FW_TEST_PG_URL's database, selected with search_path
//   through the URL's options (dropped afterwards); unset FW_TEST_PG_URL -> available() false.
// One TestDb per test; not shared between threads.
// StoreBackendTest: the fixture of the tests written once for both backends (TEST_P).
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <unistd.h>

#include "store/drivers.h"

namespace fw::store::testing {

// Drops the value of a Result (GCC 12 has no std::expected::transform).
template <class T>
Status as_status(const Result<T>& r) {
  if (!r) return std::unexpected(r.error());
  return {};
}

class TestDb {
 public:
  explicit TestDb(std::string backend) : backend_(std::move(backend)) {
    static std::atomic<int> counter{0};
    std::random_device rd;
    std::string tag = std::to_string(getpid()) + "_" + std::to_string(counter++) + "_" + std::to_string(rd() % 100000);
    if (backend_ == "sqlite") {
      dir_ = std::filesystem::temp_directory_path() / ("fw_store_test_" + tag);
      std::filesystem::create_directories(dir_);
      url_ = (dir_ / "fleetward.db").string();
      available_ = true;
      return;
    }
    const char* base = std::getenv("FW_TEST_PG_URL");
    if (!base || !*base) return;
    base_url_ = base;
    schema_ = "fw_t_" + tag;
    if (!raw_exec("CREATE SCHEMA " + schema_)) {
      error_ = "cannot create a test schema in " + base_url_ + ": " + error_;
      return;
    }
    url_ = base_url_ + (base_url_.find('?') == std::string::npos ? "?" : "&") +
           "options=-csearch_path%3D" + schema_ + "&application_name=" + schema_;
    available_ = true;
  }
  ~TestDb() {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
    if (!schema_.empty()) raw_exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
  }

  bool available() const { return available_; }
  const std::string& skip_reason() const { return error_; }
  const std::string& url() const { return url_; }

  Result<std::unique_ptr<Store>> open(int target_version = 0) {
    if (backend_ == "sqlite") return open_sqlite(url_, target_version);
    return open_postgres(url_, target_version);
  }

  // PostgreSQL: ends every server connection of this test's stores (a dropped connection).
  bool kill_connections() {
    return raw_exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '" + schema_ +
                    "'");
  }

  // Runs SQL behind the store's back (tampering tests). Returns false and sets error_.
  bool raw_exec(const std::string& sql) {
    if (backend_ == "sqlite") {
      sqlite3* db = nullptr;
      if (sqlite3_open(url_.c_str(), &db) != SQLITE_OK) return false;
      char* err = nullptr;
      int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
      if (err) error_ = err;
      sqlite3_free(err);
      sqlite3_close(db);
      return rc == SQLITE_OK;
    }
    PGconn* c = PQconnectdb(base_url_.c_str());
    PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);
    bool ok = PQstatus(c) == CONNECTION_OK;
    if (ok) {
      std::string full = schema_.empty() || sql.starts_with("CREATE SCHEMA") || sql.starts_with("DROP SCHEMA")
                             ? sql
                             : "SET search_path TO " + schema_ + "; " + sql;
      PGresult* r = PQexec(c, full.c_str());
      ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
      if (!ok) error_ = PQresultErrorMessage(r);
      PQclear(r);
    } else {
      error_ = PQerrorMessage(c);
    }
    PQfinish(c);
    return ok;
  }

 private:
  std::string backend_, url_, base_url_, schema_, error_;
  std::filesystem::path dir_;
  bool available_ = false;
};

// The fixture of a store test written once and run on both backends:
//   class MyTest : public testing::StoreBackendTest {...};
//   INSTANTIATE_TEST_SUITE_P(Backends, MyTest, ::testing::Values("sqlite", "postgres"), ...);
// SetUp gives each test a fresh database (db_) and the store opened on it (store_); without
// FW_TEST_PG_URL the PostgreSQL cases are skipped, and a database that cannot be made fails.
class StoreBackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<TestDb>(GetParam());
    if (!db_->available()) {
      if (GetParam() == "postgres" && db_->skip_reason().empty())
        GTEST_SKIP() << "FW_TEST_PG_URL is not set: PostgreSQL store tests skipped "
                        "(start one with: eval $(scripts/pg-test-server.sh start))";
      FAIL() << db_->skip_reason();
    }
    auto s = db_->open();
    ASSERT_TRUE(s) << s.error().to_string();
    store_ = std::move(*s);
  }

  // Replaces this test's database by a fresh one opened at `version` (0 = the latest): for
  // tests that start from an older schema.
  void open_fresh(int version) {
    store_.reset();
    db_.reset();  // first: a PostgreSQL TestDb drops its schema when it goes
    db_ = std::make_unique<TestDb>(GetParam());
    ASSERT_TRUE(db_->available()) << db_->skip_reason();
    auto s = db_->open(version);
    ASSERT_TRUE(s) << s.error().to_string();
    store_ = std::move(*s);
  }

  // Opens this test's database again (migrating it to the latest version), e.g. after SQL
  // written behind the store's back into an older schema.
  void reopen() {
    store_.reset();
    auto s = db_->open();
    ASSERT_TRUE(s) << s.error().to_string();
    store_ = std::move(*s);
  }

  // Runs fn in one write (W) or read (R) transaction and asserts that it succeeds.
  void W(const std::function<Status(Tx&)>& fn) {
    auto st = store_->write(fn);
    ASSERT_TRUE(st) << st.error().to_string();
  }
  void R(const std::function<Status(Tx&)>& fn) {
    auto st = store_->read(fn);
    ASSERT_TRUE(st) << st.error().to_string();
  }

  std::unique_ptr<TestDb> db_;
  std::unique_ptr<Store> store_;
};

}  // namespace fw::store::testing
