// Evaluation of devices against the active policies, recording findings and their history.
// Runs when a device changes (evaluate_device), when a policy changes (evaluate_all with its
// id) and on a schedule (evaluate_all: time passes, exemptions expire, deadlines arrive).
// Only findings whose status, detail or owner changed are written; each status change also
// goes into the history (store::FindingChange), so any past day can be reconstructed. A rule
// that does not apply to a device (its `when` is false, or the owner is outside the scope) is
// stored as pass with detail "not_applicable" only when it replaces an earlier result.
// Thread-safe (runs its own transactions); a Clock decides "now" (see policy_now()).
#pragma once

#include <string_view>

#include "store/store.h"
#include "util/error.h"
#include "util/time.h"

namespace fw::service {

struct EvalStats {
  int64_t devices = 0;      // devices evaluated
  int64_t evaluations = 0;  // device x rule results computed
  int64_t written = 0;      // findings written (new or changed)
  int64_t changes = 0;      // status changes recorded in the history
  int64_t unknown = 0;      // results that could not be decided (evaluation errors)
};

// Every device against every active document (or only `policy_id`), at policy_now().
Result<EvalStats> evaluate_all(store::Store& s, const Clock& clock, std::string_view policy_id = "");
// One device against every active document; not_found if the device does not exist.
Result<EvalStats> evaluate_device(store::Store& s, const Clock& clock, std::string_view device_id);

// The same at an explicit time, for the demo's simulated history and for tests.
Result<EvalStats> evaluate_all_at(store::Store& s, Time now, std::string_view policy_id = "");

}  // namespace fw::service
