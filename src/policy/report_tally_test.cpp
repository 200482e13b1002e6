// Tests for ReportTally/finish_report: the report accumulated device by device (over one or
// several tallies, as the evaluation's threads feed them) is exactly build_report()'s over the
// same rows, on a hand-made organisation and on random ones (compared as rendered JSON).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "policy/policy.h"
#include "policy/report_test_org.h"

namespace fw::policy {
namespace {

Time T(const char* s) { return *parse_time(s); }

Document campaign() {
  std::string text =
      "kind: campaign\nid: replace-ios\ntitle: Replace iPhones\n"
      "scope: [/admin, {path: /regions, level: advisory}]\nstart: 2023-03-01T00:00:00+03:00\n"
      "deadline: 2023-03-31T23:59:59+03:00\ngrace: 14d\nrules:\n"
      "  - {id: zz-last, severity: low, require: 'true'}\n"
      "  - {id: no-ios, severity: critical, require: 'device.os.family != \"iOS\"'}\n"
      "  - {id: android-min, when: 'device.os.family == \"Android\"', "
      "require: 'version(device.os.version) >= version(\"12\")'}\n";
  auto r = parse_file(text, "c.yaml");
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
  return r.documents.at(0);
}

// Feeds in's devices to `parts` tallies, cutting the devices into runs of `run` given to the
// tallies in turn, as the evaluation's slices go to its workers; with `shuffle`, in a random
// order (the evaluation hands a slice's re-compared devices over after the others).
Report tallied(const ReportInput& in, size_t parts, size_t run, bool shuffle = false) {
  std::vector<std::optional<Level>> level(in.people.size());
  for (size_t i = 0; i < in.people.size(); ++i) level[i] = in.campaign.level_for(in.people[i].org_unit_path);
  std::vector<std::unique_ptr<ReportTally>> tallies;
  for (size_t i = 0; i < parts; ++i) tallies.push_back(std::make_unique<ReportTally>(in.campaign, level));
  std::vector<size_t> first(in.devices.size() + 1, 0);  // findings of device d: [first[d], first[d+1])
  for (const auto& f : in.findings) ++first[f.device + 1];
  for (size_t d = 0; d < in.devices.size(); ++d) first[d + 1] += first[d];
  std::vector<size_t> order(in.devices.size());
  for (size_t d = 0; d < order.size(); ++d) order[d] = d;
  if (shuffle) std::shuffle(order.begin(), order.end(), std::mt19937(uint32_t(in.devices.size())));
  for (size_t d : order) {
    auto& t = *tallies[(d / run) % parts];
    const auto& dr = in.devices[d];
    t.begin(d, dr.owner, dr.id, dr.os_family, dr.os_version, dr.model, dr.org_unit_path);
    for (size_t f = first[d]; f < first[d + 1]; ++f)
      t.finding(in.findings[f].rule, in.findings[f].status, in.findings[f].first_failed_at);
    t.end();
  }
  std::vector<const ReportTally*> ptrs;
  for (auto& t : tallies) ptrs.push_back(t.get());
  return finish_report(in, ptrs);
}

ReportInput hand_made() {
  ReportInput in;
  in.campaign = campaign();
  in.tz = *TimeZone::load("Europe/Moscow");
  in.now = T("2023-04-20T12:00:00Z");
  testing::add_small_org(in);
  // Three more: unowned in /admin/hr and in /other, and a second phone of bob's.
  in.devices.insert(in.devices.end(), {{"d7", kNone, "iOS", "", "", "/admin/hr"},
                                       {"d8", kNone, "", "1", "Box", "/other"},
                                       {"d9", 2, "iOS", "17", ""}});
  using S = RuleStatus;
  auto F = [](uint32_t d, uint32_t p, uint16_t r, S s, std::optional<Time> ff = {}) {
    return FindingRow{d, p, r, s, ff};
  };
  // Per device in rule-id order: android-min (2), no-ios (1), zz-last (0).
  in.findings = {F(0, 1, 2, S::not_applicable), F(0, 1, 1, S::fail, T("2023-01-20T00:00:00Z")),
                 F(1, 1, 2, S::pass), F(1, 1, 1, S::pass),
                 F(2, 2, 2, S::fail, T("2023-03-10T06:00:00Z")), F(2, 2, 1, S::pass), F(2, 2, 0, S::unknown),
                 F(3, 3, 1, S::exempt),
                 F(4, 4, 1, S::fail, T("2023-01-20T00:00:00Z")),
                 F(5, 0, 2, S::pass), F(5, 0, 1, S::pass),
                 F(7, kNone, 1, S::fail, T("2023-03-02T00:00:00Z")),
                 F(9, 2, 1, S::fail, T("2023-02-01T00:00:00Z")), F(9, 2, 0, S::fail, T("2023-03-05T00:00:00Z"))};
  return in;
}

TEST(ReportTally, HandMadeOrganisationGivesBuildReportsReport) {
  auto in = hand_made();
  auto want = build_report(in);
  // The case exercises the overdue list with a person of several failing devices and rules.
  ASSERT_TRUE(std::any_of(want.overdue.begin(), want.overdue.end(),
                          [](const OverdueRow& r) { return r.devices.size() >= 2 && r.rules.size() >= 3; }));
  std::string want_json = render_json(want, in.tz);
  for (size_t parts : {1u, 2u, 3u})
    for (size_t run : {1u, 2u, 4u, 100u})
      for (bool shuffle : {false, true})
        EXPECT_EQ(render_json(tallied(in, parts, run, shuffle), in.tz), want_json)
            << parts << " tallies, runs of " << run << (shuffle ? ", shuffled" : "");
}

TEST(ReportTally, RandomOrganisationsGiveBuildReportsReport) {
  std::mt19937 rng(20261128);
  auto pick = [&](size_t n) { return size_t(std::uniform_int_distribution<size_t>(0, n - 1)(rng)); };
  const std::vector<std::string> paths = {"/admin", "/admin/hr", "/admin/it", "/admin/it/ops", "/regions",
                                          "/regions/tver", "/other", "/other/x", ""};
  const std::vector<std::string> families = {"iOS", "Android", "Aurora OS", "", "Other"};
  for (int round = 0; round < 60; ++round) {
    ReportInput in;
    in.campaign = campaign();
    in.tz = *TimeZone::load("Europe/Moscow");
    in.now = T("2023-04-20T12:00:00Z") + Seconds{int64_t(pick(40)) * 86400 - 30 * 86400};
    for (size_t i = 0; i + 1 < paths.size(); ++i)
      if (pick(5)) in.units.push_back({paths[i], "unit " + paths[i]});
    size_t np = 1 + pick(40), nd = pick(120);
    for (size_t p = 0; p < np; ++p)
      in.people.push_back({"p" + std::to_string(p), "Name " + std::to_string(pick(10)), "e" + std::to_string(p),
                           paths[pick(paths.size())], pick(3) ? uint32_t(pick(np)) : kNone});
    for (size_t d = 0; d < nd; ++d) {
      uint32_t owner = pick(5) ? uint32_t(pick(np)) : kNone;
      in.devices.push_back({"d" + std::to_string(1000 + d), owner, families[pick(families.size())],
                            pick(3) ? std::to_string(pick(20)) : "", pick(4) ? "M" + std::to_string(pick(5)) : "",
                            paths[pick(paths.size())]});
      // Rules in rule-id order: 2 (android-min), 1 (no-ios), 0 (zz-last); each present or not.
      for (uint16_t r : {uint16_t(2), uint16_t(1), uint16_t(0)}) {
        if (pick(3) == 0) continue;
        auto st = RuleStatus(pick(5));
        std::optional<Time> ff;
        if (st == RuleStatus::fail && pick(4)) ff = T("2023-01-01T00:00:00Z") + Seconds{int64_t(pick(100)) * 86400};
        in.findings.push_back(FindingRow{uint32_t(d), owner, r, st, ff});
      }
    }
    std::string want = render_json(build_report(in), in.tz);
    for (size_t parts : {1u, 2u})
      for (size_t run : {1u, 7u})
        ASSERT_EQ(render_json(tallied(in, parts, run, run == 7), in.tz), want)
            << "round " << round << ", " << parts << " tallies, runs of " << run;
  }
}

}  // namespace
}  // namespace fw::policy
