// Migration tests on both backends: from empty to newest, from each earlier version k to
// newest with data written at version k kept intact, and a failing migration left unapplied.
#include <gtest/gtest.h>

#include "store/sql/migrate.h"
#include "store/store_test_util.h"

namespace fw::store {
namespace {

// Drops the value of a Result (GCC 12 has no std::expected::transform).
template <class T>
Status as_status(const Result<T>& r) {
  if (!r) return std::unexpected(r.error());
  return {};
}

Time T(int64_t s) { return from_unix(1'700'000'000 + s); }

// The version that added devices.org_unit_path (0009): before it, put_device cannot write
// the devices row, so the test writes that row in SQL (kOldDeviceSql) before seed_at.
constexpr int kDeviceOrgUnitVersion = 9;
const char* kOldDeviceSql =
    "INSERT INTO devices (id, owner_id, source, os_family, os_version, vendor, model, type, managed, first_seen, "
    "last_seen, may_be, facts_json, search_key) VALUES ('d1', 'p1', 'import', 'iOS', '', '', '', 'phone', 0, 0, "
    "1700000005, '', '{}', 'd1');"
    "INSERT INTO device_apps (device_id, pos, app_id, name, version) VALUES ('d1', 0, 'us.zoom.videomeetings', "
    "'Zoom', '5');";

// The version that added eval_digests (0011): before it, put_findings cannot keep a
// finding's digest row, so the test writes that finding in SQL (kOldFindingSql) after seed_at.
constexpr int kEvalDigestsVersion = 11;
const char* kOldFindingSql =
    "INSERT INTO findings (device_id, rule_key, person_id, policy_id, status, severity, detail, first_failed_at, "
    "last_evaluated_at, status_since) VALUES ('d1', 'replace-ios/no-iphone', 'p1', 'replace-ios', 'fail', '', '', "
    "NULL, 0, 0)";

// Data written through the Tx API at schema version `v` (only the tables that exist then).
Status seed_at(Tx& tx, int v) {
  if (v >= 1) {
    FW_TRY_STATUS(tx.put_org_unit({"ou1", "/admin", "Administration", "department", "Europe/Moscow"}));
    FW_TRY_STATUS(tx.put_person({"p1", "Иван", "ivan@example.org", "ivan", "/admin", "", "Head"}));
    model::Device d;
    d.id = "d1";
    d.owner_id = "p1";
    d.os_family = "iOS";
    d.type = model::DeviceType::phone;
    d.last_seen = T(5);
    d.apps = {{"us.zoom.videomeetings", "Zoom", "5"}};
    if (v >= kDeviceOrgUnitVersion) FW_TRY_STATUS(tx.put_device(d));
    FW_TRY_STATUS(tx.put_token({"t1", "admin", model::Role::admin, "", "abc", T(1), std::nullopt, false}));
    FW_TRY_STATUS(tx.put_setting("org.name", "Gov"));
  }
  if (v >= 2) {
    model::AuditEvent e;
    e.at = T(2);
    e.actor = "system";
    e.action = "init";
    e.entity = "store";
    FW_TRY_STATUS(tx.append_audit(e));
  }
  if (v >= 3) {
    PolicyDoc p;
    p.id = "replace-ios";
    p.kind = "campaign";
    p.source = "kind: campaign";
    FW_TRY_STATUS(tx.put_policy(p));
    Finding f;
    f.device_id = "d1";
    f.person_id = "p1";
    f.policy_id = "replace-ios";
    f.rule_key = "replace-ios/no-iphone";
    f.status = FindingStatus::fail;
    if (v >= kEvalDigestsVersion) FW_TRY_STATUS(tx.put_findings({f}));
    FW_TRY_STATUS(tx.add_finding_changes({{"d1", "p1", "replace-ios", "replace-ios/no-iphone", FindingStatus::fail, T(3)}}));
    FW_TRY_STATUS(tx.put_exemption({"ex1", "p1", "", "replace-ios", "", "why", "boss", T(1), T(9)}));
  }
  if (v >= 4) {
    model::Sighting s;
    s.user = "ivan";
    s.fingerprint = "fp";
    s.count = 1;
    FW_TRY_STATUS(tx.put_sightings({s}));
  }
  return {};
}

// Checks the data of seed_at(v) is there.
Status check_seeded(Tx& tx, int v) {
  if (v >= 1) {
    FW_TRY(auto u, tx.get_org_unit("ou1"));
    EXPECT_EQ(u.timezone, "Europe/Moscow");
    FW_TRY(auto p, tx.find_person("IVAN"));
    EXPECT_EQ(p.id, "p1");
    FW_TRY(auto d, tx.get_device("d1"));
    EXPECT_EQ(d.apps.size(), 1u);
    FW_TRY(auto t, tx.find_token_by_hash("abc"));
    EXPECT_EQ(t.id, "t1");
    FW_TRY(auto s, tx.get_setting("org.name"));
    EXPECT_EQ(s, "Gov");
  }
  if (v >= 2) {
    FW_TRY(auto n, tx.verify_audit_chain());
    EXPECT_EQ(n, 1);
  }
  if (v >= 3) {
    FW_TRY(auto p, tx.get_policy("replace-ios"));
    EXPECT_EQ(p.version, 1);
    FW_TRY(auto fs, tx.list_findings({}, {}));
    EXPECT_EQ(fs.items.size(), 1u);
    FW_TRY(auto ex, tx.list_exemptions(""));
    EXPECT_EQ(ex.size(), 1u);
  }
  if (v >= 4) {
    FW_TRY(auto ss, tx.list_sightings("", "", 10));
    EXPECT_EQ(ss.size(), 1u);
  }
  return {};
}

class MigrationTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<testing::TestDb> fresh() {
    auto db = std::make_unique<testing::TestDb>(GetParam());
    if (!db->available() && db->skip_reason().empty()) return nullptr;
    EXPECT_TRUE(db->available()) << db->skip_reason();
    return db;
  }
};

#define FRESH_OR_SKIP(db)                                                                    \
  auto db = fresh();                                                                         \
  if (!db) GTEST_SKIP() << "FW_TEST_PG_URL is not set: PostgreSQL migration tests skipped " \
                           "(start one with: eval $(scripts/pg-test-server.sh start))";

TEST_P(MigrationTest, FromEmptyToNewest) {
  FRESH_OR_SKIP(db);
  auto s = db->open();
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ((*s)->schema_version(), sql::newest_schema_version());
  ASSERT_TRUE((*s)->write([](Tx& tx) { return seed_at(tx, sql::newest_schema_version()); }));
  auto st = (*s)->read([](Tx& tx) { return check_seeded(tx, sql::newest_schema_version()); });
  EXPECT_TRUE(st) << st.error().to_string();
}

TEST_P(MigrationTest, EmbeddedMigrationsAreNumberedInOrder) {
  const auto& all = sql::migrations();
  ASSERT_GE(all.size(), 4u);
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].version, static_cast<int>(i) + 1);
    EXPECT_FALSE(all[i].sql.empty());
  }
  EXPECT_EQ(all[0].name, "0001_inventory");
}

TEST_P(MigrationTest, FromEachEarlierVersionKeepsData) {
  for (int k = 1; k < sql::newest_schema_version(); ++k) {
    SCOPED_TRACE("from version " + std::to_string(k));
    FRESH_OR_SKIP(db);
    {
      auto old = db->open(k);
      ASSERT_TRUE(old) << old.error().to_string();
      EXPECT_EQ((*old)->schema_version(), k);
      if (k < kDeviceOrgUnitVersion) {
        // The person first (the device references it), then the device row in SQL.
        auto st = (*old)->write([&](Tx& tx) -> Status {
          FW_TRY_STATUS(tx.put_org_unit({"ou1", "/admin", "Administration", "department", "Europe/Moscow"}));
          return tx.put_person({"p1", "Иван", "ivan@example.org", "ivan", "/admin", "", "Head"});
        });
        ASSERT_TRUE(st) << st.error().to_string();
        ASSERT_TRUE(db->raw_exec(kOldDeviceSql)) << db->skip_reason();
      }
      auto st = (*old)->write([&](Tx& tx) { return seed_at(tx, k); });
      ASSERT_TRUE(st) << st.error().to_string();
      if (k >= 3 && k < kEvalDigestsVersion) ASSERT_TRUE(db->raw_exec(kOldFindingSql)) << db->skip_reason();
    }
    auto now = db->open();
    ASSERT_TRUE(now) << now.error().to_string();
    EXPECT_EQ((*now)->schema_version(), sql::newest_schema_version());
    auto st = (*now)->read([&](Tx& tx) { return check_seeded(tx, k); });
    EXPECT_TRUE(st) << st.error().to_string();
    // The newer tables work too.
    st = (*now)->write([](Tx& tx) -> Status {
      model::Sighting s;
      s.user = "u";
      s.fingerprint = "f2";
      FW_TRY_STATUS(tx.put_sightings({s}));
      PolicyDoc p;
      p.id = "p2";
      p.kind = "policy";
      return as_status(tx.put_policy(p));
    });
    EXPECT_TRUE(st) << st.error().to_string();
  }
}

TEST_P(MigrationTest, FailingMigrationIsNotHalfApplied) {
  FRESH_OR_SKIP(db);
  {
    auto old = db->open(2);
    ASSERT_TRUE(old) << old.error().to_string();
  }
  // A table that migration 0003 creates after its first statement makes it fail midway.
  ASSERT_TRUE(db->raw_exec("CREATE TABLE findings (x INTEGER)")) << db->skip_reason();
  auto s = db->open();
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("0003_policy"), std::string::npos) << s.error().to_string();
  // Version 2 still, and 0003's first table (policy_docs) is not there.
  EXPECT_FALSE(db->raw_exec("SELECT * FROM policy_docs"));
  ASSERT_TRUE(db->raw_exec("DROP TABLE findings"));
  auto again = db->open();
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ((*again)->schema_version(), sql::newest_schema_version());
}

TEST_P(MigrationTest, NewerDatabaseIsRefused) {
  FRESH_OR_SKIP(db);
  { ASSERT_TRUE(db->open()); }
  ASSERT_TRUE(db->raw_exec("INSERT INTO schema_version (version, name, applied_at) VALUES (999, 'future', 0)"));
  auto s = db->open();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::conflict);
}

INSTANTIATE_TEST_SUITE_P(Backends, MigrationTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fw::store
