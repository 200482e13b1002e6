// Tests for rule evaluation: each rule shape, scope, unknown on errors, exemptions and expiry.
#include <gtest/gtest.h>

#include "policy/policy.h"

namespace fw::policy {
namespace {

Time T(const char* s) { return *parse_time(s); }

const char* kRules = R"Y(kind: campaign
id: c
scope: ["/admin", {path: /regions, level: advisory}]
start: 2023-02-01T00:00:00+03:00
deadline: 2023-03-31T23:59:59+03:00
rules:
  - id: no-ios
    severity: critical
    require: '!(device.os.family in ["iOS", "iPadOS"])'
  - id: no-zoom
    require: '!device.apps.exists(a, a.id.startsWith("us.zoom."))'
  - id: android-min
    when: device.os.family == "Android"
    require: version(device.os.version) >= version("12")
  - id: aurora-min
    when: device.os.family == "Aurora OS"
    require: version(device.os.version) >= version("4.0.2")
  - id: encrypted
    require: device.facts.encrypted == true
  - id: seen-recently
    require: device.last_seen > now - duration("720h")
  - id: admin-person
    require: person.org_unit.startsWith("/admin")
)Y";

CompiledPolicy compiled() {
  auto r = parse_file(kRules, "c.yaml");
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
  auto c = CompiledPolicy::compile(r.documents.at(0));
  EXPECT_TRUE(c) << c.error().to_string();
  return *c;
}

model::Device dev(std::string id, std::string family, std::string version) {
  model::Device d;
  d.id = std::move(id);
  d.owner_id = "p1";
  d.os_family = std::move(family);
  d.os_version = std::move(version);
  d.type = model::DeviceType::phone;
  d.last_seen = T("2023-03-01T00:00:00Z");
  d.facts_json = R"({"encrypted": true})";
  return d;
}

model::Person person(std::string unit) {
  model::Person p;
  p.id = "p1";
  p.name = "Ivanov";
  p.org_unit_path = std::move(unit);
  return p;
}

std::vector<RuleStatus> statuses(const std::vector<RuleResult>& rs) {
  std::vector<RuleStatus> out;
  for (auto& r : rs) out.push_back(r.status);
  return out;
}

using S = RuleStatus;

TEST(Evaluate, EachRuleShape) {
  auto cp = compiled();
  const Time now = T("2023-03-10T00:00:00Z");
  auto admin = person("/admin/it");
  struct Case {
    const char* name;
    model::Device d;
    std::vector<RuleStatus> want;
  };
  auto zoom = dev("d5", "Android", "13");
  zoom.apps.push_back({"us.zoom.videomeetings", "Zoom", "5.13"});
  auto stale = dev("d6", "Android", "13");
  stale.last_seen = T("2023-01-01T00:00:00Z");
  auto nofacts = dev("d7", "Android", "13");
  nofacts.facts_json = "{}";
  Case cases[] = {
      {"iphone", dev("d1", "iOS", "16.3"), {S::fail, S::pass, S::not_applicable, S::not_applicable, S::pass, S::pass, S::pass}},
      {"old_android", dev("d2", "Android", "11"), {S::pass, S::pass, S::fail, S::not_applicable, S::pass, S::pass, S::pass}},
      {"new_android", dev("d3", "Android", "13.0.1"), {S::pass, S::pass, S::pass, S::not_applicable, S::pass, S::pass, S::pass}},
      {"old_aurora", dev("d4", "Aurora OS", "4.0.1.5"), {S::pass, S::pass, S::not_applicable, S::fail, S::pass, S::pass, S::pass}},
      {"zoom", zoom, {S::pass, S::fail, S::pass, S::not_applicable, S::pass, S::pass, S::pass}},
      {"stale", stale, {S::pass, S::pass, S::pass, S::not_applicable, S::pass, S::fail, S::pass}},
      {"missing_fact", nofacts, {S::pass, S::pass, S::pass, S::not_applicable, S::unknown, S::pass, S::pass}},
  };
  Evaluator ev;
  std::vector<RuleResult> out;
  for (auto& c : cases) {
    cp.evaluate(c.d, &admin, now, {}, ev, out);
    EXPECT_EQ(statuses(out), c.want) << c.name;
  }
  // unknown carries the error text, never a silent pass.
  cp.evaluate(nofacts, &admin, now, {}, ev, out);
  EXPECT_FALSE(out[4].detail.empty());
}

TEST(Evaluate, UnknownOnBadVersionAndNoOwner) {
  auto cp = compiled();
  Evaluator ev;
  std::vector<RuleResult> out;
  auto admin = person("/admin");
  cp.evaluate(dev("d", "Android", "banana"), &admin, T("2023-03-10T00:00:00Z"), {}, ev, out);
  EXPECT_EQ(out[2].status, S::unknown);
  EXPECT_NE(out[2].detail.find("version"), std::string::npos) << out[2].detail;
  // No owner: outside a scoped campaign.
  cp.evaluate(dev("d", "iOS", "16"), nullptr, T("2023-03-10T00:00:00Z"), {}, ev, out);
  EXPECT_EQ(out[0].status, S::not_applicable);
}

TEST(Evaluate, ScopeDecidesApplicability) {
  auto cp = compiled();
  Evaluator ev;
  std::vector<RuleResult> out;
  auto outside = person("/elsewhere");
  cp.evaluate(dev("d", "iOS", "16"), &outside, T("2023-03-10T00:00:00Z"), {}, ev, out);
  for (auto& r : out) EXPECT_EQ(r.status, S::not_applicable);
  auto region = person("/regions/tver");
  cp.evaluate(dev("d", "iOS", "16"), &region, T("2023-03-10T00:00:00Z"), {}, ev, out);
  EXPECT_EQ(out[0].status, S::fail);
  EXPECT_EQ(out[6].status, S::fail);  // admin-person: a rule over person fields
}

TEST(Exemptions, ApplyUntilTheyExpire) {
  auto cp = compiled();
  Evaluator ev;
  std::vector<RuleResult> out;
  auto admin = person("/admin");
  Exemption e{"ex1", "p1", "", "c", "no-ios", "awaiting replacement", "ciso", T("2023-03-01T00:00:00Z"),
              T("2023-03-20T00:00:00Z")};
  std::vector<const Exemption*> ex{&e};
  struct Case {
    const char* now;
    RuleStatus want;
  } cases[] = {
      {"2023-02-28T23:59:59Z", S::fail},    // before it was created
      {"2023-03-01T00:00:00Z", S::exempt},
      {"2023-03-19T23:59:59Z", S::exempt},  // the second before expiry
      {"2023-03-20T00:00:00Z", S::fail},    // expired: stops applying by itself
  };
  for (auto& c : cases) {
    cp.evaluate(dev("d1", "iOS", "16"), &admin, T(c.now), ex, ev, out);
    EXPECT_EQ(out[0].status, c.want) << c.now;
    if (c.want == S::exempt) {
      EXPECT_EQ(out[0].detail, "ex1");
    }
  }
}

TEST(Exemptions, Matching) {
  Time now = T("2023-03-10T00:00:00Z");
  Exemption person_rule{"e", "p1", "", "c", "no-ios", "r", "a", T("2023-01-01T00:00:00Z"), T("2024-01-01T00:00:00Z")};
  Exemption person_doc = person_rule;
  person_doc.rule_id = "";
  Exemption device_rule = person_rule;
  device_rule.person_id = "";
  device_rule.device_id = "d1";
  struct Case {
    const char* name;
    const Exemption* e;
    const char* person;
    const char* device;
    const char* policy;
    const char* rule;
    bool want;
  } cases[] = {
      {"person_rule", &person_rule, "p1", "d9", "c", "no-ios", true},
      {"person_other_rule", &person_rule, "p1", "d9", "c", "no-zoom", false},
      {"person_other_person", &person_rule, "p2", "d9", "c", "no-ios", false},
      {"person_other_policy", &person_rule, "p1", "d9", "x", "no-ios", false},
      {"person_whole_doc", &person_doc, "p1", "d9", "c", "anything", true},
      {"device_rule", &device_rule, "p7", "d1", "c", "no-ios", true},
      {"device_other", &device_rule, "p7", "d2", "c", "no-ios", false},
      {"person_empty_owner", &person_rule, "", "d1", "c", "no-ios", false},
  };
  for (auto& c : cases) EXPECT_EQ(exemption_applies(*c.e, c.person, c.device, c.policy, c.rule, now), c.want) << c.name;
}

TEST(Exemptions, Validation) {
  Exemption ok{"e", "p1", "", "c", "", "reason", "ciso", T("2023-01-01T00:00:00Z"), T("2023-02-01T00:00:00Z")};
  EXPECT_TRUE(validate_exemption(ok));
  struct Case {
    const char* field;
    Exemption e;
  };
  Exemption both = ok;
  both.device_id = "d";
  Exemption none = ok;
  none.person_id = "";
  Exemption nopol = ok;
  nopol.policy_id = "";
  Exemption noreason = ok;
  noreason.reason = "";
  Exemption noapprover = ok;
  noapprover.approver = "";
  Exemption backwards = ok;
  backwards.expires_at = ok.created_at;
  Case cases[] = {{"person_id", both}, {"person_id", none}, {"policy_id", nopol},
                  {"reason", noreason}, {"approver", noapprover}, {"expires_at", backwards}};
  for (auto& c : cases) {
    auto s = validate_exemption(c.e);
    ASSERT_FALSE(s) << c.field;
    EXPECT_EQ(s.error().where, c.field);
  }
}

TEST(DeviceValue, ExposesDocumentedFields) {
  auto d = dev("d1", "iOS", "16.3");
  d.vendor = "Apple";
  d.model = "iPhone 13";
  d.may_be = {"iPadOS"};
  auto v = device_value(d);
  ASSERT_NE(v.find("os"), nullptr);
  EXPECT_EQ(v.find("os")->find("family")->as_string(), "iOS");
  EXPECT_EQ(v.find("model")->as_string(), "iPhone 13");
  EXPECT_EQ(v.find("type")->as_string(), "phone");
  EXPECT_TRUE(v.find("facts")->find("encrypted")->as_bool());
  EXPECT_EQ(v.find("may_be")->as_list().size(), 1u);
  EXPECT_TRUE(person_value(nullptr).is_null());
}

// The fields a rule set reads decide which fields of the values are built; a rule set that
// changes reads other fields; values built with only those fields give the same results.
TEST(FieldUse, RulesDecideTheFieldsBuilt) {
  auto cp = compiled();
  auto bits = [](std::initializer_list<const char*> names) {
    FieldMask m = 0;
    for (auto n : names) m |= device_field(n);
    return m;
  };
  EXPECT_EQ(cp.device_fields(), bits({"os", "apps", "facts", "last_seen"}));
  EXPECT_EQ(device_field("no-such-field"), 0u);

  auto compile_rules = [](const char* rules) {
    std::string text = std::string("kind: policy\nid: p\nrules:\n") + rules;
    auto r = parse_file(text, "p.yaml");
    EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
    auto c = CompiledPolicy::compile(r.documents.at(0));
    EXPECT_TRUE(c) << c.error().to_string();
    return *c;
  };
  auto os_only = compile_rules("  - {id: a, require: 'device.os.family != \"iOS\"'}\n");
  EXPECT_EQ(os_only.device_fields(), bits({"os"}));
  EXPECT_EQ(os_only.person_fields(), 0u);
  auto more = compile_rules(
      "  - {id: a, require: 'device.os.family != \"iOS\"'}\n"
      "  - {id: b, when: 'person.org_unit.startsWith(\"/admin\")', require: 'has(device.facts.x) || device.vendor != \"\"'}\n");
  EXPECT_EQ(more.device_fields(), bits({"os", "facts", "vendor"}));
  EXPECT_EQ(more.person_fields(), FieldMask(1) << 4);  // org_unit
  auto whole = compile_rules("  - {id: a, require: 'size(device) > 3 && person != null'}\n");
  EXPECT_EQ(whole.device_fields(), kAllFields);
  EXPECT_EQ(whole.person_fields(), kAllFields);

  // Only what is read is built: no apps and no parsed facts for os_only.
  auto d = dev("d1", "Android", "13");
  d.apps = {model::App{"us.zoom.videomeetings", "Zoom", "5"}};
  auto v = device_value(d, os_only.device_fields());
  ASSERT_NE(v.find("os"), nullptr);
  EXPECT_EQ(v.find("apps"), nullptr);
  EXPECT_EQ(v.find("facts"), nullptr);
  EXPECT_EQ(v.find("id"), nullptr);

  // The rules that use apps and facts see them in the reduced values, with the same results.
  const Time now = T("2023-03-10T00:00:00Z");
  auto admin = person("/admin/it");
  Evaluator ev;
  std::vector<RuleResult> full, reduced;
  for (const auto& device : {d, dev("d2", "iOS", "16"), dev("d3", "Aurora OS", "4.0.1")}) {
    cp.evaluate(device, &admin, now, {}, ev, full);
    cp.evaluate_values(device_value(device, cp.device_fields()), person_value(&admin, cp.person_fields()),
                       admin.id, device.id, admin.org_unit_path, now, {}, ev, reduced);
    ASSERT_EQ(full.size(), reduced.size());
    for (size_t i = 0; i < full.size(); ++i) {
      EXPECT_EQ(full[i].status, reduced[i].status) << device.id << " rule " << i;
      EXPECT_EQ(full[i].detail, reduced[i].detail) << device.id << " rule " << i;
    }
  }
  cp.evaluate(d, &admin, now, {}, ev, full);
  EXPECT_EQ(full[1].status, RuleStatus::fail);  // no-zoom sees the app
  EXPECT_EQ(full[4].status, RuleStatus::pass);  // encrypted sees the facts
}

}  // namespace
}  // namespace fw::policy
