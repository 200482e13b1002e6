// Store tests of what the dashboard needs (issue 7), on both backends (TEST_P over "sqlite"
// and "postgres"; PostgreSQL needs FW_TEST_PG_URL): sorted keyset pages of devices, people
// and findings with the names from the list query's joins, a device's finding history, and
// sign-in sessions. Each test gets a fresh database (TestDb).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "store/store_test_util.h"

namespace fw::store {
namespace {

using model::Device;
using model::OrgUnit;
using model::Person;

Time T(int64_t s) { return from_unix(1'700'000'000 + s); }

class DashboardStoreTest : public testing::StoreBackendTest {
 protected:
  // Two units, a manager and five staff; 23 devices whose sort columns repeat (ties are
  // broken by the id), one without an owner. Names start with a capital letter and have no
  // punctuation, so binary (SQLite) and linguistic (PostgreSQL) collations agree.
  void seed() {
    W([&](Tx& tx) -> Status {
      FW_TRY_STATUS(tx.put_org_unit(OrgUnit{"ou-a", "/admin", "Administration", "department", ""}));
      FW_TRY_STATUS(tx.put_org_unit(OrgUnit{"ou-r", "/regions", "Regions", "department", ""}));
      FW_TRY_STATUS(tx.put_person(Person{"p-boss", "Boss Zorina", "zorina@example.org", "zorina", "/admin", "", ""}));
      const char* names[] = {"Anna Petrova", "Ivan Ivanov", "Olga Smirnova", "Boris Kim", "Anna Orlova"};
      for (int i = 0; i < 5; ++i)
        FW_TRY_STATUS(tx.put_person(Person{"p-" + std::to_string(i), names[i],
                                           "user" + std::to_string(4 - i) + "@example.org", "u" + std::to_string(i),
                                           i % 2 ? "/regions" : "/admin", "p-boss", ""}));
      const char* models[] = {"Pixel", "Galaxy", "Pixel", "Mate", "Galaxy"};
      const char* fams[] = {"Android", "iOS", "HarmonyOS"};
      for (int i = 0; i < 23; ++i) {
        Device d;
        d.id = "d-" + std::string(1, static_cast<char>('a' + (i * 7) % 23));  // ids not in insertion order
        d.owner_id = i == 22 ? "" : "p-" + std::to_string(i % 5);
        d.os_family = fams[i % 3];
        d.os_version = std::to_string(10 + i % 4);
        d.vendor = "Vendor";
        d.model = models[i % 5];
        d.type = i % 4 ? model::DeviceType::phone : model::DeviceType::tablet;
        d.source = i % 2 ? model::DeviceSource::agent : model::DeviceSource::import;
        d.managed = i % 3 == 0;
        d.first_seen = T(0);
        d.last_seen = T(100 * (i % 6));
        devices_.push_back(d);
        FW_TRY_STATUS(tx.put_device(d));
      }
      return {};
    });
  }

  // Every page of the devices list with this sort and page size.
  std::vector<std::string> all_devices(const std::string& sort, int limit, const DeviceFilter& f = {}) {
    std::vector<std::string> ids;
    PageRequest p{.cursor = "", .limit = limit, .sort = sort};
    for (int pages = 0; pages < 100; ++pages) {
      Page<Device> page;
      R([&](Tx& tx) -> Status {
        FW_TRY(page, tx.list_devices(f, p));
        return {};
      });
      for (const auto& d : page.items) {
        ids.push_back(d.id);
        if (!d.owner_id.empty()) {
          EXPECT_TRUE(page.person_names.contains(d.owner_id)) << d.id;
        }
      }
      if (page.next_cursor.empty()) break;
      p.cursor = page.next_cursor;
    }
    return ids;
  }

  // Every page of the people list with this sort and page size (no pages past 100), checking
  // that each page names the units and managers of its rows.
  std::vector<std::string> all_people(const std::string& sort, int limit) {
    std::vector<std::string> ids;
    PageRequest p{.cursor = "", .limit = limit, .sort = sort};
    for (int pages = 0; pages < 100; ++pages) {
      Page<Person> page;
      R([&](Tx& tx) -> Status {
        FW_TRY(page, tx.list_people({}, p));
        return {};
      });
      for (const auto& x : page.items) {
        ids.push_back(x.id);
        EXPECT_TRUE(page.org_unit_names.contains(x.org_unit_path)) << x.id;
        if (!x.manager_id.empty()) {
          EXPECT_TRUE(page.person_names.contains(x.manager_id)) << x.id;
        }
      }
      if (page.next_cursor.empty()) break;
      p.cursor = page.next_cursor;
    }
    return ids;
  }

  std::vector<Device> devices_;
};

// The order each device sort field must give (the key, then the id), computed here.
std::vector<std::string> expected_devices(std::vector<Device> ds, const std::string& field, bool desc) {
  auto key = [&](const Device& d) {
    if (field == "model") return std::make_tuple(d.model, std::string(), int64_t{0}, d.id);
    if (field == "os") return std::make_tuple(d.os_family, d.os_version, int64_t{0}, d.id);
    if (field == "type") return std::make_tuple(std::string(model::to_string(d.type)), std::string(), int64_t{0}, d.id);
    if (field == "source")
      return std::make_tuple(std::string(model::to_string(d.source)), std::string(), int64_t{0}, d.id);
    if (field == "managed") return std::make_tuple(std::string(), std::string(), int64_t{d.managed}, d.id);
    if (field == "last_seen") return std::make_tuple(std::string(), std::string(), to_unix(d.last_seen), d.id);
    return std::make_tuple(std::string(), std::string(), int64_t{0}, d.id);
  };
  std::sort(ds.begin(), ds.end(), [&](const Device& a, const Device& b) { return desc ? key(b) < key(a) : key(a) < key(b); });
  std::vector<std::string> ids;
  for (const auto& d : ds) ids.push_back(d.id);
  return ids;
}

TEST_P(DashboardStoreTest, DevicesSortEveryFieldBothWaysInStablePages) {
  seed();
  for (std::string field : {"id", "model", "os", "type", "source", "managed", "last_seen"}) {
    for (bool desc : {false, true}) {
      const std::string sort = (desc ? "-" : "") + field;
      const auto want = expected_devices(devices_, field, desc);
      for (int limit : {1, 4, 23, 100}) EXPECT_EQ(all_devices(sort, limit), want) << sort << " limit " << limit;
    }
  }
  // "" is the default order (by id), and its cursors are the ones lists had before sorting.
  EXPECT_EQ(all_devices("", 5), expected_devices(devices_, "id", false));
}

TEST_P(DashboardStoreTest, DevicesSortWithAFilter) {
  seed();
  DeviceFilter f;
  f.os_family = "iOS";
  std::vector<Device> ios;
  for (const auto& d : devices_)
    if (d.os_family == "iOS") ios.push_back(d);
  EXPECT_EQ(all_devices("-last_seen", 3, f), expected_devices(ios, "last_seen", true));
  f = {};
  f.subtree = "/regions";
  std::vector<Device> reg;
  for (const auto& d : devices_)
    if (d.owner_id == "p-1" || d.owner_id == "p-3") reg.push_back(d);
  EXPECT_EQ(all_devices("model", 2, f), expected_devices(reg, "model", false));
}

TEST_P(DashboardStoreTest, DeviceOwnerNamesComeWithThePage) {
  seed();
  Page<Device> page;
  R([&](Tx& tx) -> Status {
    FW_TRY(page, tx.list_devices({}, PageRequest{.cursor = "", .limit = 100, .sort = ""}));
    return {};
  });
  ASSERT_EQ(page.items.size(), 23u);
  EXPECT_EQ(page.person_names.at("p-0"), "Anna Petrova");
  EXPECT_EQ(page.person_names.at("p-3"), "Boris Kim");
  EXPECT_EQ(page.person_names.size(), 5u);  // the unowned device adds none
}

TEST_P(DashboardStoreTest, BadSortAndForeignCursorsAreRejectedNamingTheParameter) {
  seed();
  const struct {
    std::string sort, cursor_from, where;
  } cases[] = {
      {"owner_shoe_size", "", "sort"},
      {"-", "", "sort"},
      {"--model", "", "sort"},
      {"model", "last_seen", "cursor"},   // a cursor of another order
      {"-model", "model", "cursor"},      // or of the other direction
      {"", "model", "cursor"},            // the default order does not take a named cursor
      {"model", "", "cursor"},            // nor a named order the default's
  };
  for (const auto& c : cases) {
    std::string cursor;
    if (c.where == "cursor") {
      R([&](Tx& tx) -> Status {
        FW_TRY(auto pg, tx.list_devices({}, PageRequest{.cursor = "", .limit = 2, .sort = c.cursor_from}));
        cursor = pg.next_cursor;
        return {};
      });
      ASSERT_FALSE(cursor.empty());
    }
    auto st = store_->read([&](Tx& tx) -> Status {
      FW_TRY(auto pg, tx.list_devices({}, PageRequest{.cursor = cursor, .limit = 2, .sort = c.sort}));
      return {};
    });
    ASSERT_FALSE(st) << c.sort;
    EXPECT_EQ(st.error().code, Errc::invalid_argument) << c.sort;
    EXPECT_EQ(st.error().where, c.where) << c.sort;
    if (c.where == "sort") {
      EXPECT_NE(st.error().message.find("last_seen"), std::string::npos) << st.error().message;
    }
  }
}

TEST_P(DashboardStoreTest, PeopleSortAndNames) {
  seed();
  auto order = [&](const std::string& sort) { return all_people(sort, 2); };
  using V = std::vector<std::string>;
  // Names: Anna Orlova (4), Anna Petrova (0), Boris Kim (3), Boss Zorina, Ivan Ivanov (1), Olga Smirnova (2).
  EXPECT_EQ(order("name"), (V{"p-4", "p-0", "p-3", "p-boss", "p-1", "p-2"}));
  EXPECT_EQ(order("-name"), (V{"p-2", "p-1", "p-boss", "p-3", "p-0", "p-4"}));
  // E-mails user0 (p-4) .. user4 (p-0), then zorina.
  EXPECT_EQ(order("email"), (V{"p-4", "p-3", "p-2", "p-1", "p-0", "p-boss"}));
  // Units, then names: /admin: Anna Orlova, Anna Petrova, Boss Zorina, Olga Smirnova; /regions: Boris Kim, Ivan Ivanov.
  EXPECT_EQ(order("org_unit"), (V{"p-4", "p-0", "p-boss", "p-2", "p-3", "p-1"}));
  EXPECT_EQ(order(""), (V{"p-0", "p-1", "p-2", "p-3", "p-4", "p-boss"}));
  Page<Person> page;
  R([&](Tx& tx) -> Status {
    FW_TRY(page, tx.list_people({}, PageRequest{.cursor = "", .limit = 10, .sort = ""}));
    return {};
  });
  EXPECT_EQ(page.org_unit_names.at("/regions"), "Regions");
  EXPECT_EQ(page.person_names.at("p-boss"), "Boss Zorina");  // every manager in the seed
  auto bad = store_->read([](Tx& tx) -> Status {
    FW_TRY(auto pg, tx.list_people({}, PageRequest{.cursor = "", .limit = 2, .sort = "shoe_size"}));
    return {};
  });
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().where, "sort");
}

TEST_P(DashboardStoreTest, FindingsViewSortsAndNames) {
  seed();
  std::vector<Finding> fs;
  const FindingStatus sts[] = {FindingStatus::fail, FindingStatus::pass, FindingStatus::exempt};
  for (int i = 0; i < 6; ++i)
    for (std::string rule : {"camp/no-ios", "camp/no-zoom"}) {
      const Device& d = devices_[i];
      Finding f;
      f.device_id = d.id;
      f.person_id = d.owner_id;
      f.policy_id = "camp";
      f.rule_key = rule;
      f.status = sts[(i + rule.size()) % 3];
      f.severity = "high";
      f.last_evaluated_at = T(1000);
      f.status_since = T(10 * (i % 3));
      fs.push_back(f);
    }
  W([&](Tx& tx) { return tx.put_findings(fs); });
  auto order = [&](const std::string& sort, Page<Finding>* first = nullptr) {
    std::vector<std::pair<std::string, std::string>> keys;
    PageRequest p{.cursor = "", .limit = 5, .sort = sort};
    for (;;) {
      Page<Finding> page;
      R([&](Tx& tx) -> Status {
        FW_TRY(page, tx.list_findings_view({.policy_id = "camp"}, p));
        return {};
      });
      if (first && keys.empty()) *first = page;
      for (const auto& x : page.items) keys.emplace_back(x.device_id, x.rule_key);
      if (page.next_cursor.empty()) return keys;
      p.cursor = page.next_cursor;
    }
  };
  auto expect = [&](auto key, bool desc) {
    auto v = fs;
    std::sort(v.begin(), v.end(), [&](const Finding& a, const Finding& b) { return desc ? key(b) < key(a) : key(a) < key(b); });
    std::vector<std::pair<std::string, std::string>> keys;
    for (const auto& x : v) keys.emplace_back(x.device_id, x.rule_key);
    return keys;
  };
  auto by_device = [](const Finding& f) { return std::tie(f.device_id, f.rule_key); };
  auto by_rule = [](const Finding& f) { return std::tie(f.rule_key, f.device_id); };
  auto by_status = [](const Finding& f) {
    return std::make_tuple(std::string(to_string(f.status)), to_unix(f.status_since), f.device_id, f.rule_key);
  };
  auto by_since = [](const Finding& f) { return std::make_tuple(to_unix(f.status_since), f.device_id, f.rule_key); };
  EXPECT_EQ(order(""), expect(by_device, false));
  EXPECT_EQ(order("-device"), expect(by_device, true));
  EXPECT_EQ(order("rule_key"), expect(by_rule, false));
  EXPECT_EQ(order("status"), expect(by_status, false));
  EXPECT_EQ(order("-status"), expect(by_status, true));
  EXPECT_EQ(order("status_since"), expect(by_since, false));
  EXPECT_EQ(order("-status_since"), expect(by_since, true));
  Page<Finding> first;
  order("", &first);
  ASSERT_FALSE(first.items.empty());
  const Finding& f0 = first.items[0];
  EXPECT_FALSE(first.person_names.at(f0.person_id).empty());
  EXPECT_EQ(first.device_labels.at(f0.device_id).substr(0, 7), "Vendor ");
}

TEST_P(DashboardStoreTest, DeviceFindingHistoryNewestFirst) {
  seed();
  std::vector<FindingChange> cs;
  for (int i = 0; i < 5; ++i)
    cs.push_back(FindingChange{.device_id = "d-a", .person_id = "p-0", .policy_id = "camp", .rule_key = "camp/no-ios",
                               .status = i % 2 ? FindingStatus::pass : FindingStatus::fail, .at = T(100 * i)});
  cs.push_back(FindingChange{.device_id = "d-b", .person_id = "p-1", .policy_id = "camp", .rule_key = "camp/no-ios",
                             .status = FindingStatus::fail, .at = T(250)});
  // Two changes in the same second keep the order they were recorded in (newest first).
  cs.push_back(FindingChange{.device_id = "d-a", .person_id = "p-0", .policy_id = "camp", .rule_key = "camp/no-zoom",
                             .status = FindingStatus::fail, .at = T(400)});
  W([&](Tx& tx) { return tx.add_finding_changes(cs); });
  std::vector<FindingChange> got;
  R([&](Tx& tx) -> Status {
    FW_TRY(got, tx.list_device_finding_changes("d-a", 100));
    return {};
  });
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got[0].at, T(400));
  EXPECT_EQ(got[0].rule_key, "camp/no-zoom");
  EXPECT_EQ(got[1].at, T(400));
  EXPECT_EQ(got[1].rule_key, "camp/no-ios");
  EXPECT_EQ(got[5].at, T(0));
  EXPECT_EQ(got[5].status, FindingStatus::fail);
  for (size_t i = 1; i < got.size(); ++i) EXPECT_LE(got[i].at, got[i - 1].at);
  R([&](Tx& tx) -> Status {
    FW_TRY(got, tx.list_device_finding_changes("d-a", 2));
    EXPECT_EQ(got.size(), 2u);
    FW_TRY(got, tx.list_device_finding_changes("no-such-device", 10));
    EXPECT_TRUE(got.empty());
    return {};
  });
}

TEST_P(DashboardStoreTest, DeviceSpansOfOneType) {
  seed();
  std::multiset<std::tuple<std::string, int64_t, int64_t>> want, got;
  for (const auto& d : devices_)
    if (d.type == model::DeviceType::tablet) want.emplace(d.os_family, to_unix(d.first_seen), to_unix(d.last_seen));
  R([&](Tx& tx) {
    return tx.scan_device_spans(model::DeviceType::tablet, [&](std::string_view fam, Time first, Time last) -> Status {
      got.emplace(std::string(fam), to_unix(first), to_unix(last));
      return {};
    });
  });
  EXPECT_EQ(got, want);
  EXPECT_EQ(got.size(), 6u);  // i % 4 == 0 of 23
}

TEST_P(DashboardStoreTest, WebSessionsExpireAndEndWithTheirToken) {
  model::ApiToken tok{"t1", "night admin", model::Role::operator_, "/regions", std::string(64, 'a'), T(0), T(5000), false};
  model::ApiToken other{"t2", "day admin", model::Role::admin, "", std::string(64, 'b'), T(0), std::nullopt, false};
  W([&](Tx& tx) -> Status {
    FW_TRY_STATUS(tx.put_token(tok));
    return tx.put_token(other);
  });
  auto sess = [](std::string hash, std::string token, int64_t expires) {
    return WebSession{.id_hash = std::move(hash), .csrf = std::string(64, 'c'), .token_id = std::move(token),
                      .created_at = T(0), .expires_at = T(expires)};
  };
  const std::string h1(64, '1'), h2(64, '2'), h3(64, '3'), h4(64, '4');
  W([&](Tx& tx) -> Status {
    FW_TRY_STATUS(tx.put_web_session(sess(h1, "t1", 1000)));
    FW_TRY_STATUS(tx.put_web_session(sess(h2, "t1", 9000)));  // outlives its token (t1 expires at 5000)
    FW_TRY_STATUS(tx.put_web_session(sess(h3, "t2", 1000)));
    return tx.put_web_session(sess(h4, "t2", 2000));
  });
  // A taken hash, a missing token, a malformed hash.
  const struct {
    WebSession s;
    Errc code;
  } bad[] = {{sess(h1, "t2", 10), Errc::already_exists},
             {sess(std::string(64, '9'), "no-such-token", 10), Errc::conflict},
             {sess("short", "t1", 10), Errc::invalid_argument}};
  for (const auto& c : bad) {
    auto st = store_->write([&](Tx& tx) { return tx.put_web_session(c.s); });
    ASSERT_FALSE(st) << c.s.id_hash;
    EXPECT_EQ(st.error().code, c.code) << st.error().to_string();
  }
  auto found = [&](const std::string& h, int64_t at) {
    bool ok = false;
    R([&](Tx& tx) -> Status {
      auto s = tx.find_web_session(h, T(at));
      if (s) {
        ok = true;
        EXPECT_EQ(s->csrf, std::string(64, 'c'));
      } else {
        EXPECT_EQ(s.error().code, Errc::not_found);
      }
      return {};
    });
    return ok;
  };
  R([&](Tx& tx) -> Status {
    FW_TRY(auto s, tx.find_web_session(h1, T(10)));
    EXPECT_EQ(s.token_name, "night admin");
    EXPECT_EQ(s.role, model::Role::operator_);
    EXPECT_EQ(s.scope_path, "/regions");
    EXPECT_EQ(s.expires_at, T(1000));
    return {};
  });
  EXPECT_TRUE(found(h1, 999));
  EXPECT_FALSE(found(h1, 1000));  // ends exactly at expires_at
  EXPECT_TRUE(found(h2, 4999));
  EXPECT_FALSE(found(h2, 5000));  // the token expired
  EXPECT_FALSE(found(std::string(64, 'f'), 0));
  // Revoking the token ends its sessions at once.
  other.revoked = true;
  W([&](Tx& tx) { return tx.put_token(other); });
  EXPECT_FALSE(found(h3, 10));
  other.revoked = false;
  W([&](Tx& tx) { return tx.put_token(other); });
  EXPECT_TRUE(found(h3, 10));
  // Sign-out, sign-out of a token everywhere, purge.
  W([&](Tx& tx) -> Status {
    FW_TRY_STATUS(tx.delete_web_session(h3));
    FW_TRY_STATUS(tx.delete_web_session(h3));  // again: ignored
    FW_TRY(auto n, tx.purge_web_sessions(T(1500)));
    EXPECT_EQ(n, 1);  // h1 (h3 is gone)
    FW_TRY(n, tx.delete_web_sessions_of_token("t2"));
    EXPECT_EQ(n, 1);  // h4
    return {};
  });
  EXPECT_FALSE(found(h3, 10));
  EXPECT_FALSE(found(h4, 10));
  EXPECT_TRUE(found(h2, 10));
}

// ---- search (migration 0010: FTS5 trigram / pg_trgm) ----

// A fleet whose texts exercise the search: Cyrillic (case-folded by the store), LIKE's own
// metacharacters, FTS5's quote, digits, a device without an owner.
void seed_search(Tx& tx) {
  auto ok = [](Status st) { EXPECT_TRUE(st) << st.error().to_string(); };
  ok(tx.put_org_unit(OrgUnit{"ou-s", "/sales", "Sales", "department", ""}));
  const char* people[][3] = {{"s-1", "Анна Петрова", "anna.petrova@example.org"},
                             {"s-2", "Ivan O'Neil \"Jr\"", "ivan_100%@example.org"},
                             {"s-3", "ÉLODIE Durand", "elodie@EXAMPLE.org"},
                             {"s-4", "Пётр Сидоров", "p.sidorov@example.org"}};
  for (auto& p : people)
    ok(tx.put_person(Person{p[0], p[1], p[2], std::string(p[0]) + "-login", "/sales", "", ""}));
  const char* devs[][4] = {{"dv-1", "s-1", "Samsung", "Galaxy S23"},
                           {"dv-2", "s-1", "Apple", "iPhone 15 Pro"},
                           {"dv-3", "s-2", "Xiaomi", "Redmi Note 12"},
                           {"dv-4", "s-3", "Samsung", "Galaxy Tab S9"},
                           {"dv-5", "", "Huawei", "Mate 60 \"Pro\""},
                           {"dv-6", "s-4", "Google", "Pixel 8_100%"},
                           {"dv-7", "s-2", "Samsung", "SM-A546B"}};
  for (auto& d : devs) {
    Device x;
    x.id = d[0];
    x.owner_id = d[1];
    x.vendor = d[2];
    x.model = d[3];
    x.os_family = "Android";
    x.first_seen = x.last_seen = T(0);
    ok(tx.put_device(x));
  }
}

std::vector<std::string> search_devices(Store& s, const std::string& q, bool scan, int limit) {
  std::vector<std::string> ids;
  DeviceFilter f;
  f.search = q;
  f.search_scan = scan;
  PageRequest p{.cursor = "", .limit = limit, .sort = ""};
  for (int i = 0; i < 100; ++i) {
    Page<Device> page;
    auto st = s.read([&](Tx& tx) -> Status {
      FW_TRY(page, tx.list_devices(f, p));
      return {};
    });
    EXPECT_TRUE(st) << q << ": " << st.error().to_string();
    for (const auto& d : page.items) ids.push_back(d.id);
    if (page.next_cursor.empty()) break;
    p.cursor = page.next_cursor;
  }
  int64_t n = -1;
  auto st = s.read([&](Tx& tx) -> Status {
    FW_TRY(n, tx.count_devices(f));
    return {};
  });
  EXPECT_TRUE(st) << q;
  EXPECT_EQ(n, static_cast<int64_t>(ids.size())) << q;
  return ids;
}

std::vector<std::string> search_people(Store& s, const std::string& q, bool scan) {
  std::vector<std::string> ids;
  PersonFilter f;
  f.search = q;
  f.search_scan = scan;
  auto st = s.read([&](Tx& tx) -> Status {
    FW_TRY(auto page, tx.list_people(f, PageRequest{.cursor = "", .limit = 1000, .sort = ""}));
    for (const auto& x : page.items) ids.push_back(x.id);
    return {};
  });
  EXPECT_TRUE(st) << q;
  return ids;
}

TEST_P(DashboardStoreTest, SearchIndexGivesTheRowsOfTheScan) {
  W([&](Tx& tx) -> Status {
    seed_search(tx);
    return {};
  });
  using V = std::vector<std::string>;
  // Expected rows, written out (device: its id/model/vendor or its owner's name/e-mail/login).
  const struct {
    std::string q;
    V devices, people;
  } cases[] = {
      {"samsung", {"dv-1", "dv-4", "dv-7"}, {}},
      {"SAMSUNG", {"dv-1", "dv-4", "dv-7"}, {}},
      {"galaxy s", {"dv-1"}, {}},
      {"петров", {"dv-1", "dv-2"}, {"s-1"}},
      {"ПЕТРОВ", {"dv-1", "dv-2"}, {"s-1"}},
      {"ётр", {"dv-6"}, {"s-4"}},
      {"élodie", {"dv-4"}, {"s-3"}},
      {"100%", {"dv-3", "dv-6", "dv-7"}, {"s-2"}},
      {"_100", {"dv-3", "dv-6", "dv-7"}, {"s-2"}},
      {"\"pro\"", {"dv-5"}, {}},
      {"o'neil \"jr", {"dv-3", "dv-7"}, {"s-2"}},
      {"example.org", {"dv-1", "dv-2", "dv-3", "dv-4", "dv-6", "dv-7"}, {"s-1", "s-2", "s-3", "s-4"}},
      {"dv-5", {"dv-5"}, {}},
      {"pro", {"dv-2", "dv-5"}, {}},
      {"zz-nothing", {}, {}},
      // Shorter than a trigram: the scan.
      {"s9", {"dv-4"}, {}},
      {"é", {"dv-4"}, {"s-3"}},
      {"%", {"dv-3", "dv-6", "dv-7"}, {"s-2"}},
      // A NUL (an Exchange export's display name, say) matches nothing, and is no SQL error.
      {std::string("pro\0x", 5), {}, {}},
      {std::string("\0", 1), {}, {}},
  };
  for (const auto& c : cases) {
    for (int limit : {1, 2, 100}) {
      EXPECT_EQ(search_devices(*store_, c.q, false, limit), c.devices) << c.q << " limit " << limit;
      EXPECT_EQ(search_devices(*store_, c.q, true, limit), c.devices) << c.q << " (scan) limit " << limit;
    }
    EXPECT_EQ(search_people(*store_, c.q, false), c.people) << c.q;
    EXPECT_EQ(search_people(*store_, c.q, true), c.people) << c.q << " (scan)";
  }
}

TEST_P(DashboardStoreTest, SearchIndexFollowsChanges) {
  W([&](Tx& tx) -> Status {
    seed_search(tx);
    return {};
  });
  using V = std::vector<std::string>;
  W([&](Tx& tx) -> Status {
    FW_TRY(auto d, tx.get_device("dv-3"));
    d.model = "Poco F5";
    d.owner_id = "s-4";
    FW_TRY_STATUS(tx.put_device(d));
    FW_TRY_STATUS(tx.delete_device("dv-1"));
    FW_TRY(auto p, tx.get_person("s-3"));
    p.name = "Élodie Martin";
    return tx.put_person(p);
  });
  for (bool scan : {false, true}) {
    EXPECT_EQ(search_devices(*store_, "redmi", scan, 10), V{}) << scan;
    EXPECT_EQ(search_devices(*store_, "poco", scan, 10), V{"dv-3"}) << scan;
    EXPECT_EQ(search_devices(*store_, "sidorov", scan, 10), (V{"dv-3", "dv-6"})) << scan;
    EXPECT_EQ(search_devices(*store_, "samsung", scan, 10), (V{"dv-4", "dv-7"})) << scan;
    EXPECT_EQ(search_devices(*store_, "durand", scan, 10), V{}) << scan;
    EXPECT_EQ(search_devices(*store_, "martin", scan, 10), V{"dv-4"}) << scan;
    EXPECT_EQ(search_people(*store_, "martin", scan), V{"s-3"}) << scan;
  }
}

// ---- sorting by the owner's / manager's name (migration 0010) ----

TEST_P(DashboardStoreTest, DevicesSortByOwnerNameInStablePages) {
  seed();
  std::map<std::string, std::string> names;
  R([&](Tx& tx) -> Status {
    FW_TRY(auto page, tx.list_people({}, PageRequest{.cursor = "", .limit = 100, .sort = ""}));
    for (const auto& p : page.items) names[p.id] = p.name;
    return {};
  });
  auto expect = [&](bool desc) {
    auto ds = devices_;
    auto key = [&](const Device& d) { return std::make_pair(d.owner_id.empty() ? "" : names.at(d.owner_id), d.id); };
    std::sort(ds.begin(), ds.end(), [&](auto& a, auto& b) { return desc ? key(b) < key(a) : key(a) < key(b); });
    std::vector<std::string> ids;
    for (const auto& d : ds) ids.push_back(d.id);
    return ids;
  };
  for (int limit : {1, 4, 100}) {
    EXPECT_EQ(all_devices("owner", limit), expect(false)) << limit;
    EXPECT_EQ(all_devices("-owner", limit), expect(true)) << limit;
  }
  // A renamed owner moves their devices; a device given to another owner moves too.
  W([&](Tx& tx) -> Status {
    FW_TRY(auto p, tx.get_person("p-2"));
    p.name = "Aaron Olgin";
    FW_TRY_STATUS(tx.put_person(p));
    FW_TRY(auto d, tx.get_device(devices_[0].id));
    d.owner_id = "p-boss";
    return tx.put_device(d);
  });
  names["p-2"] = "Aaron Olgin";
  devices_[0].owner_id = "p-boss";
  EXPECT_EQ(all_devices("owner", 3), expect(false));
  EXPECT_EQ(all_devices("-owner", 3), expect(true));
}

TEST_P(DashboardStoreTest, PeopleSortByManagerAndFindingsByOwner) {
  seed();
  auto people = [&](const std::string& sort) { return all_people(sort, 2); };
  using V = std::vector<std::string>;
  // The boss has no manager (""), everyone else has "Boss Zorina"; ties by id.
  EXPECT_EQ(people("manager"), (V{"p-boss", "p-0", "p-1", "p-2", "p-3", "p-4"}));
  EXPECT_EQ(people("-manager"), (V{"p-4", "p-3", "p-2", "p-1", "p-0", "p-boss"}));
  W([&](Tx& tx) -> Status {
    FW_TRY(auto b, tx.get_person("p-boss"));
    b.name = "Anna Boss";
    FW_TRY_STATUS(tx.put_person(b));
    FW_TRY(auto p3, tx.get_person("p-3"));
    p3.manager_id = "p-4";  // Anna Orlova
    return tx.put_person(p3);
  });
  EXPECT_EQ(people("manager"), (V{"p-boss", "p-0", "p-1", "p-2", "p-4", "p-3"}));

  // Findings by their device's owner's name (none first), then device, then rule; with a
  // status filter (the dashboard's default) and without.
  std::vector<Finding> fs;
  for (int i : {0, 1, 2, 3, 4, 5, 6, 7, 22}) {  // device 22 has no owner
    Finding f;
    f.device_id = devices_[i].id;
    f.person_id = devices_[i].owner_id;
    f.policy_id = "camp";
    f.rule_key = "camp/r" + std::to_string(i % 2);
    f.status = i % 3 == 1 ? FindingStatus::pass : FindingStatus::fail;
    f.severity = "high";
    f.last_evaluated_at = T(1);
    f.status_since = T(1);
    fs.push_back(f);
  }
  W([&](Tx& tx) { return tx.put_findings(fs); });
  std::map<std::string, std::string> names;
  R([&](Tx& tx) -> Status {
    FW_TRY(auto page, tx.list_people({}, PageRequest{.cursor = "", .limit = 100, .sort = ""}));
    for (const auto& p : page.items) names[p.id] = p.name;
    return {};
  });
  auto findings = [&](const std::string& sort, bool failing = false, int limit = 2) {
    std::vector<std::string> keys;
    PageRequest p{.cursor = "", .limit = limit, .sort = sort};
    FindingFilter ff{.policy_id = "camp"};
    if (failing) ff.status = FindingStatus::fail;
    for (;;) {
      Page<Finding> page;
      R([&](Tx& tx) -> Status {
        FW_TRY(page, tx.list_findings_view(ff, p));
        return {};
      });
      for (const auto& x : page.items) keys.push_back(x.device_id + "/" + x.rule_key);
      if (page.next_cursor.empty()) return keys;
      p.cursor = page.next_cursor;
    }
  };
  auto expect = [&](bool desc, bool failing = false) {
    std::vector<Finding> v;
    for (const auto& f : fs)
      if (!failing || f.status == FindingStatus::fail) v.push_back(f);
    auto key = [&](const Finding& f) {
      return std::make_tuple(f.person_id.empty() ? std::string() : names.at(f.person_id), f.device_id, f.rule_key);
    };
    std::sort(v.begin(), v.end(), [&](auto& a, auto& b) { return desc ? key(b) < key(a) : key(a) < key(b); });
    std::vector<std::string> keys;
    for (const auto& f : v) keys.push_back(f.device_id + "/" + f.rule_key);
    return keys;
  };
  EXPECT_EQ(findings("owner"), expect(false));
  EXPECT_EQ(findings("-owner"), expect(true));
  EXPECT_EQ(findings("owner", true), expect(false, true));
  EXPECT_EQ(findings("-owner", true), expect(true, true));
  W([&](Tx& tx) -> Status {
    FW_TRY(auto p, tx.get_person("p-0"));
    p.name = "Zoe Petrova";
    return tx.put_person(p);
  });
  names["p-0"] = "Zoe Petrova";
  EXPECT_EQ(findings("owner"), expect(false));
  EXPECT_EQ(findings("-owner", true), expect(true, true));

  // Filters that match more than 2,000 findings take the other way (the walk of the devices
  // in owner order, not the sort of the matching findings): the same order.
  std::vector<Finding> more;
  for (int i : {0, 1, 2, 3, 4, 5, 6, 7, 22})
    for (int r = 0; r < 300; ++r) {
      Finding f = fs[0];
      f.device_id = devices_[i].id;
      f.person_id = devices_[i].owner_id;
      f.rule_key = "camp/m" + std::to_string(1000 + r);
      f.status = r % 5 ? FindingStatus::fail : FindingStatus::pass;  // 2,160 failing
      more.push_back(f);
    }
  W([&](Tx& tx) { return tx.put_findings(more); });
  fs.insert(fs.end(), more.begin(), more.end());
  EXPECT_EQ(findings("owner", false, 97), expect(false));
  EXPECT_EQ(findings("-owner", true, 97), expect(true, true));
}

// ---- API tokens: list, revoke ----

TEST_P(DashboardStoreTest, TokensListAndRevokeEndsSessions) {
  model::ApiToken a{"t-a", "alpha", model::Role::admin, "", std::string(64, 'a'), T(0), std::nullopt, false};
  model::ApiToken b{"t-b", "beta", model::Role::manager, "/regions", std::string(64, 'b'), T(5), T(9000), false};
  W([&](Tx& tx) -> Status {
    FW_TRY_STATUS(tx.put_token(b));
    FW_TRY_STATUS(tx.put_token(a));
    FW_TRY_STATUS(tx.put_web_session(WebSession{.id_hash = std::string(64, '1'), .csrf = "c", .token_id = "t-b",
                                                .created_at = T(0), .expires_at = T(100)}));
    return tx.put_web_session(WebSession{.id_hash = std::string(64, '2'), .csrf = "c", .token_id = "t-b",
                                         .created_at = T(0), .expires_at = T(100)});
  });
  R([&](Tx& tx) -> Status {
    FW_TRY(auto all, tx.list_tokens());
    EXPECT_EQ(all.size(), 2u);
    if (all.size() == 2) {
      EXPECT_EQ(all[0].id, "t-a");  // oldest first
      EXPECT_EQ(all[1].scope_path, "/regions");
      EXPECT_EQ(all[1].expires_at, T(9000));
    }
    FW_TRY(auto t, tx.get_token("t-b"));
    EXPECT_EQ(t.name, "beta");
    EXPECT_FALSE(t.revoked);
    auto none = tx.get_token("t-none");
    EXPECT_FALSE(none);
    if (!none) {
      EXPECT_EQ(none.error().code, Errc::not_found);
    }
    return {};
  });
  W([&](Tx& tx) -> Status {
    FW_TRY(auto n, tx.revoke_token("t-b"));
    EXPECT_EQ(n, 2);
    FW_TRY(n, tx.revoke_token("t-b"));  // again: no error, no sessions left
    EXPECT_EQ(n, 0);
    auto missing = tx.revoke_token("t-none");
    EXPECT_FALSE(missing);
    if (!missing) {
      EXPECT_EQ(missing.error().code, Errc::not_found);
    }
    return {};
  });
  R([&](Tx& tx) -> Status {
    FW_TRY(auto t, tx.get_token("t-b"));
    EXPECT_TRUE(t.revoked);
    EXPECT_FALSE(tx.find_web_session(std::string(64, '1'), T(1)));
    FW_TRY(auto x, tx.get_token("t-a"));
    EXPECT_FALSE(x.revoked);
    return {};
  });
}

// The org-unit filter of devices and findings: the owner's unit, else the device's own
// (devices.org_unit_path, migration 0009) -- the evaluation's scope rule. An owned device
// follows its owner even when it has a unit of its own; one without an owner is filtered by
// its own unit (and a finding whose person is gone, by its device's); one with neither is in
// no subtree.
TEST_P(DashboardStoreTest, UnitFilterIsTheOwnersUnitElseTheDevicesOwn) {
  seed();
  W([&](Tx& tx) -> Status {
    FW_TRY_STATUS(tx.put_org_unit(OrgUnit{"ou-rn", "/regions/north", "North", "branch", ""}));
    Device own = devices_[22];  // no owner
    own.org_unit_path = "/regions/north";
    FW_TRY_STATUS(tx.put_device(own));
    Device owned = devices_[0];  // owner p-0 in /admin
    owned.org_unit_path = "/regions";
    FW_TRY_STATUS(tx.put_device(owned));
    Device orphan = devices_[1];
    orphan.id = "d-orphan";  // no owner; its finding names a person who is gone
    orphan.owner_id = "";
    orphan.org_unit_path = "/regions";
    FW_TRY_STATUS(tx.put_device(orphan));
    Device nowhere = devices_[2];
    nowhere.id = "d-nowhere";
    nowhere.owner_id = "";
    nowhere.org_unit_path = "";
    FW_TRY_STATUS(tx.put_device(nowhere));
    std::vector<Finding> fs;
    for (const Device* d : {&own, &owned, &orphan, &nowhere, &devices_[1]}) {
      Finding f;
      f.device_id = d->id;
      f.person_id = d->id == "d-orphan" ? "p-gone" : d->owner_id;
      f.policy_id = "camp";
      f.rule_key = "camp/r";
      f.status = FindingStatus::fail;
      f.severity = "high";
      f.last_evaluated_at = T(1);
      f.status_since = T(1);
      fs.push_back(f);
    }
    return tx.put_findings(fs);
  });
  // Expected: the seeded devices of /regions owners (p-1, p-3), plus the unowned devices in
  // /regions/north and /regions; not the /admin-owned device with a /regions unit.
  std::set<std::string> regions;
  for (const auto& d : devices_)
    if (d.owner_id == "p-1" || d.owner_id == "p-3") regions.insert(d.id);
  regions.insert(devices_[22].id);
  regions.insert("d-orphan");
  auto devices_in = [&](const std::string& subtree, const std::string& sort) {
    DeviceFilter f;
    f.subtree = subtree;
    auto ids = all_devices(sort, 4, f);
    int64_t n = -1;
    R([&](Tx& tx) -> Status {
      FW_TRY(n, tx.count_devices(f));
      return {};
    });
    EXPECT_EQ(n, static_cast<int64_t>(ids.size())) << subtree;
    return std::set<std::string>(ids.begin(), ids.end());
  };
  for (std::string sort : {"", "owner", "-last_seen"}) {
    EXPECT_EQ(devices_in("/regions", sort), regions) << sort;
    EXPECT_EQ(devices_in("/regions/north", sort), (std::set<std::string>{devices_[22].id})) << sort;
  }
  std::set<std::string> admin = devices_in("/admin", "");
  EXPECT_TRUE(admin.contains(devices_[0].id));
  EXPECT_FALSE(admin.contains(devices_[22].id));
  EXPECT_FALSE(admin.contains("d-nowhere"));
  EXPECT_FALSE(admin.contains("d-orphan"));

  // Findings: the finding's owner's unit, else its device's own.
  auto findings_in = [&](const std::string& subtree, const std::string& sort) {
    std::set<std::string> ids;
    PageRequest p{.cursor = "", .limit = 2, .sort = sort};
    for (int pages = 0; pages < 50; ++pages) {
      Page<Finding> page;
      R([&](Tx& tx) -> Status {
        FW_TRY(page, tx.list_findings_view({.subtree = subtree, .status = FindingStatus::fail}, p));
        return {};
      });
      for (const auto& x : page.items) ids.insert(x.device_id);
      if (page.next_cursor.empty()) break;
      p.cursor = page.next_cursor;
    }
    return ids;
  };
  const std::set<std::string> want{devices_[22].id, "d-orphan", devices_[1].id};  // devices_[1]: owner p-1
  for (std::string sort : {"", "owner", "-status_since"}) {
    EXPECT_EQ(findings_in("/regions", sort), want) << sort;
    EXPECT_EQ(findings_in("/regions/north", sort), (std::set<std::string>{devices_[22].id})) << sort;
    EXPECT_EQ(findings_in("/admin", sort), (std::set<std::string>{devices_[0].id})) << sort;
  }
  // The store's own findings pages (reports, exports) use the same rule.
  std::set<std::string> scanned;
  R([&](Tx& tx) -> Status {
    return tx.scan_findings({.subtree = "/regions"}, [&](const Finding& x) -> Status {
      scanned.insert(x.device_id);
      return {};
    });
  });
  EXPECT_EQ(scanned, want);
}

INSTANTIATE_TEST_SUITE_P(Backends, DashboardStoreTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fw::store
