// Policy use cases over the store: apply/withdraw documents, load them compiled, exemptions,
// campaign actions. See policies.h.
#include "service/policies.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "service/inventory.h"
#include "util/strings.h"

namespace fw::service {

Time policy_now(store::Tx& tx, const Clock& clock) {
  if (auto s = tx.get_setting("clock.now"); s)
    if (auto t = parse_time(*s); t) return *t;
  return clock.now();
}

Time policy_now(store::Store& s, const Clock& clock) {
  Time now = clock.now();
  (void)s.read([&](store::Tx& tx) -> Status {
    now = policy_now(tx, clock);
    return {};
  });
  return now;
}

TimeZone org_timezone(store::Tx& tx) {
  std::string name = "Europe/Moscow";
  if (auto s = tx.get_setting("org.timezone"); s && !s->empty()) name = *s;
  if (auto z = TimeZone::load(name)) return *z;
  return TimeZone::fixed(3 * 3600);  // tzdata missing: Moscow has been +03:00 since 2014
}

policy::Lang org_lang(store::Tx& tx) {
  if (auto s = tx.get_setting("org.lang"); s)
    if (auto l = policy::parse_lang(*s)) return *l;
  return policy::Lang::ru;
}

Result<std::string> read_policy_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return fail(Errc::io_error, "cannot open the file", path);
  std::string data;
  char buf[65536];
  while (f.read(buf, sizeof buf) || f.gcount() > 0) {
    data.append(buf, size_t(f.gcount()));
    if (data.size() > policy::ParseLimits{}.max_file_bytes)
      return fail(Errc::too_large, "policy file is larger than 1 MiB", path);
  }
  return data;
}

Result<std::vector<policy::Document>> check_policy_text(std::string_view text, std::string_view source_name) {
  auto r = policy::parse_file(text, source_name);
  if (r.ok()) return std::move(r.documents);
  std::string msg;
  for (const auto& e : r.errors) msg += (msg.empty() ? "" : "\n") + e.to_string();
  return fail(r.errors.size() == 1 ? r.errors[0].code : Errc::parse_error, msg);
}

namespace {

std::string start_key(std::string_view id) { return "policy." + std::string(id) + ".start"; }

Status audit(store::Tx& tx, std::string_view actor, Time at, std::string action, std::string entity,
             std::string before, std::string after) {
  model::AuditEvent e;
  e.at = at;
  e.actor = std::string(actor);
  e.action = std::move(action);
  e.entity = std::move(entity);
  e.before_json = std::move(before);
  e.after_json = std::move(after);
  auto r = tx.append_audit(std::move(e));
  if (!r) return std::unexpected(r.error());
  return {};
}

std::string doc_json(const store::PolicyDoc& d) {
  return "{\"id\":\"" + json_escape(d.id) + "\",\"kind\":\"" + json_escape(d.kind) +
         "\",\"version\":" + std::to_string(d.version) + ",\"source_name\":\"" + json_escape(d.source_name) +
         "\",\"active\":" + (d.active ? "true" : "false") + ",\"source\":\"" + json_escape(d.source) + "\"}";
}

std::string exemption_json(const store::Exemption& e) {
  return "{\"id\":\"" + json_escape(e.id) + "\",\"person_id\":\"" + json_escape(e.person_id) +
         "\",\"device_id\":\"" + json_escape(e.device_id) + "\",\"policy_id\":\"" + json_escape(e.policy_id) +
         "\",\"rule_id\":\"" + json_escape(e.rule_id) + "\",\"reason\":\"" + json_escape(e.reason) +
         "\",\"approver\":\"" + json_escape(e.approver) + "\",\"expires_at\":\"" + format_time(e.expires_at) + "\"}";
}

}  // namespace

Result<std::vector<Applied>> apply_policy_text(store::Store& s, const Clock& clock, std::string_view actor,
                                               std::string_view text, std::string_view source_name) {
  FW_TRY(auto docs, check_policy_text(text, source_name));
  std::vector<Applied> out;
  Time now = clock.now();
  FW_TRY_STATUS(s.write([&](store::Tx& tx) -> Status {
    out.clear();
    for (const auto& d : docs) {
      // One YAML document per stored version: re-serialise only this document's text when the
      // file holds several (the source keeps the whole file otherwise).
      store::PolicyDoc pd;
      pd.id = d.id;
      pd.kind = d.kind;
      pd.source = std::string(text);
      pd.source_name = std::string(source_name);
      pd.applied_at = now;
      pd.applied_by = std::string(actor);
      pd.active = true;
      std::string before;
      if (auto prev = tx.get_policy(d.id); prev) {
        if (prev->kind != d.kind)
          return fail(Errc::conflict, "'" + d.id + "' is already a " + prev->kind + ", not a " + d.kind, "id");
        before = doc_json(*prev);
      } else if (prev.error().code != Errc::not_found) {
        return std::unexpected(prev.error());
      }
      FW_TRY(auto stored, tx.put_policy(std::move(pd)));
      if (d.is_campaign() && !d.start) {
        if (auto st = tx.get_setting(start_key(d.id)); !st)
          FW_TRY_STATUS(tx.put_setting(start_key(d.id), format_time(now)));
      }
      FW_TRY_STATUS(audit(tx, actor, now, "policy.apply", "policy/" + d.id, before, doc_json(stored)));
      out.push_back(Applied{stored.id, stored.kind, stored.version});
    }
    return {};
  }));
  return out;
}

Status withdraw_policy(store::Store& s, const Clock& clock, std::string_view actor, std::string_view id) {
  Time now = clock.now();
  return s.write([&](store::Tx& tx) -> Status {
    FW_TRY(auto prev, tx.get_policy(id));
    if (!prev.active) return fail(Errc::conflict, "policy '" + std::string(id) + "' is already withdrawn", "id");
    auto next = prev;
    next.active = false;
    next.applied_at = now;
    next.applied_by = std::string(actor);
    FW_TRY(auto stored, tx.put_policy(next));
    return audit(tx, actor, now, "policy.withdraw", "policy/" + std::string(id), doc_json(prev), doc_json(stored));
  });
}

Result<std::vector<LoadedPolicy>> load_policies(store::Tx& tx, std::string_view id) {
  std::vector<store::PolicyDoc> docs;
  if (id.empty()) {
    FW_TRY(docs, tx.list_policies(true));
  } else {
    FW_TRY(auto d, tx.get_policy(id));
    if (!d.active) return fail(Errc::not_found, "policy '" + std::string(id) + "' is withdrawn", "id");
    docs.push_back(std::move(d));
  }
  std::vector<LoadedPolicy> out;
  for (auto& sd : docs) {
    auto r = policy::parse_file(sd.source, sd.source_name);
    if (!r.ok()) return fail(Errc::internal, "stored policy '" + sd.id + "' no longer parses: " + r.errors[0].to_string());
    auto it = std::find_if(r.documents.begin(), r.documents.end(), [&](auto& d) { return d.id == sd.id; });
    if (it == r.documents.end()) return fail(Errc::internal, "stored policy '" + sd.id + "' is not in its source");
    policy::Document doc = std::move(*it);
    if (doc.is_campaign() && !doc.start) {
      if (auto st = tx.get_setting(start_key(doc.id)); st) {
        if (auto t = parse_time(*st)) doc.start = *t;
      }
      if (!doc.start) doc.start = sd.applied_at;
    }
    FW_TRY(auto cp, policy::CompiledPolicy::compile(std::move(doc)));
    out.push_back(LoadedPolicy{std::move(sd), std::move(cp)});
  }
  return out;
}

policy::Exemption to_policy(const store::Exemption& e) {
  return policy::Exemption{e.id, e.person_id, e.device_id, e.policy_id, e.rule_id,
                           e.reason, e.approver, e.created_at, e.expires_at};
}

Result<store::Exemption> create_exemption(store::Store& s, const Clock& clock, std::string_view actor,
                                          store::Exemption e) {
  if (e.id.empty()) e.id = new_id("ex");
  FW_TRY_STATUS(validate_id(e.id, "id"));
  // Evaluation compares created_at with policy time (the `clock.now` setting when set, as in
  // the demo), so the exemption starts applying at once in either case.
  e.created_at = policy_now(s, clock);
  FW_TRY_STATUS(policy::validate_exemption(to_policy(e)));
  FW_TRY_STATUS(s.write([&](store::Tx& tx) -> Status {
    if (auto prev = tx.get_exemption(e.id); prev)
      return fail(Errc::already_exists, "exemption '" + e.id + "' exists", "id");
    FW_TRY(auto pol, tx.get_policy(e.policy_id));
    if (!e.rule_id.empty()) {
      auto r = policy::parse_file(pol.source, pol.source_name);
      bool found = false;
      for (auto& d : r.documents)
        if (d.id == e.policy_id)
          for (auto& rule : d.rules) found = found || rule.id == e.rule_id;
      if (!found) return fail(Errc::invalid_argument, "no rule '" + e.rule_id + "' in '" + e.policy_id + "'", "rule_id");
    }
    if (!e.person_id.empty()) FW_TRY_STATUS(tx.get_person(e.person_id));
    if (!e.device_id.empty()) FW_TRY_STATUS(tx.get_device(e.device_id));
    FW_TRY_STATUS(tx.put_exemption(e));
    return audit(tx, actor, clock.now(), "exemption.create", "exemption/" + e.id, "", exemption_json(e));
  }));
  return e;
}

Status delete_exemption(store::Store& s, const Clock& clock, std::string_view actor, std::string_view id) {
  return s.write([&](store::Tx& tx) -> Status {
    FW_TRY(auto prev, tx.get_exemption(id));
    FW_TRY_STATUS(tx.delete_exemption(id));
    return audit(tx, actor, clock.now(), "exemption.delete", "exemption/" + std::string(id), exemption_json(prev), "");
  });
}

namespace {

constexpr size_t kAll = static_cast<size_t>(-1);

// The position after row i of a full due list: its time, person, and how many of that person's
// points at that time end at row i.
DueAfter position_after(const std::vector<policy::DueAction>& due, size_t i) {
  uint32_t n = 0;
  for (size_t j = i + 1; j-- > 0 && due[j].point.at == due[i].point.at && due[j].person_id == due[i].person_id;) ++n;
  return DueAfter{due[i].point.at, due[i].person_id, n};
}

// Both lists in full, from one read of every failing person: for the full lists (the CLI at
// 1M devices reads 284,846 people once rather than once per due time). A person's schedule
// depends only on (level, first_failed_at), which most people share: each distinct state is
// computed once, and the due points are ordered as references (time, person = index into the
// states in person order, point); only the first due_limit are copied.
Status full_actions(store::Tx& tx, const policy::Document& doc, Seconds window, const ActionsPage& page,
                    CampaignActions& out) {
  std::vector<policy::PersonState> states;
  FW_TRY_STATUS(tx.scan_failing_people(doc.id, [&](const store::FailingPerson& p) -> Status {
    if (auto level = doc.level_for(p.org_unit_path))
      states.push_back(policy::PersonState{p.person_id, *level, false, p.first_failed_at});
    return {};
  }));
  std::sort(states.begin(), states.end(), [](auto& a, auto& b) { return a.person_id < b.person_id; });
  const bool with_people = page.people_limit > 0;
  using Key = std::pair<int, std::optional<Time>>;
  using Computed = std::pair<std::vector<policy::DueAction>, policy::PersonTimeline>;
  std::map<Key, Computed> memo;
  std::vector<const Computed*> of_state;
  of_state.reserve(states.size());
  struct Ref {
    Time at;
    uint32_t state, point;
  };
  std::vector<Ref> refs;
  for (uint32_t si = 0; si < states.size(); ++si) {
    const auto& st = states[si];
    const Key key{static_cast<int>(st.level), st.first_failed_at};
    auto it = memo.find(key);
    if (it == memo.end()) {
      auto due = policy::actions_due(doc, {st}, out.now, window);
      auto tl = with_people ? policy::person_timeline(doc, st, out.now) : policy::PersonTimeline{};
      it = memo.emplace(key, Computed(std::move(due), std::move(tl))).first;
    }
    of_state.push_back(&it->second);
    for (uint32_t k = 0; k < it->second.first.size(); ++k) refs.push_back(Ref{it->second.first[k].point.at, si, k});
    if (with_people && out.people.size() < page.people_limit) {
      out.people.push_back(it->second.second);
      out.people.back().person_id = st.person_id;
    }
  }
  out.people_total = states.size();
  if (out.people.size() < states.size() && !out.people.empty()) out.people_next = out.people.back().person_id;
  // Time, then person (states are in person order, one per person), then the person's own
  // order of points: the order a stable sort of every copied point by (time, person) gave.
  const auto before = [](const Ref& a, const Ref& b) {
    return a.at != b.at ? a.at < b.at : a.state != b.state ? a.state < b.state : a.point < b.point;
  };
  out.due_total = refs.size();
  if (page.due_limit < refs.size()) {
    std::partial_sort(refs.begin(), refs.begin() + static_cast<std::ptrdiff_t>(page.due_limit), refs.end(), before);
    refs.resize(page.due_limit);
  } else {
    std::sort(refs.begin(), refs.end(), before);
  }
  out.due.reserve(refs.size());
  for (const Ref& r : refs)
    out.due.push_back(policy::DueAction{states[r.state].person_id, of_state[r.state]->first[r.point].point});
  if (out.due.size() < out.due_total && !out.due.empty()) out.due_next = position_after(out.due, out.due.size() - 1);
  return {};
}

// How many people a keyset read asks for when `rows` more are wanted (one more than the page,
// to know whether another follows; never a whole 1M-person fleet at once).
int batch_for(size_t rows) { return rows >= 4999 ? 5000 : std::max(64, static_cast<int>(rows) + 1); }

// One page of each list: the totals from the people counted by (unit, first failure), then
// keyset reads of the failing people in person order, as far as the page needs. The due list
// is walked one due time at a time (a handful in a window): at time T, the people whose state
// has a point at T, in person order.
Status paged_actions(store::Tx& tx, const policy::Document& doc, Seconds window, const ActionsPage& page,
                     CampaignActions& out) {
  struct State {
    std::vector<policy::DueAction> due;  // the due points of anyone in this state
    std::optional<policy::PersonTimeline> timeline;
    policy::PersonState person;
  };
  std::map<std::string, std::optional<policy::Level>, std::less<>> levels;
  std::map<std::pair<int, std::optional<Time>>, State> states;
  const auto level_of = [&](const std::string& path) {
    auto it = levels.find(path);
    if (it == levels.end()) it = levels.emplace(path, doc.level_for(path)).first;
    return it->second;
  };
  const auto state_of = [&](policy::Level level, std::optional<Time> first) -> State& {
    auto [it, fresh] = states.try_emplace({static_cast<int>(level), first});
    if (fresh) {
      it->second.person = policy::PersonState{"", level, false, first};
      it->second.due = policy::actions_due(doc, {it->second.person}, out.now, window);
    }
    return it->second;
  };
  FW_TRY(auto groups, tx.failing_people_groups(doc.id));
  std::set<Time> times;
  for (const auto& g : groups) {
    auto level = level_of(g.org_unit_path);
    if (!level) continue;
    const State& st = state_of(*level, g.first_failed_at);
    out.people_total += static_cast<size_t>(g.people);
    out.due_total += static_cast<size_t>(g.people) * st.due.size();
    for (const auto& d : st.due) times.insert(d.point.at);
  }

  if (page.due_limit > 0 && out.due_total > 0) {
    const auto& after = page.due_after;
    bool full = false;
    uint32_t last_n = 0;
    for (auto t = after ? times.lower_bound(after->at) : times.begin(); t != times.end() && !full; ++t) {
      const bool resume = after && after->at == *t;
      std::string from = resume ? after->person_id : "";
      bool inclusive = resume;
      for (;;) {
        FW_TRY(auto pg, tx.failing_people_page(doc.id, from, inclusive, batch_for(page.due_limit - out.due.size())));
        for (const auto& p : pg.people) {
          auto level = level_of(p.org_unit_path);
          if (!level) continue;
          const State& st = state_of(*level, p.first_failed_at);
          uint32_t k = 0;
          for (const auto& d : st.due) {
            if (d.point.at != *t) continue;
            ++k;
            if (resume && k <= after->n && p.person_id == after->person_id) continue;
            if (out.due.size() == page.due_limit) {
              full = true;
              break;
            }
            out.due.push_back(policy::DueAction{p.person_id, d.point});
            last_n = k;
          }
          if (full) break;
        }
        if (full || pg.end) break;
        from = pg.last;
        inclusive = false;
      }
    }
    if (full) out.due_next = DueAfter{out.due.back().point.at, out.due.back().person_id, last_n};
  }

  if (page.people_limit > 0 && out.people_total > 0) {
    std::string from = page.people_after;
    bool more = false;
    for (;;) {
      FW_TRY(auto pg, tx.failing_people_page(doc.id, from, false, batch_for(page.people_limit - out.people.size())));
      for (const auto& p : pg.people) {
        auto level = level_of(p.org_unit_path);
        if (!level) continue;
        if (out.people.size() == page.people_limit) {
          more = true;
          break;
        }
        State& st = state_of(*level, p.first_failed_at);
        if (!st.timeline) st.timeline = policy::person_timeline(doc, st.person, out.now);
        out.people.push_back(*st.timeline);
        out.people.back().person_id = p.person_id;
      }
      if (more || pg.end) break;
      from = pg.last;
    }
    if (more) out.people_next = out.people.back().person_id;
  }
  return {};
}

}  // namespace

Result<CampaignActions> campaign_actions(store::Store& s, const Clock& clock, std::string_view campaign_id,
                                         Seconds window, const ActionsPage& page) {
  CampaignActions out;
  out.campaign_id = std::string(campaign_id);
  FW_TRY_STATUS(s.read([&](store::Tx& tx) -> Status {
    out.now = policy_now(tx, clock);
    FW_TRY(auto loaded, load_policies(tx, campaign_id));
    const auto& doc = loaded.at(0).compiled.document();
    if (!doc.is_campaign()) return fail(Errc::invalid_argument, "'" + doc.id + "' is a policy, not a campaign", "id");
    // A list asked for in full from its start is read in one pass over everyone.
    const bool from_start = !page.due_after && page.people_after.empty();
    if (from_start && (page.due_limit == kAll || page.people_limit == kAll))
      return full_actions(tx, doc, window, page, out);
    return paged_actions(tx, doc, window, page, out);
  }));
  return out;
}

Result<CampaignActions> campaign_actions(store::Store& s, const Clock& clock, std::string_view campaign_id,
                                         Seconds window, bool with_people, size_t due_limit) {
  return campaign_actions(s, clock, campaign_id, window, ActionsPage{due_limit, with_people ? kAll : 0, {}, ""});
}

std::string format_due_after(const DueAfter& a) {
  return std::to_string(to_unix(a.at)) + "." + std::to_string(a.n) + "." + a.person_id;
}

Result<DueAfter> parse_due_after(std::string_view s, std::string_view where) {
  const auto bad = [&] {
    return fail(Errc::invalid_argument, "expected a position as given in due_next (<unix>.<n>.<person id>)",
                std::string(where));
  };
  if (s.size() > 512) return bad();
  const size_t a = s.find('.');
  const size_t b = a == std::string_view::npos ? a : s.find('.', a + 1);
  if (b == std::string_view::npos || b + 1 >= s.size()) return bad();
  int64_t at = 0;
  uint32_t n = 0;
  auto [p1, e1] = std::from_chars(s.data(), s.data() + a, at);
  auto [p2, e2] = std::from_chars(s.data() + a + 1, s.data() + b, n);
  if (e1 != std::errc() || p1 != s.data() + a || e2 != std::errc() || p2 != s.data() + b || n < 1) return bad();
  return DueAfter{from_unix(at), std::string(s.substr(b + 1)), n};
}

}  // namespace fw::service
