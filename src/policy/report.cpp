// Campaign and policy reports over rows: compliance per org unit (rolled up), rule and
// platform; burn-down from the finding history; projection by least squares; overdue people.
// Pure functions; thread-safe.
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "policy/policy.h"
#include "policy/report_internal.h"

namespace fw::policy {

namespace {

constexpr int kProjectionWindow = 14;

// Replays the history in time order, keeping per-(device, rule) status and counts of
// non-compliant devices and people. Call advance(t) with increasing t.
class Replay {
 public:
  explicit Replay(const ReportInput& in) : in_(in), dev_fail_(in.devices.size(), 0),
      dev_person_(in.devices.size(), kNone), person_fail_(in.people.size(), 0) {
    order_.resize(in.history.size());
    for (size_t i = 0; i < order_.size(); ++i) order_[i] = uint32_t(i);
    std::stable_sort(order_.begin(), order_.end(),
                     [&](uint32_t a, uint32_t b) { return in.history[a].at < in.history[b].at; });
    status_.reserve(in.history.size());
  }

  // Applies every change with at <= t.
  void advance(Time t) {
    while (next_ < order_.size() && in_.history[order_[next_]].at <= t) apply(in_.history[order_[next_++]]);
  }
  Snapshot snapshot() const { return Snapshot{people_, devices_}; }

 private:
  void apply(const ChangeRow& c) {
    if (c.device >= dev_fail_.size()) return;
    uint64_t key = (uint64_t(c.device) << 16) | c.rule;
    auto [it, inserted] = status_.try_emplace(key, RuleStatus::not_applicable);
    bool was = it->second == RuleStatus::fail, now = c.status == RuleStatus::fail;
    it->second = c.status;
    if (was == now) {
      return;
    }
    int32_t& f = dev_fail_[c.device];
    if (now) {
      if (f++ == 0) {
        ++devices_;
        uint32_t p = c.person < person_fail_.size() ? c.person : kNone;
        dev_person_[c.device] = p;
        if (p != kNone && person_fail_[p]++ == 0) ++people_;
      }
    } else if (f > 0) {
      if (--f == 0) {
        --devices_;
        uint32_t p = dev_person_[c.device];
        if (p != kNone && --person_fail_[p] == 0) --people_;
      }
    }
  }

  const ReportInput& in_;
  std::vector<uint32_t> order_;
  size_t next_ = 0;
  std::unordered_map<uint64_t, RuleStatus> status_;
  std::vector<int32_t> dev_fail_;
  std::vector<uint32_t> dev_person_;
  std::vector<int32_t> person_fail_;
  int64_t people_ = 0, devices_ = 0;
};

}  // namespace

Projection project_burndown(const std::vector<BurnPoint>& pts, Time deadline, Time now) {
  Projection pr;
  pr.method = "least-squares line over the last 14 daily values of non-compliant people; "
              "completion = the day the line reaches zero";
  if (pts.empty()) return pr;
  if (pts.back().people == 0) {
    pr.completed = true;
    pr.on_track = true;
    pr.completion = now;
    return pr;
  }
  size_t n = std::min<size_t>(pts.size(), kProjectionWindow);
  size_t first = pts.size() - n;
  pr.window_days = int(n);
  pr.window_start = pts[first].day;
  if (n < 3) return pr;  // too few points for a trend
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = 0; i < n; ++i) {
    double x = double(i), y = double(pts[first + i].people);
    sx += x, sy += y, sxx += x * x, sxy += x * y;
  }
  double den = double(n) * sxx - sx * sx;
  if (den == 0) return pr;
  double b = (double(n) * sxy - sx * sy) / den;
  double a = (sy - b * sx) / double(n);
  pr.slope_per_day = b;
  pr.intercept = a;
  if (b >= -1e-9) return pr;  // not decreasing: no completion at this trend
  double x0 = -a / b;        // days after window start
  if (x0 > 365.0 * 50) return pr;
  pr.completion = pts[first].day + Seconds{int64_t(std::ceil(x0 * 86400.0))};
  pr.on_track = *pr.completion <= deadline;
  return pr;
}

Snapshot state_at(const ReportInput& in, Time at) {
  Replay r(in);
  r.advance(at);
  return r.snapshot();
}

Report build_report(const ReportInput& in) {
  const Document& c = in.campaign;
  Report rep = detail::start_report(in);
  const size_t np = in.people.size(), nd = in.devices.size(), nr = c.rules.size();
  // Per device: 0 = compliant, 1 = unknown, 2 = non-compliant; exempt flag.
  std::vector<uint8_t> dev_state(nd, 0), dev_exempt(nd, 0), dev_in(nd, 0);
  std::vector<uint8_t> person_state(np, 0), person_exempt(np, 0);
  std::vector<std::optional<Time>> person_first_fail(np);
  for (const auto& f : in.findings) {
    if (f.device >= nd) continue;
    if (f.rule < nr) {
      auto& rs = rep.rules[f.rule];
      switch (f.status) {
        case RuleStatus::pass: ++rs.pass; break;
        case RuleStatus::fail: ++rs.fail; break;
        case RuleStatus::exempt: ++rs.exempt; break;
        case RuleStatus::unknown: ++rs.unknown; break;
        case RuleStatus::not_applicable: ++rs.not_applicable; break;
      }
    }
    dev_in[f.device] = 1;
    uint8_t s = f.status == RuleStatus::fail ? 2 : f.status == RuleStatus::unknown ? 1 : 0;
    if (s > dev_state[f.device]) dev_state[f.device] = s;
    if (f.status == RuleStatus::exempt) dev_exempt[f.device] = 1;
    uint32_t p = f.person != kNone ? f.person : in.devices[f.device].owner;
    if (f.status == RuleStatus::fail && p < np && f.first_failed_at &&
        (!person_first_fail[p] || *f.first_failed_at < *person_first_fail[p]))
      person_first_fail[p] = f.first_failed_at;
  }
  // People in scope, and their state from their devices.
  std::vector<std::optional<Level>> person_level(np);
  for (size_t i = 0; i < np; ++i) person_level[i] = c.level_for(in.people[i].org_unit_path);
  for (size_t d = 0; d < nd; ++d) {
    uint32_t p = in.devices[d].owner;
    if (p >= np) {
      // No owner: in scope through the device's own unit.
      if (!in.devices[d].org_unit_path.empty() && c.level_for(in.devices[d].org_unit_path)) dev_in[d] = 1;
      continue;
    }
    if (!person_level[p]) continue;
    dev_in[d] = 1;
    if (dev_state[d] > person_state[p]) person_state[p] = dev_state[d];
    if (dev_exempt[d]) person_exempt[p] = 1;
  }
  // Devices per person first, then once per person up the tree.
  detail::UnitTree tree(in);
  std::vector<int32_t> p_dev(np, 0), p_dnc(np, 0), p_dex(np, 0);
  std::unordered_map<std::string_view, size_t> plat_index;
  for (size_t d = 0; d < nd; ++d) {
    if (!dev_in[d]) continue;
    ++rep.devices;
    if (dev_state[d] == 2) ++rep.devices_noncompliant;
    const auto& dr = in.devices[d];
    auto [it, ins] = plat_index.try_emplace(dr.os_family, rep.platforms.size());
    if (ins) rep.platforms.push_back(PlatformStats{dr.os_family.empty() ? "Other" : dr.os_family, 0, 0});
    auto& ps = rep.platforms[it->second];
    ++ps.devices;
    if (dev_state[d] == 2) ++ps.noncompliant;
    if (dr.owner < np) {
      ++p_dev[dr.owner];
      if (dev_state[d] == 2) ++p_dnc[dr.owner];
      if (dev_exempt[d]) ++p_dex[dr.owner];
    } else if (auto chain = tree.chain_of(dr.org_unit_path); chain && tree.units[chain->front()].level) {
      // An unowned device in scope counts under its own unit (and every ancestor).
      for (uint32_t a : *chain) {
        ++tree.units[a].devices;
        if (dev_state[d] == 2) ++tree.units[a].devices_noncompliant;
        if (dev_exempt[d]) ++tree.units[a].devices_exempt;
      }
    }
  }
  std::stable_sort(rep.platforms.begin(), rep.platforms.end(),
                   [](const PlatformStats& a, const PlatformStats& b) { return a.devices > b.devices; });
  const detail::PersonTotals totals{person_level, person_state, person_exempt, p_dev, p_dnc, p_dex};
  detail::roll_up_people(rep, tree, in, totals);

  // Burn-down: one point per local day from the start's day to today.
  if (rep.is_campaign && in.now >= rep.start) {
    Replay replay(in);
    Time day = in.tz.start_of_day(rep.start);
    for (int guard = 0; day <= in.now && guard < 3660; ++guard) {
      Time next = in.tz.start_of_next_day(day);
      Time at = std::min(next - Seconds{1}, in.now);
      replay.advance(at);
      auto snap = replay.snapshot();
      rep.burndown.push_back(BurnPoint{day, in.tz.format_date(day), snap.people, snap.devices});
      day = next;
    }
    rep.projection = project_burndown(rep.burndown, rep.deadline, in.now);
  }

  // Overdue people (mandatory scope only), with their failing devices and rules.
  if (rep.is_campaign) {
    std::vector<int32_t> slot = detail::add_overdue_people(rep, in, totals, person_first_fail);
    if (!rep.overdue.empty()) {
      std::vector<std::vector<uint8_t>> seen_rules(rep.overdue.size(), std::vector<uint8_t>(nr, 0));
      std::vector<uint8_t> dev_listed(nd, 0);
      for (const auto& f : in.findings) {
        if (f.status != RuleStatus::fail || f.device >= nd) continue;
        uint32_t p = in.devices[f.device].owner;
        if (p >= np || slot[p] < 0) continue;
        auto& row = rep.overdue[size_t(slot[p])];
        if (!dev_listed[f.device]) {
          dev_listed[f.device] = 1;
          const auto& dr = in.devices[f.device];
          std::string name = dr.model.empty() ? dr.id : dr.model;
          name += " (" + dr.os_family + (dr.os_version.empty() ? "" : " " + dr.os_version) + ")";
          row.devices.push_back(std::move(name));
        }
        if (f.rule < nr && !seen_rules[size_t(slot[p])][f.rule]) {
          seen_rules[size_t(slot[p])][f.rule] = 1;
          row.rules.push_back(c.rules[f.rule].id);
        }
      }
    }
    detail::sort_overdue(rep);
  }
  return rep;
}

namespace detail {

Report start_report(const ReportInput& in) {
  const Document& c = in.campaign;
  Report rep;
  rep.campaign_id = c.id;
  rep.title = c.title;
  rep.is_campaign = c.is_campaign();
  rep.start = campaign_start(c);
  rep.deadline = c.deadline.value_or(Time{});
  rep.grace_end = rep.deadline + c.grace;
  rep.now = in.now;
  rep.tz_name = in.tz.name();
  rep.rules.resize(c.rules.size());
  for (size_t i = 0; i < c.rules.size(); ++i) {
    rep.rules[i].id = c.rules[i].id;
    rep.rules[i].title = c.rules[i].title;
    rep.rules[i].severity = c.rules[i].severity;
  }
  return rep;
}

UnitTree::UnitTree(const ReportInput& in) {
  units.reserve(in.units.size());
  for (const auto& u : in.units) {
    UnitStats s;
    s.path = u.path;
    s.name = u.name;
    s.depth = int(std::count(u.path.begin(), u.path.end(), '/')) - 1;
    s.level = in.campaign.level_for(u.path);
    units.push_back(std::move(s));
  }
  for (size_t i = 0; i < units.size(); ++i) index.emplace(units[i].path, i);
  chain.resize(units.size());
  for (size_t i = 0; i < units.size(); ++i) {
    std::string_view path = units[i].path;
    while (!path.empty()) {
      if (auto it = index.find(path); it != index.end()) chain[i].push_back(uint32_t(it->second));
      size_t slash = path.rfind('/');
      if (slash == std::string_view::npos || slash == 0) break;
      path = path.substr(0, slash);
    }
  }
}

void roll_up_people(Report& rep, UnitTree& tree, const ReportInput& in, const PersonTotals& people) {
  for (size_t p = 0; p < in.people.size(); ++p) {
    if (!people.level[p]) continue;
    const uint8_t state = people.state[p];
    ++rep.people;
    if (state == 2) ++rep.people_noncompliant;
    else if (state == 1) ++rep.people_unknown;
    if (people.exempt[p]) ++rep.people_exempt;
    const std::vector<uint32_t>* chain = tree.chain_of(in.people[p].org_unit_path);
    if (!chain) continue;
    for (uint32_t a : *chain) {
      UnitStats& s = tree.units[a];
      ++s.people;
      if (state == 2) ++s.people_noncompliant;
      else if (state == 1) ++s.people_unknown;
      s.devices += people.devices[p];
      s.devices_noncompliant += people.noncompliant[p];
      s.devices_exempt += people.exempt_devices[p];
    }
  }
  for (auto& s : tree.units) {
    if (s.people == 0 && s.devices == 0) continue;
    s.compliance_pct = s.people ? 100.0 * double(s.people - s.people_noncompliant) / double(s.people) : 100.0;
    rep.units.push_back(std::move(s));
  }
  std::sort(rep.units.begin(), rep.units.end(), [](const UnitStats& a, const UnitStats& b) { return a.path < b.path; });
}

std::vector<int32_t> add_overdue_people(Report& rep, const ReportInput& in, const PersonTotals& people,
                                        const std::vector<std::optional<Time>>& first_fail) {
  const size_t np = in.people.size();
  std::vector<int32_t> slot(np, -1);
  for (size_t p = 0; p < np; ++p) {
    if (!people.level[p] || *people.level[p] != Level::mandatory || people.state[p] != 2) continue;
    PersonState st{in.people[p].id, Level::mandatory, false, first_fail[p]};
    auto tl = person_timeline(in.campaign, st, in.now);
    if (in.now <= tl.deadline) continue;
    slot[p] = int32_t(rep.overdue.size());
    OverdueRow row;
    row.person_id = in.people[p].id;
    row.name = in.people[p].name;
    row.email = in.people[p].email;
    row.unit = in.people[p].org_unit_path;
    if (uint32_t m = in.people[p].manager; m < np) {
      row.manager_name = in.people[m].name;
      row.manager_email = in.people[m].email;
    }
    row.days_overdue = tl.days_overdue;
    row.deadline = tl.deadline;
    rep.overdue.push_back(std::move(row));
  }
  return slot;
}

void sort_overdue(Report& rep) {
  std::stable_sort(rep.overdue.begin(), rep.overdue.end(), [](const OverdueRow& a, const OverdueRow& b) {
    return a.days_overdue != b.days_overdue ? a.days_overdue > b.days_overdue : a.name < b.name;
  });
}

}  // namespace detail

}  // namespace fw::policy
