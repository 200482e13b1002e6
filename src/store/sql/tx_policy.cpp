// SqlTx: policy documents (versioned), findings, finding history and exemptions.
// Used by the one thread that runs the transaction.
#include <algorithm>
#include <deque>
#include <string>

#include "store/sql/finding_rows.h"
#include "store/sql/tx.h"
#include "util/strings.h"

namespace fw::store::sql {

namespace {

constexpr std::string_view kPolicyCols = "id, kind, version, source, source_name, applied_at, applied_by, active";

PolicyDoc policy_from(const Row& r) {
  PolicyDoc d;
  d.id = r.text(0);
  d.kind = r.text(1);
  d.version = r.i64(2);
  d.source = r.text(3);
  d.source_name = r.text(4);
  d.applied_at = r.time(5);
  d.applied_by = r.text(6);
  d.active = r.flag(7);
  return d;
}

constexpr std::string_view kExemptionCols =
    "id, person_id, device_id, policy_id, rule_id, reason, approver, created_at, expires_at";

Exemption exemption_from(const Row& r) {
  Exemption e;
  e.id = r.text(0);
  e.person_id = r.text(1);
  e.device_id = r.text(2);
  e.policy_id = r.text(3);
  e.rule_id = r.text(4);
  e.reason = r.text(5);
  e.approver = r.text(6);
  e.created_at = r.time(7);
  e.expires_at = r.time(8);
  return e;
}

}  // namespace

// ===== policy documents =====

Result<PolicyDoc> SqlTx::put_policy(PolicyDoc d) {
  if (d.id.empty()) return fail(Errc::invalid_argument, "policy id is empty", "id");
  if (d.kind != "policy" && d.kind != "campaign")
    return fail(Errc::invalid_argument, "policy kind must be policy or campaign, not '" + d.kind + "'", "kind");
  int64_t prev = 0;
  FW_TRY_STATUS(query("SELECT COALESCE(MAX(version), 0) FROM policy_docs WHERE id = ?", {d.id},
                      [&](const Row& r) -> Status {
                        prev = r.i64(0);
                        return {};
                      }));
  d.version = prev + 1;
  FW_TRY_STATUS(exec("INSERT INTO policy_docs (" + std::string(kPolicyCols) + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     {d.id, d.kind, d.version, d.source, d.source_name, d.applied_at, d.applied_by, d.active}));
  return d;
}

Result<PolicyDoc> SqlTx::get_policy(std::string_view id) {
  PolicyDoc d;
  FW_TRY_STATUS(query_one("SELECT " + std::string(kPolicyCols) +
                              " FROM policy_docs WHERE id = ? ORDER BY version DESC LIMIT 1",
                          {id}, "policy " + std::string(id), [&](const Row& r) -> Status {
                            d = policy_from(r);
                            return {};
                          }));
  return d;
}

Result<std::vector<PolicyDoc>> SqlTx::list_policies(bool active_only) {
  std::vector<PolicyDoc> out;
  std::string sql = "SELECT " + std::string(kPolicyCols) +
                    " FROM policy_docs p WHERE version = (SELECT MAX(version) FROM policy_docs q WHERE q.id = p.id)";
  if (active_only) sql += " AND active = 1";
  sql += " ORDER BY id";
  FW_TRY_STATUS(query(sql, {}, [&](const Row& r) -> Status {
    out.push_back(policy_from(r));
    return {};
  }));
  return out;
}

// ===== findings =====

Status SqlTx::upsert_finding(const Finding& f) {
  if (f.device_id.empty() || f.rule_key.empty())
    return fail(Errc::invalid_argument, "finding needs a device id and a rule key", "finding");
  FW_TRY_STATUS(exec(
      "INSERT INTO findings (device_id, rule_key, person_id, policy_id, status, severity, detail, "
      "first_failed_at, last_evaluated_at, status_since) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT (device_id, rule_key) DO UPDATE SET person_id = excluded.person_id, "
      "policy_id = excluded.policy_id, status = excluded.status, severity = excluded.severity, "
      "detail = excluded.detail, first_failed_at = excluded.first_failed_at, "
      "last_evaluated_at = excluded.last_evaluated_at, status_since = excluded.status_since",
      {f.device_id, f.rule_key, f.person_id, f.policy_id, to_string(f.status), f.severity, f.detail,
       time_or_null(f.first_failed_at), f.last_evaluated_at, f.status_since}));
  return {};
}

Status SqlTx::put_findings(const std::vector<Finding>& fs) {
  for (const auto& f : fs) {
    FW_TRY_STATUS(upsert_finding(f));
    std::string_view pol = f.policy_id;
    FW_TRY_STATUS(invalidate_digests(f.device_id, std::span<const std::string_view>(&pol, 1)));
  }
  return {};
}

Status SqlTx::add_finding_changes(const std::vector<FindingChange>& cs) {
  if (cs.empty()) return {};
  int64_t next = 0;
  FW_TRY_STATUS(query("SELECT COALESCE(MAX(id), 0) FROM finding_changes", {}, [&](const Row& r) -> Status {
    next = r.i64(0);
    return {};
  }));
  for (const auto& c : cs) {
    if (c.device_id.empty() || c.rule_key.empty())
      return fail(Errc::invalid_argument, "finding change needs a device id and a rule key", "finding_change");
    ++next;
    FW_TRY_STATUS(exec("INSERT INTO finding_changes (id, device_id, person_id, policy_id, rule_key, status, at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)",
                       {next, c.device_id, c.person_id, c.policy_id, c.rule_key, to_string(c.status), c.at}));
  }
  return {};
}

void add_finding_conditions(const FindingFilter& f, std::string& join, std::string& where,
                            std::deque<std::string>& texts, std::vector<Param>& ps) {
  auto cond = [&](std::string_view c, std::string v) {
    where += where.empty() ? " WHERE " : " AND ";
    where += c;
    texts.push_back(std::move(v));
    ps.emplace_back(texts.back());
  };
  if (!f.subtree.empty()) {
    // The owner's unit (the finding's person), else the device's own (migration 0009): the
    // evaluation's scope rule (service/evaluate.cpp).
    join = " LEFT JOIN people p ON p.id = f.person_id LEFT JOIN devices fd ON fd.id = f.device_id";
    add_subtree_condition(where, "COALESCE(p.org_unit_path, fd.org_unit_path)", f.subtree, texts, ps);
  }
  if (!f.policy_id.empty()) cond("f.policy_id = ?", f.policy_id);
  if (!f.rule_key.empty()) cond("f.rule_key = ?", f.rule_key);
  if (!f.device_id.empty()) cond("f.device_id = ?", f.device_id);
  if (!f.person_id.empty()) cond("f.person_id = ?", f.person_id);
  if (f.status) cond("f.status = ?", std::string(to_string(*f.status)));
}

Status SqlTx::finding_page(const FindingFilter& f, std::string_view after_device, std::string_view after_rule,
                           int limit, std::vector<Finding>& out) {
  std::string join, where;
  std::deque<std::string> texts;
  std::vector<Param> ps;
  add_finding_conditions(f, join, where, texts, ps);
  auto cond = [&](std::string_view c, std::string v) {
    where += where.empty() ? " WHERE " : " AND ";
    where += c;
    texts.push_back(std::move(v));
    ps.emplace_back(texts.back());
  };
  if (!after_device.empty() || !after_rule.empty()) {
    // A row-value comparison, so both engines seek the (device_id, rule_key) key instead of
    // filtering an OR from the start of the table on every page (quadratic over a scan).
    cond("(f.device_id, f.rule_key) > (?, ?)", std::string(after_device));
    texts.emplace_back(after_rule);
    ps.emplace_back(texts.back());
  }
  ps.emplace_back(limit);
  auto run = [&]() -> Status {
    return query("SELECT " + std::string(kFindingColumns) + " FROM findings f" + join + where +
                     " ORDER BY f.device_id, f.rule_key LIMIT ?",
                 ps, [&](const Row& r) -> Status {
                   FW_TRY(auto fi, finding_from_row(r));
                   out.push_back(std::move(fi));
                   return {};
                 });
  };
  return join.empty() ? run() : nested_loops(run);  // page-sized join with people
}

Result<Page<Finding>> SqlTx::list_findings(const FindingFilter& f, const PageRequest& p) {
  int limit = clamp_limit(p.limit);
  std::string dev, rule;
  if (!p.cursor.empty()) {
    FW_TRY(auto keys, decode_cursor(p.cursor, 2));
    dev = keys[0];
    rule = keys[1];
  }
  Page<Finding> page;
  FW_TRY_STATUS(finding_page(f, dev, rule, limit + 1, page.items));
  if (static_cast<int>(page.items.size()) > limit) {
    page.items.resize(limit);
    page.next_cursor = encode_cursor({page.items.back().device_id, page.items.back().rule_key});
  }
  return page;
}

Status SqlTx::scan_findings(const FindingFilter& f, const std::function<Status(const Finding&)>& fn) {
  constexpr int kBatch = 5000;
  std::string dev, rule;
  std::vector<Finding> batch;
  for (;;) {
    batch.clear();
    FW_TRY_STATUS(finding_page(f, dev, rule, kBatch, batch));
    for (const auto& x : batch) FW_TRY_STATUS(fn(x));
    if (static_cast<int>(batch.size()) < kBatch) return {};
    dev = batch.back().device_id;
    rule = batch.back().rule_key;
  }
}

Status SqlTx::scan_finding_changes(std::string_view policy_id, const std::function<Status(const FindingChange&)>& fn) {
  constexpr int kBatch = 5000;
  int64_t at = 0, id = 0;
  bool first = true;
  std::vector<FindingChange> batch;
  std::vector<int64_t> ids;
  for (;;) {
    batch.clear();
    ids.clear();
    std::string sql = "SELECT id, device_id, person_id, policy_id, rule_key, status, at FROM finding_changes";
    std::vector<Param> ps;
    std::string where;
    if (!policy_id.empty()) {
      where = " WHERE policy_id = ?";
      ps.emplace_back(policy_id);
    }
    if (!first) {
      where += where.empty() ? " WHERE " : " AND ";
      // Row values: an index seek past the last row, not a filter from the start of the
      // policy's history on every page (quadratic when one run wrote millions at one time).
      where += "(at, id) > (?, ?)";
      ps.emplace_back(at);
      ps.emplace_back(id);
    }
    ps.emplace_back(kBatch);
    FW_TRY_STATUS(query(sql + where + " ORDER BY at, id LIMIT ?", ps, [&](const Row& r) -> Status {
      ids.push_back(r.i64(0));
      FindingChange c;
      c.device_id = r.text(1);
      c.person_id = r.text(2);
      c.policy_id = r.text(3);
      c.rule_key = r.text(4);
      FW_TRY(c.status, stored_finding_status(r.text(5), "finding_changes"));
      c.at = r.time(6);
      batch.push_back(std::move(c));
      return {};
    }));
    for (const auto& c : batch) FW_TRY_STATUS(fn(c));
    if (static_cast<int>(batch.size()) < kBatch) return {};
    first = false;
    at = to_unix(batch.back().at);
    id = ids.back();
  }
}

Status SqlTx::delete_findings_for_device(std::string_view device_id) {
  std::vector<std::string> pols;
  FW_TRY_STATUS(query("SELECT DISTINCT policy_id FROM findings WHERE device_id = ?", {device_id},
                      [&](const Row& r) -> Status {
                        pols.push_back(r.text(0));
                        return {};
                      }));
  FW_TRY_STATUS(exec("DELETE FROM findings WHERE device_id = ?", {device_id}));
  std::vector<std::string_view> views(pols.begin(), pols.end());
  return invalidate_digests(device_id, views);
}

Status SqlTx::delete_findings(const std::vector<Finding>& keys) {
  for (const auto& k : keys) {
    std::string pol;
    FW_TRY_STATUS(query("SELECT policy_id FROM findings WHERE device_id = ? AND rule_key = ?",
                        {k.device_id, k.rule_key}, [&](const Row& r) -> Status {
                          pol = r.text(0);
                          return {};
                        }));
    if (pol.empty()) continue;  // no such finding
    FW_TRY_STATUS(exec("DELETE FROM findings WHERE device_id = ? AND rule_key = ?", {k.device_id, k.rule_key}));
    std::string_view v = pol;
    FW_TRY_STATUS(invalidate_digests(k.device_id, std::span<const std::string_view>(&v, 1)));
  }
  return {};
}

Status SqlTx::read_eval_batch(std::string_view after_id, int limit, std::string_view policy_id,
                              std::vector<model::Device>& devices, std::vector<Finding>& findings) {
  devices.clear();
  findings.clear();
  if (limit < 1) limit = 1;
  // Three plain range reads in key order, merged here: the devices, then the apps and the
  // findings of exactly those ids. (The paging join behind scan_devices materialises and
  // sorts each page; this walks the primary keys, about half the cost per device.)
  FW_TRY_STATUS(eval_devices(after_id, limit, devices));
  if (devices.empty()) return {};
  std::string after(after_id);
  const std::string& last = devices.back().id;
  // The findings of exactly these devices: a range of the primary key, only the columns an
  // evaluation compares (severity and last_evaluated_at are left empty).
  std::string sql = "SELECT device_id, rule_key, person_id, policy_id, status, detail, first_failed_at, status_since "
                    "FROM findings WHERE device_id > ? AND device_id <= ?";
  std::vector<Param> ps{after, last};
  if (!policy_id.empty()) {
    sql += " AND policy_id = ?";
    ps.emplace_back(policy_id);
  }
  sql += " ORDER BY device_id, rule_key";
  return query(sql, ps, [&](const Row& r) -> Status {
    Finding f;
    f.device_id = r.text(0);
    f.rule_key = r.text(1);
    f.person_id = r.text(2);
    f.policy_id = r.text(3);
    FW_TRY(f.status, stored_finding_status(r.text(4), "findings"));
    f.detail = r.text(5);
    f.first_failed_at = r.opt_time(6);
    f.status_since = r.time(7);
    findings.push_back(std::move(f));
    return {};
  });
}

Result<std::vector<std::string>> SqlTx::device_boundaries(int64_t every) {
  if (every < 1) return fail(Errc::invalid_argument, "device_boundaries needs every >= 1", "every");
  std::vector<std::string> out;
  std::string after;
  for (;;) {
    // The id `every` positions after the previous boundary (OFFSET walks only that far).
    std::string next;
    bool found = false;
    FW_TRY_STATUS(query("SELECT id FROM devices WHERE id > ? ORDER BY id LIMIT 1 OFFSET ?", {after, every - 1},
                        [&](const Row& r) -> Status {
                          next = r.text(0);
                          found = true;
                          return {};
                        }));
    if (!found) break;
    // A boundary is only useful if devices follow it.
    bool more = false;
    FW_TRY_STATUS(query("SELECT id FROM devices WHERE id > ? ORDER BY id LIMIT 1", {next}, [&](const Row&) -> Status {
      more = true;
      return {};
    }));
    if (!more) break;
    out.push_back(next);
    after = std::move(next);
  }
  return out;
}

Status SqlTx::scan_failing_people(std::string_view policy_id,
                                  const std::function<Status(const FailingPerson&)>& fn) {
  std::vector<FailingPerson> out;  // collected first: fn may use this Tx
  // Grouped over the covering index findings_failing first, then one people lookup per person.
  FW_TRY_STATUS(query("SELECT g.person_id, p.org_unit_path, g.first FROM (SELECT person_id, "
                      "MIN(first_failed_at) AS first FROM findings WHERE policy_id = ? AND status = 'fail' "
                      "GROUP BY person_id) g JOIN people p ON p.id = g.person_id",
                      {policy_id}, [&](const Row& r) -> Status {
                        out.push_back(FailingPerson{r.text(0), r.text(1), r.opt_time(2)});
                        return {};
                      }));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.person_id < b.person_id; });
  for (const auto& p : out) FW_TRY_STATUS(fn(p));
  return {};
}

// ===== campaign report aggregates =====

Status SqlTx::put_campaign_snapshot(const CampaignSnapshot& s) {
  if (s.policy_id.empty()) return fail(Errc::invalid_argument, "campaign snapshot needs a policy id", "policy_id");
  FW_TRY_STATUS(exec("INSERT INTO campaign_snapshots (policy_id, version, evaluated_at, body) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT (policy_id) DO UPDATE SET version = excluded.version, "
                     "evaluated_at = excluded.evaluated_at, body = excluded.body",
                     {s.policy_id, s.version, s.evaluated_at, s.body}));
  return {};
}

Result<CampaignSnapshot> SqlTx::get_campaign_snapshot(std::string_view policy_id) {
  CampaignSnapshot s;
  FW_TRY_STATUS(query_one("SELECT policy_id, version, evaluated_at, body FROM campaign_snapshots WHERE policy_id = ?",
                          {policy_id}, "campaign snapshot " + std::string(policy_id), [&](const Row& r) -> Status {
                            s.policy_id = r.text(0);
                            s.version = r.i64(1);
                            s.evaluated_at = r.time(2);
                            s.body = r.text(3);
                            return {};
                          }));
  return s;
}

Status SqlTx::put_burndown(std::string_view policy_id, const std::vector<BurnDay>& days) {
  for (const auto& d : days)
    FW_TRY_STATUS(exec("INSERT INTO campaign_burndown (policy_id, day, people, devices) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT (policy_id, day) DO UPDATE SET people = excluded.people, devices = excluded.devices",
                       {policy_id, d.day, d.people, d.devices}));
  return {};
}

Result<std::vector<BurnDay>> SqlTx::list_burndown(std::string_view policy_id) {
  std::vector<BurnDay> out;
  FW_TRY_STATUS(query("SELECT day, people, devices FROM campaign_burndown WHERE policy_id = ? ORDER BY day",
                      {policy_id}, [&](const Row& r) -> Status {
                        out.push_back(BurnDay{r.time(0), r.i64(1), r.i64(2)});
                        return {};
                      }));
  return out;
}

// ===== exemptions =====

Status SqlTx::put_exemption(const Exemption& e) {
  if (e.id.empty()) return fail(Errc::invalid_argument, "exemption id is empty", "id");
  if (e.person_id.empty() == e.device_id.empty())
    return fail(Errc::invalid_argument, "an exemption names exactly one of a person or a device", "person_id");
  if (e.policy_id.empty()) return fail(Errc::invalid_argument, "exemption policy id is empty", "policy_id");
  FW_TRY_STATUS(exec("INSERT INTO exemptions (" + std::string(kExemptionCols) +
                         ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                         "ON CONFLICT (id) DO UPDATE SET person_id = excluded.person_id, "
                         "device_id = excluded.device_id, policy_id = excluded.policy_id, rule_id = excluded.rule_id, "
                         "reason = excluded.reason, approver = excluded.approver, created_at = excluded.created_at, "
                         "expires_at = excluded.expires_at",
                     {e.id, text_or_null(e.person_id), text_or_null(e.device_id), e.policy_id, e.rule_id, e.reason,
                      e.approver, e.created_at, e.expires_at}));
  return {};
}

Result<Exemption> SqlTx::get_exemption(std::string_view id) {
  Exemption e;
  FW_TRY_STATUS(query_one("SELECT " + std::string(kExemptionCols) + " FROM exemptions WHERE id = ?", {id},
                          "exemption " + std::string(id), [&](const Row& r) -> Status {
                            e = exemption_from(r);
                            return {};
                          }));
  return e;
}

Status SqlTx::delete_exemption(std::string_view id) {
  FW_TRY(auto n, exec("DELETE FROM exemptions WHERE id = ?", {id}));
  if (n == 0) return fail(Errc::not_found, "exemption " + std::string(id) + " not found");
  return {};
}

Result<std::vector<Exemption>> SqlTx::list_exemptions(std::string_view policy_id) {
  std::vector<Exemption> out;
  std::string sql = "SELECT " + std::string(kExemptionCols) + " FROM exemptions";
  std::vector<Param> ps;
  if (!policy_id.empty()) {
    sql += " WHERE policy_id = ?";
    ps.emplace_back(policy_id);
  }
  sql += " ORDER BY id";
  FW_TRY_STATUS(query(sql, ps, [&](const Row& r) -> Status {
    out.push_back(exemption_from(r));
    return {};
  }));
  return out;
}

}  // namespace fw::store::sql
