// Evaluation use case: read devices, people, exemptions and current findings; evaluate with
// the compiled policies; write changed findings and status changes. See evaluate.h.
#include "service/evaluate.h"

#include <unordered_map>

#include "service/policies.h"

namespace fw::service {

namespace {

constexpr std::string_view kNotApplicable = "not_applicable";

store::FindingStatus to_store(policy::RuleStatus s) {
  switch (s) {
    case policy::RuleStatus::fail: return store::FindingStatus::fail;
    case policy::RuleStatus::exempt: return store::FindingStatus::exempt;
    case policy::RuleStatus::unknown: return store::FindingStatus::unknown;
    default: return store::FindingStatus::pass;
  }
}

// Everything one evaluation run needs besides the devices.
struct Context {
  Time now{};
  std::vector<LoadedPolicy> policies;
  std::vector<std::vector<std::string>> rule_keys;  // per policy, per rule
  std::unordered_map<std::string, model::Person> people;
  std::vector<policy::Exemption> exemptions;
  std::unordered_map<std::string, std::vector<const policy::Exemption*>> ex_by_subject;  // person or device id
  // Current findings per device: rule_key -> finding.
  std::unordered_map<std::string, std::unordered_map<std::string, store::Finding>> findings;
};

Status load_context(store::Tx& tx, Context& c, std::string_view policy_id, std::string_view device_id) {
  FW_TRY(c.policies, load_policies(tx, policy_id));
  for (const auto& p : c.policies) {
    std::vector<std::string> keys;
    for (const auto& r : p.compiled.document().rules) keys.push_back(p.stored.id + "/" + r.id);
    c.rule_keys.push_back(std::move(keys));
  }
  if (device_id.empty()) {
    store::PageRequest page;
    page.limit = 1000;
    for (;;) {
      FW_TRY(auto pg, tx.list_people({}, page));
      for (auto& p : pg.items) {
        std::string id = p.id;
        c.people.emplace(std::move(id), std::move(p));
      }
      if (pg.next_cursor.empty()) break;
      page.cursor = pg.next_cursor;
    }
  }
  FW_TRY(auto ex, tx.list_exemptions(policy_id));
  for (const auto& e : ex) c.exemptions.push_back(to_policy(e));
  for (const auto& e : c.exemptions)
    c.ex_by_subject[e.person_id.empty() ? e.device_id : e.person_id].push_back(&e);
  store::FindingFilter f;
  f.policy_id = std::string(policy_id);
  f.device_id = std::string(device_id);
  return tx.scan_findings(f, [&](const store::Finding& x) -> Status {
    c.findings[x.device_id].emplace(x.rule_key, x);
    return {};
  });
}

class Evaluation {
 public:
  explicit Evaluation(Context& c) : c_(c) {}

  Status device(store::Tx& tx, const model::Device& d) {
    const model::Person* owner = nullptr;
    model::Person fetched;
    if (!d.owner_id.empty()) {
      if (auto it = c_.people.find(d.owner_id); it != c_.people.end()) {
        owner = &it->second;
      } else if (auto p = tx.get_person(d.owner_id); p) {
        fetched = std::move(*p);
        owner = &fetched;
      }
    }
    exs_.clear();
    if (auto it = c_.ex_by_subject.find(d.id); it != c_.ex_by_subject.end())
      exs_.insert(exs_.end(), it->second.begin(), it->second.end());
    if (owner)
      if (auto it = c_.ex_by_subject.find(owner->id); it != c_.ex_by_subject.end())
        exs_.insert(exs_.end(), it->second.begin(), it->second.end());
    auto old_it = c_.findings.find(d.id);
    const auto* old = old_it == c_.findings.end() ? nullptr : &old_it->second;
    std::string_view path = owner ? std::string_view(owner->org_unit_path) : std::string_view();
    std::string_view person_id = owner ? std::string_view(owner->id) : std::string_view();
    bool built = false;
    ++stats.devices;
    for (size_t pi = 0; pi < c_.policies.size(); ++pi) {
      const auto& cp = c_.policies[pi].compiled;
      if (!cp.document().level_for(path)) {
        // Out of scope: every rule is not applicable; only earlier results need closing.
        if (old) {
          results_.assign(cp.rule_count(), policy::RuleResult{});
          record(d, person_id, pi);
        }
        continue;
      }
      if (!built) {
        dev_ = policy::device_value(d);
        per_ = policy::person_value(owner);
        built = true;
      }
      cp.evaluate_values(dev_, per_, person_id, d.id, path, c_.now, exs_, ev_, results_);
      stats.evaluations += int64_t(results_.size());
      record(d, person_id, pi);
    }
    (void)old;
    return {};
  }

  EvalStats stats;
  std::vector<store::Finding> writes;
  std::vector<store::FindingChange> changes;

 private:
  void record(const model::Device& d, std::string_view person_id, size_t pi) {
    const auto& lp = c_.policies[pi];
    const auto& doc = lp.compiled.document();
    auto old_it = c_.findings.find(d.id);
    for (size_t i = 0; i < results_.size(); ++i) {
      const auto& r = results_[i];
      const std::string& key = c_.rule_keys[pi][i];
      const store::Finding* prev = nullptr;
      if (old_it != c_.findings.end())
        if (auto it = old_it->second.find(key); it != old_it->second.end()) prev = &it->second;
      if (r.status == policy::RuleStatus::unknown) ++stats.unknown;
      store::FindingStatus st = to_store(r.status);
      std::string_view detail = r.status == policy::RuleStatus::not_applicable ? kNotApplicable
                                                                              : std::string_view(r.detail);
      if (r.status == policy::RuleStatus::not_applicable &&
          (!prev || (prev->status == store::FindingStatus::pass && prev->detail == kNotApplicable)))
        continue;
      if (prev && prev->status == st && prev->detail == detail && prev->person_id == person_id) continue;
      store::Finding f;
      f.device_id = d.id;
      f.person_id = std::string(person_id);
      f.policy_id = lp.stored.id;
      f.rule_key = key;
      f.status = st;
      f.severity = std::string(policy::to_string(doc.rules[i].severity));
      f.detail = std::string(detail);
      f.last_evaluated_at = c_.now;
      bool changed = !prev || prev->status != st;
      f.status_since = changed ? c_.now : prev->status_since;
      if (st == store::FindingStatus::fail)
        f.first_failed_at = prev && prev->status == store::FindingStatus::fail && prev->first_failed_at
                                ? prev->first_failed_at
                                : std::optional<Time>(c_.now);
      if (changed || (prev && prev->person_id != person_id)) {
        changes.push_back(store::FindingChange{f.device_id, f.person_id, f.policy_id, f.rule_key, st, c_.now});
        ++stats.changes;
      }
      writes.push_back(std::move(f));
      ++stats.written;
    }
  }

  Context& c_;
  policy::Evaluator ev_;
  std::vector<policy::RuleResult> results_;
  std::vector<const policy::Exemption*> exs_;
  cel::Value dev_, per_;
};

Status flush(store::Store& s, Evaluation& ev) {
  if (ev.writes.empty() && ev.changes.empty()) return {};
  constexpr size_t kBatch = 50000;
  for (size_t i = 0; i < ev.writes.size(); i += kBatch) {
    std::vector<store::Finding> part(ev.writes.begin() + long(i),
                                     ev.writes.begin() + long(std::min(ev.writes.size(), i + kBatch)));
    FW_TRY_STATUS(s.write([&](store::Tx& tx) { return tx.put_findings(part); }));
  }
  for (size_t i = 0; i < ev.changes.size(); i += kBatch) {
    std::vector<store::FindingChange> part(ev.changes.begin() + long(i),
                                           ev.changes.begin() + long(std::min(ev.changes.size(), i + kBatch)));
    FW_TRY_STATUS(s.write([&](store::Tx& tx) { return tx.add_finding_changes(part); }));
  }
  return {};
}

Result<EvalStats> run_all(store::Store& s, std::optional<Time> at, const Clock* clock, std::string_view policy_id) {
  Context c;
  std::optional<Evaluation> ev;
  FW_TRY_STATUS(s.read([&](store::Tx& tx) -> Status {
    c.now = at ? *at : policy_now(tx, *clock);
    FW_TRY_STATUS(load_context(tx, c, policy_id, ""));
    ev.emplace(c);
    return tx.scan_devices({}, [&](const model::Device& d) { return ev->device(tx, d); });
  }));
  FW_TRY_STATUS(flush(s, *ev));
  if (policy_id.empty()) {
    FW_TRY_STATUS(s.write([&](store::Tx& tx) { return tx.put_setting("eval.last_run", format_time(c.now)); }));
  }
  return ev->stats;
}

}  // namespace

Result<EvalStats> evaluate_all(store::Store& s, const Clock& clock, std::string_view policy_id) {
  return run_all(s, std::nullopt, &clock, policy_id);
}

Result<EvalStats> evaluate_all_at(store::Store& s, Time now, std::string_view policy_id) {
  return run_all(s, now, nullptr, policy_id);
}

Result<EvalStats> evaluate_device(store::Store& s, const Clock& clock, std::string_view device_id) {
  Context c;
  std::optional<Evaluation> ev;
  FW_TRY_STATUS(s.read([&](store::Tx& tx) -> Status {
    c.now = policy_now(tx, clock);
    FW_TRY(auto d, tx.get_device(device_id));
    FW_TRY_STATUS(load_context(tx, c, "", device_id));
    ev.emplace(c);
    return ev->device(tx, d);
  }));
  FW_TRY_STATUS(flush(s, *ev));
  return ev->stats;
}

}  // namespace fw::service
