// Ingest sightings use case: aggregated access-log sightings (detect::Aggregator) become
// unmanaged devices in the inventory (source "log"), attributed to people by login or
// e-mail. A sighting's device id is derived from (user, fingerprint), so later sightings
// of the same client update that device instead of creating another; a sighting whose
// ActiveSync device id is in the imported Exchange export (service/exchange.h) lands on the
// device that import resolved or created, and takes its OS from there when the User-Agent
// cannot tell (Outlook-iOS-Android). One transaction per call (all-or-nothing).
// Thread-safe (the Store is).
// Failure: the store's error (io_error, conflict, ...); nothing is written then.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "detect/detect.h"
#include "model/model.h"
#include "service/evaluate.h"
#include "store/store.h"
#include "util/error.h"

namespace fw::service {

struct SightingOptions {
  std::vector<std::string> strip_domains;  // "example.org" -> "ivanov@example.org" is login "ivanov"; "*" = any
  std::string actor = "cli:discover";      // written into the audit events
  // Time of the batch's audit event ("sightings.ingest"); epoch = the newest last_seen.
  Time now{};
  // When set, each sighting's User-Agent is classified again to fill the device's may_be
  // (Outlook-iOS-Android, desktop-Safari iPads, Gecko 78), which Sighting does not carry.
  std::shared_ptr<const detect::Classifier> classifier;
};

struct SightingResult {
  size_t devices_created = 0, devices_updated = 0, sightings_stored = 0;
  size_t resolved_by_exchange = 0;              // sightings whose OS came from the Exchange export
  std::vector<std::string> device_ids;          // devices created or updated (sorted, unique)
  std::vector<std::string> unattributed_users;  // user names no person matched (sorted, unique)
};

// The stable device id of a sighting: "log-" + 16 hex of a hash of (normalized user, fingerprint).
std::string sighting_device_id(const model::Sighting& s, const std::vector<std::string>& strip_domains);

Result<SightingResult> ingest_sightings(store::Store& store, std::vector<model::Sighting> sightings,
                                        const SightingOptions& opts);

// Evaluates after an ingest or import, for callers with no background evaluation queue.
// full (the CLI: discover, import-exchange): evaluate_all, which also refreshes the campaign
// report aggregates that `fleetward report` reads, so the new devices show at once.
// !full (the HTTP routes): only `ids` (evaluate_devices; missing ids skipped); the report
// aggregates follow at the next full evaluation (serve runs them periodically).
// Failure: the first store error.
Result<EvalStats> evaluate_ingested(store::Store& store, const Clock& clock, const std::vector<std::string>& ids,
                                    bool full = true);

}  // namespace fw::service
