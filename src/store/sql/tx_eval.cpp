// SqlTx: what a full policy evaluation reads and writes per slice of the fleet: devices with
// apps, the per (device, policy) digests of their last results (migration 0011), findings by
// device, every person (owners and the report's people), and the compare-and-set write of
// findings, history and digests in one transaction.
// Used by the one thread that runs the transaction.
#include <algorithm>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "store/sql/tx.h"
#include "util/strings.h"

namespace fw::store::sql {

namespace {

// SQLite: what a full evaluation reads (slices, people) is read through a memory map of the
// database file (up to 2 GiB, the library's limit), not with a pread system call and copy per
// page. The setting stays with the pooled reader connection, for later slices and runs (100k
// bench, load 14, alternating: nothing changed 0.67-0.70 s CPU with the map, 0.76-0.89 s
// without; the 1M bench run's system time 11.4 -> 7.3 s). The resident size of the process
// then includes the mapped pages of the file (page cache, not the process's own memory).
constexpr std::string_view kMapFile = "PRAGMA mmap_size = 2147418112";

}  // namespace

Status SqlTx::eval_devices(std::string_view after_id, int limit, std::vector<model::Device>& devices,
                          bool with_apps) {
  devices.clear();
  if (limit < 1) limit = 1;
  std::string after(after_id);
  FW_TRY_STATUS(query("SELECT " + std::string(kDeviceColumns) + " FROM devices d WHERE d.id > ? ORDER BY d.id LIMIT ?",
                      {after, limit}, [&](const Row& r) -> Status {
                        FW_TRY(auto d, device_from_row(r));
                        devices.push_back(std::move(d));
                        return {};
                      }));
  if (devices.empty() || !with_apps) return {};
  const std::string& last = devices.back().id;
  size_t i = 0;
  return query("SELECT device_id, app_id, name, version FROM device_apps WHERE device_id > ? AND device_id <= ? "
               "ORDER BY device_id, pos",
               {after, last}, [&](const Row& r) -> Status {
                 std::string dev = r.text(0);
                 while (i < devices.size() && devices[i].id != dev) ++i;
                 if (i == devices.size())
                   return fail(Errc::internal, "device_apps out of order for " + dev, "device_apps");
                 devices[i].apps.push_back(model::App{r.text(1), r.text(2), r.text(3)});
                 return {};
               });
}

Status SqlTx::read_eval_slice(std::string_view after_id, int limit, std::string_view policy_id,
                              std::vector<model::Device>& devices, std::vector<EvalDigest>& digests,
                              bool with_apps) {
  digests.clear();
  if (c_.dialect() == Dialect::sqlite)
    FW_TRY_STATUS(query(kMapFile, {}, [](const Row&) -> Status { return {}; }));
  FW_TRY_STATUS(eval_devices(after_id, limit, devices, with_apps));
  if (devices.empty()) return {};
  std::string sql = "SELECT device_id, policy_id, digest, gen, notes FROM eval_digests "
                    "WHERE device_id > ? AND device_id <= ?";
  std::vector<Param> ps{after_id, devices.back().id};
  if (!policy_id.empty()) {
    sql += " AND policy_id = ?";
    ps.emplace_back(policy_id);
  }
  sql += " ORDER BY device_id, policy_id";
  return query(sql, ps, [&](const Row& r) -> Status {
    EvalDigest d;
    d.device_id = r.text(0);
    d.policy_id = r.text(1);
    if (!r.is_null(2)) d.digest = static_cast<uint64_t>(r.i64(2));
    d.gen = r.i64(3);
    d.notes = r.text(4);
    digests.push_back(std::move(d));
    return {};
  });
}

Status SqlTx::read_eval_people(std::vector<model::Person>& people) {
  people.clear();
  // One ordered scan of the table: list_people's pages join each person's manager and unit
  // (two more seeks per person) for names the evaluation does not need. Through the memory
  // map on SQLite, as read_eval_slice.
  if (c_.dialect() == Dialect::sqlite)
    FW_TRY_STATUS(query(kMapFile, {}, [](const Row&) -> Status { return {}; }));
  return query("SELECT id, name, email, login, org_unit_path, manager_id, title FROM people ORDER BY id", {},
               [&](const Row& r) -> Status {
                 people.push_back(model::Person{.id = r.text(0), .name = r.text(1), .email = r.text(2),
                                                .login = r.text(3), .org_unit_path = r.text(4),
                                                .manager_id = r.text(5), .title = r.text(6)});
                 return {};
               });
}

Status SqlTx::read_eval_findings(const std::vector<std::string>& device_ids, std::string_view policy_id,
                                 std::vector<Finding>& findings) {
  findings.clear();
  if (device_ids.empty()) return {};
  auto row = [&](const Row& r) -> Status {
    Finding f;
    f.device_id = r.text(0);
    f.rule_key = r.text(1);
    f.person_id = r.text(2);
    f.policy_id = r.text(3);
    auto st = parse_finding_status(r.text(4));
    if (!st) return fail(Errc::internal, "stored finding has a bad status: " + r.text(4), "findings/" + f.device_id);
    f.status = *st;
    f.detail = r.text(5);
    f.first_failed_at = r.opt_time(6);
    f.status_since = r.time(7);
    findings.push_back(std::move(f));
    return {};
  };
  std::string cols = "SELECT device_id, rule_key, person_id, policy_id, status, detail, first_failed_at, status_since "
                     "FROM findings WHERE ";
  std::string pol = policy_id.empty() ? "" : " AND policy_id = ?";
  // From this many ids on, one range read filtered here; fewer are read one by one. The
  // evaluation asks for the devices of a 2,000-device slice whose results changed: a range
  // read walks every finding of the slice (~11,000 rows at 5.7 per device), a point read
  // costs a seek and the device's few rows, so the range pays off only when many changed.
  constexpr size_t kRangeFrom = 256;
  if (device_ids.size() >= kRangeFrom) {
    std::vector<Param> ps{device_ids.front(), device_ids.back()};
    if (!policy_id.empty()) ps.emplace_back(policy_id);
    size_t i = 0;
    return query(cols + "device_id >= ? AND device_id <= ?" + pol + " ORDER BY device_id, rule_key", ps,
                 [&](const Row& r) -> Status {
                   std::string dev = r.text(0);
                   while (i < device_ids.size() && device_ids[i] < dev) ++i;
                   if (i == device_ids.size() || device_ids[i] != dev) return {};
                   return row(r);
                 });
  }
  for (const auto& id : device_ids) {
    std::vector<Param> ps{id};
    if (!policy_id.empty()) ps.emplace_back(policy_id);
    FW_TRY_STATUS(query(cols + "device_id = ?" + pol + " ORDER BY rule_key", ps, row));
  }
  return {};
}

Status SqlTx::invalidate_digests(std::string_view device_id, std::span<const std::string_view> policy_ids) {
  // Every row of the device becomes unknown with a new gen (a concurrent evaluation's
  // compare-and-set then fails), and a row of each given document exists (for one that read
  // "no row" before this write).
  FW_TRY_STATUS(exec("UPDATE eval_digests SET digest = NULL, gen = gen + 1, notes = '' WHERE device_id = ?",
                     {device_id}));
  for (auto p : policy_ids)
    FW_TRY_STATUS(exec("INSERT INTO eval_digests (device_id, policy_id, digest, gen, notes) VALUES (?, ?, NULL, 1, '') "
                       "ON CONFLICT (device_id, policy_id) DO NOTHING",
                       {device_id, p}));
  return {};
}

Status SqlTx::write_eval(const EvalWrite& w) {
  for (const auto& f : w.writes) FW_TRY_STATUS(upsert_finding(f));
  for (const auto& k : w.deletes)
    FW_TRY_STATUS(exec("DELETE FROM findings WHERE device_id = ? AND rule_key = ?", {k.device_id, k.rule_key}));
  FW_TRY_STATUS(add_finding_changes(w.changes));
  // Per device: true while every digest given for it was set (absent: none given).
  std::unordered_map<std::string_view, bool> kept;
  for (const auto& d : w.digests) {
    if (d.device_id.empty() || d.policy_id.empty())
      return fail(Errc::invalid_argument, "an evaluation digest needs a device id and a policy id", "eval_digest");
    int64_t n = 0;
    int64_t v = d.digest ? static_cast<int64_t>(*d.digest) : 0;
    Param digest = d.digest ? Param{v} : Param{};
    if (d.gen == 0) {
      FW_TRY(n, exec("INSERT INTO eval_digests (device_id, policy_id, digest, gen, notes) VALUES (?, ?, ?, 1, ?) "
                     "ON CONFLICT (device_id, policy_id) DO NOTHING",
                     {d.device_id, d.policy_id, digest, d.notes}));
    } else {
      FW_TRY(n, exec("UPDATE eval_digests SET digest = ?, gen = gen + 1, notes = ? "
                     "WHERE device_id = ? AND policy_id = ? AND gen = ?",
                     {digest, d.notes, d.device_id, d.policy_id, d.gen}));
    }
    auto [it, fresh] = kept.try_emplace(d.device_id, true);
    if (n != 1) it->second = false;
  }
  for (const auto& d : w.drops) {
    FW_TRY(int64_t n, exec("DELETE FROM eval_digests WHERE device_id = ? AND policy_id = ? AND gen = ?",
                           {d.device_id, d.policy_id, d.gen}));
    auto [it, fresh] = kept.try_emplace(d.device_id, true);
    if (n != 1) it->second = false;
  }
  // Devices whose findings this wrote without all of their digests set: unknown.
  std::unordered_map<std::string_view, std::unordered_set<std::string_view>> touched;
  for (const auto* v : {&w.writes, &w.deletes})
    for (const auto& f : *v) {
      auto it = kept.find(f.device_id);
      if (it != kept.end() && it->second) continue;
      auto& pols = touched[f.device_id];
      if (!f.policy_id.empty()) pols.insert(f.policy_id);
    }
  for (const auto& [dev, pols] : touched) {
    std::vector<std::string_view> ps(pols.begin(), pols.end());
    FW_TRY_STATUS(invalidate_digests(dev, ps));
  }
  return {};
}

}  // namespace fw::store::sql
