// Tests for the campaign timeline: the second before and after each scheduled point,
// levels, grace, and deadlines written with +03:00 shown in Europe/Moscow.
#include <gtest/gtest.h>

#include <algorithm>

#include "policy/policy.h"

namespace fw::policy {
namespace {

Time T(const char* s) { return *parse_time(s); }

const char* kCampaign = R"Y(kind: campaign
id: replace-ios
scope: ["/admin", {path: /regions, level: advisory}]
start: 2023-02-01T09:00:00+03:00
deadline: 2023-03-31T23:59:59+03:00
grace: 14d
rules:
  - {id: no-ios, require: 'device.os.family != "iOS"'}
schedule:
  - {at: start, notify: [owner]}
  - {every: 7d, notify: [owner]}
  - {at: deadline-7d, notify: [owner, manager]}
  - {at: deadline, action: block}
  - {at: deadline+14d, notify: [admin]}
)Y";

Document doc() {
  auto r = parse_file(kCampaign, "c.yaml");
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
  return r.documents.at(0);
}

PersonState failing(const char* id, Level level = Level::mandatory) {
  return PersonState{id, level, false, T("2023-01-15T00:00:00Z")};
}

std::vector<std::string> due_labels(const Document& d, const PersonState& p, Time now, Seconds window) {
  std::vector<std::string> out;
  for (auto& a : actions_due(d, {p}, now, window)) out.push_back(a.point.label);
  return out;
}

TEST(Timeline, SchedulePoints) {
  auto d = doc();
  auto pts = schedule_points(d, *d.start, *d.deadline, Level::mandatory);
  // start, 8 weekly reminders (Feb 8 ... Mar 29), deadline-7d, deadline, deadline+14d.
  ASSERT_EQ(pts.size(), 12u);
  EXPECT_EQ(pts[0].label, "start");
  EXPECT_EQ(format_time(pts[1].at), "2023-02-08T06:00:00Z");
  EXPECT_EQ(pts[1].label, "every 7d #1");
  EXPECT_EQ(pts[8].label, "deadline-7d");
  EXPECT_EQ(format_time(pts[8].at), "2023-03-24T20:59:59Z");
  EXPECT_EQ(pts[9].label, "every 7d #8");
  EXPECT_EQ(format_time(pts[9].at), "2023-03-29T06:00:00Z");
  EXPECT_TRUE(pts[10].block);
  // Advisory: the block point is dropped, notifications stay.
  auto adv = schedule_points(d, *d.start, *d.deadline, Level::advisory);
  EXPECT_EQ(adv.size(), 11u);
  EXPECT_TRUE(std::none_of(adv.begin(), adv.end(), [](auto& p) { return p.block; }));
}

TEST(Timeline, EscalationAtTheBoundaries) {
  auto d = doc();
  struct Case {
    const char* now;
    Level level;
    Escalation want;
    const char* next;  // label of the next point, "" for none
  } cases[] = {
      {"2023-02-01T05:59:59Z", Level::mandatory, Escalation::none, "start"},
      {"2023-02-01T06:00:00Z", Level::mandatory, Escalation::reminded, "every 7d #1"},
      {"2023-03-24T20:59:58Z", Level::mandatory, Escalation::reminded, "deadline-7d"},
      {"2023-03-24T20:59:59Z", Level::mandatory, Escalation::escalated, "every 7d #8"},
      {"2023-03-31T20:59:58Z", Level::mandatory, Escalation::escalated, "deadline"},
      {"2023-03-31T20:59:59Z", Level::mandatory, Escalation::blocked, "deadline+14d"},
      {"2023-04-14T20:59:59Z", Level::mandatory, Escalation::blocked, ""},
      {"2023-03-31T20:59:59Z", Level::advisory, Escalation::escalated, "deadline+14d"},
      {"2023-03-31T21:00:00Z", Level::advisory, Escalation::overdue, "deadline+14d"},
  };
  for (auto& c : cases) {
    auto t = person_timeline(d, failing("p", c.level), T(c.now));
    EXPECT_EQ(t.escalation, c.want) << c.now << " " << to_string(c.level);
    EXPECT_EQ(t.next ? t.next->label : "", c.next) << c.now;
  }
  auto late = person_timeline(d, failing("p"), T("2023-04-03T21:00:00Z"));
  EXPECT_EQ(late.days_overdue, 3);
  auto ok = person_timeline(d, PersonState{"p", Level::mandatory, true, std::nullopt}, T("2023-04-03T21:00:00Z"));
  EXPECT_EQ(ok.escalation, Escalation::none);
  EXPECT_FALSE(ok.next);
}

TEST(Timeline, ActionsDueTheSecondBeforeAndAfter) {
  auto d = doc();
  auto p = failing("p");
  const Seconds hour{3600};
  struct Case {
    const char* now;
    std::vector<std::string> want;
  } cases[] = {
      {"2023-02-01T05:59:59Z", {}},
      {"2023-02-01T06:00:00Z", {"start"}},
      {"2023-02-01T06:59:59Z", {"start"}},
      {"2023-02-01T07:00:00Z", {}},  // left the one-hour window
      {"2023-02-08T05:59:59Z", {}},
      {"2023-02-08T06:00:00Z", {"every 7d #1"}},
      {"2023-03-24T20:59:58Z", {}},
      {"2023-03-24T20:59:59Z", {"deadline-7d"}},
      {"2023-03-31T20:59:58Z", {}},
      {"2023-03-31T20:59:59Z", {"deadline"}},
      {"2023-04-14T20:59:59Z", {"deadline+14d"}},
  };
  for (auto& c : cases) EXPECT_EQ(due_labels(d, p, T(c.now), hour), c.want) << c.now;
  // Compliant people have nothing due.
  EXPECT_TRUE(actions_due(d, {PersonState{"q", Level::mandatory, true, {}}}, T("2023-02-01T06:00:00Z"), hour).empty());
  // Sorted by time, then person.
  auto all = actions_due(d, {failing("b"), failing("a")}, T("2023-02-01T06:00:00Z"), hour);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].person_id, "a");
}

TEST(Timeline, GraceGivesLateFailuresTheirOwnDeadline) {
  auto d = doc();
  PersonState late{"p", Level::mandatory, false, T("2023-03-25T00:00:00Z")};
  auto t = person_timeline(d, late, T("2023-03-31T21:00:00Z"));
  EXPECT_EQ(format_time(t.start), "2023-03-25T00:00:00Z");
  EXPECT_EQ(format_time(t.deadline), "2023-04-08T00:00:00Z");
  EXPECT_EQ(t.escalation, Escalation::reminded);  // their deadline-7d is 2023-04-01
  // Their "start" notice is due when they first failed.
  auto due = due_labels(d, late, T("2023-03-25T00:00:00Z"), Seconds{60});
  EXPECT_EQ(due, std::vector<std::string>{"start"});
  auto blocked = person_timeline(d, late, T("2023-04-08T00:00:00Z"));
  EXPECT_EQ(blocked.escalation, Escalation::blocked);
}

TEST(Timeline, DeadlineWithOffsetShownInMoscow) {
  auto d = doc();
  auto z = TimeZone::load("Europe/Moscow");
  ASSERT_TRUE(z);
  EXPECT_EQ(z->format(*d.deadline), "2023-03-31T23:59:59+03:00");
  EXPECT_EQ(z->format_short(*d.start), "2023-02-01 09:00");
  // The deadline is the last second of 31 March in Moscow, but already 31 March 20:59 UTC.
  EXPECT_EQ(format_date(*d.deadline), "2023-03-31");
  EXPECT_EQ(z->format_date(*d.deadline + Seconds{1}), "2023-04-01");
}

}  // namespace
}  // namespace fw::policy
