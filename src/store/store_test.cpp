// Store tests, written once and run against both backends (TEST_P over "sqlite" and
// "postgres"; the PostgreSQL cases need FW_TEST_PG_URL, see scripts/pg-test-server.sh).
// Each test gets a fresh database (TestDb).
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "store/store_test_util.h"

namespace fw::store {
namespace {

using model::Device;
using model::OrgUnit;
using model::Person;
using testing::as_status;

Time T(int64_t s) { return from_unix(1'700'000'000 + s); }

class StoreTest : public testing::StoreBackendTest {
 protected:
  // Runs one write and returns its status.
  Status try_write(const std::function<Status(Tx&)>& fn) { return store_->write(fn); }

  // A small organisation: /admin, /admin/ict, /regions, /regions/tver, /regionsx; two people.
  void seed_org() {
    W([](Tx& tx) -> Status {
      for (auto [id, path] : {std::pair{"ou-admin", "/admin"}, {"ou-ict", "/admin/ict"}, {"ou-reg", "/regions"},
                              {"ou-tver", "/regions/tver"}, {"ou-regx", "/regionsx"}})
        FW_TRY_STATUS(tx.put_org_unit(OrgUnit{id, path, std::string("Unit ") + id, "department", ""}));
      FW_TRY_STATUS(tx.put_person(Person{"p-boss", "Анна Петрова", "Anna.Petrova@example.org", "apetrova", "/admin", "", "Director"}));
      FW_TRY_STATUS(tx.put_person(Person{"p-ivan", "Иван Иванов", "ivanov@example.org", "IIvanov", "/admin/ict", "p-boss", "Engineer"}));
      FW_TRY_STATUS(tx.put_person(Person{"p-olga", "Olga Smirnova", "olga@tver.example.org", "osmirnova", "/regions/tver", "p-boss", ""}));
      FW_TRY_STATUS(tx.put_person(Person{"p-x", "Xavier", "x@example.org", "x", "/regionsx", "", ""}));
      return {};
    });
  }

  static Device device(std::string id, std::string owner, std::string family, model::DeviceType type, int64_t seen) {
    Device d;
    d.id = std::move(id);
    d.owner_id = std::move(owner);
    d.os_family = std::move(family);
    d.os_version = "16.3";
    d.vendor = "Apple";
    d.model = "iPhone 12";
    d.type = type;
    d.first_seen = T(0);
    d.last_seen = T(seen);
    return d;
  }
};

// ---------- open / migrations ----------

TEST_P(StoreTest, OpensAtNewestSchemaAndReopens) {
  EXPECT_EQ(store_->backend(), GetParam());
  EXPECT_GE(store_->schema_version(), 4);
  int v = store_->schema_version();
  store_.reset();
  auto again = db_->open();
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ((*again)->schema_version(), v);
}

// ---------- org units ----------

TEST_P(StoreTest, OrgUnitsCrudAndSubtree) {
  seed_org();
  R([](Tx& tx) -> Status {
    FW_TRY(auto u, tx.get_org_unit("ou-tver"));
    EXPECT_EQ(u.path, "/regions/tver");
    FW_TRY(auto v, tx.get_org_unit_by_path("/admin/ict"));
    EXPECT_EQ(v.id, "ou-ict");
    EXPECT_EQ(tx.get_org_unit("nope").error().code, Errc::not_found);
    EXPECT_EQ(tx.get_org_unit_by_path("/nope").error().code, Errc::not_found);
    struct Case { std::string subtree; std::vector<std::string> ids; };
    for (const auto& c : std::vector<Case>{{"", {"ou-admin", "ou-ict", "ou-reg", "ou-regx", "ou-tver"}},
                                           {"/", {"ou-admin", "ou-ict", "ou-reg", "ou-regx", "ou-tver"}},
                                           {"/regions", {"ou-reg", "ou-tver"}},
                                           {"/regions/", {"ou-reg", "ou-tver"}},
                                           {"/admin/ict", {"ou-ict"}},
                                           {"/adm", {}},
                                           {"/regions%", {}}}) {
      FW_TRY(auto page, tx.list_org_units({c.subtree}, {}));
      std::vector<std::string> ids;
      for (auto& u : page.items) ids.push_back(u.id);
      EXPECT_EQ(ids, c.ids) << "subtree " << c.subtree;
    }
    return {};
  });
  // Replace by id.
  W([](Tx& tx) { return tx.put_org_unit(OrgUnit{"ou-regx", "/regionsx", "Renamed", "office", "Europe/Moscow"}); });
  R([](Tx& tx) -> Status {
    FW_TRY(auto u, tx.get_org_unit("ou-regx"));
    EXPECT_EQ(u.name, "Renamed");
    EXPECT_EQ(u.timezone, "Europe/Moscow");
    return {};
  });
}

TEST_P(StoreTest, OrgUnitConstraintErrors) {
  seed_org();
  struct Case { const char* name; std::function<Status(Tx&)> fn; Errc want; };
  std::vector<Case> cases = {
      {"duplicate path", [](Tx& tx) { return tx.put_org_unit(OrgUnit{"ou-other", "/admin", "x", "", ""}); }, Errc::already_exists},
      {"delete with children", [](Tx& tx) { return tx.delete_org_unit("ou-reg"); }, Errc::conflict},
      {"delete with people", [](Tx& tx) { return tx.delete_org_unit("ou-tver"); }, Errc::conflict},
      {"delete missing", [](Tx& tx) { return tx.delete_org_unit("nope"); }, Errc::not_found},
      {"move unit with people", [](Tx& tx) { return tx.put_org_unit(OrgUnit{"ou-tver", "/regions/tver2", "x", "", ""}); }, Errc::conflict},
      {"empty id", [](Tx& tx) { return tx.put_org_unit(OrgUnit{"", "/z", "x", "", ""}); }, Errc::invalid_argument},
      {"bad path", [](Tx& tx) { return tx.put_org_unit(OrgUnit{"z", "z", "x", "", ""}); }, Errc::invalid_argument},
  };
  for (auto& c : cases) {
    auto st = try_write(c.fn);
    ASSERT_FALSE(st) << c.name;
    EXPECT_EQ(st.error().code, c.want) << c.name << ": " << st.error().to_string();
  }
  // Deleting a leaf without people works.
  W([](Tx& tx) -> Status {
    FW_TRY_STATUS(tx.delete_person("p-x"));
    return tx.delete_org_unit("ou-regx");
  });
}

// ---------- people ----------

TEST_P(StoreTest, PeopleCrudFindAndSearch) {
  seed_org();
  R([](Tx& tx) -> Status {
    FW_TRY(auto p, tx.get_person("p-ivan"));
    EXPECT_EQ(p.name, "Иван Иванов");
    EXPECT_EQ(p.manager_id, "p-boss");
    EXPECT_EQ(p.org_unit_path, "/admin/ict");
    EXPECT_EQ(p.title, "Engineer");
    FW_TRY(auto boss, tx.get_person("p-boss"));
    EXPECT_EQ(boss.manager_id, "");
    struct FindCase { std::string key; std::string want; };
    for (const auto& c : std::vector<FindCase>{{"iivanov", "p-ivan"}, {"IIVANOV", "p-ivan"},
                                               {"anna.petrova@EXAMPLE.org", "p-boss"}, {" osmirnova ", "p-olga"}}) {
      auto f = tx.find_person(c.key);
      EXPECT_TRUE(f && f->id == c.want) << c.key;
    }
    EXPECT_EQ(tx.find_person("nobody").error().code, Errc::not_found);
    EXPECT_EQ(tx.find_person("").error().code, Errc::not_found);
    struct ListCase { PersonFilter f; std::vector<std::string> ids; };
    for (const auto& c : std::vector<ListCase>{
             {{}, {"p-boss", "p-ivan", "p-olga", "p-x"}},
             {{"/admin", "", ""}, {"p-boss", "p-ivan"}},
             {{"/regions", "", ""}, {"p-olga"}},
             {{"", "", "p-boss"}, {"p-ivan", "p-olga"}},
             {{"", "ИВАН", ""}, {"p-ivan"}},           // Cyrillic, case-insensitive
             {{"", "петров", ""}, {"p-boss"}},
             {{"", "SMIRNOVA", ""}, {"p-olga"}},
             {{"", "@tver.", ""}, {"p-olga"}},
             {{"", "%", ""}, {}},                       // LIKE wildcards are literal
             {{"/admin", "olga", ""}, {}}}) {
      FW_TRY(auto page, tx.list_people(c.f, {}));
      std::vector<std::string> ids;
      for (auto& p : page.items) ids.push_back(p.id);
      EXPECT_EQ(ids, c.ids) << "search=" << c.f.search << " subtree=" << c.f.subtree;
    }
    return {};
  });
  W([](Tx& tx) { return tx.delete_person("p-x"); });
  R([](Tx& tx) -> Status {
    EXPECT_EQ(tx.get_person("p-x").error().code, Errc::not_found);
    return {};
  });
}

TEST_P(StoreTest, PeopleConstraintErrors) {
  seed_org();
  struct Case { const char* name; std::function<Status(Tx&)> fn; Errc want; };
  std::vector<Case> cases = {
      {"missing org unit", [](Tx& tx) { return tx.put_person(Person{"p1", "a", "a@x", "a", "/nope", "", ""}); }, Errc::conflict},
      {"missing manager", [](Tx& tx) { return tx.put_person(Person{"p1", "a", "a@x", "a", "/admin", "ghost", ""}); }, Errc::conflict},
      {"self manager", [](Tx& tx) { return tx.put_person(Person{"p1", "a", "a@x", "a", "/admin", "p1", ""}); }, Errc::invalid_argument},
      {"delete manager of others", [](Tx& tx) { return tx.delete_person("p-boss"); }, Errc::conflict},
      {"delete missing", [](Tx& tx) { return tx.delete_person("ghost"); }, Errc::not_found},
  };
  for (auto& c : cases) {
    auto st = try_write(c.fn);
    ASSERT_FALSE(st) << c.name;
    EXPECT_EQ(st.error().code, c.want) << c.name << ": " << st.error().to_string();
  }
  // A device owned by a person blocks deleting that person.
  W([](Tx& tx) { return tx.put_device(device("d1", "p-x", "iOS", model::DeviceType::phone, 1)); });
  auto st = try_write([](Tx& tx) { return tx.delete_person("p-x"); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::conflict);
}

// ---------- devices ----------

TEST_P(StoreTest, DeviceRoundTripAndAppsReplaced) {
  seed_org();
  Device d = device("dev-1", "p-ivan", "iOS", model::DeviceType::phone, 100);
  d.source = model::DeviceSource::agent;
  d.managed = true;
  d.apps = {{"us.zoom.videomeetings", "Zoom", "5.13"}, {"ru.trueconf.client", "TrueConf", "8.1"}};
  d.may_be = {"iPadOS", "macOS"};
  d.facts_json = R"({"encrypted":true})";
  W([&](Tx& tx) { return tx.put_device(d); });
  R([&](Tx& tx) -> Status {
    FW_TRY(auto got, tx.get_device("dev-1"));
    EXPECT_EQ(got.owner_id, "p-ivan");
    EXPECT_EQ(got.source, model::DeviceSource::agent);
    EXPECT_EQ(got.os_family, "iOS");
    EXPECT_EQ(got.os_version, "16.3");
    EXPECT_EQ(got.vendor, "Apple");
    EXPECT_EQ(got.model, "iPhone 12");
    EXPECT_EQ(got.type, model::DeviceType::phone);
    EXPECT_TRUE(got.managed);
    EXPECT_EQ(got.first_seen, T(0));
    EXPECT_EQ(got.last_seen, T(100));
    EXPECT_EQ(got.apps, d.apps);
    EXPECT_EQ(got.may_be, d.may_be);
    EXPECT_EQ(got.facts_json, d.facts_json);
    return {};
  });
  d.apps = {{"ru.trueconf.client", "TrueConf", "8.2"}};
  d.owner_id = "";
  d.may_be.clear();
  W([&](Tx& tx) { return tx.put_device(d); });
  R([&](Tx& tx) -> Status {
    FW_TRY(auto got, tx.get_device("dev-1"));
    EXPECT_EQ(got.apps, d.apps);
    EXPECT_EQ(got.owner_id, "");
    EXPECT_TRUE(got.may_be.empty());
    EXPECT_EQ(tx.get_device("nope").error().code, Errc::not_found);
    return {};
  });
  W([](Tx& tx) { return tx.delete_device("dev-1"); });
  auto st = try_write([](Tx& tx) { return tx.delete_device("dev-1"); });
  EXPECT_EQ(st.error().code, Errc::not_found);
  st = try_write([](Tx& tx) { return tx.put_device(device("d2", "ghost", "iOS", model::DeviceType::phone, 1)); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::conflict);
}

TEST_P(StoreTest, DeviceFilters) {
  seed_org();
  W([](Tx& tx) -> Status {
    using model::DeviceType;
    FW_TRY_STATUS(tx.put_device(device("a-ios", "p-ivan", "iOS", DeviceType::phone, 10)));
    FW_TRY_STATUS(tx.put_device(device("b-ipad", "p-boss", "iPadOS", DeviceType::tablet, 20)));
    auto andr = device("c-android", "p-olga", "Android", DeviceType::phone, 30);
    andr.vendor = "Samsung";
    andr.model = "Galaxy S21";
    andr.managed = true;
    andr.source = model::DeviceSource::agent;
    FW_TRY_STATUS(tx.put_device(andr));
    FW_TRY_STATUS(tx.put_device(device("d-orphan", "", "iOS", DeviceType::phone, 40)));
    FW_TRY_STATUS(tx.put_device(device("e-x", "p-x", "Windows", DeviceType::desktop, 50)));
    return {};
  });
  struct Case { const char* name; DeviceFilter f; std::vector<std::string> ids; };
  DeviceFilter by_family, sub_admin, sub_regions, tablets, managed, unmanaged, before, after, search_vendor,
      search_owner, owner, agent, combo;
  by_family.os_family = "iOS";
  sub_admin.subtree = "/admin";
  sub_regions.subtree = "/regions";
  tablets.type = model::DeviceType::tablet;
  managed.managed = true;
  unmanaged.managed = false;
  before.seen_before = T(30);
  after.seen_after = T(30);
  search_vendor.search = "GALAXY";
  search_owner.search = "иванов";
  owner.owner_id = "p-boss";
  agent.source = model::DeviceSource::agent;
  combo.os_family = "iOS";
  combo.subtree = "/admin";
  combo.seen_after = T(5);
  std::vector<Case> cases = {
      {"all", {}, {"a-ios", "b-ipad", "c-android", "d-orphan", "e-x"}},
      {"os_family", by_family, {"a-ios", "d-orphan"}},
      {"subtree /admin", sub_admin, {"a-ios", "b-ipad"}},
      {"subtree /regions excludes /regionsx", sub_regions, {"c-android"}},
      {"type", tablets, {"b-ipad"}},
      {"managed", managed, {"c-android"}},
      {"unmanaged", unmanaged, {"a-ios", "b-ipad", "d-orphan", "e-x"}},
      {"seen before", before, {"a-ios", "b-ipad"}},
      {"seen after", after, {"c-android", "d-orphan", "e-x"}},
      {"search model", search_vendor, {"c-android"}},
      {"search owner name", search_owner, {"a-ios"}},
      {"owner", owner, {"b-ipad"}},
      {"source", agent, {"c-android"}},
      {"combined", combo, {"a-ios"}},
  };
  R([&](Tx& tx) -> Status {
    for (const auto& c : cases) {
      FW_TRY(auto page, tx.list_devices(c.f, {}));
      std::vector<std::string> ids;
      for (auto& d : page.items) ids.push_back(d.id);
      EXPECT_EQ(ids, c.ids) << c.name;
      FW_TRY(auto n, tx.count_devices(c.f));
      EXPECT_EQ(n, static_cast<int64_t>(c.ids.size())) << c.name;
      std::vector<std::string> scanned;
      FW_TRY_STATUS(tx.scan_devices(c.f, [&](const Device& d) -> Status {
        scanned.push_back(d.id);
        return {};
      }));
      EXPECT_EQ(scanned, c.ids) << c.name;
    }
    return {};
  });
}

TEST_P(StoreTest, DevicePaginationIsStableAndComplete) {
  seed_org();
  W([](Tx& tx) -> Status {
    for (int i = 0; i < 2345; ++i) {
      auto d = device("dev-" + std::to_string(i), i % 3 ? "p-ivan" : "p-olga", i % 2 ? "iOS" : "Android",
                      model::DeviceType::phone, i);
      d.apps = {{"app" + std::to_string(i % 5), "App", "1"}};
      FW_TRY_STATUS(tx.put_device(d));
    }
    return {};
  });
  for (int limit : {1, 7, 100, 1000, 5000}) {
    std::vector<std::string> ids;
    std::string cursor;
    int pages = 0;
    DeviceFilter f;
    f.os_family = "iOS";
    do {
      R([&](Tx& tx) -> Status {
        FW_TRY(auto page, tx.list_devices(f, {cursor, limit}));
        EXPECT_LE(static_cast<int>(page.items.size()), std::min(limit, 1000));
        for (auto& d : page.items) {
          ids.push_back(d.id);
          EXPECT_EQ(d.apps.size(), 1u);
        }
        cursor = page.next_cursor;
        return {};
      });
      ++pages;
      if (limit == 1 && pages > 50) break;  // enough for the smallest page size
    } while (!cursor.empty());
    EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end())) << limit;
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size()) << limit;
    if (limit != 1) EXPECT_EQ(ids.size(), 1172u) << limit;
  }
  int n = 0;
  R([&](Tx& tx) -> Status {
    return tx.scan_devices({}, [&](const Device&) -> Status {
      ++n;
      return {};
    });
  });
  EXPECT_EQ(n, 2345);
  // The callback may use the same Tx between devices (evaluation looks up owners).
  int owners = 0;
  R([&](Tx& tx) -> Status {
    return tx.scan_devices({}, [&](const Device& d) -> Status {
      FW_TRY(auto p, tx.get_person(d.owner_id));
      FW_TRY(auto again, tx.list_devices({.owner_id = p.id}, {"", 1}));
      if (!again.items.empty()) ++owners;
      return {};
    });
  });
  EXPECT_EQ(owners, 2345);
  // A callback error stops the scan and comes back.
  auto st = store_->read([](Tx& tx) {
    return tx.scan_devices({}, [](const Device&) -> Status { return fail(Errc::timeout, "stop"); });
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::timeout);
  for (const char* bad : {"garbage", "c1.zz", "c1.41.42"}) {
    auto r = store_->read([&](Tx& tx) -> Status {
      FW_TRY_STATUS(tx.list_devices({}, {bad, 10}));
      return {};
    });
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid_argument) << bad;
  }
}

// ---------- transactions ----------

TEST_P(StoreTest, FailedWriteLeavesNothing) {
  seed_org();
  // The callback fails after a successful put.
  auto st = try_write([](Tx& tx) -> Status {
    FW_TRY_STATUS(tx.put_org_unit(OrgUnit{"ou-new", "/new", "New", "", ""}));
    FW_TRY_STATUS(tx.put_setting("k", "v"));
    return fail(Errc::invalid_argument, "bad row", "people.csv:3");
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().where, "people.csv:3");
  // A constraint error the callback ignores still dooms the transaction.
  st = try_write([](Tx& tx) -> Status {
    FW_TRY_STATUS(tx.put_org_unit(OrgUnit{"ou-new2", "/new2", "New", "", ""}));
    auto bad = tx.put_person(Person{"p9", "a", "a@x", "a", "/nope", "", ""});
    EXPECT_FALSE(bad);
    auto later = tx.put_setting("k2", "v");  // refused: the transaction is doomed
    EXPECT_FALSE(later);
    return {};
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::conflict);
  // An exception rolls back too.
  EXPECT_THROW((void)store_->write([](Tx& tx) -> Status {
    (void)tx.put_setting("k3", "v");
    throw std::runtime_error("boom");
  }),
               std::runtime_error);
  R([](Tx& tx) -> Status {
    EXPECT_EQ(tx.get_org_unit("ou-new").error().code, Errc::not_found);
    EXPECT_EQ(tx.get_org_unit("ou-new2").error().code, Errc::not_found);
    EXPECT_EQ(tx.get_setting("k").error().code, Errc::not_found);
    EXPECT_EQ(tx.get_setting("k2").error().code, Errc::not_found);
    EXPECT_EQ(tx.get_setting("k3").error().code, Errc::not_found);
    return {};
  });
  // not_found does not doom a write.
  W([](Tx& tx) -> Status {
    EXPECT_FALSE(tx.get_person("ghost"));
    return tx.put_setting("k4", "v");
  });
  R([](Tx& tx) -> Status {
    FW_TRY(auto v, tx.get_setting("k4"));
    EXPECT_EQ(v, "v");
    return {};
  });
}

TEST_P(StoreTest, ReadTransactionCannotWrite) {
  auto st = store_->read([](Tx& tx) { return tx.put_setting("k", "v"); });
  ASSERT_FALSE(st);
  R([](Tx& tx) -> Status {
    EXPECT_EQ(tx.get_setting("k").error().code, Errc::not_found);
    return {};
  });
}

TEST_P(StoreTest, ConcurrentWritersAndReaders) {
  seed_org();
  constexpr int kThreads = 4, kEach = 25;
  std::vector<std::thread> ts;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto st = store_->write([&](Tx& tx) -> Status {
          auto d = device("c-" + std::to_string(t) + "-" + std::to_string(i), "p-ivan", "iOS", model::DeviceType::phone, i);
          FW_TRY_STATUS(tx.put_device(d));
          model::AuditEvent e;
          e.at = T(i);
          e.actor = "thread" + std::to_string(t);
          e.action = "device.create";
          e.entity = "device/" + d.id;
          e.after_json = "{}";
          FW_TRY_STATUS(tx.append_audit(e));
          FW_TRY_STATUS(tx.add_finding_changes({{d.id, "p-ivan", "pol", "pol/r", FindingStatus::fail, T(i)}}));
          PolicyDoc pd;
          pd.id = "shared-policy";
          pd.kind = "policy";
          FW_TRY_STATUS(as_status(tx.put_policy(pd)));
          return {};
        });
        if (!st) {
          ++failures;
          ADD_FAILURE() << st.error().to_string();
        }
        auto rd = store_->read([](Tx& tx) -> Status { return as_status(tx.count_devices({})); });
        if (!rd) ++failures;
      }
    });
  }
  for (auto& th : ts) th.join();
  EXPECT_EQ(failures.load(), 0);
  R([&](Tx& tx) -> Status {
    FW_TRY(auto n, tx.count_devices({}));
    EXPECT_EQ(n, kThreads * kEach);
    FW_TRY(auto v, tx.verify_audit_chain());
    EXPECT_EQ(v, kThreads * kEach);
    int changes = 0;
    FW_TRY_STATUS(tx.scan_finding_changes("pol", [&](const FindingChange&) -> Status {
      ++changes;
      return {};
    }));
    EXPECT_EQ(changes, kThreads * kEach);
    FW_TRY(auto pd, tx.get_policy("shared-policy"));
    EXPECT_EQ(pd.version, kThreads * kEach);
    return {};
  });
}

TEST_P(StoreTest, RecoversFromDroppedDatabaseConnections) {
  if (GetParam() != "postgres") GTEST_SKIP() << "PostgreSQL only: SQLite has no server connection to lose";
  W([](Tx& tx) { return tx.put_setting("a", "1"); });
  R([](Tx& tx) { return as_status(tx.get_setting("a")); });
  ASSERT_TRUE(db_->kill_connections()) << db_->skip_reason();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // The pooled connection is dead; the store notices at BEGIN and retries on a new one.
  W([](Tx& tx) { return tx.put_setting("b", "2"); });
  ASSERT_TRUE(db_->kill_connections());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  R([](Tx& tx) -> Status {
    FW_TRY(auto b, tx.get_setting("b"));
    EXPECT_EQ(b, "2");
    return {};
  });
}

// ---------- audit ----------

TEST_P(StoreTest, AuditChainAppendsListsAndVerifies) {
  W([](Tx& tx) -> Status {
    for (int i = 1; i <= 7; ++i) {
      model::AuditEvent e;
      e.at = T(i);
      e.actor = "admin";
      e.action = "device.update";
      e.entity = "device/d" + std::to_string(i);
      e.before_json = i == 1 ? "" : "{\"n\":" + std::to_string(i - 1) + "}";
      e.after_json = "{\"n\":" + std::to_string(i) + "}";
      FW_TRY(auto got, tx.append_audit(e));
      EXPECT_EQ(got.seq, i);
      EXPECT_EQ(got.hash.size(), 64u);
      if (i == 1) EXPECT_EQ(got.prev_hash, "");
    }
    return {};
  });
  R([](Tx& tx) -> Status {
    std::vector<model::AuditEvent> all;
    std::string cursor;
    do {
      FW_TRY(auto page, tx.list_audit({cursor, 3}));
      all.insert(all.end(), page.items.begin(), page.items.end());
      cursor = page.next_cursor;
    } while (!cursor.empty());
    EXPECT_EQ(all.size(), 7u);
    for (size_t i = 1; i < all.size(); ++i) {
      EXPECT_EQ(all[i].seq, all[i - 1].seq + 1);
      EXPECT_EQ(all[i].prev_hash, all[i - 1].hash);
    }
    EXPECT_EQ(all[2].entity, "device/d3");
    EXPECT_EQ(all[0].before_json, "");
    FW_TRY(auto n, tx.verify_audit_chain());
    EXPECT_EQ(n, 7);
    return {};
  });
}

TEST_P(StoreTest, AuditChainDetectsTampering) {
  auto append = [&](int n) {
    W([&](Tx& tx) -> Status {
      for (int i = 0; i < n; ++i) {
        model::AuditEvent e;
        e.at = T(i);
        e.actor = "admin";
        e.action = "x";
        e.entity = "e/" + std::to_string(i);
        FW_TRY_STATUS(tx.append_audit(e));
      }
      return {};
    });
  };
  auto verify = [&]() -> Result<int64_t> {
    Result<int64_t> out = 0;
    auto st = store_->read([&](Tx& tx) -> Status {
      out = tx.verify_audit_chain();
      return {};
    });
    if (!st) return std::unexpected(st.error());
    return out;
  };
  append(5);
  ASSERT_TRUE(verify());
  struct Case { const char* name; std::string sql; std::string where; };
  // Each case tampers, checks, then the test restores a fresh log by re-creating the db.
  std::vector<Case> cases = {
      {"altered field", "UPDATE audit_events SET actor = 'mallory' WHERE seq = 3", "audit seq 3"},
      {"recomputed-looking hash", "UPDATE audit_events SET hash = prev_hash WHERE seq = 2", "audit seq 2"},
      {"deleted middle", "DELETE FROM audit_events WHERE seq = 4", "audit seq 5"},
      {"deleted newest", "DELETE FROM audit_events WHERE seq = 5", "audit seq 5"},
  };
  for (const auto& c : cases) {
    db_ = std::make_unique<testing::TestDb>(GetParam());
    auto s = db_->open();
    ASSERT_TRUE(s);
    store_ = std::move(*s);
    append(5);
    ASSERT_TRUE(db_->raw_exec(c.sql)) << c.name;
    auto r = verify();
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error().code, Errc::conflict) << c.name;
    EXPECT_EQ(r.error().where, c.where) << c.name << ": " << r.error().to_string();
  }
}

// ---------- tokens and settings ----------

TEST_P(StoreTest, TokensAndSettings) {
  model::ApiToken t{"t1", "first admin", model::Role::manager, "/regions", std::string(64, 'a'), T(1), T(99), false};
  W([&](Tx& tx) { return tx.put_token(t); });
  R([&](Tx& tx) -> Status {
    FW_TRY(auto got, tx.find_token_by_hash(std::string(64, 'a')));
    EXPECT_EQ(got.id, "t1");
    EXPECT_EQ(got.role, model::Role::manager);
    EXPECT_EQ(got.scope_path, "/regions");
    EXPECT_EQ(got.expires_at, std::optional<Time>(T(99)));
    EXPECT_FALSE(got.revoked);
    EXPECT_EQ(tx.find_token_by_hash("b").error().code, Errc::not_found);
    return {};
  });
  t.revoked = true;
  t.expires_at.reset();
  W([&](Tx& tx) { return tx.put_token(t); });
  R([&](Tx& tx) -> Status {
    FW_TRY(auto got, tx.find_token_by_hash(std::string(64, 'a')));
    EXPECT_TRUE(got.revoked);
    EXPECT_FALSE(got.expires_at);
    return {};
  });
  auto st = try_write([&](Tx& tx) {
    auto other = t;
    other.id = "t2";
    return tx.put_token(other);  // same secret hash
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::already_exists);

  W([](Tx& tx) -> Status {
    FW_TRY_STATUS(tx.put_setting("org.name", "Правительство"));
    FW_TRY_STATUS(tx.put_setting("org.name", "Government"));
    return tx.put_setting("empty", "");
  });
  R([](Tx& tx) -> Status {
    FW_TRY(auto v, tx.get_setting("org.name"));
    EXPECT_EQ(v, "Government");
    FW_TRY(auto e, tx.get_setting("empty"));
    EXPECT_EQ(e, "");
    EXPECT_EQ(tx.get_setting("nope").error().code, Errc::not_found);
    return {};
  });
}

// ---------- policies ----------

TEST_P(StoreTest, PolicyDocumentsAreVersioned) {
  auto put = [&](std::string id, std::string kind, std::string src, bool active) {
    PolicyDoc out;
    W([&](Tx& tx) -> Status {
      PolicyDoc d;
      d.id = id;
      d.kind = kind;
      d.source = src;
      d.source_name = id + ".yaml";
      d.applied_at = T(5);
      d.applied_by = "admin";
      d.active = active;
      FW_TRY(out, tx.put_policy(d));
      return {};
    });
    return out;
  };
  EXPECT_EQ(put("replace-ios", "campaign", "v1", true).version, 1);
  EXPECT_EQ(put("replace-ios", "campaign", "v2", true).version, 2);
  EXPECT_EQ(put("no-zoom", "policy", "z1", true).version, 1);
  EXPECT_EQ(put("old", "policy", "o1", true).version, 1);
  EXPECT_EQ(put("old", "policy", "o1", false).version, 2);  // withdrawn
  R([](Tx& tx) -> Status {
    FW_TRY(auto d, tx.get_policy("replace-ios"));
    EXPECT_EQ(d.version, 2);
    EXPECT_EQ(d.source, "v2");
    EXPECT_EQ(d.kind, "campaign");
    EXPECT_EQ(d.source_name, "replace-ios.yaml");
    EXPECT_EQ(d.applied_at, T(5));
    EXPECT_EQ(tx.get_policy("nope").error().code, Errc::not_found);
    FW_TRY(auto active, tx.list_policies(true));
    if (active.size() != 2u) return fail(Errc::internal, "unexpected size of active.size()");
    EXPECT_EQ(active[0].id, "no-zoom");
    EXPECT_EQ(active[1].id, "replace-ios");
    FW_TRY(auto all, tx.list_policies(false));
    if (all.size() != 3u) return fail(Errc::internal, "unexpected size of all.size()");
    EXPECT_EQ(all[0].id, "no-zoom");
    EXPECT_EQ(all[1].id, "old");
    EXPECT_FALSE(all[1].active);
    return {};
  });
  auto st = try_write([](Tx& tx) -> Status {
    PolicyDoc d;
    d.id = "x";
    d.kind = "rule";
    return as_status(tx.put_policy(d));
  });
  EXPECT_EQ(st.error().code, Errc::invalid_argument);
}

// ---------- findings ----------

TEST_P(StoreTest, FindingsFiltersPaginationAndCascade) {
  seed_org();
  W([](Tx& tx) -> Status {
    for (auto [id, owner] : {std::pair{"d1", "p-ivan"}, {"d2", "p-olga"}, {"d3", "p-boss"}})
      FW_TRY_STATUS(tx.put_device(device(id, owner, "iOS", model::DeviceType::phone, 1)));
    std::vector<Finding> fs;
    for (auto [dev, person] : {std::pair{"d1", "p-ivan"}, {"d2", "p-olga"}, {"d3", "p-boss"}}) {
      for (auto rule : {"replace-ios/no-iphone", "replace-ios/min-os", "no-zoom/zoom"}) {
        Finding f;
        f.device_id = dev;
        f.person_id = person;
        f.rule_key = rule;
        f.policy_id = std::string(rule).substr(0, std::string(rule).find('/'));
        f.status = std::string(dev) == "d2" ? FindingStatus::pass : FindingStatus::fail;
        f.severity = "high";
        if (f.status == FindingStatus::fail) f.first_failed_at = T(10);
        f.last_evaluated_at = T(20);
        f.status_since = T(10);
        fs.push_back(f);
      }
    }
    return tx.put_findings(fs);
  });
  // Update one: d1's zoom finding becomes unknown with an error.
  W([](Tx& tx) -> Status {
    Finding f;
    f.device_id = "d1";
    f.person_id = "p-ivan";
    f.rule_key = "no-zoom/zoom";
    f.policy_id = "no-zoom";
    f.status = FindingStatus::unknown;
    f.severity = "low";
    f.detail = "no such field: apps2";
    f.last_evaluated_at = T(30);
    f.status_since = T(30);
    return tx.put_findings({f});
  });
  struct Case { const char* name; FindingFilter f; size_t n; };
  std::vector<Case> cases = {
      {"all", {}, 9},
      {"policy", {"replace-ios", "", "", "", "", std::nullopt}, 6},
      {"rule", {"", "no-zoom/zoom", "", "", "", std::nullopt}, 3},
      {"device", {"", "", "d3", "", "", std::nullopt}, 3},
      {"person", {"", "", "", "p-olga", "", std::nullopt}, 3},
      {"subtree", {"", "", "", "", "/admin", std::nullopt}, 6},
      {"status fail", {"", "", "", "", "", FindingStatus::fail}, 5},
      {"policy+status", {"replace-ios", "", "", "", "/admin", FindingStatus::fail}, 4},
  };
  R([&](Tx& tx) -> Status {
    for (const auto& c : cases) {
      std::vector<std::pair<std::string, std::string>> keys;
      std::string cursor;
      do {
        FW_TRY(auto page, tx.list_findings(c.f, {cursor, 2}));
        for (auto& f : page.items) keys.emplace_back(f.device_id, f.rule_key);
        cursor = page.next_cursor;
      } while (!cursor.empty());
      EXPECT_EQ(keys.size(), c.n) << c.name;
      EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end())) << c.name;
      size_t scanned = 0;
      FW_TRY_STATUS(tx.scan_findings(c.f, [&](const Finding&) -> Status {
        ++scanned;
        return {};
      }));
      EXPECT_EQ(scanned, c.n) << c.name;
    }
    FW_TRY(auto page, tx.list_findings({"", "no-zoom/zoom", "d1", "", "", std::nullopt}, {}));
    EXPECT_EQ(page.items.size(), 1u);
    const auto& f = page.items.at(0);
    EXPECT_EQ(f.status, FindingStatus::unknown);
    EXPECT_EQ(f.detail, "no such field: apps2");
    EXPECT_EQ(f.severity, "low");
    EXPECT_FALSE(f.first_failed_at);
    EXPECT_EQ(f.last_evaluated_at, T(30));
    FW_TRY(auto p2, tx.list_findings({"", "replace-ios/min-os", "d3", "", "", std::nullopt}, {}));
    EXPECT_EQ(p2.items.at(0).first_failed_at, std::optional<Time>(T(10)));
    return {};
  });
  W([](Tx& tx) { return tx.delete_findings_for_device("d1"); });
  W([](Tx& tx) { return tx.delete_device("d2"); });  // findings go with the device
  R([](Tx& tx) -> Status {
    FW_TRY(auto page, tx.list_findings({}, {}));
    EXPECT_EQ(page.items.size(), 3u);
    for (auto& f : page.items) EXPECT_EQ(f.device_id, "d3");
    return {};
  });
  auto st = try_write([](Tx& tx) {
    Finding f;
    f.device_id = "ghost";
    f.rule_key = "a/b";
    return tx.put_findings({f});
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::conflict);
}

TEST_P(StoreTest, FindingHistoryReconstructsPastStates) {
  // d1 fails on day 1, passes on day 5; d2 fails on day 3. Changes are added out of order.
  W([](Tx& tx) -> Status {
    auto ch = [](std::string dev, FindingStatus s, int day, std::string policy = "replace-ios") {
      return FindingChange{dev, "p-" + dev, policy, policy + "/r", s, T(day * 86400)};
    };
    FW_TRY_STATUS(tx.add_finding_changes({ch("d1", FindingStatus::fail, 1), ch("d2", FindingStatus::fail, 3)}));
    FW_TRY_STATUS(tx.add_finding_changes({ch("d1", FindingStatus::pass, 5), ch("d9", FindingStatus::fail, 2, "other")}));
    FW_TRY_STATUS(tx.add_finding_changes({ch("d3", FindingStatus::unknown, 2)}));
    return {};
  });
  R([](Tx& tx) -> Status {
    std::vector<std::pair<std::string, int64_t>> seen;
    std::map<std::string, FindingStatus> state_day4;
    FW_TRY_STATUS(tx.scan_finding_changes("replace-ios", [&](const FindingChange& c) -> Status {
      seen.emplace_back(c.device_id, to_unix(c.at));
      EXPECT_EQ(c.policy_id, "replace-ios");
      EXPECT_EQ(c.person_id, "p-" + c.device_id);
      if (c.at <= T(4 * 86400)) state_day4[c.device_id] = c.status;
      return {};
    }));
    if (seen.size() != 4u) return fail(Errc::internal, "unexpected size of seen.size()");
    EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end(), [](auto& a, auto& b) { return a.second < b.second; }));
    EXPECT_EQ(seen.front().first, "d1");
    EXPECT_EQ(seen.back().first, "d1");
    EXPECT_EQ(state_day4["d1"], FindingStatus::fail);
    EXPECT_EQ(state_day4["d2"], FindingStatus::fail);
    EXPECT_EQ(state_day4["d3"], FindingStatus::unknown);
    int all = 0;
    FW_TRY_STATUS(tx.scan_finding_changes("", [&](const FindingChange&) -> Status {
      ++all;
      return {};
    }));
    EXPECT_EQ(all, 5);
    return {};
  });
}

// ---------- exemptions ----------

TEST_P(StoreTest, Exemptions) {
  seed_org();
  W([](Tx& tx) -> Status {
    FW_TRY_STATUS(tx.put_device(device("d1", "p-ivan", "iOS", model::DeviceType::phone, 1)));
    FW_TRY_STATUS(tx.put_exemption(Exemption{"ex1", "p-ivan", "", "replace-ios", "", "needs iOS for work", "p-boss", T(1), T(100)}));
    FW_TRY_STATUS(tx.put_exemption(Exemption{"ex2", "", "d1", "no-zoom", "zoom", "legacy", "p-boss", T(2), T(200)}));
    return {};
  });
  R([](Tx& tx) -> Status {
    FW_TRY(auto e, tx.get_exemption("ex2"));
    EXPECT_EQ(e.device_id, "d1");
    EXPECT_EQ(e.person_id, "");
    EXPECT_EQ(e.rule_id, "zoom");
    EXPECT_EQ(e.expires_at, T(200));
    FW_TRY(auto all, tx.list_exemptions(""));
    EXPECT_EQ(all.size(), 2u);
    FW_TRY(auto some, tx.list_exemptions("replace-ios"));
    if (some.size() != 1u) return fail(Errc::internal, "unexpected size of some.size()");
    EXPECT_EQ(some[0].reason, "needs iOS for work");
    return {};
  });
  struct Case { const char* name; Exemption e; Errc want; };
  std::vector<Case> cases = {
      {"both", {"ex3", "p-ivan", "d1", "x", "", "", "", T(1), T(2)}, Errc::invalid_argument},
      {"neither", {"ex3", "", "", "x", "", "", "", T(1), T(2)}, Errc::invalid_argument},
      {"unknown person", {"ex3", "ghost", "", "x", "", "", "", T(1), T(2)}, Errc::conflict},
      {"unknown device", {"ex3", "", "ghost", "x", "", "", "", T(1), T(2)}, Errc::conflict},
  };
  for (auto& c : cases) {
    auto st = try_write([&](Tx& tx) { return tx.put_exemption(c.e); });
    ASSERT_FALSE(st) << c.name;
    EXPECT_EQ(st.error().code, c.want) << c.name;
  }
  W([](Tx& tx) { return tx.delete_exemption("ex1"); });
  EXPECT_EQ(try_write([](Tx& tx) { return tx.delete_exemption("ex1"); }).error().code, Errc::not_found);
  W([](Tx& tx) { return tx.delete_device("d1"); });  // takes ex2 with it
  R([](Tx& tx) -> Status {
    FW_TRY(auto all, tx.list_exemptions(""));
    EXPECT_TRUE(all.empty());
    return {};
  });
}

// ---------- sightings ----------

TEST_P(StoreTest, SightingsMerge) {
  auto s = [](std::string fp, int64_t first, int64_t last, int64_t count, std::string ua) {
    model::Sighting x;
    x.user = "DOMAIN\\ivanov";
    x.person_id = "p-ivan";
    x.fingerprint = std::move(fp);
    x.user_agent = std::move(ua);
    x.os_family = "iOS";
    x.type = model::DeviceType::phone;
    x.first_seen = T(first);
    x.last_seen = T(last);
    x.count = count;
    return x;
  };
  W([&](Tx& tx) { return tx.put_sightings({s("fp1", 10, 20, 3, "ua-old"), s("fp2", 5, 6, 1, "ua2")}); });
  W([&](Tx& tx) -> Status {
    auto later = s("fp1", 15, 40, 2, "ua-new");
    later.device_id = "dev-1";
    FW_TRY_STATUS(tx.put_sightings({later}));
    return tx.put_sightings({s("fp1", 1, 30, 5, "ua-newest")});  // earlier first, earlier last
  });
  R([](Tx& tx) -> Status {
    FW_TRY(auto all, tx.list_sightings("", "p-ivan", 10));
    if (all.size() != 2u) return fail(Errc::internal, "unexpected size of all.size()");
    const auto& a = all[0];  // newest last_seen first
    EXPECT_EQ(a.fingerprint, "fp1");
    EXPECT_EQ(a.count, 10);
    EXPECT_EQ(a.first_seen, T(1));
    EXPECT_EQ(a.last_seen, T(40));
    EXPECT_EQ(a.user_agent, "ua-newest");
    EXPECT_EQ(a.device_id, "");  // replaced by the last put
    EXPECT_EQ(a.type, model::DeviceType::phone);
    EXPECT_EQ(all[1].fingerprint, "fp2");
    FW_TRY(auto one, tx.list_sightings("", "p-ivan", 1));
    EXPECT_EQ(one.size(), 1u);
    FW_TRY(auto none, tx.list_sightings("dev-1", "", 10));
    EXPECT_TRUE(none.empty());
    return {};
  });
  EXPECT_EQ(try_write([&](Tx& tx) { return tx.put_sightings({s("", 1, 1, 1, "")}); }).error().code,
            Errc::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fw::store
