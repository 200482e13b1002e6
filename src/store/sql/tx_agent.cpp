// SqlTx methods for fleetward-agent state (migration 0005): enrolment secrets, device
// credentials, the per-device report row, queued commands, and the check-in write path
// that touches only what a report changed (apply_agent_report). Portable SQL.
// A SqlTx belongs to the thread running the transaction callback.
#include <algorithm>
#include <array>
#include <map>
#include <tuple>

#include "store/sql/tx.h"
#include "util/strings.h"

namespace fw::store::sql {

namespace {

constexpr std::string_view kSecretCols =
    "secret_hash, org_unit_path, created_by, created_at, expires_at, max_uses, used";
constexpr std::string_view kAgentDeviceCols =
    "device_id, hardware_id, org_unit_path, enrolled_at, last_seq, last_checkin, seen_at, facts_hash, revoked_at, "
    "has_commands";
constexpr std::string_view kCommandCols =
    "id, device_id, type, payload_json, created_by, created_at, state, sent_at, finished_at, result_json";

AgentCommand command_from(const Row& r) {
  AgentCommand c;
  c.id = r.text(0);
  c.device_id = r.text(1);
  c.type = r.text(2);
  c.payload_json = r.text(3);
  c.created_by = r.text(4);
  c.created_at = r.time(5);
  c.state = r.text(6);
  c.sent_at = r.opt_time(7);
  c.finished_at = r.opt_time(8);
  c.result_json = r.text(9);
  return c;
}

}  // namespace

Status SqlTx::put_agent_secret(const AgentSecret& s) {
  FW_TRY_STATUS(exec("INSERT INTO agent_enroll_secrets (" + std::string(kSecretCols) +
                         ") VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (secret_hash) DO UPDATE SET "
                         "org_unit_path = excluded.org_unit_path, created_by = excluded.created_by, "
                         "created_at = excluded.created_at, expires_at = excluded.expires_at, "
                         "max_uses = excluded.max_uses, used = excluded.used",
                     {s.secret_hash, s.org_unit_path, s.created_by, s.created_at, s.expires_at, s.max_uses, s.used}));
  return {};
}

Result<AgentSecret> SqlTx::get_agent_secret(std::string_view secret_hash) {
  AgentSecret s;
  FW_TRY_STATUS(query_one("SELECT " + std::string(kSecretCols) + " FROM agent_enroll_secrets WHERE secret_hash = ?",
                          {secret_hash}, "enrolment secret", [&](const Row& r) -> Status {
                            s.secret_hash = r.text(0);
                            s.org_unit_path = r.text(1);
                            s.created_by = r.text(2);
                            s.created_at = r.time(3);
                            s.expires_at = r.time(4);
                            s.max_uses = r.i64(5);
                            s.used = r.i64(6);
                            return {};
                          }));
  return s;
}

Status SqlTx::put_agent_device(const AgentDevice& d) {
  FW_TRY_STATUS(exec("INSERT INTO agent_devices (" + std::string(kAgentDeviceCols) +
                         ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET "
                         "hardware_id = excluded.hardware_id, org_unit_path = excluded.org_unit_path, "
                         "enrolled_at = excluded.enrolled_at, last_seq = excluded.last_seq, "
                         "last_checkin = excluded.last_checkin, seen_at = excluded.seen_at, "
                         "facts_hash = excluded.facts_hash, revoked_at = excluded.revoked_at, has_commands = excluded.has_commands",
                     {d.device_id, d.hardware_id, d.org_unit_path, d.enrolled_at, d.last_seq,
                      time_or_null(d.last_checkin), d.seen_at, d.facts_hash, time_or_null(d.revoked_at), d.has_commands}));
  return {};
}

Result<AgentDevice> SqlTx::get_agent_device(std::string_view device_id) {
  AgentDevice d;
  FW_TRY_STATUS(query_one("SELECT " + std::string(kAgentDeviceCols) + " FROM agent_devices WHERE device_id = ?",
                          {device_id}, "enrolled device " + std::string(device_id), [&](const Row& r) -> Status {
                            d.device_id = r.text(0);
                            d.hardware_id = r.text(1);
                            d.org_unit_path = r.text(2);
                            d.enrolled_at = r.time(3);
                            d.last_seq = r.i64(4);
                            d.last_checkin = r.opt_time(5);
                            d.seen_at = r.time(6);
                            d.facts_hash = r.text(7);
                            d.revoked_at = r.opt_time(8);
                            d.has_commands = r.flag(9);
                            return {};
                          }));
  return d;
}

Status SqlTx::update_agent_device_report(const AgentDevice& d) {
  FW_TRY(auto n, exec("UPDATE agent_devices SET last_seq = ?, last_checkin = ?, seen_at = ?, facts_hash = ?, "
                      "has_commands = ? WHERE device_id = ?",
                      {d.last_seq, time_or_null(d.last_checkin), d.seen_at, d.facts_hash, d.has_commands, d.device_id}));
  if (n == 0) return fail(Errc::not_found, "enrolled device " + d.device_id + " not found");
  return {};
}

Result<int64_t> SqlTx::sqlite_data_version() {
  if (c_.dialect() != Dialect::sqlite) return fail(Errc::internal, "data_version exists only on SQLite", "store");
  int64_t v = 0;
  FW_TRY_STATUS(query_one("PRAGMA data_version", {}, "data_version", [&](const Row& r) -> Status {
    v = r.i64(0);
    return {};
  }));
  return v;
}

Status SqlTx::put_agent_credential(std::string_view credential_hash, std::string_view device_id, Time at) {
  FW_TRY_STATUS(exec("INSERT INTO agent_credentials (credential_hash, device_id, created_at, revoked_at) "
                     "VALUES (?, ?, ?, NULL)",
                     {credential_hash, device_id, at}));
  return {};
}

Result<std::string> SqlTx::find_agent_credential(std::string_view credential_hash) {
  std::string dev;
  FW_TRY_STATUS(query_one("SELECT device_id FROM agent_credentials WHERE credential_hash = ? AND revoked_at IS NULL",
                          {credential_hash}, "device credential", [&](const Row& r) -> Status {
                            dev = r.text(0);
                            return {};
                          }));
  return dev;
}

Result<int64_t> SqlTx::revoke_agent_device(std::string_view device_id, Time at) {
  FW_TRY(auto rows, exec("UPDATE agent_devices SET revoked_at = ? WHERE device_id = ? AND revoked_at IS NULL",
                         {at, device_id}));
  if (rows == 0) FW_TRY_STATUS(get_agent_device(device_id));  // not_found when not enrolled
  FW_TRY(auto n, exec("UPDATE agent_credentials SET revoked_at = ? WHERE device_id = ? AND revoked_at IS NULL",
                      {at, device_id}));
  return n;
}

Status SqlTx::apply_agent_report(const AgentReportWrite& w, std::string_view device_id, Time now) {
  if (w.facts_changed) {
    if (!w.device) return fail(Errc::internal, "apply_agent_report: facts_changed without a device", "device");
    const model::Device& d = *w.device;
    // The same search key as put_device (tx_inventory.cpp): id, model, vendor, folded.
    std::string key = fold_case(device_id) + "\n" + fold_case(d.model) + "\n" + fold_case(d.vendor);
    std::string facts = d.facts_json.empty() ? std::string("{}") : d.facts_json;
    // Only the columns whose value changed are SET: SQLite rewrites the entries of every
    // index on a column named in the SET list (devices has ten such indexes and a search
    // trigger), and a typical changed report changes facts_json alone. The statement text
    // per set of columns is prepared once per connection.
    constexpr size_t kCols = 9;
    static constexpr std::string_view kNames[kCols] = {"source", "os_family", "os_version", "vendor",    "model",
                                                        "type",   "managed",   "facts_json", "search_key"};
    const std::array<Param, kCols> want = {model::to_string(d.source), d.os_family, d.os_version, d.vendor, d.model,
                                           model::to_string(d.type),   d.managed,   facts,        key};
    std::array<bool, kCols> differs{};
    FW_TRY_STATUS(query_one("SELECT source, os_family, os_version, vendor, model, type, managed, facts_json, search_key "
                            "FROM devices WHERE id = ?",
                            {device_id}, "device " + std::string(device_id), [&](const Row& r) -> Status {
                              for (size_t i = 0; i < kCols; ++i)
                                differs[i] = i == 6 ? r.i64(6) != want[6].i : r.text(int(i)) != want[i].s;
                              return {};
                            }));
    std::string sql = "UPDATE devices SET last_seen = ?";
    std::vector<Param> ps{Param(now)};
    for (size_t i = 0; i < kCols; ++i)
      if (differs[i]) {
        sql += ", ";
        sql += kNames[i];
        sql += " = ?";
        ps.push_back(want[i]);
      }
    sql += " WHERE id = ?";
    ps.push_back(Param(device_id));
    FW_TRY(auto n, exec(sql, std::span<const Param>(ps)));
    if (n == 0) return fail(Errc::not_found, "device " + std::string(device_id) + " not found");
  } else if (w.touch_seen) {
    FW_TRY(auto n, exec("UPDATE devices SET last_seen = ? WHERE id = ?", {now, device_id}));
    if (n == 0) return fail(Errc::not_found, "device " + std::string(device_id) + " not found");
  }
  if (!w.apps_changed) return {};
  if (!w.device) return fail(Errc::internal, "apply_agent_report: apps_changed without a device", "device");
  // Multiset difference on (id, name, version): unchanged rows stay; rows no longer reported
  // are deleted; new ones are appended after the highest position.
  using Key = std::tuple<std::string, std::string, std::string>;
  std::multimap<Key, int64_t> stored;
  int64_t max_pos = -1;
  FW_TRY_STATUS(query("SELECT pos, app_id, name, version FROM device_apps WHERE device_id = ?", {device_id},
                      [&](const Row& r) -> Status {
                        int64_t pos = r.i64(0);
                        max_pos = std::max(max_pos, pos);
                        stored.emplace(Key{r.text(1), r.text(2), r.text(3)}, pos);
                        return {};
                      }));
  std::vector<const model::App*> added;
  for (const auto& a : w.device->apps) {
    auto it = stored.find(Key{a.id, a.name, a.version});
    if (it != stored.end()) stored.erase(it);
    else added.push_back(&a);
  }
  for (const auto& [k, pos] : stored)
    FW_TRY_STATUS(exec("DELETE FROM device_apps WHERE device_id = ? AND pos = ?", {device_id, pos}));
  // New rows in multi-row INSERTs: a first report's ~100 apps take a few statements.
  return insert_rows("INSERT INTO device_apps (device_id, pos, app_id, name, version) VALUES ", 5, added.size(),
                     [&](size_t i, std::vector<Param>& ps) {
                       const model::App* a = added[i];
                       ps.insert(ps.end(), {Param(device_id), Param(++max_pos), Param(a->id), Param(a->name),
                                            Param(a->version)});
                     });
}

Result<std::string> SqlTx::get_device_facts_json(std::string_view device_id) {
  std::string out;
  FW_TRY_STATUS(query_one("SELECT facts_json FROM devices WHERE id = ?", {device_id}, "device " + std::string(device_id),
                          [&](const Row& r) -> Status {
                            out = r.text(0);
                            return {};
                          }));
  return out;
}

Result<std::vector<model::App>> SqlTx::get_device_apps(std::string_view device_id) {
  std::vector<model::App> out;
  FW_TRY_STATUS(query("SELECT app_id, name, version FROM device_apps WHERE device_id = ? ORDER BY pos", {device_id},
                      [&](const Row& r) -> Status {
                        out.push_back(model::App{r.text(0), r.text(1), r.text(2)});
                        return {};
                      }));
  return out;
}

Status SqlTx::put_agent_command(const AgentCommand& c) {
  FW_TRY_STATUS(exec("INSERT INTO agent_commands (" + std::string(kCommandCols) +
                         ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                         "device_id = excluded.device_id, type = excluded.type, payload_json = excluded.payload_json, "
                         "created_by = excluded.created_by, created_at = excluded.created_at, state = excluded.state, "
                         "sent_at = excluded.sent_at, finished_at = excluded.finished_at, "
                         "result_json = excluded.result_json",
                     {c.id, c.device_id, c.type, c.payload_json, c.created_by, c.created_at, c.state,
                      time_or_null(c.sent_at), time_or_null(c.finished_at), c.result_json}));
  return {};
}

Result<AgentCommand> SqlTx::get_agent_command(std::string_view id) {
  AgentCommand c;
  FW_TRY_STATUS(query_one("SELECT " + std::string(kCommandCols) + " FROM agent_commands WHERE id = ?", {id},
                          "command " + std::string(id), [&](const Row& r) -> Status {
                            c = command_from(r);
                            return {};
                          }));
  return c;
}

Result<std::vector<AgentCommand>> SqlTx::list_agent_commands(std::string_view device_id, bool open_only, int limit) {
  std::vector<AgentCommand> out;
  std::string sql = "SELECT " + std::string(kCommandCols) + " FROM agent_commands WHERE device_id = ?";
  if (open_only) sql += " AND state IN ('queued', 'sent')";
  sql += " ORDER BY created_at, id LIMIT ?";
  FW_TRY_STATUS(query(sql, {device_id, clamp_limit(limit)}, [&](const Row& r) -> Status {
    out.push_back(command_from(r));
    return {};
  }));
  return out;
}

}  // namespace fw::store::sql
