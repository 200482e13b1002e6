// Tests of the per-unit report rows for devices without an owner: such a device in scope
// counts under its own org unit (and each ancestor) as a device, never as a person; one
// outside the scope or with no unit of its own is in no unit's row.
#include <gtest/gtest.h>

#include "policy/policy.h"

namespace fw::policy {
namespace {

TEST(ReportUnits, UnownedDevicesCountUnderTheirOwnUnit) {
  auto parsed = parse_file(
      "kind: campaign\nid: c\nscope: [/admin]\nstart: 2023-03-01T00:00:00Z\ndeadline: 2023-03-31T00:00:00Z\n"
      "rules:\n  - {id: no-ios, require: 'device.os.family != \"iOS\"'}\n",
      "c.yaml");
  ASSERT_TRUE(parsed.ok());
  ReportInput in;
  in.campaign = parsed.documents.at(0);
  in.now = *parse_time("2023-03-10T00:00:00Z");
  in.units = {{"/admin", "Admin"}, {"/admin/it", "IT"}, {"/other", "Other"}};
  in.people = {{"ann", "Ann", "ann@x", "/admin/it", kNone}};
  // d0 Ann's (fails); d1 unowned in /admin/it (fails); d2 unowned in /admin (passes);
  // d3 unowned in /other (outside the scope); d4 unowned without a unit.
  in.devices = {{"d0", 0, "iOS", "16", "iPhone", ""},
                {"d1", kNone, "iOS", "16", "iPhone", "/admin/it"},
                {"d2", kNone, "Aurora OS", "4", "R-FON", "/admin"},
                {"d3", kNone, "iOS", "16", "iPhone", "/other"},
                {"d4", kNone, "iOS", "16", "iPhone", ""}};
  in.findings = {{0, 0, 0, RuleStatus::fail, in.now}, {1, kNone, 0, RuleStatus::fail, in.now},
                 {2, kNone, 0, RuleStatus::pass, std::nullopt},
                 {3, kNone, 0, RuleStatus::not_applicable, std::nullopt}};
  auto r = build_report(in);
  struct U {
    const char* path;
    int64_t people, devices, dnc;
  } want[] = {{"/admin", 1, 3, 2}, {"/admin/it", 1, 2, 2}};
  ASSERT_EQ(r.units.size(), std::size(want));
  for (size_t i = 0; i < std::size(want); ++i) {
    EXPECT_EQ(r.units[i].path, want[i].path);
    EXPECT_EQ(r.units[i].people, want[i].people) << want[i].path;
    EXPECT_EQ(r.units[i].devices, want[i].devices) << want[i].path;
    EXPECT_EQ(r.units[i].devices_noncompliant, want[i].dnc) << want[i].path;
  }
  EXPECT_EQ(r.people, 1);
  EXPECT_EQ(r.people_noncompliant, 1);
}

}  // namespace
}  // namespace fw::policy
