// The campaign report accumulated device by device (ReportTally, one per thread) and finished
// from the merged tallies (finish_report): the same numbers as build_report() over the rows,
// without keeping a row per finding. Tallies are not thread-safe; finish_report is pure.
#include <algorithm>
#include <climits>
#include <unordered_map>

#include "policy/policy.h"
#include "policy/report_internal.h"

namespace fw::policy {

namespace {

size_t status_slot(RuleStatus s) {
  switch (s) {
    case RuleStatus::pass: return 0;
    case RuleStatus::fail: return 1;
    case RuleStatus::exempt: return 2;
    case RuleStatus::unknown: return 3;
    default: return 4;
  }
}

}  // namespace

ReportTally::ReportTally(const Document& campaign, const std::vector<std::optional<Level>>& person_level)
    : c_(campaign), person_level_(person_level), rules_(campaign.rules.size(), std::array<int64_t, 5>{}) {
  size_t np = person_level.size();
  p_state_.assign(np, 0);
  p_exempt_.assign(np, 0);
  p_dev_.assign(np, 0);
  p_dnc_.assign(np, 0);
  p_dex_.assign(np, 0);
  p_first_fail_.assign(np, INT64_MAX);
}

void ReportTally::begin(uint64_t order, uint32_t owner, std::string_view id, std::string_view os_family,
                        std::string_view os_version, std::string_view model, std::string_view org_unit_path) {
  order_ = order;
  owner_ = owner < person_level_.size() ? owner : kNone;
  id_ = id;
  family_ = os_family;
  version_ = os_version;
  model_ = model;
  unit_ = org_unit_path;
  state_ = 0;
  any_ = false;
  exempt_ = false;
  rules_at_ = fail_rules_.size();
}

void ReportTally::finding(uint16_t rule, RuleStatus status, const std::optional<Time>& first_failed_at) {
  if (rule < rules_.size()) ++rules_[rule][status_slot(status)];
  any_ = true;
  uint8_t s = status == RuleStatus::fail ? 2 : status == RuleStatus::unknown ? 1 : 0;
  state_ = std::max(state_, s);
  if (status == RuleStatus::exempt) exempt_ = true;
  if (status != RuleStatus::fail) return;
  if (rule < rules_.size()) fail_rules_.push_back(rule);
  if (owner_ != kNone && first_failed_at) {
    int64_t t = to_unix(*first_failed_at);
    if (t < p_first_fail_[owner_]) p_first_fail_[owner_] = t;
  }
}

void ReportTally::end() {
  const bool owned = owner_ != kNone;
  bool in = any_;
  if (owned) {
    in = in || person_level_[owner_].has_value();
    p_state_[owner_] = std::max(p_state_[owner_], state_);
    if (exempt_) p_exempt_[owner_] = 1;
  } else if (!in && !unit_.empty() && c_.level_for(unit_)) {
    in = true;
  }
  if (in) {
    ++devices_;
    if (state_ == 2) ++devices_noncompliant_;
    Platform* pl = last_ < platforms_.size() && platforms_[last_].family == family_ ? &platforms_[last_] : nullptr;
    for (size_t k = 0; k < platforms_.size() && !pl; ++k)
      if (platforms_[k].family == family_) pl = &platforms_[last_ = k];
    if (!pl) {
      last_ = platforms_.size();
      platforms_.push_back(Platform{std::string(family_), 0, 0, order_});
      pl = &platforms_.back();
    }
    pl->first = std::min(pl->first, order_);
    ++pl->devices;
    if (state_ == 2) ++pl->noncompliant;
    if (owned) {
      ++p_dev_[owner_];
      if (state_ == 2) ++p_dnc_[owner_];
      if (exempt_) ++p_dex_[owner_];
    } else {
      auto it = unowned_.find(unit_);
      if (it == unowned_.end()) it = unowned_.emplace(std::string(unit_), Counts{}).first;
      ++it->second.devices;
      if (state_ == 2) ++it->second.noncompliant;
      if (exempt_) ++it->second.exempt;
    }
  }
  if (state_ == 2 && owned && person_level_[owner_] == Level::mandatory) {
    Failing f;
    f.order = order_;
    f.owner = owner_;
    f.name = model_.empty() ? std::string(id_) : std::string(model_);
    f.name += " (";
    f.name += family_;
    if (!version_.empty()) {
      f.name += ' ';
      f.name += version_;
    }
    f.name += ')';
    f.rules_begin = uint32_t(rules_at_);
    f.rules_end = uint32_t(fail_rules_.size());
    failing_.push_back(std::move(f));
  } else {
    fail_rules_.resize(rules_at_);
  }
}

Report finish_report(const ReportInput& in, const std::vector<const ReportTally*>& tallies) {
  const Document& c = in.campaign;
  Report rep = detail::start_report(in);
  const size_t np = in.people.size(), nr = c.rules.size();
  std::vector<uint8_t> person_state(np, 0), person_exempt(np, 0);
  std::vector<int64_t> person_first_fail(np, INT64_MAX);
  std::vector<int32_t> p_dev(np, 0), p_dnc(np, 0), p_dex(np, 0);
  std::vector<ReportTally::Platform> platforms;
  for (const ReportTally* t : tallies) {
    for (size_t i = 0; i < nr && i < t->rules_.size(); ++i) {
      auto& rs = rep.rules[i];
      rs.pass += t->rules_[i][0];
      rs.fail += t->rules_[i][1];
      rs.exempt += t->rules_[i][2];
      rs.unknown += t->rules_[i][3];
      rs.not_applicable += t->rules_[i][4];
    }
    for (size_t p = 0; p < np && p < t->p_state_.size(); ++p) {
      person_state[p] = std::max(person_state[p], t->p_state_[p]);
      person_exempt[p] |= t->p_exempt_[p];
      person_first_fail[p] = std::min(person_first_fail[p], t->p_first_fail_[p]);
      p_dev[p] += t->p_dev_[p];
      p_dnc[p] += t->p_dnc_[p];
      p_dex[p] += t->p_dex_[p];
    }
    rep.devices += t->devices_;
    rep.devices_noncompliant += t->devices_noncompliant_;
    for (const auto& pl : t->platforms_) {
      auto it = std::find_if(platforms.begin(), platforms.end(), [&](const auto& x) { return x.family == pl.family; });
      if (it == platforms.end()) {
        platforms.push_back(pl);
      } else {
        it->devices += pl.devices;
        it->noncompliant += pl.noncompliant;
        it->first = std::min(it->first, pl.first);
      }
    }
  }
  std::vector<std::optional<Level>> person_level(np);
  for (size_t i = 0; i < np; ++i) person_level[i] = c.level_for(in.people[i].org_unit_path);

  // Per org unit, rolled up through the tree, as build_report() does.
  detail::UnitTree tree(in);
  for (const ReportTally* t : tallies)
    for (const auto& [path, n] : t->unowned_)
      if (auto chain = tree.chain_of(path); chain && tree.units[chain->front()].level)
        for (uint32_t a : *chain) {
          tree.units[a].devices += n.devices;
          tree.units[a].devices_noncompliant += n.noncompliant;
          tree.units[a].devices_exempt += n.exempt;
        }
  // Platforms in the order build_report() meets them (first device in id order), most devices first.
  std::sort(platforms.begin(), platforms.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& pl : platforms)
    rep.platforms.push_back(PlatformStats{pl.family.empty() ? "Other" : pl.family, pl.devices, pl.noncompliant});
  std::stable_sort(rep.platforms.begin(), rep.platforms.end(),
                   [](const PlatformStats& a, const PlatformStats& b) { return a.devices > b.devices; });
  const detail::PersonTotals totals{person_level, person_state, person_exempt, p_dev, p_dnc, p_dex};
  detail::roll_up_people(rep, tree, in, totals);

  // Burn-down without history: every day of the campaign so far at zero, as build_report() gives.
  if (rep.is_campaign && in.now >= rep.start) {
    Time day = in.tz.start_of_day(rep.start);
    for (int guard = 0; day <= in.now && guard < 3660; ++guard) {
      rep.burndown.push_back(BurnPoint{day, in.tz.format_date(day), 0, 0});
      day = in.tz.start_of_next_day(day);
    }
    rep.projection = project_burndown(rep.burndown, rep.deadline, in.now);
  }

  if (rep.is_campaign) {
    std::vector<std::optional<Time>> first_fail(np);
    for (size_t p = 0; p < np; ++p)
      if (person_first_fail[p] != INT64_MAX) first_fail[p] = from_unix(person_first_fail[p]);
    std::vector<int32_t> slot = detail::add_overdue_people(rep, in, totals, first_fail);
    if (!rep.overdue.empty()) {
      // The failing devices in id order, each one's failing rules in rule-id order (the rows' order).
      std::vector<std::pair<const ReportTally*, const ReportTally::Failing*>> failing;
      for (const ReportTally* t : tallies)
        for (const auto& f : t->failing_)
          if (f.owner < np && slot[f.owner] >= 0) failing.emplace_back(t, &f);
      std::sort(failing.begin(), failing.end(),
                [](const auto& a, const auto& b) { return a.second->order < b.second->order; });
      std::vector<uint16_t> rank(nr);
      {
        std::vector<uint16_t> by_id(nr);
        for (size_t i = 0; i < nr; ++i) by_id[i] = uint16_t(i);
        std::sort(by_id.begin(), by_id.end(), [&](uint16_t a, uint16_t b) { return c.rules[a].id < c.rules[b].id; });
        for (size_t i = 0; i < nr; ++i) rank[by_id[i]] = uint16_t(i);
      }
      std::vector<std::vector<uint8_t>> seen_rules(rep.overdue.size(), std::vector<uint8_t>(nr, 0));
      std::vector<uint16_t> rules;
      for (const auto& [t, f] : failing) {
        auto& row = rep.overdue[size_t(slot[f->owner])];
        row.devices.push_back(f->name);
        rules.assign(t->fail_rules_.begin() + f->rules_begin, t->fail_rules_.begin() + f->rules_end);
        std::stable_sort(rules.begin(), rules.end(), [&](uint16_t a, uint16_t b) { return rank[a] < rank[b]; });
        for (uint16_t r : rules)
          if (!seen_rules[size_t(slot[f->owner])][r]) {
            seen_rules[size_t(slot[f->owner])][r] = 1;
            row.rules.push_back(c.rules[r].id);
          }
      }
    }
    detail::sort_overdue(rep);
  }
  return rep;
}

}  // namespace fw::policy
