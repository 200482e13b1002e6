// Crash test (SQLite): a child process writes batches (devices + one audit event each) in a
// loop and is killed with SIGKILL mid-stream; the database must reopen intact, with only
// whole batches and an audit chain that verifies. Repeated a few times.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "store/store_test_util.h"

namespace fw::store {
namespace {

constexpr int kBatch = 50;

[[noreturn]] void child_writer(const std::string& path) {
  auto s = Store::open(path);
  if (!s) _exit(2);
  for (int b = 0;; ++b) {
    auto st = (*s)->write([&](Tx& tx) -> Status {
      for (int i = 0; i < kBatch; ++i) {
        model::Device d;
        d.id = "b" + std::to_string(b) + "-" + std::to_string(i);
        d.os_family = "iOS";
        d.apps = {{"a", "A", "1"}, {"b", "B", "2"}};
        FW_TRY_STATUS(tx.put_device(d));
      }
      model::AuditEvent e;
      e.actor = "child";
      e.action = "batch";
      e.entity = "batch/" + std::to_string(b);
      FW_TRY_STATUS(tx.append_audit(e));
      return {};
    });
    if (!st) _exit(3);
  }
}

TEST(StoreCrash, SqliteSurvivesKillMidWrite) {
  testing::TestDb db("sqlite");
  { ASSERT_TRUE(db.open()); }  // create and migrate first
  for (int round = 0; round < 3; ++round) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) child_writer(db.url());
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + 150 * round));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited by itself with " << WEXITSTATUS(status);

    auto s = Store::open(db.url());
    ASSERT_TRUE(s) << s.error().to_string();
    auto st = (*s)->read([&](Tx& tx) -> Status {
      FW_TRY(auto n, tx.count_devices({}));
      FW_TRY(auto events, tx.verify_audit_chain());
      EXPECT_GT(events, 0) << "round " << round;
      // Batches are all-or-nothing; earlier rounds' batches are rewritten with the same ids.
      EXPECT_EQ(n % kBatch, 0) << "round " << round << ": " << n << " devices";
      int64_t apps_missing = 0;
      FW_TRY_STATUS(tx.scan_devices({}, [&](const model::Device& d) -> Status {
        if (d.apps.size() != 2) ++apps_missing;
        return {};
      }));
      EXPECT_EQ(apps_missing, 0);
      return {};
    });
    EXPECT_TRUE(st) << st.error().to_string();
  }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.url().c_str(), &raw), SQLITE_OK);
  std::string result;
  sqlite3_exec(
      raw, "PRAGMA integrity_check",
      [](void* out, int, char** vals, char**) {
        *static_cast<std::string*>(out) += vals[0] ? vals[0] : "";
        return 0;
      },
      &result, nullptr);
  sqlite3_close(raw);
  EXPECT_EQ(result, "ok");
}

}  // namespace
}  // namespace fw::store

namespace fw::store {
namespace {

TEST(StoreOpen, ErrorsNameTheProblem) {
  struct Case { std::string url; Errc want; };
  auto dir = std::filesystem::temp_directory_path();
  for (const auto& c : std::vector<Case>{
           {"", Errc::invalid_argument},
           {":memory:", Errc::invalid_argument},
           {dir.string(), Errc::io_error},                                     // a directory
           {"/nonexistent-dir-fw/x/fleetward.db", Errc::io_error},
           {"postgresql://nobody@127.0.0.1:1/none?connect_timeout=2", Errc::unavailable},  // nothing listens
       }) {
    auto s = Store::open(c.url);
    ASSERT_FALSE(s) << c.url;
    EXPECT_EQ(s.error().code, c.want) << c.url << ": " << s.error().to_string();
  }
}

}  // namespace
}  // namespace fw::store
