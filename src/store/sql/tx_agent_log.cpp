// SqlTx methods for the check-in log (migration 0013): SQLite's check-in writer appends
// heartbeats here (short rows on consecutive pages) and folds them into agent_devices in
// device order later (service/checkin.cpp). Portable SQL (UPDATE ... FROM needs SQLite 3.33).
// A SqlTx belongs to the thread running the transaction callback.
#include "store/sql/tx.h"

namespace fw::store::sql {

Status SqlTx::log_agent_heartbeats(std::span<const AgentHeartbeat> rows) {
  return insert_rows("INSERT INTO agent_checkin_log (id, device_id, seq, at) VALUES ", 4, rows.size(),
                     [&](size_t i, std::vector<Param>& ps) {
                       const AgentHeartbeat& h = rows[i];
                       ps.insert(ps.end(), {Param(h.id), Param(h.device_id), Param(h.seq), Param(h.at)});
                     });
}

Status SqlTx::fold_agent_heartbeats(std::span<const AgentHeartbeat> rows) {
  for (const AgentHeartbeat& h : rows) {
    FW_TRY(auto n, exec("UPDATE agent_devices SET "
                        "last_seq = CASE WHEN last_seq < ? THEN ? ELSE last_seq END, "
                        "last_checkin = CASE WHEN last_checkin IS NULL OR last_checkin < ? THEN ? ELSE last_checkin END "
                        "WHERE device_id = ? AND (last_seq < ? OR last_checkin IS NULL OR last_checkin < ?)",
                        {h.seq, h.seq, h.at, h.at, h.device_id, h.seq, h.at}));
    (void)n;  // 0: already as new, or the device is gone
  }
  return {};
}

Status SqlTx::delete_agent_log(int64_t after_id, int64_t upto_id) {
  if (upto_id <= after_id) return {};
  FW_TRY(auto n, exec("DELETE FROM agent_checkin_log WHERE id > ? AND id <= ?", {after_id, upto_id}));
  (void)n;
  return {};
}

Result<int64_t> SqlTx::fold_agent_log_all() {
  int64_t high = 0;
  FW_TRY_STATUS(query_one("SELECT COALESCE(MAX(id), 0) FROM agent_checkin_log", {}, "check-in log",
                          [&](const Row& r) -> Status {
                            high = r.i64(0);
                            return {};
                          }));
  if (high == 0) return high;
  FW_TRY(auto n, exec("UPDATE agent_devices SET "
                      "last_seq = CASE WHEN last_seq < l.s THEN l.s ELSE last_seq END, "
                      "last_checkin = CASE WHEN last_checkin IS NULL OR last_checkin < l.a THEN l.a ELSE last_checkin END "
                      "FROM (SELECT device_id, MAX(seq) AS s, MAX(at) AS a FROM agent_checkin_log GROUP BY device_id) AS l "
                      "WHERE agent_devices.device_id = l.device_id",
                      {}));
  (void)n;
  FW_TRY(auto d, exec("DELETE FROM agent_checkin_log WHERE id <= ?", {high}));
  (void)d;
  return high;
}

}  // namespace fw::store::sql
