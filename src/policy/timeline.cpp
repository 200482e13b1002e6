// The campaign timeline: schedule points, per-person escalation, actions due now.
// Pure functions of (campaign, person states, now); thread-safe.
#include <algorithm>

#include "policy/policy.h"

namespace fw::policy {

Time campaign_start(const Document& c) noexcept {
  if (c.start) return *c.start;
  if (c.deadline) return *c.deadline;
  return Time{};
}

std::string_view to_string(Escalation e) noexcept {
  switch (e) {
    case Escalation::none: return "none";
    case Escalation::reminded: return "reminded";
    case Escalation::escalated: return "escalated";
    case Escalation::overdue: return "overdue";
    case Escalation::blocked: return "blocked";
  }
  return "none";
}

namespace {

Time anchor_time(ScheduleEntry::Anchor a, Seconds off, Time abs, Time start, Time deadline) {
  switch (a) {
    case ScheduleEntry::Anchor::start: return start + off;
    case ScheduleEntry::Anchor::deadline: return deadline + off;
    case ScheduleEntry::Anchor::absolute: return abs;
  }
  return start;
}

Time personal_start(const Document& c, const PersonState& p) {
  Time s = campaign_start(c);
  if (p.first_failed_at && *p.first_failed_at > s) s = *p.first_failed_at;
  return s;
}

Time personal_deadline(const Document& c, const PersonState& p) {
  Time d = c.deadline.value_or(campaign_start(c));
  if (p.first_failed_at && *p.first_failed_at + c.grace > d) d = *p.first_failed_at + c.grace;
  return d;
}

}  // namespace

std::vector<ActionPoint> schedule_points(const Document& c, Time start, Time deadline, Level level) {
  std::vector<ActionPoint> out;
  for (const auto& e : c.schedule) {
    bool block = e.block && level == Level::mandatory;
    if (!block && e.notify.empty()) continue;  // a block-only entry for an advisory person
    if (!e.repeating) {
      out.push_back(ActionPoint{anchor_time(e.anchor, e.offset, e.absolute, start, deadline), e.label, e.notify,
                                block});
      continue;
    }
    Time from = anchor_time(e.anchor, e.offset, Time{}, start, deadline);
    Time until = anchor_time(e.until_anchor, e.until_offset, Time{}, start, deadline);
    if (e.every.count() <= 0) continue;
    int k = 1;
    for (Time t = from + e.every; t < until && k <= 10000; t += e.every, ++k)
      out.push_back(ActionPoint{t, e.label + " #" + std::to_string(k), e.notify, block});
  }
  std::stable_sort(out.begin(), out.end(), [](const ActionPoint& a, const ActionPoint& b) { return a.at < b.at; });
  return out;
}

PersonTimeline person_timeline(const Document& c, const PersonState& p, Time now) {
  PersonTimeline t;
  t.person_id = p.person_id;
  t.level = p.level;
  t.start = personal_start(c, p);
  t.deadline = personal_deadline(c, p);
  if (p.compliant) return t;
  if (now > t.deadline) t.days_overdue = (now - t.deadline).count() / 86400;
  if (now < t.start) {
    auto pts = schedule_points(c, t.start, t.deadline, p.level);
    if (!pts.empty()) t.next = pts.front();
    return t;
  }
  t.escalation = Escalation::reminded;
  bool manager = false, blocked = false;
  for (auto& pt : schedule_points(c, t.start, t.deadline, p.level)) {
    if (pt.at <= now) {
      if (std::find(pt.notify.begin(), pt.notify.end(), Recipient::manager) != pt.notify.end()) manager = true;
      if (pt.block) blocked = true;
      t.last = std::move(pt);
    } else if (!t.next) {
      t.next = std::move(pt);
    }
  }
  if (blocked) t.escalation = Escalation::blocked;
  else if (now > t.deadline) t.escalation = Escalation::overdue;
  else if (manager) t.escalation = Escalation::escalated;
  return t;
}

std::vector<DueAction> actions_due(const Document& c, const std::vector<PersonState>& people, Time now,
                                   Seconds window) {
  std::vector<DueAction> out;
  for (const auto& p : people) {
    if (p.compliant) continue;
    Time s = personal_start(c, p), d = personal_deadline(c, p);
    for (auto& pt : schedule_points(c, s, d, p.level))
      if (pt.at <= now && pt.at > now - window) out.push_back(DueAction{p.person_id, std::move(pt)});
  }
  std::stable_sort(out.begin(), out.end(), [](const DueAction& a, const DueAction& b) {
    return a.point.at != b.point.at ? a.point.at < b.point.at : a.person_id < b.person_id;
  });
  return out;
}

}  // namespace fw::policy
