// Ingest sightings: attribute each aggregated sighting to a person, upsert its unmanaged
// device (source log) and store the sighting. See sightings.h for the contract.
#include "service/sightings.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "detect/detect.h"
#include "service/inventory.h"
#include "util/strings.h"

namespace fw::service {

std::string sighting_device_id(const model::Sighting& s, const std::vector<std::string>& strip_domains) {
  std::string key = detect::normalize_user(s.user, strip_domains) + "|" + s.fingerprint;
  char buf[32];
  std::snprintf(buf, sizeof buf, "log-%016llx", static_cast<unsigned long long>(fnv1a64(key)));
  return buf;
}

Result<SightingResult> ingest_sightings(store::Store& store, std::vector<model::Sighting> sightings,
                                        const SightingOptions& opts) {
  SightingResult res;
  std::set<std::string> unattributed;
  Status st = store.write([&](store::Tx& tx) -> Status {
    res = SightingResult{};
    unattributed.clear();
    Change change{opts.actor, {}};
    for (auto& s : sightings) {
      std::string login = detect::normalize_user(s.user, opts.strip_domains);
      s.person_id.clear();
      if (!login.empty()) {
        auto p = tx.find_person(login);
        if (!p && p.error().code == Errc::not_found && s.user.find('@') != std::string::npos)
          p = tx.find_person(to_lower_ascii(trim(s.user)));
        if (p) s.person_id = p->id;
        else if (p.error().code != Errc::not_found) return fail(p.error());
        else unattributed.insert(std::string(trim(s.user)));
      }
      model::Device d;
      d.id = sighting_device_id(s, opts.strip_domains);
      auto cur = tx.get_device(d.id);
      if (cur) {
        d = *cur;
        d.first_seen = std::min(d.first_seen, s.first_seen);
        d.last_seen = std::max(d.last_seen, s.last_seen);
        if (!s.person_id.empty()) d.owner_id = s.person_id;
      } else if (cur.error().code != Errc::not_found) {
        return fail(cur.error());
      } else {
        d.owner_id = s.person_id;
        d.source = model::DeviceSource::log;
        d.managed = false;
        d.first_seen = s.first_seen;
        d.last_seen = s.last_seen;
      }
      if (!s.os_family.empty() || d.os_family.empty()) {
        d.os_family = s.os_family.empty() ? "Other" : s.os_family;
        d.os_version = s.os_version;
      }
      if (opts.classifier) {
        detect::ActiveSyncHints h;
        h.device_id = s.activesync_id;
        d.may_be = opts.classifier->classify(s.user_agent, h).may_be;
      }
      if (!s.vendor.empty()) d.vendor = s.vendor;
      if (!s.model.empty()) d.model = s.model;
      if (s.type != model::DeviceType::other || !cur) d.type = s.type;
      change.at = d.last_seen;
      FW_TRY_STATUS(put_device(tx, change, d, PutMode::upsert));
      if (cur) ++res.devices_updated;
      else ++res.devices_created;
    }
    FW_TRY_STATUS(tx.put_sightings(sightings));
    res.sightings_stored = sightings.size();
    return {};
  });
  if (!st) return fail(st.error());
  res.unattributed_users.assign(unattributed.begin(), unattributed.end());
  return res;
}

}  // namespace fw::service
