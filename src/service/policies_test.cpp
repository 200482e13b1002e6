// Tests for the policy use cases over a real SQLite store: apply (versions, audit), evaluate
// (findings, history, only changes written), exemptions, campaign actions, the report, and
// that the demo's embedded policy file equals examples/replace-ios.yaml.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "service/demo_policies.h"
#include "service/evaluate.h"
#include "service/inventory.h"
#include "service/policies.h"
#include "service/reports.h"
#include "service/service_test_util.h"
#include "support/test_store.h"

namespace fw::service {
namespace {

Time T(const char* s) { return *parse_time(s); }

const char* kFile = R"Y(kind: campaign
id: replace-ios
scope: [/admin, {path: /regions, level: advisory}]
start: 2023-03-01T00:00:00+03:00
deadline: 2023-03-31T23:59:59+03:00
rules:
  - {id: no-ios, severity: critical, require: 'device.os.family != "iOS"'}
  - {id: encrypted, require: 'device.facts.encrypted == true'}
schedule:
  - {at: start, notify: [owner]}
  - {at: deadline-7d, notify: [owner, manager]}
  - {at: deadline, action: block}
)Y";

class PolicyService : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store_.open("fw-policy-test", "t.db");
    ASSERT_TRUE(s) << s.error().to_string();
    ASSERT_TRUE(store_->write([&](store::Tx& tx) -> Status {
      Change c{"test", T("2023-02-01T00:00:00Z")};
      FW_TRY_STATUS(fw::testing::put_org_units(tx, c, {"/admin", "/regions", "/regions/tver"}));
      FW_TRY_STATUS(put_person(tx, c, model::Person{"boss", "Boss", "boss@x", "boss", "/admin", "", ""}, PutMode::create));
      FW_TRY_STATUS(put_person(tx, c, model::Person{"ann", "Ann", "ann@x", "ann", "/admin", "boss", ""}, PutMode::create));
      FW_TRY_STATUS(put_person(tx, c, model::Person{"dan", "Dan", "dan@x", "dan", "/regions/tver", "", ""}, PutMode::create));
      FW_TRY_STATUS(put_device(tx, c, dev("d-ann-ios", "ann", "iOS", R"({"encrypted": true})"), PutMode::create));
      FW_TRY_STATUS(put_device(tx, c, dev("d-boss", "boss", "Android", R"({"encrypted": true})"), PutMode::create));
      FW_TRY_STATUS(put_device(tx, c, dev("d-dan", "dan", "iOS", "{}"), PutMode::create));
      return {};
    }));
  }
  static model::Device dev(std::string id, std::string owner, std::string family, std::string facts) {
    model::Device d;
    d.id = std::move(id);
    d.owner_id = std::move(owner);
    d.os_family = std::move(family);
    d.os_version = "16.0";
    d.type = model::DeviceType::phone;
    d.facts_json = std::move(facts);
    d.first_seen = d.last_seen = T("2023-02-01T00:00:00Z");
    return d;
  }
  std::vector<store::Finding> findings() { return fw::testing::all_findings(*store_); }
  std::vector<store::FindingChange> changes() { return fw::testing::all_finding_changes(*store_); }
  const store::Finding* find(const std::vector<store::Finding>& fs, std::string_view dev, std::string_view rule) {
    for (const auto& f : fs)
      if (f.device_id == dev && f.rule_key == rule) return &f;
    return nullptr;
  }

  fw::testing::TestStore store_;
};

TEST_F(PolicyService, ApplyStoresVersionsWithAudit) {
  FixedClock clock(T("2023-02-20T10:00:00Z"));
  auto a = apply_policy_text(*store_, clock, "tester", kFile, "c.yaml");
  ASSERT_TRUE(a) << a.error().to_string();
  ASSERT_EQ(a->size(), 1u);
  EXPECT_EQ((*a)[0].version, 1);
  auto b = apply_policy_text(*store_, clock, "tester", kFile, "c.yaml");
  ASSERT_TRUE(b);
  EXPECT_EQ((*b)[0].version, 2);
  int applies = 0;
  ASSERT_TRUE(store_->read([&](store::Tx& tx) -> Status {
    FW_TRY(auto page, tx.list_audit({"", 1000}));
    for (auto& e : page.items)
      if (e.action == "policy.apply" && e.entity == "policy/replace-ios" && e.actor == "tester") ++applies;
    return {};
  }));
  EXPECT_EQ(applies, 2);
  // A bad file stores nothing and names every problem.
  auto bad = apply_policy_text(*store_, clock, "tester", "kind: policy\nid: p\nrules:\n  - {id: r, require: '1 +'}\n", "bad.yaml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("bad.yaml:4:"), std::string::npos) << bad.error().message;
}

TEST_F(PolicyService, EvaluateWritesFindingsAndOnlyChanges) {
  FixedClock clock(T("2023-03-02T10:00:00Z"));
  ASSERT_TRUE(apply_policy_text(*store_, clock, "t", kFile, "c.yaml"));
  auto st = evaluate_all(*store_, clock);
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_EQ(st->devices, 3);
  auto fs = findings();
  ASSERT_NE(find(fs, "d-ann-ios", "replace-ios/no-ios"), nullptr);
  EXPECT_EQ(find(fs, "d-ann-ios", "replace-ios/no-ios")->status, store::FindingStatus::fail);
  EXPECT_EQ(find(fs, "d-ann-ios", "replace-ios/no-ios")->first_failed_at, T("2023-03-02T10:00:00Z"));
  EXPECT_EQ(find(fs, "d-boss", "replace-ios/no-ios")->status, store::FindingStatus::pass);
  // A missing fact is unknown with the error, never a silent pass.
  auto* unk = find(fs, "d-dan", "replace-ios/encrypted");
  ASSERT_NE(unk, nullptr);
  EXPECT_EQ(unk->status, store::FindingStatus::unknown);
  EXPECT_FALSE(unk->detail.empty());
  size_t n_changes = changes().size();
  EXPECT_EQ(n_changes, 6u);
  // Nothing changed: nothing written.
  clock.advance(std::chrono::hours{1});
  auto again = evaluate_all(*store_, clock);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->written, 0);
  EXPECT_EQ(changes().size(), n_changes);
  // The device changes: evaluate_device records the new status; first_failed_at is cleared.
  ASSERT_TRUE(store_->write([&](store::Tx& tx) -> Status {
    FW_TRY_STATUS(put_device(tx, Change{"t", clock.now()}, dev("d-ann-ios", "ann", "Android", R"({"encrypted": true})"),
                             PutMode::replace));
    return {};
  }));
  auto one = evaluate_device(*store_, clock, "d-ann-ios");
  ASSERT_TRUE(one) << one.error().to_string();
  EXPECT_EQ(one->changes, 1);
  fs = findings();
  EXPECT_EQ(find(fs, "d-ann-ios", "replace-ios/no-ios")->status, store::FindingStatus::pass);
  EXPECT_FALSE(find(fs, "d-ann-ios", "replace-ios/no-ios")->first_failed_at);
  auto hist = changes();
  EXPECT_EQ(hist.back().at, clock.now());
  EXPECT_EQ(hist.back().status, store::FindingStatus::pass);
}

TEST_F(PolicyService, ExemptionsApplyAndExpire) {
  FixedClock clock(T("2023-03-02T10:00:00Z"));
  ASSERT_TRUE(apply_policy_text(*store_, clock, "t", kFile, "c.yaml"));
  store::Exemption e;
  e.person_id = "ann";
  e.policy_id = "replace-ios";
  e.rule_id = "no-ios";
  e.reason = "replacement phone on order";
  e.approver = "ciso";
  e.expires_at = T("2023-03-10T00:00:00Z");
  auto made = create_exemption(*store_, clock, "t", e);
  ASSERT_TRUE(made) << made.error().to_string();
  ASSERT_TRUE(evaluate_all(*store_, clock));
  EXPECT_EQ(find(findings(), "d-ann-ios", "replace-ios/no-ios")->status, store::FindingStatus::exempt);
  clock.set(T("2023-03-10T00:00:00Z"));  // expired: the scheduled run turns it back into a failure
  ASSERT_TRUE(evaluate_all(*store_, clock));
  EXPECT_EQ(find(findings(), "d-ann-ios", "replace-ios/no-ios")->status, store::FindingStatus::fail);
  // Bad exemptions are refused naming the field.
  store::Exemption bad = e;
  bad.rule_id = "no-such-rule";
  bad.expires_at = T("2023-04-01T00:00:00Z");
  auto r = create_exemption(*store_, clock, "t", bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().where, "rule_id");
  ASSERT_TRUE(delete_exemption(*store_, clock, "t", made->id));
}

TEST_F(PolicyService, CampaignActionsAndReport) {
  FixedClock clock(T("2023-03-01T10:00:00Z"));
  ASSERT_TRUE(apply_policy_text(*store_, clock, "t", kFile, "c.yaml"));
  ASSERT_TRUE(evaluate_all(*store_, clock));
  clock.set(T("2023-03-24T21:00:00Z"));  // one second after deadline-7d (20:59:59Z)
  auto a = campaign_actions(*store_, clock, "replace-ios", Seconds{3600});
  ASSERT_TRUE(a) << a.error().to_string();
  ASSERT_EQ(a->due.size(), 2u);  // Ann (mandatory) and Dan (advisory) both get the notice
  EXPECT_EQ(a->due[0].point.label, "deadline-7d");
  ASSERT_EQ(a->people.size(), 2u);
  EXPECT_EQ(a->people[0].person_id, "ann");
  EXPECT_EQ(a->people[0].escalation, policy::Escalation::escalated);
  EXPECT_EQ(a->due_total, 2u);
  // due_limit keeps the first points in the same order and still counts them all.
  auto one = campaign_actions(*store_, clock, "replace-ios", Seconds{3600}, false, 1);
  ASSERT_TRUE(one) << one.error().to_string();
  ASSERT_EQ(one->due.size(), 1u);
  EXPECT_EQ(one->due_total, 2u);
  EXPECT_EQ(one->due[0].person_id, a->due[0].person_id);
  EXPECT_EQ(one->due[0].point.label, a->due[0].point.label);
  EXPECT_TRUE(one->people.empty());
  // The report: per unit numbers and the burn-down from the stored history.
  auto rep = report(*store_, clock, "replace-ios", "json", "en");
  ASSERT_TRUE(rep) << rep.error().to_string();
  EXPECT_NE(rep->body.find("\"people\":3,\"people_noncompliant\":2"), std::string::npos) << rep->body;
  EXPECT_NE(rep->body.find("{\"date\":\"2023-03-01\",\"people\":2,\"devices\":2}"), std::string::npos) << rep->body;
  auto html = report(*store_, clock, "replace-ios", "html", "ru");
  ASSERT_TRUE(html);
  EXPECT_NE(html->body.find("<svg"), std::string::npos);
  EXPECT_FALSE(report(*store_, clock, "replace-ios", "pdf", ""));
  EXPECT_EQ(report(*store_, clock, "nope", "json", "").error().code, Errc::not_found);
}

TEST(DemoPolicies, EmbeddedFileEqualsTheExample) {
  std::ifstream f(std::string(FW_SOURCE_DIR) + "/examples/replace-ios.yaml");
  ASSERT_TRUE(f);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_EQ(ss.str(), kDemoPolicyFile);
  auto r = policy::parse_file(kDemoPolicyFile, "examples/replace-ios.yaml");
  EXPECT_TRUE(r.ok());
}

}  // namespace
}  // namespace fw::service
