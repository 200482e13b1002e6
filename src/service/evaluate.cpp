// Evaluation use case: read devices (with apps) and the digests of their last results slice by
// slice in device-id order, evaluate with the compiled policies on worker threads, read the
// findings of the devices whose results' digest differs, write changed findings, status changes
// and digests, and close findings of rules no longer in an active policy. See evaluate.h.
#include "service/evaluate.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "service/policies.h"
#include "service/reports.h"
#include "util/strings.h"

namespace fw::service {

namespace {

constexpr std::string_view kNotApplicable = "not_applicable";
constexpr int kBatchDevices = 2000;     // devices per read_eval_slice
// The fleet is cut into ranges of at most kRangeDevices ids (Tx::device_boundaries); two
// reader threads read one range each (own read transaction), a round's changes are written
// before the next round. A device's index in the run is (range << 16) | position in range
// until the run ends, so a range holds at most 65,535 devices (room for concurrent inserts).
constexpr int64_t kRangeDevices = 40000;
constexpr size_t kReaders = 2;
constexpr size_t kWriteBatch = 50000;   // rows per write transaction
// Slices read ahead of the workers: enough for the readers to keep going while the people
// are being loaded at the start of a run (about 2 MB per slice).
constexpr size_t kQueueSlices = 16;

store::FindingStatus to_store(policy::RuleStatus s) {
  switch (s) {
    case policy::RuleStatus::fail: return store::FindingStatus::fail;
    case policy::RuleStatus::exempt: return store::FindingStatus::exempt;
    case policy::RuleStatus::unknown: return store::FindingStatus::unknown;
    default: return store::FindingStatus::pass;
  }
}

// Everything one evaluation run shares between its threads; read-only once loaded.
struct Context {
  Time now{};
  std::vector<LoadedPolicy> policies;
  std::vector<std::vector<std::string>> rule_keys;  // per policy, per rule
  // evaluate_all only (else empty): everyone, and id -> index into people.
  std::vector<model::Person> people;
  std::unordered_map<std::string_view, uint32_t> person_index;
  // Per policy: true for campaigns whose report aggregates this run keeps (evaluate_all only),
  // and then each person's level in its scope (filled with the people, before evaluating).
  std::vector<bool> aggregate;
  std::vector<std::vector<std::optional<policy::Level>>> person_level;
  // The fields of the device and owner values any rule of `policies` reads (only those are built).
  policy::FieldMask device_fields = 0, person_fields = 0;
  std::vector<policy::Exemption> exemptions;
  std::unordered_map<std::string, std::vector<const policy::Exemption*>> ex_by_subject;  // person or device id
  // evaluate_all: devices are read with their digest rows (of only_policy, "" = all), and
  // the findings only of those whose results differ, read from `store` by the worker.
  bool digests = false;
  store::Store* store = nullptr;
  std::string only_policy;
};

// Loads the active documents (`policy_id` "" = all; a withdrawn one gives none, so its
// findings get closed) and the exemptions.
Status load_policies_and_exemptions(store::Tx& tx, Context& c, std::string_view policy_id) {
  bool withdrawn = false;
  if (!policy_id.empty()) {
    FW_TRY(auto d, tx.get_policy(policy_id));
    withdrawn = !d.active;
  }
  if (!withdrawn) {
    FW_TRY(c.policies, load_policies(tx, policy_id));
  }
  for (const auto& p : c.policies) {
    c.device_fields |= p.compiled.device_fields();
    c.person_fields |= p.compiled.person_fields();
    std::vector<std::string> keys;
    for (const auto& r : p.compiled.document().rules) keys.push_back(p.stored.id + "/" + r.id);
    c.rule_keys.push_back(std::move(keys));
  }
  c.aggregate.assign(c.policies.size(), false);
  FW_TRY(auto ex, tx.list_exemptions(policy_id));
  for (const auto& e : ex) c.exemptions.push_back(to_policy(e));
  for (const auto& e : c.exemptions)
    c.ex_by_subject[e.person_id.empty() ? e.device_id : e.person_id].push_back(&e);
  return {};
}

Status load_people(store::Tx& tx, Context& c) {
  FW_TRY_STATUS(tx.read_eval_people(c.people));
  c.person_index.reserve(c.people.size());  // after loading: the vector no longer moves
  for (size_t i = 0; i < c.people.size(); ++i) c.person_index.emplace(c.people[i].id, uint32_t(i));
  c.person_level.resize(c.policies.size());
  for (size_t pi = 0; pi < c.policies.size(); ++pi) {
    if (!c.aggregate[pi]) continue;
    const auto& doc = c.policies[pi].compiled.document();
    c.person_level[pi].reserve(c.people.size());
    for (const auto& p : c.people) c.person_level[pi].push_back(doc.level_for(p.org_unit_path));
  }
  return {};
}

// A slice of devices with their owners resolved and their findings, ready to evaluate
// without the store. findings are grouped by device in the devices' order.
struct Batch {
  uint32_t base = 0;  // run index of devices[0]: (range << 16) | position in the range
  std::vector<model::Device> devices;
  std::vector<const model::Person*> owners;  // per device; null when none
  std::vector<uint32_t> owner_index;         // per device: index into Context::people or kNone
  std::deque<model::Person> fetched;         // owners not in Context::people
  bool with_findings = true;                 // findings holds every device's findings
  std::vector<store::Finding> findings;
  std::vector<store::EvalDigest> digests;    // else: the digest rows, by (device, policy)
};

// Batches handed back by the workers once evaluated, for the readers to fill again: their
// vectors keep their capacity, so a run does not allocate (and fault in) fresh slice memory
// for every slice. Holds at most the batches in flight (queue, readers, workers).
class BatchPool {
 public:
  std::unique_ptr<Batch> take() {
    {
      std::lock_guard l(m_);
      if (!free_.empty()) {
        auto b = std::move(free_.back());
        free_.pop_back();
        return b;
      }
    }
    return std::make_unique<Batch>();
  }
  void give(std::unique_ptr<Batch> b) {
    b->base = 0;
    b->fetched.clear();
    b->findings.clear();
    std::lock_guard l(m_);
    free_.push_back(std::move(b));
  }

 private:
  std::mutex m_;  // guards free_
  std::vector<std::unique_ptr<Batch>> free_;
};

// Resolves the owners found in Context::people; true when some owner is not there (people
// outside the preloaded map: evaluate_devices, or someone added after the map was loaded),
// then resolve_missing_owners reads them one by one.
bool resolve_known_owners(const Context& c, Batch& b) {
  b.owners.assign(b.devices.size(), nullptr);
  b.owner_index.assign(b.devices.size(), policy::kNone);
  bool missing = false;
  for (size_t i = 0; i < b.devices.size(); ++i) {
    const auto& oid = b.devices[i].owner_id;
    if (oid.empty()) continue;
    if (auto it = c.person_index.find(oid); it != c.person_index.end()) {
      b.owners[i] = &c.people[it->second];
      b.owner_index[i] = it->second;
      continue;
    }
    missing = true;
  }
  return missing;
}

void resolve_missing_owners(store::Tx& tx, Batch& b) {
  for (size_t i = 0; i < b.devices.size(); ++i) {
    const auto& oid = b.devices[i].owner_id;
    if (oid.empty() || b.owners[i]) continue;
    for (const auto& p : b.fetched)
      if (p.id == oid) b.owners[i] = &p;
    if (b.owners[i]) continue;
    if (auto p = tx.get_person(oid); p) {
      b.fetched.push_back(std::move(*p));
      b.owners[i] = &b.fetched.back();
    }
  }
}

// Where one device's output ends in Output's vectors (a device's rows are written together,
// with its digests, in one transaction).
struct DeviceEnd {
  size_t writes = 0, deletes = 0, changes = 0, digests = 0, drops = 0;
};

// What evaluating some batches produced; one per worker, merged before writing.
struct Output {
  EvalStats stats;
  std::vector<store::Finding> writes;
  std::vector<store::FindingChange> changes;
  std::vector<store::Finding> deletes;  // keys of findings whose rule is gone
  std::vector<store::EvalDigest> digests, drops;
  std::vector<DeviceEnd> ends;  // per device with something to write, in order
  // Per policy (null unless aggregated): the campaign report's tally of every device this
  // worker evaluated, with its findings as they stand after this run.
  std::vector<std::unique_ptr<policy::ReportTally>> tallies;
  Status error;  // the first store error of a worker (it then stops evaluating)
};

// The digest of one document's results on one device: what record() compares with the stored
// findings (rule key, status, detail, owner; a rule that does not apply is only "n/a", as a
// stored not-applicable pass or no row both need no write). FNV-1a, stable across builds.
uint64_t results_digest(const std::vector<std::string>& keys, const std::vector<policy::RuleResult>& rs,
                        std::string_view person_id) {
  uint64_t h = kFnv1aSeed;
  for (size_t i = 0; i < rs.size(); ++i) {
    h = fnv1a64(keys[i], h);
    const auto& r = rs[i];
    char st[2] = {'\x1f', char('0' + int(r.status))};
    h = fnv1a64(std::string_view(st, 2), h);
    if (r.status == policy::RuleStatus::not_applicable) continue;
    h = fnv1a64(r.detail, h);
    h = fnv1a64("\x1f", h);
    h = fnv1a64(person_id, h);
    h = fnv1a64("\x1e", h);
  }
  return h;
}

// Evaluates batches; one per thread (own Evaluator and scratch space), Context shared.
class Worker {
 public:
  explicit Worker(const Context& c) : c_(c) {
    gather_ = std::find(c.aggregate.begin(), c.aggregate.end(), true) != c.aggregate.end();
    hash_.resize(c.policies.size());
    notes_.resize(c.policies.size());
    pending_.resize(c.policies.size());
  }

  // The report tallies of the aggregated campaigns; call once Context::person_level is filled
  // (after the people are loaded), before the first batch.
  void start_tallies() {
    if (!gather_ || !out.tallies.empty()) return;
    out.tallies.resize(c_.policies.size());
    for (size_t pi = 0; pi < c_.policies.size(); ++pi)
      if (c_.aggregate[pi])
        out.tallies[pi] = std::make_unique<policy::ReportTally>(c_.policies[pi].compiled.document(),
                                                                c_.person_level[pi]);
  }

  // A batch with its findings (evaluate_devices): every device is compared with its findings.
  // Without (b.digests, evaluate_all): a device whose digests equal its new results' is done
  // without its findings; the findings of the others are read, then they are compared.
  void batch(const Batch& b) {
    if (gather_ && out.tallies.empty()) gather_ = false;  // evaluate_devices: no report
    run(b);
  }

  Output out;

 private:
  void run(const Batch& b) {
    if (!out.error) return;
    if (b.with_findings) {
      size_t j = 0;
      for (size_t i = 0; i < b.devices.size(); ++i) {
        size_t lo = j;
        while (j < b.findings.size() && b.findings[j].device_id == b.devices[i].id) ++j;
        start(b, i);
        compare(b.devices[i], b.owners[i], b.findings.data() + lo, j - lo, nullptr, 0);
      }
      return;
    }
    dirty_.clear();
    size_t g = 0;
    for (size_t i = 0; i < b.devices.size(); ++i) {
      const auto& d = b.devices[i];
      while (g < b.digests.size() && b.digests[g].device_id < d.id) ++g;
      size_t lo = g;
      while (g < b.digests.size() && b.digests[g].device_id == d.id) ++g;
      start(b, i);
      if (!unchanged(d, b.owners[i], b.digests.data() + lo, g - lo)) dirty_.push_back(i);
    }
    if (dirty_.empty()) return;
    ids_.clear();
    for (size_t i : dirty_) ids_.push_back(b.devices[i].id);
    out.error = c_.store->read([&](store::Tx& tx) { return tx.read_eval_findings(ids_, c_.only_policy, old_); });
    if (!out.error) return;
    size_t j = 0;
    g = 0;
    for (size_t i : dirty_) {
      const auto& d = b.devices[i];
      while (j < old_.size() && old_[j].device_id < d.id) ++j;
      size_t lo = j;
      while (j < old_.size() && old_[j].device_id == d.id) ++j;
      while (g < b.digests.size() && b.digests[g].device_id < d.id) ++g;
      size_t dlo = g;
      while (g < b.digests.size() && b.digests[g].device_id == d.id) ++g;
      start(b, i);
      compare(d, b.owners[i], old_.data() + lo, j - lo, b.digests.data() + dlo, g - dlo);
    }
  }

  void start(const Batch& b, size_t i) {
    index_ = b.base + uint32_t(i);
    owner_index_ = b.owner_index[i];
  }

  // Hands the current device and its kept report rows to the tallies.
  void commit(const model::Device& d) {
    if (!gather_) return;
    for (size_t pi = 0; pi < c_.policies.size(); ++pi) {
      if (!out.tallies[pi]) continue;
      auto& t = *out.tallies[pi];
      t.begin(index_, owner_index_, d.id, d.os_family, d.os_version, d.model, d.org_unit_path);
      for (const auto& r : pending_[pi]) t.finding(r.rule, r.status, r.first_failed);
      t.end();
      pending_[pi].clear();
    }
  }

  void begin_device(const model::Device& d, const model::Person* owner) {
    if (gather_)
      for (auto& p : pending_) p.clear();
    exs_.clear();
    if (!c_.ex_by_subject.empty()) {
      if (auto it = c_.ex_by_subject.find(d.id); it != c_.ex_by_subject.end())
        exs_.insert(exs_.end(), it->second.begin(), it->second.end());
      if (owner)
        if (auto it = c_.ex_by_subject.find(owner->id); it != c_.ex_by_subject.end())
          exs_.insert(exs_.end(), it->second.begin(), it->second.end());
    }
    // Scope: the owner's unit, or the device's own when it has no owner (agent-enrolled).
    path_ = owner ? std::string_view(owner->org_unit_path) : std::string_view(d.org_unit_path);
    person_id_ = owner ? std::string_view(owner->id) : std::string_view();
    built_ = false;
  }

  // results_ := the results of policy pi on the device (all not applicable when out of scope);
  // false when out of scope.
  bool evaluate(const model::Device& d, const model::Person* owner, size_t pi) {
    const auto& cp = c_.policies[pi].compiled;
    if (!cp.document().level_for(path_)) {
      results_.assign(cp.rule_count(), policy::RuleResult{});
      return false;
    }
    if (!built_) {
      dev_ = policy::device_value(d, c_.device_fields);
      // Built per device, not kept per person: the owner's record is in cache here (its unit
      // decided the scope), while a value kept per person is a cache miss and an atomic
      // reference count on a random heap block (a profile showed it slower).
      per_ = policy::person_value(owner, c_.person_fields);
      built_ = true;
    }
    cp.evaluate_values(dev_, per_, person_id_, d.id, path_, c_.now, exs_, ev_, results_);
    return true;
  }

  // Evaluates the device; true (and its report rows kept) when every document's digest row
  // holds the digest of its new results and no row is left of a document not evaluated.
  bool unchanged(const model::Device& d, const model::Person* owner, const store::EvalDigest* rows, size_t n) {
    begin_device(d, owner);
    // With no document to evaluate, findings left by an older build (no rows) could exist.
    if (c_.policies.empty() || n != c_.policies.size()) return false;
    bool same = true;
    EvalStats st;
    for (size_t pi = 0; pi < c_.policies.size() && same; ++pi) {
      if (evaluate(d, owner, pi)) st.evaluations += int64_t(results_.size());
      for (const auto& r : results_) st.unknown += r.status == policy::RuleStatus::unknown;
      const store::EvalDigest* row = nullptr;
      for (size_t k = 0; k < n; ++k)
        if (rows[k].policy_id == c_.policies[pi].stored.id) row = &rows[k];
      if (!row || !row->digest || *row->digest != results_digest(c_.rule_keys[pi], results_, person_id_)) {
        same = false;
        continue;
      }
      if (!c_.aggregate[pi]) continue;
      // The report rows as they stand: a row per applicable rule, and per rule that does not
      // apply only where one is stored ("<i>n" in the notes); first failed times from the notes.
      rows_.assign(results_.size(), 0);
      ff_.assign(results_.size(), std::nullopt);
      std::string_view notes = row->notes;
      while (!notes.empty()) {
        size_t comma = notes.find(',');
        std::string_view e = notes.substr(0, comma);
        notes = comma == std::string_view::npos ? std::string_view() : notes.substr(comma + 1);
        size_t rule = results_.size();
        auto [p, ec] = std::from_chars(e.data(), e.data() + e.size(), rule);
        if (ec != std::errc() || rule >= results_.size()) continue;
        int64_t t = 0;
        if (p < e.data() + e.size() && *p == ':' &&
            std::from_chars(p + 1, e.data() + e.size(), t).ec == std::errc())
          ff_[rule] = from_unix(t);
        else
          rows_[rule] = 1;
      }
      for (size_t i = 0; i < results_.size(); ++i)
        if (results_[i].status != policy::RuleStatus::not_applicable || rows_[i])
          keep(pi, i, results_[i].status, ff_[i]);
    }
    if (same) {  // else compare() evaluates it again with its findings
      ++out.stats.devices;
      out.stats.evaluations += st.evaluations;
      out.stats.unknown += st.unknown;
      commit(d);
    }
    return same;
  }

  // Evaluates the device and compares with its findings `old`: writes what changed. With
  // digest rows (evaluate_all), also each document's new digest, compare-and-set on the rows
  // read (`rows`), and drops rows of documents not evaluated.
  void compare(const model::Device& d, const model::Person* owner, const store::Finding* old, size_t n_old,
               const store::EvalDigest* rows, size_t n_rows) {
    begin_device(d, owner);
    used_.assign(n_old, false);
    ++out.stats.devices;
    ++out.stats.compared;
    noting_ = c_.digests;
    for (size_t pi = 0; pi < c_.policies.size(); ++pi) {
      bool in_scope = evaluate(d, owner, pi);
      if (in_scope) out.stats.evaluations += int64_t(results_.size());
      notes_[pi].clear();
      hash_[pi] = results_digest(c_.rule_keys[pi], results_, person_id_);
      // Out of scope: every rule is not applicable; only earlier results need closing.
      if (in_scope || n_old) record(d, person_id_, pi, old, n_old);
    }
    // Findings no active rule produced: their rule left its policy, or the policy was withdrawn.
    for (size_t k = 0; k < n_old; ++k) {
      if (used_[k]) continue;
      const auto& f = old[k];
      if (f.status != store::FindingStatus::pass) {
        out.changes.push_back(store::FindingChange{f.device_id, f.person_id, f.policy_id, f.rule_key,
                                                   store::FindingStatus::pass, c_.now});
        ++out.stats.changes;
      }
      out.deletes.push_back(f);
    }
    noting_ = false;
    if (c_.digests) {
      for (size_t pi = 0; pi < c_.policies.size(); ++pi) {
        store::EvalDigest e;
        e.device_id = d.id;
        e.policy_id = c_.policies[pi].stored.id;
        e.digest = hash_[pi];
        e.notes = notes_[pi];
        const store::EvalDigest* row = nullptr;
        for (size_t k = 0; k < n_rows; ++k)
          if (rows[k].policy_id == e.policy_id) row = &rows[k];
        if (row) {
          e.gen = row->gen;
          if (row->digest == e.digest && row->notes == e.notes) continue;  // already right
        }
        out.digests.push_back(std::move(e));
      }
      for (size_t k = 0; k < n_rows; ++k) {
        bool evaluated = false;
        for (const auto& p : c_.policies) evaluated = evaluated || p.stored.id == rows[k].policy_id;
        if (!evaluated) out.drops.push_back(rows[k]);
      }
    }
    commit(d);
    DeviceEnd e{out.writes.size(), out.deletes.size(), out.changes.size(), out.digests.size(), out.drops.size()};
    if (out.ends.empty() || out.ends.back().writes != e.writes || out.ends.back().deletes != e.deletes ||
        out.ends.back().changes != e.changes || out.ends.back().digests != e.digests ||
        out.ends.back().drops != e.drops)
      out.ends.push_back(e);
  }

  void record(const model::Device& d, std::string_view person_id, size_t pi, const store::Finding* old,
              size_t n_old) {
    const auto& lp = c_.policies[pi];
    const auto& doc = lp.compiled.document();
    for (size_t i = 0; i < results_.size(); ++i) {
      const auto& r = results_[i];
      const std::string& key = c_.rule_keys[pi][i];
      const store::Finding* prev = nullptr;
      for (size_t k = 0; k < n_old; ++k)
        if (old[k].rule_key == key) {
          prev = &old[k];
          used_[k] = true;
          break;
        }
      if (r.status == policy::RuleStatus::unknown) ++out.stats.unknown;
      store::FindingStatus st = to_store(r.status);
      std::string_view detail = r.status == policy::RuleStatus::not_applicable ? kNotApplicable
                                                                              : std::string_view(r.detail);
      if (r.status == policy::RuleStatus::not_applicable &&
          (!prev || (prev->status == store::FindingStatus::pass && prev->detail == kNotApplicable))) {
        if (prev) keep(pi, i, r.status, prev->first_failed_at);
        continue;
      }
      if (prev && prev->status == st && prev->detail == detail && prev->person_id == person_id) {
        keep(pi, i, r.status, prev->first_failed_at);
        continue;
      }
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
        out.changes.push_back(store::FindingChange{f.device_id, f.person_id, f.policy_id, f.rule_key, st, c_.now});
        ++out.stats.changes;
      }
      keep(pi, i, r.status, f.first_failed_at);
      out.writes.push_back(std::move(f));
      ++out.stats.written;
    }
  }

  // The finding of rule i of policy pi on the current device as it stands after this run.
  // Also notes it for the digest row (compare() only): "<i>:<unix>" for a first failed time,
  // "<i>n" for a stored row of a rule that does not apply.
  void keep(size_t pi, size_t i, policy::RuleStatus status, const std::optional<Time>& first_failed) {
    if (noting_ && (first_failed || status == policy::RuleStatus::not_applicable)) {
      auto& n = notes_[pi];
      if (!n.empty()) n += ',';
      n += std::to_string(i);
      if (first_failed)
        n += ':' + std::to_string(to_unix(*first_failed));
      else
        n += 'n';
    }
    if (gather_ && c_.aggregate[pi]) pending_[pi].push_back(Kept{uint16_t(i), status, first_failed});
  }

  struct Kept {  // a report row of the current device
    uint16_t rule;
    policy::RuleStatus status;
    std::optional<Time> first_failed;
  };

  const Context& c_;
  policy::Evaluator ev_;
  std::vector<policy::RuleResult> results_;
  std::vector<const policy::Exemption*> exs_;
  std::vector<bool> used_;
  cel::Value dev_, per_;
  bool gather_ = false, built_ = false, noting_ = false;
  uint32_t index_ = 0, owner_index_ = policy::kNone;
  std::string_view path_, person_id_;  // of the current device
  std::vector<uint64_t> hash_;          // per policy, of the current device's results
  std::vector<std::string> notes_;      // per policy, for the current device's digest row
  std::vector<size_t> dirty_;           // devices of the batch whose findings are needed
  std::vector<std::string> ids_;
  std::vector<store::Finding> old_;
  std::vector<uint8_t> rows_;
  std::vector<std::optional<Time>> ff_;
  std::vector<std::vector<Kept>> pending_;  // per policy, of the current device
};

void add(EvalStats& a, const EvalStats& b) {
  a.devices += b.devices;
  a.evaluations += b.evaluations;
  a.written += b.written;
  a.changes += b.changes;
  a.unknown += b.unknown;
  a.compared += b.compared;
}

// Writes what the workers produced, in transactions of about kWriteBatch rows that each hold
// whole devices (a device's findings, history and digests go together), and clears it.
Status flush(store::Store& s, Output& o) {
  DeviceEnd from;
  for (size_t k = 0; k < o.ends.size(); ++k) {
    const DeviceEnd& to = o.ends[k];
    size_t rows = (to.writes - from.writes) + (to.deletes - from.deletes) + (to.changes - from.changes) +
                  (to.digests - from.digests) + (to.drops - from.drops);
    if (rows < kWriteBatch && k + 1 < o.ends.size()) continue;
    store::EvalWrite w;
    auto part = [](const auto& v, size_t a, size_t b) {
      return std::decay_t<decltype(v)>(v.begin() + long(a), v.begin() + long(b));
    };
    w.writes = part(o.writes, from.writes, to.writes);
    w.deletes = part(o.deletes, from.deletes, to.deletes);
    w.changes = part(o.changes, from.changes, to.changes);
    w.digests = part(o.digests, from.digests, to.digests);
    w.drops = part(o.drops, from.drops, to.drops);
    FW_TRY_STATUS(s.write([&](store::Tx& tx) { return tx.write_eval(w); }));
    from = to;
  }
  o.writes.clear();
  o.deletes.clear();
  o.changes.clear();
  o.digests.clear();
  o.drops.clear();
  o.ends.clear();
  return {};
}

// A bounded hand-off of batches from the reading thread to the evaluating workers.
class BatchQueue {
 public:
  explicit BatchQueue(size_t cap) : cap_(cap) {}
  void push(std::unique_ptr<Batch> b) {
    std::unique_lock l(m_);
    not_full_.wait(l, [&] { return q_.size() < cap_; });
    q_.push_back(std::move(b));
    not_empty_.notify_one();
  }
  void close() {
    std::lock_guard l(m_);
    closed_ = true;
    not_empty_.notify_all();
  }
  std::unique_ptr<Batch> pop() {  // null once closed and drained
    std::unique_lock l(m_);
    not_empty_.wait(l, [&] { return closed_ || !q_.empty(); });
    if (q_.empty()) return nullptr;
    auto b = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return b;
  }

 private:
  std::mutex m_;  // guards q_ and closed_
  std::condition_variable not_full_, not_empty_;
  std::deque<std::unique_ptr<Batch>> q_;
  size_t cap_;
  bool closed_ = false;
};

// Hands the workers' tallies of each campaign this run evaluated to its report aggregates.
// The last use of the people: their strings are moved into the report's rows, not copied.
Status store_aggregates(store::Store& s, Context& c, const std::vector<std::unique_ptr<Worker>>& workers) {
  std::vector<policy::PersonRow> people;
  if (std::find(c.aggregate.begin(), c.aggregate.end(), true) != c.aggregate.end()) {
    people.reserve(c.people.size());
    for (const auto& p : c.people) {
      auto m = c.person_index.find(p.manager_id);
      people.push_back(policy::PersonRow{{}, {}, {}, {}, m == c.person_index.end() ? policy::kNone : m->second});
    }
    c.person_index.clear();  // its keys are the ids moved below
    for (size_t i = 0; i < c.people.size(); ++i) {
      auto& p = c.people[i];
      people[i].id = std::move(p.id);
      people[i].name = std::move(p.name);
      people[i].email = std::move(p.email);
      people[i].org_unit_path = std::move(p.org_unit_path);
    }
  }
  for (size_t pi = 0; pi < c.policies.size(); ++pi) {
    if (!c.aggregate[pi]) continue;
    std::vector<const policy::ReportTally*> tallies;
    for (const auto& w : workers)
      if (pi < w->out.tallies.size() && w->out.tallies[pi]) tallies.push_back(w->out.tallies[pi].get());
    policy::ReportInput in;
    in.campaign = c.policies[pi].compiled.document();
    in.now = c.now;
    in.people = std::move(people);
    CampaignAggregates agg;
    auto st = s.read([&](store::Tx& tx) -> Status {
      in.tz = org_timezone(tx);
      store::PageRequest page;
      page.limit = 1000;
      for (;;) {
        FW_TRY(auto pg, tx.list_org_units({}, page));
        for (auto& u : pg.items) in.units.push_back(policy::OrgUnitRow{std::move(u.path), std::move(u.name)});
        if (pg.next_cursor.empty()) break;
        page.cursor = pg.next_cursor;
      }
      FW_TRY(agg, compute_campaign_aggregates(tx, in, policy::finish_report(in, tallies),
                                              c.policies[pi].stored.version));
      return {};
    });
    people = std::move(in.people);  // for the next campaign
    FW_TRY_STATUS(st);
    FW_TRY_STATUS(s.write([&](store::Tx& tx) { return put_campaign_aggregates(tx, agg); }));
  }
  return {};
}

// One evaluating thread per core: the evaluation costs about three times the reading, so the
// readers (which wait on the bounded queue) take a share of the cores, not one of their own.
size_t worker_count() {
  unsigned hw = std::thread::hardware_concurrency();
  return std::clamp<size_t>(hw, 1, 8);
}

Result<EvalStats> run_all(store::Store& s, std::optional<Time> at, const Clock* clock, std::string_view policy_id,
                          size_t n_workers = 0) {
  if (n_workers == 0) n_workers = worker_count();
  Context c;
  std::vector<std::string> cuts;
  FW_TRY_STATUS(s.read([&](store::Tx& tx) -> Status {
    c.now = at ? *at : policy_now(tx, *clock);
    FW_TRY_STATUS(load_policies_and_exemptions(tx, c, policy_id));
    for (size_t i = 0; i < c.policies.size(); ++i) c.aggregate[i] = c.policies[i].compiled.document().is_campaign();
    c.digests = true;
    c.store = &s;
    c.only_policy = std::string(policy_id);
    return {};
  }));
  // Everyone is loaded (for the owners, and the report's people) while the fleet is cut into
  // ranges and the first slices are read; the workers start evaluating once it is done.
  std::promise<Status> people_loaded;
  std::shared_future<Status> people_ready = people_loaded.get_future().share();
  std::thread loader([&] {
    people_loaded.set_value(s.read([&](store::Tx& tx) { return load_people(tx, c); }));
  });
  struct Join {
    std::thread& t;
    ~Join() { t.join(); }
  } join_loader{loader};
  FW_TRY_STATUS(s.read([&](store::Tx& tx) -> Status {
    // At least two ranges when there is enough to share between the readers.
    FW_TRY(int64_t n, tx.count_devices({}));
    int64_t every = std::max<int64_t>(kBatchDevices, std::min<int64_t>(kRangeDevices, (n + 1) / 2));
    FW_TRY(cuts, tx.device_boundaries(every));
    return {};
  }));
  if (cuts.size() >= 0xFFFF) return fail(Errc::internal, "too many devices for one evaluation run", "devices");
  struct Range {
    std::string after, last;  // ids in (after, last]; last "" = to the end
    uint32_t count = 0;       // devices read
  };
  std::vector<Range> ranges(cuts.size() + 1);
  for (size_t k = 0; k < cuts.size(); ++k) {
    ranges[k].last = cuts[k];
    ranges[k + 1].after = cuts[k];
  }
  EvalStats total;
  std::atomic<bool> overflow{false};  // a range outgrew its 16-bit positions: no aggregates this run
  const bool with_apps = (c.device_fields & policy::device_field("apps")) != 0;  // else not read
  // The workers keep their report rows over all rounds (merged once, at the end).
  std::vector<std::unique_ptr<Worker>> workers;
  for (size_t i = 0; i < n_workers; ++i) workers.push_back(std::make_unique<Worker>(c));
  BatchPool pool;  // over all rounds
  for (size_t r0 = 0; r0 < ranges.size(); r0 += kReaders) {
    // One round: a reader per range streaming slices to the workers, then the round's writes.
    BatchQueue q(kQueueSlices);
    std::vector<std::thread> threads;
    for (auto& w : workers)
      threads.emplace_back([&, w = w.get()] {
        const Status& ready = people_ready.get();  // owners can be resolved from here on
        if (!ready) w->out.error = ready;
        else w->start_tallies();
        while (auto b = q.pop()) {
          if (!w->out.error) continue;  // drain: the readers must not block
          if (resolve_known_owners(c, *b))
            w->out.error = s.read([&](store::Tx& tx) -> Status {
              resolve_missing_owners(tx, *b);
              return {};
            });
          w->batch(*b);
          pool.give(std::move(b));
        }
      });
    size_t r1 = std::min(ranges.size(), r0 + kReaders);
    std::vector<Status> results(r1 - r0);
    std::vector<std::thread> readers;
    for (size_t k = r0; k < r1; ++k)
      readers.emplace_back([&, k] {
        Range& rg = ranges[k];
        results[k - r0] = s.read([&](store::Tx& tx) -> Status {
          std::string after = rg.after;
          for (;;) {
            auto b = pool.take();
            b->with_findings = false;
            FW_TRY_STATUS(tx.read_eval_slice(after, kBatchDevices, policy_id, b->devices, b->digests, with_apps));
            bool end = b->devices.empty();
            if (!rg.last.empty()) {  // keep (after, last] only
              auto cut = std::find_if(b->devices.begin(), b->devices.end(),
                                      [&](const model::Device& d) { return d.id > rg.last; });
              if (cut != b->devices.end()) {
                end = true;
                b->devices.erase(cut, b->devices.end());
                std::erase_if(b->digests, [&](const store::EvalDigest& e) { return e.device_id > rg.last; });
              }
            }
            if (!b->devices.empty()) {
              after = b->devices.back().id;
              if (rg.count + b->devices.size() > 0xFFFF) overflow = true;
              b->base = (uint32_t(k) << 16) | (rg.count & 0xFFFF);
              rg.count += uint32_t(b->devices.size());
              q.push(std::move(b));
            }
            if (end) return {};
          }
        });
      });
    for (auto& t : readers) t.join();
    q.close();
    for (auto& t : threads) t.join();
    for (auto& st : results) FW_TRY_STATUS(st);
    for (auto& w : workers) FW_TRY_STATUS(w->out.error);
    for (auto& w : workers) FW_TRY_STATUS(flush(s, w->out));
  }
  for (auto& w : workers) add(total, w->out.stats);
  if (!overflow) FW_TRY_STATUS(store_aggregates(s, c, workers));
  if (policy_id.empty()) {
    FW_TRY_STATUS(s.write([&](store::Tx& tx) { return tx.put_setting("eval.last_run", format_time(c.now)); }));
  }
  return total;
}

}  // namespace

Result<EvalStats> evaluate_all(store::Store& s, const Clock& clock, std::string_view policy_id) {
  return run_all(s, std::nullopt, &clock, policy_id);
}

Result<EvalStats> evaluate_all_at(store::Store& s, Time now, std::string_view policy_id) {
  return run_all(s, now, nullptr, policy_id);
}

Result<EvalStats> evaluate_all_at(store::Store& s, Time now, std::string_view policy_id, size_t workers) {
  return run_all(s, now, nullptr, policy_id, workers);
}

Result<EvalStats> evaluate_devices(store::Store& s, const Clock& clock, const std::vector<std::string>& device_ids) {
  constexpr size_t kIdsPerRead = 1000;
  Context c;
  FW_TRY_STATUS(s.read([&](store::Tx& tx) -> Status {
    c.now = policy_now(tx, clock);
    return load_policies_and_exemptions(tx, c, "");
  }));
  std::vector<std::string> ids = device_ids;  // each id once, or its findings would be written twice
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  Worker w(c);
  for (size_t i = 0; i < ids.size(); i += kIdsPerRead) {
    Batch b;
    FW_TRY_STATUS(s.read([&](store::Tx& tx) -> Status {
      for (size_t k = i; k < std::min(ids.size(), i + kIdsPerRead); ++k) {
        auto d = tx.get_device(ids[k]);
        if (!d) {
          if (d.error().code == Errc::not_found) continue;  // deleted since it was queued
          return std::unexpected(d.error());
        }
        store::FindingFilter f;
        f.device_id = d->id;
        FW_TRY_STATUS(tx.scan_findings(f, [&](const store::Finding& x) -> Status {
          b.findings.push_back(x);
          return {};
        }));
        b.devices.push_back(std::move(*d));
      }
      if (resolve_known_owners(c, b)) resolve_missing_owners(tx, b);
      return {};
    }));
    // scan_findings gives each device's findings contiguously; the worker expects them in the
    // devices' order, which is how they were appended.
    w.batch(b);
    FW_TRY_STATUS(w.out.error);
    FW_TRY_STATUS(flush(s, w.out));
  }
  return w.out.stats;
}

Result<EvalStats> evaluate_device(store::Store& s, const Clock& clock, std::string_view device_id) {
  FW_TRY_STATUS(s.read([&](store::Tx& tx) -> Status {
    FW_TRY(auto d, tx.get_device(device_id));
    return {};
  }));
  return evaluate_devices(s, clock, {std::string(device_id)});
}

}  // namespace fw::service
