// Ingest sightings: attribute each aggregated sighting to a person, upsert its unmanaged
// device (source log) and store the sighting. See sightings.h for the contract.
#include "service/sightings.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <set>

#include <fmt/format.h>

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
  std::set<std::string> unattributed, touched;
  Status st = store.write([&](store::Tx& tx) -> Status {
    res = SightingResult{};
    unattributed.clear();
    touched.clear();
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
      // The Exchange export, when it knows this ActiveSync id: its device, and its OS when
      // the User-Agent cannot tell.
      std::optional<store::ExchangeDevice> ex;
      if (!s.activesync_id.empty()) {
        auto e = tx.get_exchange_device(s.activesync_id);
        if (e) ex = std::move(*e);
        else if (e.error().code != Errc::not_found) return fail(e.error());
      }
      model::Device d;
      d.id = sighting_device_id(s, opts.strip_domains);
      if (ex && !ex->device_id.empty() && (ex->person_id.empty() || s.person_id.empty() || ex->person_id == s.person_id))
        d.id = ex->device_id;
      s.device_id = d.id;
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
      std::vector<std::string> may_be;
      if (opts.classifier) {
        detect::ActiveSyncHints h;
        h.device_id = s.activesync_id;
        may_be = opts.classifier->classify(s.user_agent, h).may_be;
      }
      // A family already resolved to one of the candidates (parsed sightings that carried
      // DeviceOS) is no longer ambiguous.
      if (!s.os_family.empty() && std::find(may_be.begin(), may_be.end(), s.os_family) != may_be.end())
        may_be.clear();
      bool unsure = s.os_family.empty() || s.os_family == "Other" || !may_be.empty();
      if (ex && unsure && !ex->os_family.empty()) {
        s.os_family = ex->os_family;
        s.os_version = ex->os_version;
        if (!ex->vendor.empty()) s.vendor = ex->vendor;
        if (!ex->model.empty()) s.model = ex->model;
        if (ex->type != model::DeviceType::other) s.type = ex->type;
        may_be.clear();
        ++res.resolved_by_exchange;
      } else if (ex) {
        if (s.vendor.empty()) s.vendor = ex->vendor;
        if (s.model.empty()) s.model = ex->model;
      }
      // A device known only from Exchange's export is now seen in a log: it becomes a log device.
      if (cur && cur->source == model::DeviceSource::exchange) d.source = model::DeviceSource::log;
      if (cur && cur->source != model::DeviceSource::log && cur->source != model::DeviceSource::exchange) {
        // Not ours to describe (an agent or an import owns it): only the times and owner move.
      } else {
        if (!s.os_family.empty() || d.os_family.empty()) {
          d.os_family = s.os_family.empty() ? "Other" : s.os_family;
          d.os_version = s.os_version;
        }
        if (opts.classifier || (ex && !ex->os_family.empty())) d.may_be = may_be;
        if (!s.vendor.empty()) d.vendor = s.vendor;
        if (!s.model.empty()) d.model = s.model;
        if (s.type != model::DeviceType::other || !cur) d.type = s.type;
      }
      change.at = d.last_seen;
      FW_TRY_STATUS(put_device(tx, change, d, PutMode::upsert));
      touched.insert(d.id);
      if (cur) ++res.devices_updated;
      else ++res.devices_created;
    }
    FW_TRY_STATUS(tx.put_sightings(sightings));
    res.sightings_stored = sightings.size();
    // One event for the batch besides the per-device ones: who fed what, and its outcome.
    model::AuditEvent e;
    e.at = opts.now;
    if (e.at == Time{})
      for (const auto& s : sightings) e.at = std::max(e.at, s.last_seen);
    e.actor = opts.actor;
    e.action = "sightings.ingest";
    e.entity = "sightings";
    e.after_json = fmt::format(R"({{"sightings":{},"devices_created":{},"devices_updated":{},"unattributed_users":{}}})",
                               res.sightings_stored, res.devices_created, res.devices_updated, unattributed.size());
    FW_TRY_STATUS(tx.append_audit(std::move(e)));
    return {};
  });
  if (!st) return fail(st.error());
  res.unattributed_users.assign(unattributed.begin(), unattributed.end());
  res.device_ids.assign(touched.begin(), touched.end());
  return res;
}

Result<EvalStats> evaluate_ingested(store::Store& store, const Clock& clock, const std::vector<std::string>& ids,
                                    bool full) {
  if (full) return evaluate_all(store, clock);  // also refreshes the campaign report aggregates
  if (ids.empty()) return EvalStats{};
  // Policies and exemptions are loaded once for the whole set; missing ids are skipped.
  return evaluate_devices(store, clock, ids);
}

}  // namespace fw::service
