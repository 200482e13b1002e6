// Evaluation of devices against the active policies, recording findings and their history.
// Runs when a device changes (evaluate_device), when a policy changes (evaluate_all with its
// id) and on a schedule (evaluate_all: time passes, exemptions expire, deadlines arrive).
// Only findings whose status, detail or owner changed are written; each status change also
// goes into the history (store::FindingChange), so any past day can be reconstructed. A
// finding whose rule is no longer in an active document (rule removed, policy withdrawn) is
// deleted when its device is next evaluated, with a change to pass in the history if it was
// not passing. evaluate_all reads the fleet in device-id order in slices (devices, apps and the
// per (device, document) digest of the results its last evaluation stored, migration 0011) and
// evaluates on worker threads while the next slice is read; only a device whose new results'
// digest differs (or whose digest another write of its findings made unknown) has its findings
// read and compared, and its new digest is written with its findings (compare-and-set). A rule
// that does not apply to a device (its `when` is false, or the owner is outside the scope) is
// stored as pass with detail "not_applicable" only when it replaces an earlier result.
// Thread-safe (runs its own transactions); a Clock decides "now" (see policy_now()).
#pragma once

#include <string>
#include <string_view>
#include <vector>

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
  int64_t compared = 0;     // devices whose stored findings were read (evaluate_all: only those
                            // whose results differ from the digest of their last evaluation)
};

// Every device against every active document (or only `policy_id`), at policy_now().
Result<EvalStats> evaluate_all(store::Store& s, const Clock& clock, std::string_view policy_id = "");
// One device against every active document; not_found if the device does not exist.
Result<EvalStats> evaluate_device(store::Store& s, const Clock& clock, std::string_view device_id);
// These devices (any number; duplicates count once) against every active document, at
// policy_now(): loads the policies and exemptions once, then reads each device, its owner and
// its findings by key (never all people or all findings), in read transactions of 1,000 ids,
// writing each slice's changes before the next. An id that does not exist (any more) is
// skipped; other store errors stop the run (slices already written stay written).
Result<EvalStats> evaluate_devices(store::Store& s, const Clock& clock, const std::vector<std::string>& device_ids);

// The same at an explicit time, for the demo's simulated history and for tests.
Result<EvalStats> evaluate_all_at(store::Store& s, Time now, std::string_view policy_id = "");
// The same with `workers` evaluating threads (0 = one per core, as above), for the tests that
// check that the number of threads changes nothing, and for benchmarks.
Result<EvalStats> evaluate_all_at(store::Store& s, Time now, std::string_view policy_id, size_t workers);

}  // namespace fw::service
