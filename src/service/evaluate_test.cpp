// Tests of the evaluation use case over a real SQLite store: the sliced, threaded evaluate_all
// agrees with evaluating every device in memory (several slices, apps, owners, scope); a re-run
// writes nothing; the report from the aggregates a full run keeps equals the report built
// from scratch (findings + history) on a random organisation; evaluate_devices evaluates just the given ids (missing skipped, duplicates
// once); findings of removed rules and withdrawn policies are closed with a history entry; one
// evaluating thread and two give the same findings, history and report.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <tuple>

#include "service/evaluate.h"
#include "service/inventory.h"
#include "service/policies.h"
#include "service/reports.h"
#include "service/service_test_util.h"
#include "support/test_store.h"

namespace fw::service {
namespace {

Time T(const char* s) { return *parse_time(s); }

const char* kTwoRules = R"Y(kind: campaign
id: replace-ios
scope: [/admin, {path: /regions, level: advisory}]
start: 2023-03-01T00:00:00+03:00
deadline: 2023-03-31T23:59:59+03:00
rules:
  - {id: no-ios, severity: critical, require: 'device.os.family != "iOS"'}
  - {id: no-zoom, require: '!device.apps.exists(a, a.id.startsWith("us.zoom."))'}
  - {id: trueconf, when: 'device.type == "phone" && person.org_unit.startsWith("/admin")', require: 'device.apps.exists(a, a.id == "ru.trueconf.client")'}
  - {id: encrypted, require: 'device.facts.encrypted == true'}
)Y";

// The same campaign after "encrypted" and "trueconf" were dropped from it.
const char* kOneRuleLess = R"Y(kind: campaign
id: replace-ios
scope: [/admin, {path: /regions, level: advisory}]
start: 2023-03-01T00:00:00+03:00
deadline: 2023-03-31T23:59:59+03:00
rules:
  - {id: no-ios, severity: critical, require: 'device.os.family != "iOS"'}
  - {id: no-zoom, require: '!device.apps.exists(a, a.id.startsWith("us.zoom."))'}
)Y";

class Evaluate : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store_.open("fw-eval-test", "t.db");
    ASSERT_TRUE(s) << s.error().to_string();
  }

  // A random organisation: units inside and outside the campaign's scope, people (some
  // without devices), devices (some without owner) with and without apps and facts.
  void make_org(size_t n_people, size_t n_devices, store::Store* into = nullptr) {
    store::Store& st = into ? *into : *store_;
    uint64_t x = 12345;
    auto rnd = [&] {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      return x;
    };
    Change c{"test", T("2023-02-01T00:00:00Z")};
    const char* units[] = {"/admin", "/admin/it", "/regions", "/regions/tver", "/other"};
    const char* fams[] = {"iOS", "Android", "HarmonyOS", "Windows"};
    ASSERT_TRUE(st.write([&](store::Tx& tx) -> Status {
      for (const char* path : units) {
        model::OrgUnit u;
        u.path = path;
        FW_TRY_STATUS(put_org_unit(tx, c, u, PutMode::create));
      }
      for (size_t i = 0; i < n_people; ++i) {
        model::Person p{"p" + std::to_string(i), "P", "p" + std::to_string(i) + "@x", "p" + std::to_string(i),
                        units[rnd() % 5], "", ""};
        FW_TRY_STATUS(put_person(tx, c, p, PutMode::create));
      }
      for (size_t i = 0; i < n_devices; ++i) {
        model::Device d;
        char id[32];
        std::snprintf(id, sizeof id, "d%06zu", i);
        d.id = id;
        if (rnd() % 10) d.owner_id = "p" + std::to_string(rnd() % n_people);
        d.os_family = fams[rnd() % 4];
        d.os_version = "1";
        d.type = rnd() % 3 ? model::DeviceType::phone : model::DeviceType::desktop;
        d.facts_json = rnd() % 3 == 0 ? "{}" : (rnd() % 2 ? R"({"encrypted": true})" : R"({"encrypted": false})");
        if (rnd() % 4 == 0) d.apps.push_back({"us.zoom.videomeetings", "Zoom", "5"});
        if (rnd() % 2 == 0) d.apps.push_back({"ru.trueconf.client", "TrueConf", "8"});
        d.first_seen = d.last_seen = T("2023-02-01T00:00:00Z");
        FW_TRY_STATUS(put_device(tx, c, d, PutMode::create));
      }
      return {};
    }));
  }

  std::map<std::pair<std::string, std::string>, store::Finding> findings(store::Store* from = nullptr) {
    std::map<std::pair<std::string, std::string>, store::Finding> out;
    for (const auto& f : fw::testing::all_findings(from ? *from : *store_))
      out.emplace(std::pair{f.device_id, f.rule_key}, f);
    return out;
  }
  std::vector<store::FindingChange> changes() { return fw::testing::all_finding_changes(*store_); }

  fw::testing::TestStore store_;
};

// evaluate_all reads in slices of 2,000 devices and evaluates on worker threads: 4,500 devices
// make three slices. Every stored finding must equal evaluating that device in memory.
TEST_F(Evaluate, SlicedEvaluationEqualsInMemoryEvaluation) {
  make_org(700, 4500);
  FixedClock clock(T("2023-03-02T10:00:00Z"));
  ASSERT_TRUE(apply_policy_text(*store_, clock, "t", kTwoRules, "c.yaml"));
  auto st = evaluate_all(*store_, clock);
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_EQ(st->devices, 4500);
  auto got = findings();
  EXPECT_EQ(int64_t(got.size()), st->written);

  // Reference: every device through CompiledPolicy::evaluate, one by one.
  size_t expected = 0, fails = 0;
  ASSERT_TRUE(store_->read([&](store::Tx& tx) -> Status {
    FW_TRY(auto loaded, load_policies(tx, "replace-ios"));
    const auto& cp = loaded.at(0).compiled;
    policy::Evaluator ev;
    std::vector<policy::RuleResult> out;
    return tx.scan_devices({}, [&](const model::Device& d) -> Status {
      std::optional<model::Person> owner;
      if (!d.owner_id.empty()) {
        FW_TRY(owner, tx.get_person(d.owner_id));
      }
      cp.evaluate(d, owner ? &*owner : nullptr, clock.now(), {}, ev, out);
      for (size_t i = 0; i < out.size(); ++i) {
        std::pair key{d.id, "replace-ios/" + cp.document().rules[i].id};
        auto it = got.find(key);
        if (out[i].status == policy::RuleStatus::not_applicable) {
          EXPECT_EQ(it, got.end()) << key.first << " " << key.second;  // never stored first time
          continue;
        }
        ++expected;
        if (it == got.end()) {
          ADD_FAILURE() << "missing finding " << key.first << " " << key.second;
          continue;
        }
        auto want = out[i].status == policy::RuleStatus::fail      ? store::FindingStatus::fail
                    : out[i].status == policy::RuleStatus::unknown ? store::FindingStatus::unknown
                                                                   : store::FindingStatus::pass;
        EXPECT_EQ(it->second.status, want) << key.first << " " << key.second;
        EXPECT_EQ(it->second.person_id, d.owner_id) << key.first;
        fails += want == store::FindingStatus::fail;
      }
      return {};
    });
  }));
  EXPECT_EQ(expected, got.size());
  EXPECT_GT(fails, 100u);  // the organisation is not trivially compliant

  // Nothing changed: nothing is written and the history does not grow.
  size_t n_changes = changes().size();
  clock.advance(std::chrono::hours{1});
  auto again = evaluate_all(*store_, clock);
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->devices, 4500);
  EXPECT_EQ(again->written, 0);
  EXPECT_EQ(again->changes, 0);
  EXPECT_EQ(changes().size(), n_changes);
}

TEST_F(Evaluate, EvaluateDevicesDoesJustThoseIds) {
  make_org(50, 300);
  FixedClock clock(T("2023-03-02T10:00:00Z"));
  ASSERT_TRUE(apply_policy_text(*store_, clock, "t", kTwoRules, "c.yaml"));
  auto st = evaluate_devices(*store_, clock, {"d000007", "no-such-device", "d000003", "d000007", "d000250"});
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_EQ(st->devices, 3);  // the missing id is skipped, the duplicate counted once
  auto some = findings();
  std::set<std::string> devs;
  for (const auto& [k, f] : some) devs.insert(k.first);
  EXPECT_EQ(devs, (std::set<std::string>{"d000003", "d000007", "d000250"}));
  // The same findings as a full run gives for those devices, and a full run after it only
  // adds the other devices' findings.
  auto all = evaluate_all(*store_, clock);
  ASSERT_TRUE(all);
  auto full = findings();
  for (const auto& [k, f] : some) {
    ASSERT_TRUE(full.count(k));
    EXPECT_EQ(full.at(k).status, f.status);
    EXPECT_EQ(full.at(k).detail, f.detail);
  }
  // Re-evaluating them when nothing changed writes nothing; an empty list is fine.
  auto again = evaluate_devices(*store_, clock, {"d000003", "d000007"});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->written, 0);
  ASSERT_TRUE(evaluate_devices(*store_, clock, {}));
  // evaluate_device still says not_found for a missing device.
  EXPECT_EQ(evaluate_device(*store_, clock, "no-such-device").error().code, Errc::not_found);
}

TEST_F(Evaluate, FindingsOfRemovedRulesAndWithdrawnPoliciesAreClosed) {
  make_org(40, 200);
  FixedClock clock(T("2023-03-02T10:00:00Z"));
  ASSERT_TRUE(apply_policy_text(*store_, clock, "t", kTwoRules, "c.yaml"));
  ASSERT_TRUE(evaluate_all(*store_, clock));
  auto before = findings();
  size_t removed = 0, removed_not_pass = 0;
  for (const auto& [k, f] : before)
    if (k.second == "replace-ios/encrypted" || k.second == "replace-ios/trueconf") {
      ++removed;
      removed_not_pass += f.status != store::FindingStatus::pass;
    }
  ASSERT_GT(removed_not_pass, 0u);
  size_t n_changes = changes().size();

  clock.set(T("2023-03-03T10:00:00Z"));
  ASSERT_TRUE(apply_policy_text(*store_, clock, "t", kOneRuleLess, "c.yaml"));
  auto st = evaluate_all(*store_, clock, "replace-ios");
  ASSERT_TRUE(st) << st.error().to_string();
  auto after = findings();
  EXPECT_EQ(after.size(), before.size() - removed);
  for (const auto& [k, f] : after)
    EXPECT_TRUE(k.second == "replace-ios/no-ios" || k.second == "replace-ios/no-zoom") << k.second;
  // Each closed failure/unknown is a change to pass in the history, at the evaluation time.
  auto hist = changes();
  ASSERT_EQ(hist.size(), n_changes + removed_not_pass);
  for (size_t i = n_changes; i < hist.size(); ++i) {
    EXPECT_EQ(hist[i].status, store::FindingStatus::pass);
    EXPECT_EQ(hist[i].at, clock.now());
    EXPECT_TRUE(hist[i].rule_key == "replace-ios/encrypted" || hist[i].rule_key == "replace-ios/trueconf");
  }
  // Once closed, a re-run changes nothing.
  auto again = evaluate_all(*store_, clock);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->written + again->changes, 0);

  // Withdrawn: every finding of the campaign goes, failures closed in the history.
  size_t failing = 0;
  for (const auto& [k, f] : after) failing += f.status != store::FindingStatus::pass;
  n_changes = changes().size();
  clock.set(T("2023-03-04T10:00:00Z"));
  ASSERT_TRUE(withdraw_policy(*store_, clock, "t", "replace-ios"));
  ASSERT_TRUE(evaluate_all(*store_, clock, "replace-ios"));
  EXPECT_TRUE(findings().empty());
  EXPECT_EQ(changes().size(), n_changes + failing);
}

// A full run reads a device's findings only when its results differ from the digest of its
// last evaluation (migration 0011). Findings changed behind the digests' back, through every
// path that writes them, are still found and put right by the next full run.
TEST_F(Evaluate, FullRunConvergesAfterFindingsChangeBehindTheDigests) {
  make_org(60, 2500);  // two slices
  FixedClock clock(T("2023-03-02T10:00:00Z"));
  ASSERT_TRUE(apply_policy_text(*store_, clock, "t", kTwoRules, "c.yaml"));
  auto first = evaluate_all(*store_, clock);
  ASSERT_TRUE(first) << first.error().to_string();
  EXPECT_EQ(first->compared, 2500);  // no digests yet: every device's findings are read
  auto view = [](const std::map<std::pair<std::string, std::string>, store::Finding>& m) {
    std::map<std::pair<std::string, std::string>, std::tuple<store::FindingStatus, std::string, std::string>> v;
    for (const auto& [k, f] : m) v[k] = {f.status, f.detail, f.person_id};
    return v;
  };
  auto truth = view(findings());
  clock.advance(std::chrono::hours{1});
  auto same = evaluate_all(*store_, clock);
  ASSERT_TRUE(same);
  EXPECT_EQ(same->compared, 0);  // nothing changed: no findings read
  EXPECT_EQ(same->written + same->changes, 0);
  EXPECT_EQ(same->devices, 2500);

  // Five devices with findings: a status flipped (A), a detail changed and a finding deleted
  // (B), a finding of a document that is not active (C), all findings deleted (D), evaluated
  // by evaluate_devices while changed, then changed back without an evaluation (E).
  auto fs = findings();
  std::vector<std::string> ids;
  for (const auto& [k, f] : fs)
    if (ids.empty() || ids.back() != k.first) ids.push_back(k.first);
  ASSERT_GE(ids.size(), 5u);
  std::vector<store::Finding> of10, of11;
  for (const auto& [k, f] : fs) {
    if (k.first == ids[0]) of10.push_back(f);
    if (k.first == ids[1]) of11.push_back(f);
  }
  ASSERT_TRUE(store_->write([&](store::Tx& tx) -> Status {
    // put_findings: a status flipped, a detail changed, a finding of a document that is not active.
    auto flip = of10[0];
    flip.status = flip.status == store::FindingStatus::fail ? store::FindingStatus::pass : store::FindingStatus::fail;
    auto other = of11[0];
    other.detail = "changed behind the digest";
    auto stray = of10[0];
    stray.device_id = ids[2];
    stray.policy_id = "gone";
    stray.rule_key = "gone/rule";
    FW_TRY_STATUS(tx.put_findings({flip, other, stray}));
    // delete_findings and delete_findings_for_device.
    FW_TRY_STATUS(tx.delete_findings({of11.back()}));
    return tx.delete_findings_for_device(ids[3]);
  }));
  // evaluate_devices on a device changed and then changed back without an evaluation.
  model::Device d14;
  ASSERT_TRUE(store_->read([&](store::Tx& tx) -> Status {
    FW_TRY(d14, tx.get_device(ids[4]));
    return {};
  }));
  auto changed = d14;
  changed.os_family = changed.os_family == "iOS" ? "Android" : "iOS";
  changed.apps = {{"us.zoom.videomeetings", "Zoom", "5"}};
  Change c{"t", clock.now()};
  ASSERT_TRUE(store_->write([&](store::Tx& tx) -> Status {
    FW_TRY_STATUS(put_device(tx, c, changed, PutMode::replace));
    return {};
  }));
  auto dev = evaluate_devices(*store_, clock, {ids[4]});
  ASSERT_TRUE(dev);
  EXPECT_GT(dev->written, 0);
  ASSERT_TRUE(store_->write([&](store::Tx& tx) -> Status {
    FW_TRY_STATUS(put_device(tx, c, d14, PutMode::replace));
    return {};
  }));
  EXPECT_NE(view(findings()), truth);

  clock.advance(std::chrono::hours{1});
  auto fix = evaluate_all(*store_, clock);
  ASSERT_TRUE(fix) << fix.error().to_string();
  EXPECT_EQ(fix->compared, 5);  // A .. E, and only they
  EXPECT_EQ(view(findings()), truth);
  auto again = evaluate_all(*store_, clock);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->compared, 0);
  EXPECT_EQ(again->written + again->changes, 0);
}

void expect_same_report(const policy::Report& a, const policy::Report& b) {
  EXPECT_EQ(a.campaign_id, b.campaign_id);
  EXPECT_EQ(a.now, b.now);
  EXPECT_EQ(a.start, b.start);
  EXPECT_EQ(a.deadline, b.deadline);
  EXPECT_EQ(a.people, b.people);
  EXPECT_EQ(a.people_noncompliant, b.people_noncompliant);
  EXPECT_EQ(a.people_unknown, b.people_unknown);
  EXPECT_EQ(a.people_exempt, b.people_exempt);
  EXPECT_EQ(a.devices, b.devices);
  EXPECT_EQ(a.devices_noncompliant, b.devices_noncompliant);
  ASSERT_EQ(a.units.size(), b.units.size());
  for (size_t i = 0; i < a.units.size(); ++i) {
    const auto &x = a.units[i], &y = b.units[i];
    EXPECT_EQ(x.path, y.path);
    EXPECT_EQ(x.depth, y.depth);
    EXPECT_EQ(x.level, y.level) << x.path;
    EXPECT_EQ(x.people, y.people) << x.path;
    EXPECT_EQ(x.people_noncompliant, y.people_noncompliant) << x.path;
    EXPECT_EQ(x.people_unknown, y.people_unknown) << x.path;
    EXPECT_EQ(x.devices, y.devices) << x.path;
    EXPECT_EQ(x.devices_noncompliant, y.devices_noncompliant) << x.path;
    EXPECT_EQ(x.devices_exempt, y.devices_exempt) << x.path;
    EXPECT_DOUBLE_EQ(x.compliance_pct, y.compliance_pct) << x.path;
  }
  ASSERT_EQ(a.rules.size(), b.rules.size());
  for (size_t i = 0; i < a.rules.size(); ++i) {
    const auto &x = a.rules[i], &y = b.rules[i];
    EXPECT_EQ(x.id, y.id);
    EXPECT_EQ(x.severity, y.severity);
    EXPECT_EQ(std::tuple(x.pass, x.fail, x.exempt, x.unknown, x.not_applicable),
              std::tuple(y.pass, y.fail, y.exempt, y.unknown, y.not_applicable))
        << x.id;
  }
  ASSERT_EQ(a.platforms.size(), b.platforms.size());
  for (size_t i = 0; i < a.platforms.size(); ++i)
    EXPECT_EQ(std::tuple(a.platforms[i].family, a.platforms[i].devices, a.platforms[i].noncompliant),
              std::tuple(b.platforms[i].family, b.platforms[i].devices, b.platforms[i].noncompliant));
  ASSERT_EQ(a.burndown.size(), b.burndown.size());
  for (size_t i = 0; i < a.burndown.size(); ++i)
    EXPECT_EQ(std::tuple(a.burndown[i].date, a.burndown[i].people, a.burndown[i].devices),
              std::tuple(b.burndown[i].date, b.burndown[i].people, b.burndown[i].devices))
        << i;
  EXPECT_EQ(a.projection.completion, b.projection.completion);
  EXPECT_DOUBLE_EQ(a.projection.slope_per_day, b.projection.slope_per_day);
  EXPECT_EQ(a.projection.on_track, b.projection.on_track);
  ASSERT_EQ(a.overdue.size(), b.overdue.size());
  for (size_t i = 0; i < a.overdue.size(); ++i) {
    const auto &x = a.overdue[i], &y = b.overdue[i];
    EXPECT_EQ(std::tuple(x.person_id, x.name, x.email, x.unit, x.manager_name, x.manager_email, x.days_overdue),
              std::tuple(y.person_id, y.name, y.email, y.unit, y.manager_name, y.manager_email, y.days_overdue));
    EXPECT_EQ(x.devices, y.devices) << x.person_id;
    EXPECT_EQ(x.rules, y.rules) << x.person_id;
    EXPECT_EQ(x.deadline, y.deadline);
  }
}

// Evaluations on some days (not all), with devices changing between them, and the last one
// past the deadline (overdue people): the report read from the stored aggregates equals
// build_report() over the findings and the whole history at the same time.
TEST_F(Evaluate, ReportFromAggregatesEqualsReportFromScratch) {
  make_org(400, 4200);  // two ranges read in parallel (see evaluate.cpp), so rows are merged
  FixedClock clock(T("2023-03-02T10:00:00Z"));
  ASSERT_TRUE(apply_policy_text(*store_, clock, "t", kTwoRules, "c.yaml"));
  uint64_t x = 777;
  auto rnd = [&] {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return x;
  };
  const char* fams[] = {"iOS", "Android", "HarmonyOS", "Windows"};
  for (const char* at : {"2023-03-02T10:00:00Z", "2023-03-05T18:00:00Z", "2023-03-06T09:00:00Z",
                         "2023-03-20T12:00:00Z", "2023-04-10T08:00:00Z"}) {
    clock.set(T(at));
    // Some devices change: platform, apps, facts.
    ASSERT_TRUE(store_->write([&](store::Tx& tx) -> Status {
      for (int k = 0; k < 150; ++k) {
        char id[32];
        std::snprintf(id, sizeof id, "d%06d", int(rnd() % 4200));
        FW_TRY(auto d, tx.get_device(id));
        d.os_family = fams[rnd() % 4];
        d.apps.clear();
        if (rnd() % 3 == 0) d.apps.push_back({"us.zoom.videomeetings", "Zoom", "5"});
        if (rnd() % 2 == 0) d.apps.push_back({"ru.trueconf.client", "TrueConf", "8"});
        FW_TRY_STATUS(put_device(tx, Change{"t", clock.now()}, d, PutMode::replace));
      }
      return {};
    }));
    auto st = evaluate_all(*store_, clock);
    ASSERT_TRUE(st) << at << ": " << st.error().to_string();
    std::optional<policy::Report> agg;
    policy::Report scratch;
    ASSERT_TRUE(store_->read([&](store::Tx& tx) -> Status {
      FW_TRY(auto loaded, load_policies(tx, "replace-ios"));
      FW_TRY(agg, report_from_aggregates(tx, loaded.at(0).compiled.document(), loaded.at(0).stored.version,
                                         org_timezone(tx)));
      FW_TRY(auto in, load_report_input(tx, clock, "replace-ios", clock.now()));
      scratch = policy::build_report(in);
      return {};
    }));
    ASSERT_TRUE(agg) << at << ": no aggregates after a full evaluation";
    EXPECT_TRUE(agg->as_of_evaluation);
    SCOPED_TRACE(at);
    expect_same_report(*agg, scratch);
    if (std::string(at) == "2023-04-10T08:00:00Z") {
      EXPECT_GT(scratch.overdue.size(), 10u);
      EXPECT_EQ(scratch.burndown.size(), 41u);  // 1 March .. 10 April
    }
  }
  // service::report uses them and says so.
  auto rep = report(*store_, clock, "replace-ios", "json", "en");
  ASSERT_TRUE(rep) << rep.error().to_string();
  EXPECT_NE(rep->body.find("\"as_of\":\"last_evaluation\""), std::string::npos);
  // A new version of the document has no aggregates yet: built from scratch, "as of now".
  clock.advance(std::chrono::hours{1});
  ASSERT_TRUE(apply_policy_text(*store_, clock, "t", kOneRuleLess, "c.yaml"));
  rep = report(*store_, clock, "replace-ios", "json", "en");
  ASSERT_TRUE(rep) << rep.error().to_string();
  EXPECT_NE(rep->body.find("\"as_of\":\"now\""), std::string::npos);
}

// The number of evaluating threads changes nothing: the same organisation evaluated with one
// worker and with two, over several runs with devices changing between them, gives the same
// findings, the same history, the same statistics and the same report (from the aggregates).
TEST_F(Evaluate, TwoWorkersGiveWhatOneGives) {
  fw::testing::TestStore two;
  ASSERT_TRUE(two.open("fw-eval-test2", "t.db"));
  make_org(400, 4200);  // two ranges read in parallel
  make_org(400, 4200, &*two);
  FixedClock clock(T("2023-03-02T10:00:00Z"));
  ASSERT_TRUE(apply_policy_text(*store_, clock, "t", kTwoRules, "c.yaml"));
  ASSERT_TRUE(apply_policy_text(*two, clock, "t", kTwoRules, "c.yaml"));
  uint64_t x = 4242;
  auto rnd = [&] {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return x;
  };
  auto change = [&](store::Store& s, const std::vector<std::pair<std::string, bool>>& what) {
    ASSERT_TRUE(s.write([&](store::Tx& tx) -> Status {
      for (const auto& [id, zoom] : what) {
        FW_TRY(auto d, tx.get_device(id));
        d.apps.clear();
        if (zoom) d.apps.push_back({"us.zoom.videomeetings", "Zoom", "5"});
        d.os_family = zoom ? "iOS" : "Android";
        FW_TRY_STATUS(put_device(tx, Change{"t", clock.now()}, d, PutMode::replace));
      }
      return {};
    }));
  };
  using Row = std::tuple<std::string, std::string, std::string, std::string, int, int64_t>;
  auto history = [&](store::Store& s) {
    std::vector<Row> rows;
    for (const auto& c : fw::testing::all_finding_changes(s))
      rows.emplace_back(c.device_id, c.rule_key, c.person_id, c.policy_id, int(c.status), to_unix(c.at));
    std::sort(rows.begin(), rows.end());
    return rows;
  };
  for (const char* at : {"2023-03-02T10:00:00Z", "2023-03-09T10:00:00Z", "2023-03-20T12:00:00Z",
                         "2023-04-10T08:00:00Z"}) {
    SCOPED_TRACE(at);
    clock.set(T(at));
    std::vector<std::pair<std::string, bool>> what;
    for (int k = 0; k < 120; ++k) {
      char id[32];
      std::snprintf(id, sizeof id, "d%06d", int(rnd() % 4200));
      what.emplace_back(id, rnd() % 2 == 0);
    }
    change(*store_, what);
    change(*two, what);
    auto a = evaluate_all_at(*store_, clock.now(), "", 1);
    auto b = evaluate_all_at(*two, clock.now(), "", 2);
    ASSERT_TRUE(a) << a.error().to_string();
    ASSERT_TRUE(b) << b.error().to_string();
    EXPECT_EQ(a->devices, b->devices);
    EXPECT_EQ(a->evaluations, b->evaluations);
    EXPECT_EQ(a->written, b->written);
    EXPECT_EQ(a->changes, b->changes);
    EXPECT_EQ(a->unknown, b->unknown);
    EXPECT_EQ(a->compared, b->compared);
    auto fa = findings(), fb = findings(&*two);
    ASSERT_EQ(fa.size(), fb.size());
    for (const auto& [k, f] : fa) {
      auto it = fb.find(k);
      ASSERT_NE(it, fb.end()) << k.first << " " << k.second;
      const auto& g = it->second;
      EXPECT_EQ(std::tie(f.status, f.detail, f.person_id, f.first_failed_at, f.status_since, f.last_evaluated_at),
                std::tie(g.status, g.detail, g.person_id, g.first_failed_at, g.status_since, g.last_evaluated_at))
          << k.first << " " << k.second;
    }
    EXPECT_EQ(history(*store_), history(*two));
    auto ra = report(*store_, clock, "replace-ios", "json", "en");
    auto rb = report(*two, clock, "replace-ios", "json", "en");
    ASSERT_TRUE(ra && rb);
    EXPECT_NE(ra->body.find("\"as_of\":\"last_evaluation\""), std::string::npos);
    EXPECT_EQ(ra->body, rb->body);
  }
}

// Only what the rules read is read and built: a rule set without device.apps or device.facts
// evaluates without them; a new version that reads them sees them (the read set follows the
// rules), with the same results as evaluating every device in memory with full values.
TEST_F(Evaluate, FieldsReadFollowTheRules) {
  make_org(100, 2500);
  FixedClock clock(T("2023-03-02T10:00:00Z"));
  const char* os_only = R"Y(kind: policy
id: p
rules:
  - {id: no-ios, require: 'device.os.family != "iOS"'}
)Y";
  const char* with_apps = R"Y(kind: policy
id: p
rules:
  - {id: no-ios, require: 'device.os.family != "iOS"'}
  - {id: no-zoom, require: '!device.apps.exists(a, a.id.startsWith("us.zoom."))'}
  - {id: encrypted, require: 'has(device.facts.encrypted) && device.facts.encrypted'}
)Y";
  using Findings = std::map<std::pair<std::string, std::string>, store::Finding>;
  auto check = [&](const char* text, Findings& got) {
    ASSERT_TRUE(apply_policy_text(*store_, clock, "t", text, "p.yaml"));
    auto st = evaluate_all(*store_, clock);
    ASSERT_TRUE(st) << st.error().to_string();
    got = findings();
    ASSERT_TRUE(store_->read([&](store::Tx& tx) -> Status {
      FW_TRY(auto loaded, load_policies(tx, "p"));
      const auto& cp = loaded.at(0).compiled;
      policy::Evaluator ev;
      std::vector<policy::RuleResult> out;
      return tx.scan_devices({}, [&](const model::Device& d) -> Status {
        cp.evaluate(d, nullptr, clock.now(), {}, ev, out);  // full values, apps and facts
        for (size_t i = 0; i < out.size(); ++i) {
          std::pair key{d.id, "p/" + cp.document().rules[i].id};
          auto it = got.find(key);
          if (it == got.end()) {
            ADD_FAILURE() << "missing " << key.first << " " << key.second;
            continue;
          }
          EXPECT_EQ(it->second.status == store::FindingStatus::fail, out[i].status == policy::RuleStatus::fail)
              << key.first << " " << key.second;
        }
        return {};
      });
    }));
  };
  Findings first, second;
  check(os_only, first);
  clock.advance(std::chrono::hours{1});
  check(with_apps, second);
  size_t zoom_fails = 0, unencrypted = 0;
  for (const auto& [k, f] : second) {
    zoom_fails += k.second == "p/no-zoom" && f.status == store::FindingStatus::fail;
    unencrypted += k.second == "p/encrypted" && f.status == store::FindingStatus::fail;
  }
  EXPECT_GT(zoom_fails, 100u);  // the apps were read for the new version
  EXPECT_GT(unencrypted, 100u);
  EXPECT_LT(unencrypted, 2500u);  // and the facts parsed
  EXPECT_EQ(first.size(), 2500u);
}

}  // namespace
}  // namespace fw::service
