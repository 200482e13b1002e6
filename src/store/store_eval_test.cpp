// Store tests of what evaluation and the campaign report use, on both backends (TEST_P over
// "sqlite" and "postgres"; PostgreSQL needs FW_TEST_PG_URL): read_eval_batch (devices with
// apps merged with their findings by id range), read_eval_people, device_boundaries,
// delete_findings, scan_failing_people, campaign snapshots and burn-down days. Each test gets a
// fresh database (TestDb).
#include <gtest/gtest.h>

#include "store/store_test_util.h"

namespace fw::store {
namespace {

Time T(int64_t s) { return from_unix(1'700'000'000 + s); }

class StoreEvalTest : public testing::StoreBackendTest {
 protected:
  void SetUp() override {
    StoreBackendTest::SetUp();
    if (IsSkipped() || HasFailure()) return;
    // Two people, 25 devices d00..d24 (every third with two apps), findings for most of them.
    auto st = store_->write([](Tx& tx) -> Status {
      FW_TRY_STATUS(tx.put_org_unit(model::OrgUnit{"ou-a", "/a", "A", "department", ""}));
      FW_TRY_STATUS(tx.put_org_unit(model::OrgUnit{"ou-b", "/b", "B", "department", ""}));
      FW_TRY_STATUS(tx.put_person(model::Person{"p1", "One", "one@x", "one", "/a", "", ""}));
      FW_TRY_STATUS(tx.put_person(model::Person{"p2", "Two", "two@x", "two", "/b", "", ""}));
      std::vector<Finding> fs;
      for (int i = 0; i < 25; ++i) {
        model::Device d;
        char id[8];
        std::snprintf(id, sizeof id, "d%02d", i);
        d.id = id;
        d.owner_id = i % 2 ? "p1" : "p2";
        d.os_family = "iOS";
        d.type = model::DeviceType::phone;
        d.first_seen = d.last_seen = T(0);
        if (i % 3 == 0) d.apps = {{"a.one", "One", "1"}, {"a.two", "Two", "2"}};
        FW_TRY_STATUS(tx.put_device(d));
        if (i % 5 == 4) continue;  // some devices have no findings
        for (const char* rule : {"c/r1", "c/r2", "other/r"}) {
          Finding f;
          f.device_id = id;
          f.person_id = d.owner_id;
          f.rule_key = rule;
          f.policy_id = std::string(rule).substr(0, std::string(rule).find('/'));
          f.status = (i % 4 == 0 && rule[2] == 'r' && rule[3] == '1') ? FindingStatus::fail : FindingStatus::pass;
          f.severity = "high";
          if (f.status == FindingStatus::fail) f.first_failed_at = T(100 + i);
          f.last_evaluated_at = f.status_since = T(200);
          fs.push_back(f);
        }
      }
      return tx.put_findings(fs);
    });
    ASSERT_TRUE(st) << st.error().to_string();
  }
};

TEST_P(StoreEvalTest, ReadEvalBatchWalksTheFleetWithFindings) {
  struct Case {
    const char* name;
    std::string policy;
    int limit;
    size_t per_device;  // findings of a device that has any
  };
  for (const auto& c : std::vector<Case>{{"all documents, 7 at a time", "", 7, 3},
                                         {"one document, 10 at a time", "c", 10, 2},
                                         {"one at a time", "other", 1, 1}}) {
    std::vector<std::string> seen;
    size_t findings = 0;
    auto st = store_->read([&](Tx& tx) -> Status {
      std::string after;
      std::vector<model::Device> ds;
      std::vector<Finding> fs;
      for (;;) {
        FW_TRY_STATUS(tx.read_eval_batch(after, c.limit, c.policy, ds, fs));
        if (ds.empty()) return {};
        EXPECT_LE(ds.size(), size_t(c.limit)) << c.name;
        // Findings belong to this batch's devices, grouped in the devices' order.
        size_t j = 0;
        for (const auto& d : ds) {
          seen.push_back(d.id);
          int i = std::stoi(d.id.substr(1));
          EXPECT_EQ(d.apps.size(), i % 3 == 0 ? 2u : 0u) << c.name << " " << d.id;
          size_t n = 0;
          while (j < fs.size() && fs[j].device_id == d.id) {
            if (!c.policy.empty()) EXPECT_EQ(fs[j].policy_id, c.policy);
            ++j, ++n;
          }
          EXPECT_EQ(n, i % 5 == 4 ? 0u : c.per_device) << c.name << " " << d.id;
        }
        EXPECT_EQ(j, fs.size()) << c.name << ": findings of devices outside the batch";
        findings += fs.size();
        after = ds.back().id;
      }
    });
    ASSERT_TRUE(st) << st.error().to_string();
    ASSERT_EQ(seen.size(), 25u) << c.name;
    EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end())) << c.name;
    EXPECT_EQ(findings, 20u * c.per_device) << c.name;
  }
}

TEST_P(StoreEvalTest, DeviceBoundariesCutTheFleetIntoEqualRanges) {
  struct Case {
    int64_t every;
    std::vector<std::string> want;  // 25 devices d00..d24
  };
  for (const auto& c : std::vector<Case>{{7, {"d06", "d13", "d20"}},
                                         {5, {"d04", "d09", "d14", "d19"}},  // d24 ends the fleet
                                         {25, {}},
                                         {100, {}}}) {
    auto st = store_->read([&](Tx& tx) -> Status {
      FW_TRY(auto got, tx.device_boundaries(c.every));
      EXPECT_EQ(got, c.want) << "every " << c.every;
      return {};
    });
    ASSERT_TRUE(st) << st.error().to_string();
  }
  auto st = store_->read([&](Tx& tx) -> Status {
    FW_TRY(auto got, tx.device_boundaries(1));
    EXPECT_EQ(got.size(), 24u);
    EXPECT_FALSE(tx.device_boundaries(0));
    return {};
  });
  ASSERT_TRUE(st) << st.error().to_string();
}

TEST_P(StoreEvalTest, DeleteFindingsAndFailingPeople) {
  auto failing = [&] {
    std::vector<FailingPerson> out;
    auto st = store_->read([&](Tx& tx) {
      return tx.scan_failing_people("c", [&](const FailingPerson& p) -> Status {
        out.push_back(p);
        return {};
      });
    });
    EXPECT_TRUE(st) << st.error().to_string();
    return out;
  };
  // Failing: d00, d08, d12, d16 (p2, first at 100) and... i % 4 == 0 and i % 5 != 4 -> 0, 8, 12, 16, 20
  // (all even -> p2); none for p1.
  auto f = failing();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].person_id, "p2");
  EXPECT_EQ(f[0].org_unit_path, "/b");
  EXPECT_EQ(f[0].first_failed_at, T(100));
  auto st = store_->write([](Tx& tx) -> Status {
    Finding k;
    k.device_id = "d00";
    k.rule_key = "c/r1";
    Finding missing;
    missing.device_id = "d01";
    missing.rule_key = "c/none";
    return tx.delete_findings({k, missing});
  });
  ASSERT_TRUE(st) << st.error().to_string();
  f = failing();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].first_failed_at, T(108));  // d00's failure is gone, d08's is the earliest
  size_t left = 0;
  ASSERT_TRUE(store_->read([&](Tx& tx) {
    return tx.scan_findings({"c", "", "d00", "", "", std::nullopt}, [&](const Finding&) -> Status {
      ++left;
      return {};
    });
  }));
  EXPECT_EQ(left, 1u);
}

TEST_P(StoreEvalTest, CampaignSnapshotsAndBurndown) {
  auto st = store_->read([](Tx& tx) -> Status {
    auto none = tx.get_campaign_snapshot("c");
    EXPECT_FALSE(none);
    if (!none) {
      EXPECT_EQ(none.error().code, Errc::not_found);
    }
    FW_TRY(auto days, tx.list_burndown("c"));
    EXPECT_TRUE(days.empty());
    return {};
  });
  ASSERT_TRUE(st) << st.error().to_string();
  st = store_->write([](Tx& tx) -> Status {
    FW_TRY_STATUS(tx.put_campaign_snapshot({"c", 1, T(10), "{\"a\":1}"}));
    FW_TRY_STATUS(tx.put_campaign_snapshot({"c", 2, T(20), "{\"b\":2}"}));  // replaces
    FW_TRY_STATUS(tx.put_burndown("c", {{T(86400 * 2), 5, 7}, {T(0), 9, 11}}));
    FW_TRY_STATUS(tx.put_burndown("c", {{T(86400 * 2), 4, 6}}));  // upsert
    return tx.put_burndown("other", {{T(0), 1, 1}});
  });
  ASSERT_TRUE(st) << st.error().to_string();
  st = store_->read([](Tx& tx) -> Status {
    FW_TRY(auto s, tx.get_campaign_snapshot("c"));
    EXPECT_EQ(s.version, 2);
    EXPECT_EQ(s.evaluated_at, T(20));
    EXPECT_EQ(s.body, "{\"b\":2}");
    FW_TRY(auto days, tx.list_burndown("c"));
    EXPECT_EQ(days.size(), 2u);
    if (days.size() == 2) {
      EXPECT_EQ(days[0].day, T(0));
      EXPECT_EQ(days[0].people, 9);
      EXPECT_EQ(days[1].day, T(86400 * 2));
      EXPECT_EQ(days[1].people, 4);
      EXPECT_EQ(days[1].devices, 6);
    }
    return {};
  });
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_FALSE(store_->write([](Tx& tx) { return tx.put_campaign_snapshot({"", 1, T(0), ""}); }));
}

// read_eval_people: everyone in id order with every column, a missing manager as "".
TEST_P(StoreEvalTest, ReadEvalPeopleGivesEveryoneInIdOrder) {
  auto st = store_->write([](Tx& tx) -> Status {
    FW_TRY_STATUS(tx.put_person(model::Person{"p0", "Zero", "zero@x", "zero", "/b", "p2", "Boss"}));
    return tx.put_person(model::Person{"p10", "Ten", "ten@x", "ten", "/a", "p1", ""});
  });
  ASSERT_TRUE(st) << st.error().to_string();
  std::vector<model::Person> people{model::Person{"stale"}};  // replaced, not appended to
  ASSERT_TRUE(store_->read([&](Tx& tx) { return tx.read_eval_people(people); }));
  std::vector<std::string> ids;
  for (const auto& p : people) ids.push_back(p.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"p0", "p1", "p10", "p2"}));
  ASSERT_EQ(people.size(), 4u);
  const auto& z = people[0];
  EXPECT_EQ(z.name, "Zero");
  EXPECT_EQ(z.email, "zero@x");
  EXPECT_EQ(z.login, "zero");
  EXPECT_EQ(z.org_unit_path, "/b");
  EXPECT_EQ(z.manager_id, "p2");
  EXPECT_EQ(z.title, "Boss");
  EXPECT_EQ(people[1].manager_id, "");
  // The same people as list_people gives, field by field.
  Page<model::Person> page;
  ASSERT_TRUE(store_->read([&](Tx& tx) -> Status {
    PageRequest r;
    r.limit = 100;
    FW_TRY(page, tx.list_people({}, r));
    return {};
  }));
  ASSERT_EQ(page.items.size(), people.size());
  for (size_t i = 0; i < people.size(); ++i) {
    const auto &a = page.items[i], &b = people[i];
    EXPECT_TRUE(a.id == b.id && a.name == b.name && a.email == b.email && a.login == b.login &&
                a.org_unit_path == b.org_unit_path && a.manager_id == b.manager_id && a.title == b.title)
        << a.id;
  }
}

// Evaluation digests (migration 0011): read_eval_slice gives the rows by (device, policy);
// write_eval sets a digest only while the row's gen is what the caller read (0 = no row);
// every other write of a device's findings (put_findings, delete_findings,
// delete_findings_for_device, write_eval with a stale gen) leaves its rows unknown.
TEST_P(StoreEvalTest, EvalDigestsAreCompareAndSetAndInvalidatedByOtherWrites) {
  auto rows = [&](std::string_view after, int limit, std::string_view policy) {
    std::vector<EvalDigest> out;
    std::vector<model::Device> ds;
    EXPECT_TRUE(store_->read([&](Tx& tx) { return tx.read_eval_slice(after, limit, policy, ds, out); }));
    return out;
  };
  auto row = [&](const char* dev, const char* pol) -> std::optional<EvalDigest> {
    for (auto& r : rows("", 100, ""))
      if (r.device_id == dev && r.policy_id == pol) return r;
    return std::nullopt;
  };
  auto digest = [](const char* dev, const char* pol, uint64_t v, int64_t gen) {
    return EvalDigest{dev, pol, v, gen, "0:5"};
  };
  // put_findings in SetUp left unknown rows for the documents of the findings it wrote.
  auto r = row("d00", "c");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->digest);
  EXPECT_FALSE(row("d04", "c"));  // d04 has no findings
  // Set from "no row" once; a second "no row" write loses.
  EvalWrite w;
  w.digests = {digest("d04", "c", 0xFFFF'0000'0000'0001ull, 0)};
  ASSERT_TRUE(store_->write([&](Tx& tx) { return tx.write_eval(w); }));
  r = row("d04", "c");
  ASSERT_TRUE(r && r->digest);
  EXPECT_EQ(*r->digest, 0xFFFF'0000'0000'0001ull);  // all 64 bits survive the signed column
  EXPECT_EQ(r->notes, "0:5");
  w.digests = {digest("d04", "c", 7, 0)};
  ASSERT_TRUE(store_->write([&](Tx& tx) { return tx.write_eval(w); }));
  EXPECT_EQ(*row("d04", "c")->digest, 0xFFFF'0000'0000'0001ull);
  // With the gen read, the findings written and the digest set together.
  r = row("d00", "c");
  w = {};
  Finding f{"d00", "p2", "c", "c/r1", FindingStatus::pass, "high", "", std::nullopt, T(300), T(300)};
  w.writes = {f};
  w.digests = {digest("d00", "c", 42, r->gen)};
  ASSERT_TRUE(store_->write([&](Tx& tx) { return tx.write_eval(w); }));
  auto now = row("d00", "c");
  ASSERT_TRUE(now->digest);
  EXPECT_EQ(*now->digest, 42u);
  EXPECT_GT(now->gen, r->gen);
  // A stale gen: the digest is not set, and as findings were written the device's rows are
  // unknown (the writer cannot vouch for the findings it did not write).
  w.digests = {digest("d00", "c", 43, r->gen)};
  ASSERT_TRUE(store_->write([&](Tx& tx) { return tx.write_eval(w); }));
  EXPECT_FALSE(row("d00", "c")->digest);
  // A stale gen without writes: nothing happens to the row.
  auto d8 = row("d08", "c");
  ASSERT_TRUE(d8);
  w = {};
  w.digests = {digest("d08", "c", 5, d8->gen)};
  ASSERT_TRUE(store_->write([&](Tx& tx) { return tx.write_eval(w); }));
  ASSERT_TRUE(row("d08", "c")->digest);
  w.digests = {digest("d08", "c", 6, d8->gen)};
  ASSERT_TRUE(store_->write([&](Tx& tx) { return tx.write_eval(w); }));
  EXPECT_EQ(*row("d08", "c")->digest, 5u);
  // Writes of findings with no digest given (evaluate_devices): unknown.
  w = {};
  w.writes = {Finding{"d08", "p2", "c", "c/r2", FindingStatus::fail, "high", "", T(1), T(300), T(300)}};
  ASSERT_TRUE(store_->write([&](Tx& tx) { return tx.write_eval(w); }));
  EXPECT_FALSE(row("d08", "c")->digest);
  // The other paths: put_findings, delete_findings, delete_findings_for_device.
  struct Path {
    const char* name;
    const char* dev;
    std::function<Status(Tx&)> write;
  };
  for (const auto& p : std::vector<Path>{
           {"put_findings", "d01",
            [](Tx& tx) {
              return tx.put_findings({Finding{"d01", "p1", "other", "other/r", FindingStatus::fail, "high", "", T(1),
                                              T(300), T(300)}});
            }},
           {"delete_findings", "d02", [](Tx& tx) { return tx.delete_findings({Finding{"d02", "", "", "c/r1"}}); }},
           {"delete_findings_for_device", "d03", [](Tx& tx) { return tx.delete_findings_for_device("d03"); }}}) {
    auto before = row(p.dev, "c");
    ASSERT_TRUE(before) << p.name;
    w = {};
    w.digests = {digest(p.dev, "c", 9, before->gen)};
    ASSERT_TRUE(store_->write([&](Tx& tx) { return tx.write_eval(w); })) << p.name;
    auto set = row(p.dev, "c");
    ASSERT_TRUE(set && set->digest) << p.name;
    ASSERT_TRUE(store_->write(p.write)) << p.name;
    auto after = row(p.dev, "c");
    ASSERT_TRUE(after) << p.name;
    EXPECT_FALSE(after->digest) << p.name;
    EXPECT_GT(after->gen, set->gen) << p.name;
    // A writer that read the row before this write cannot set it any more.
    w.digests = {digest(p.dev, "c", 10, set->gen)};
    ASSERT_TRUE(store_->write([&](Tx& tx) { return tx.write_eval(w); })) << p.name;
    EXPECT_FALSE(row(p.dev, "c")->digest) << p.name;
  }
  // Drops: only with the gen read.
  auto o = row("d05", "other");
  ASSERT_TRUE(o);
  w = {};
  w.drops = {EvalDigest{"d05", "other", std::nullopt, o->gen + 1, ""}};
  ASSERT_TRUE(store_->write([&](Tx& tx) { return tx.write_eval(w); }));
  EXPECT_TRUE(row("d05", "other"));
  w.drops = {*o};
  ASSERT_TRUE(store_->write([&](Tx& tx) { return tx.write_eval(w); }));
  EXPECT_FALSE(row("d05", "other"));
  // Slices: rows of exactly the slice's devices, of one document when asked, in order.
  auto part = rows("d05", 3, "c");  // devices d06..d08
  ASSERT_EQ(part.size(), 3u);
  EXPECT_EQ(part[0].device_id, "d06");
  EXPECT_EQ(part[2].device_id, "d08");
  for (const auto& x : part) EXPECT_EQ(x.policy_id, "c");
  auto all = rows("", 100, "");
  for (size_t i = 1; i < all.size(); ++i)
    EXPECT_LT(std::pair(all[i - 1].device_id, all[i - 1].policy_id), std::pair(all[i].device_id, all[i].policy_id));
  // A deleted device takes its rows with it.
  ASSERT_TRUE(store_->write([](Tx& tx) { return tx.delete_device("d06"); }));
  EXPECT_FALSE(row("d06", "c"));
}

// read_eval_findings: the findings of just the given ids, by point reads (few ids) or one
// filtered range read (many), in (device, rule) order.
TEST_P(StoreEvalTest, ReadEvalFindingsOfGivenDevices) {
  for (bool many : {false, true}) {
    std::vector<std::string> ids;  // few: d00 d08 d16 d24; many: 17 of the 25 (a range read)
    for (int i = 0; i < 25; i += (many ? 1 : 8))
      if (!many || i % 3) ids.push_back((i < 10 ? "d0" : "d") + std::to_string(i));
    std::vector<Finding> fs;
    ASSERT_TRUE(store_->read([&](Tx& tx) { return tx.read_eval_findings(ids, "c", fs); }));
    size_t expect = 0;
    for (const auto& id : ids) expect += (std::stoi(id.substr(1)) % 5 == 4) ? 0 : 2;
    EXPECT_EQ(fs.size(), expect) << many;
    for (size_t i = 0; i < fs.size(); ++i) {
      EXPECT_TRUE(std::find(ids.begin(), ids.end(), fs[i].device_id) != ids.end()) << fs[i].device_id;
      EXPECT_EQ(fs[i].policy_id, "c");
      if (i) EXPECT_LT(std::pair(fs[i - 1].device_id, fs[i - 1].rule_key), std::pair(fs[i].device_id, fs[i].rule_key));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreEvalTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fw::store
