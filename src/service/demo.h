// The demo organisation behind `fleetward demo`: a central administration with four
// departments, ten regional offices, about 2,000 people with managers and about 2,600
// devices with an early-2023 platform mix (iOS 14-16, iPadOS, Android 9-13 from Samsung,
// Xiaomi, Huawei, Honor, realme..., HarmonyOS 2-3, a few Aurora OS phones, desktops), some
// with Zoom or TrueConf. generate_demo() is pure and deterministic: the same options give
// the same data on every machine, whatever the wall clock. The names people read (units,
// people, job titles, policy titles) are in DemoOptions::lang; everything else (ids, paths,
// logins, e-mail addresses, devices) is the same in both languages for the same seed.
// Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/model.h"
#include "policy/policy.h"
#include "store/store.h"
#include "util/error.h"
#include "util/time.h"

namespace fw::service {

struct DemoOptions {
  int devices = 2600;     // people scale with it: round(devices * 2000 / 2600), at least 20
  uint64_t seed = 1;
  // The organisation's language: names of units, people and job titles, the policies'
  // titles, and the setting org.lang that reports and the dashboard default to.
  policy::Lang lang = policy::Lang::ru;
  // The demo's "today": every first/last-seen time is placed before it. Early 2023.
  Time now = from_unix(1677650400);  // 2023-03-01T06:00:00Z (09:00 Moscow)
  // Told what build_demo is doing before each step ("campaign history: day 3 of 28"), on
  // the caller's thread; empty: silent. Does not change the data.
  std::function<void(const std::string& step)> progress;
};

struct DemoData {
  std::vector<model::OrgUnit> units;  // parents before children
  std::vector<model::Person> people;  // managers before the people they manage
  std::vector<model::Device> devices; // by id
};

// Builds the organisation in memory. Deterministic for (devices, seed, now).
// devices is clamped to [1, 1000000].
DemoData generate_demo(const DemoOptions& opts);

struct DemoSummary {
  size_t units = 0, people = 0, devices = 0;
};

// Writes generate_demo(opts) into the store in one transaction (an audit event per entity,
// actor "demo", at opts.now; the setting org.lang = opts.lang), then calls
// run_demo_extensions. The store should be empty: already_exists if a demo entity is there. On failure the inventory transaction is
// rolled back; what an extension wrote in its own transactions stays.
Result<DemoSummary> build_demo(store::Store& store, const DemoOptions& opts, const Clock& clock);

// Extension point: everything the demo does after the inventory is written (policies,
// campaigns, simulated history...). Defined in demo_steps.cpp, one call per area.
Status run_demo_extensions(store::Store& store, const DemoOptions& opts, const DemoData& data, const Clock& clock);

}  // namespace fw::service
