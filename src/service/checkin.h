// Agent enrolment and check-in (docs/agent-protocol.md), the server side of fleetward-agent.
// AgentService validates a request on the caller's thread (limits, credential, rate), then
// hands a check-in to its group-commit writer: one thread that applies every check-in
// waiting at that moment in ONE store transaction and acknowledges each only after that
// transaction committed. AgentService is thread-safe; checkin() blocks its caller until
// the commit (or the error) of its batch.
//
// Storage: until the store has agent tables, enrolment secrets, device credentials and the
// per-device report sequence live in the store's settings table under "agent.*" keys
// (documented in docs/agent-protocol.md, "Server storage"). Commands are not stored yet:
// answers carry no commands.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

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
  // audit event), its credential hash, and consumes one use, in one transaction.
  Result<boost::json::object> enroll(std::string_view body);

  // POST /api/v1/agent/checkin: the bearer credential and the body -> the answer object,
  // returned only after the report is durable. Errors: unauthenticated (bad credential, or
  // device_id not the credential's device), rate_limited, too_large / parse_error /
  // invalid_argument naming the field, conflict for a delta whose base_seq is not the last
  // stored seq. Any error: nothing changed.
  Result<boost::json::object> checkin(std::string_view bearer, std::string_view body);

  // Counters for /metrics and tests.
  struct Stats {
    uint64_t checkins = 0;   // acknowledged
    uint64_t batches = 0;    // committed transactions
    uint64_t duplicates = 0;
  };
  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fw::service
