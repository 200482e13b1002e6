// The background re-evaluation queue of `fleetward serve`: one worker thread that evaluates
// devices a short moment after they change (mark_dirty, coalesced and deduplicated), runs a
// full evaluation every `interval`, and exactly when the next campaign schedule point, deadline
// or exemption expiry arrives, so that time passing flips findings by itself.
// Thread-safety: every public method may be called from any thread (one mutex guards the
// queue); mark_dirty/mark_people_dirty/request_full never block on the store.
//
// Use (serve):  EvalQueue q(store, clock); q.start(); services.eval = &q; ... q.stop();
// Producers (route handlers, the check-in writer after each committed batch, sightings):
//   if (services.eval) services.eval->mark_dirty(device_ids);   // cheap, non-blocking
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "store/store.h"
#include "util/error.h"
#include "util/time.h"

namespace fw::service {

struct EvalQueueOptions {
  // A full evaluation at least this often (by the Clock); 0 = only on schedule points.
  Seconds interval{15 * 60};
  // How long the worker waits after the first mark of a batch, so that a burst of changes
  // (a check-in batch, an import) becomes one evaluation.
  std::chrono::milliseconds coalesce{200};
  // Devices per evaluation call (and per transaction); shutdown is checked between calls.
  size_t batch = 500;
  // At most this many device ids + person ids wait; one more degrades the queue to "full
  // evaluation needed" (and drops the ids), so memory stays bounded under any burst.
  size_t max_pending = 100000;
  // The longest the worker sleeps without looking at the clock: catches a clock moved by hand
  // (tests, the `clock.now` setting) and policies or exemptions changed by another process.
  std::chrono::milliseconds poll{10000};
  // Re-read the active campaigns and exemptions for the next time point at least this often.
  std::chrono::milliseconds replan{60000};
  // A full evaluation when the worker starts (deadlines may have passed while it was down).
  bool full_at_start = true;
};

// A snapshot of the queue for /metrics and logs.
struct EvalQueueStats {
  int64_t queued = 0;             // device ids waiting
  int64_t people_queued = 0;      // person ids waiting (their devices get evaluated)
  bool full_pending = false;      // a full evaluation is requested or due
  bool running = false;           // an evaluation is in progress
  int64_t marked = 0;             // ids accepted by mark_* (after deduplication)
  int64_t batches = 0;            // batch runs completed
  int64_t devices_evaluated = 0;  // devices evaluated by batch runs
  int64_t full_runs = 0;          // full evaluations completed
  int64_t full_devices = 0;       // devices evaluated by full runs
  int64_t scheduled_runs = 0;     // full runs started because a time point arrived
  int64_t overflows = 0;          // times max_pending was reached (degraded to a full run)
  int64_t abandoned = 0;          // ids dropped at shutdown
  int64_t errors = 0;             // failed evaluations (logged; the worker keeps going)
  std::optional<Time> last_run;       // end of the last batch or full run (Clock time)
  std::optional<Time> last_full_run;  // end of the last full run (Clock time)
  double last_full_seconds = 0;       // its wall duration
  std::string last_error;             // "" = none yet
  std::optional<Time> last_error_at;
  std::optional<Time> next_point;     // next time point (policy time), if any
  std::string next_point_label;       // "replace-ios deadline", "exemption ex-1 expires"
};

// The next instant after `after` at which time alone can change a finding: for every active
// campaign its start, deadline, deadline + grace and every point of its schedule (campaign-wide,
// as for a person failing from the start), and every exemption's expiry. nullopt when none.
// `label` (optional) receives what the point is. Reads in `tx`; pure otherwise.
Result<std::optional<Time>> next_time_point(store::Tx& tx, Time after, std::string* label = nullptr);

// Asks a running `fleetward serve` on the same database (another process) for one full
// evaluation soon, by counting up the setting "eval.full_requests"; its queue notices within
// `poll`. For commands that change the inventory in bulk outside the server (import, discover).
Status request_full_evaluation(store::Store& s);

class EvalQueue {
 public:
  EvalQueue(store::Store& store, const Clock& clock, EvalQueueOptions opts = {});
  ~EvalQueue();  // stop()
  EvalQueue(const EvalQueue&) = delete;
  EvalQueue& operator=(const EvalQueue&) = delete;

  // Starts the worker thread. Once; a second call does nothing.
  void start();
  // Stops the worker: a batch call in progress finishes (each call is its own transaction),
  // a full run in progress finishes, the rest of the queue is abandoned (counted). Idempotent;
  // returns when the thread has ended.
  void stop();

  // The devices changed (created, updated, checked in, seen in a log); evaluate them soon.
  // Deleted or unknown ids are skipped when evaluated. Cheap: takes the mutex, no store access.
  void mark_dirty(std::span<const std::string> device_ids);
  void mark_dirty(std::string_view device_id);
  // The people changed (org unit, manager): evaluate every device they own.
  void mark_people_dirty(std::span<const std::string> person_ids);
  // Everything may have changed (an import, an org-unit move): one full evaluation soon.
  void request_full();
  // Policies or exemptions changed: recompute the next time point now (no evaluation).
  void replan();
  // Look at the clock now (after a test clock was moved).
  void wake();

  EvalQueueStats stats() const;
  // Blocks until nothing is queued or running, or `timeout` passes; true when idle. For tests
  // and for callers that want read-your-writes.
  bool wait_idle(std::chrono::milliseconds timeout);

 private:
  void run();
  // Adds ids to `into` (devices_ or people_), or degrades to one full run past max_pending.
  void mark(std::span<const std::string> ids, std::unordered_set<std::string>& into);
  bool idle_locked() const;
  void evaluate_batch(std::vector<std::string> devices, std::vector<std::string> people);
  bool evaluate_full(bool scheduled);  // false on error (logged, counted)
  void plan(Time after);  // the next time point after `after` into stats_
  void note_error(const std::string& what, const Error& e);

  store::Store& store_;
  const Clock& clock_;
  const EvalQueueOptions opts_;

  mutable std::mutex mu_;
  std::condition_variable cv_;       // wakes the worker
  std::condition_variable idle_cv_;  // wakes wait_idle
  std::unordered_set<std::string> devices_;  // guarded by mu_
  std::unordered_set<std::string> people_;   // guarded by mu_
  bool full_ = false;                        // guarded by mu_
  bool replan_ = true;                       // guarded by mu_
  bool stop_ = false;                        // guarded by mu_
  bool started_ = false;                     // guarded by mu_
  bool kicked_ = false;                      // guarded by mu_ (wake())
  std::optional<std::chrono::steady_clock::time_point> first_mark_;  // guarded by mu_
  EvalQueueStats stats_;                     // guarded by mu_
  std::thread worker_;
};

}  // namespace fw::service
