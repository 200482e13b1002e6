// Agent enrolment and check-in (docs/agent-protocol.md), the server side of fleetward-agent.
// AgentService validates a request on the caller's thread (limits, credential from an
// in-memory cache, rate), then hands it to its group-commit writer: one thread that applies
// every enrolment and check-in waiting at that moment in ONE store transaction and
// acknowledges each only after that transaction committed. AgentService is thread-safe.
// checkin_async()/enroll_async() never block: the callback runs once, on the caller's thread
// for a refusal found before queuing, else on the writer thread after the commit;
// checkin()/enroll() block until then. The writer logs (spdlog info) its batch figures every
// 5 s of activity and when it stops: batch size, SQL and COMMIT (fsync) times, busy share,
// queue wait (bench/checkin_load/run.sh prints them per phase).
//
// Storage: the agent tables of migration 0005 (Tx::*agent*). A check-in whose facts did not
// change writes one row: on SQLite a heartbeat (nothing but seq and time changed) appends a
// row to the check-in log (migration 0013), which the writer folds into agent_devices later
// (so agent_devices.last_seq / last_checkin may lag: the exact value is the larger of the
// row's and its log rows'; the log is folded whole by the writer's first batch and at a
// clean stop); other unchanged reports update the agent_devices row. Changed facts rewrite
// the changed columns of the device row, changed apps only the app rows that differ.
// Commands queued by admins go out in check-in answers.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"
#include "util/error.h"
#include "util/time.h"

namespace fw::service {

struct AgentLimits {
  size_t max_body = 1u << 20;      // bytes (413)
  size_t max_apps = 5000;          // entries of facts.apps (413)
  size_t max_string = 4096;        // bytes of any string value (413)
  int max_depth = 8;               // JSON nesting (400)
  size_t max_results = 100;        // command_results entries (413)
  double rate_per_s = 0.1;         // sustained check-ins per device (429 above)
  double burst = 5;                // bucket size
  int checkin_interval_s = 900;    // next_checkin_s in answers
  size_t max_batch = 1024;         // check-ins per group commit
  int log_fold_period_ms = 30'000; // SQLite: heartbeats logged this long are folded into agent_devices
};

// A new enrolment secret: the text is shown once; only its SHA-256 is stored.
struct NewEnrollSecret {
  std::string secret;  // "es_<48 hex>"
  std::string org_unit_path;
  Time expires_at{};
  int64_t max_uses = 0;
};

class AgentService {
 public:
  AgentService(store::Store& store, const Clock& clock, AgentLimits limits = {});
  ~AgentService();  // stops the writer after it has finished the batches already queued
  AgentService(const AgentService&) = delete;
  AgentService& operator=(const AgentService&) = delete;

  // Creates a secret for an org unit (which must exist: not_found otherwise), valid until
  // expires_at (must be in the future) for max_uses enrolments (1..1,000,000). Audited as
  // "agent.enroll_secret.create" (without the secret).
  Result<NewEnrollSecret> create_enroll_secret(std::string_view actor, std::string_view org_unit_path,
                                               Time expires_at, int64_t max_uses);

  // POST /api/v1/agent/enroll: the request body -> the answer object. unauthenticated for an
  // unknown, expired or used-up secret (the message says which), invalid_argument /
  // parse_error / too_large naming the field for a bad body. Writes the device ("device.create"
  // audit event), its credential hash, and consumes one use of the secret, through the
  // group-commit writer (many enrolments and check-ins per transaction; the use limit stays
  // exact: only the writer counts uses). Returns after the commit.
  Result<boost::json::object> enroll(std::string_view body);
  // The same without blocking; `done` as for checkin_async.
  using CheckinDone = std::function<void(Result<boost::json::object>)>;
  void enroll_async(std::string_view body, CheckinDone done);

  // POST /api/v1/agent/checkin: the bearer credential and the body -> the answer object,
  // returned only after the report is durable. Errors: unauthenticated (bad credential, or
  // device_id not the credential's device), rate_limited, too_large / parse_error /
  // invalid_argument naming the field, conflict for a delta whose base_seq is not the last
  // stored seq. Any error: nothing changed.
  Result<boost::json::object> checkin(std::string_view bearer, std::string_view body);

  // The same check-in without blocking: `done` is called exactly once with the answer or the
  // error (see the file comment for the thread). `done` must be quick and must not call back
  // into this AgentService's checkin; it may post work elsewhere.
  void checkin_async(std::string_view bearer, std::string_view body, CheckinDone done);

  // Called on the writer thread after each committed batch with the ids of the devices whose
  // facts changed in it (heartbeats and duplicates are left out), so that policy evaluation
  // can run elsewhere (the server wires it to service::EvalQueue::mark_dirty). Must be quick.
  // Set once before the first check-in (not synchronised with running batches).
  void set_on_committed(std::function<void(const std::vector<std::string>&)> fn);

  // Commands for a device (docs/agent-protocol.md, "Commands"): type is one of refresh,
  // message {text}, remove-app {app_id}, install-app {app_id, version?}, lock, wipe; args
  // is checked per type (invalid_argument naming the field). lock and wipe need
  // `may_lock_wipe` (an admin token; permission_denied otherwise). not_found for a device
  // that is not enrolled, conflict for a revoked one. Audited as "device.command" (lock and
  // wipe as "device.command.lock"/".wipe"). The command goes out in the device's next
  // check-in answers until its result arrives.
  Result<store::AgentCommand> queue_command(std::string_view actor, bool may_lock_wipe, std::string_view device_id,
                                            std::string_view type, const boost::json::object& args);
  // The device's commands, oldest first (at most 1,000); not_found if not enrolled.
  Result<std::vector<store::AgentCommand>> list_commands(std::string_view device_id);
  // Revokes the device's credentials: its next check-in gets 401 "device credential revoked".
  // Audited as "device.revoke". not_found if not enrolled; already revoked is not an error.
  Status revoke(std::string_view actor, std::string_view device_id);

  // Counters for /metrics and tests.
  struct Stats {
    uint64_t checkins = 0;   // acknowledged
    uint64_t batches = 0;    // committed transactions
    uint64_t duplicates = 0;
    uint64_t unchanged = 0;  // acknowledged reports that changed no fact (one row written)
    uint64_t enrolments = 0; // committed
  };
  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fw::service
