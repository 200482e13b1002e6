// SqlTx: sightings of clients in access logs, merged by (user, fingerprint).
// Used by the one thread that runs the transaction.
#include <string>

#include "store/sql/tx.h"

namespace fw::store::sql {

namespace {
constexpr std::string_view kSightingCols =
    "user_name, fingerprint, person_id, device_id, user_agent, activesync_id, client_ip, os_family, os_version, "
    "vendor, model, type, first_seen, last_seen, count";
}  // namespace

const std::string_view kSightingColumns = kSightingCols;

model::Sighting sighting_from_row(const Row& r) {
  model::Sighting s;
  s.user = r.text(0);
  s.fingerprint = r.text(1);
  s.person_id = r.text(2);
  s.device_id = r.text(3);
  s.user_agent = r.text(4);
  s.activesync_id = r.text(5);
  s.client_ip = r.text(6);
  s.os_family = r.text(7);
  s.os_version = r.text(8);
  s.vendor = r.text(9);
  s.model = r.text(10);
  s.type = model::parse_device_type(r.text(11)).value_or(model::DeviceType::other);
  s.first_seen = r.time(12);
  s.last_seen = r.time(13);
  s.count = r.i64(14);
  return s;
}

Status SqlTx::put_sightings(const std::vector<model::Sighting>& ss) {
  for (const auto& s : ss) {
    if (s.user.empty() || s.fingerprint.empty())
      return fail(Errc::invalid_argument, "sighting needs a user and a fingerprint", "sighting");
    // Merge: counts add up, first_seen takes the minimum, last_seen the maximum, the rest is
    // replaced (CASE rather than MIN/LEAST, which the two engines spell differently).
    FW_TRY_STATUS(exec(
        "INSERT INTO sightings (" + std::string(kSightingCols) +
            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (user_name, fingerprint) DO UPDATE SET person_id = excluded.person_id, "
            "device_id = excluded.device_id, user_agent = excluded.user_agent, "
            "activesync_id = excluded.activesync_id, client_ip = excluded.client_ip, "
            "os_family = excluded.os_family, os_version = excluded.os_version, vendor = excluded.vendor, "
            "model = excluded.model, type = excluded.type, "
            "first_seen = CASE WHEN excluded.first_seen < sightings.first_seen THEN excluded.first_seen "
            "ELSE sightings.first_seen END, "
            "last_seen = CASE WHEN excluded.last_seen > sightings.last_seen THEN excluded.last_seen "
            "ELSE sightings.last_seen END, "
            "count = sightings.count + excluded.count",
        {s.user, s.fingerprint, s.person_id, s.device_id, s.user_agent, s.activesync_id, s.client_ip, s.os_family,
         s.os_version, s.vendor, s.model, model::to_string(s.type), s.first_seen, s.last_seen, s.count}));
  }
  return {};
}

Result<std::vector<model::Sighting>> SqlTx::list_sightings(std::string_view device_id, std::string_view person_id,
                                                           int limit) {
  std::string sql = "SELECT " + std::string(kSightingCols) + " FROM sightings";
  std::vector<Param> ps;
  std::string where;
  if (!device_id.empty()) {
    where = " WHERE device_id = ?";
    ps.emplace_back(device_id);
  }
  if (!person_id.empty()) {
    where += where.empty() ? " WHERE " : " AND ";
    where += "person_id = ?";
    ps.emplace_back(person_id);
  }
  ps.emplace_back(clamp_limit(limit));
  std::vector<model::Sighting> out;
  FW_TRY_STATUS(query(sql + where + " ORDER BY last_seen DESC, user_name, fingerprint LIMIT ?", ps,
                      [&](const Row& r) -> Status {
                        out.push_back(sighting_from_row(r));
                        return {};
                      }));
  return out;
}

}  // namespace fw::store::sql
