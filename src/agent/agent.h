// fleetward-agent's public header: facts (agent/facts.h), enrolment and the check-in loop.
// Start here: Agent::run() is what `fleetward-agent run` does; everything it touches (the
// server, the state directory, the clock, sleeping, fact collection) is injected so tests
// drive it against a loopback HTTP server. Wire protocol: docs/agent-protocol.md.
// An Agent is used from one thread; request_stop() may be called from any thread or a signal.
#pragma once

#include <atomic>
#include <boost/json/object.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agent/executor.h"
#include "agent/facts.h"
#include "agent/state.h"
#include "agent/transport.h"
#include "util/error.h"
#include "util/time.h"

namespace fw::agent {

inline constexpr std::string_view kAgentVersion = FW_AGENT_VERSION;

// Exit codes of `fleetward-agent run`.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;        // usage, local I/O, or --once could not check in
inline constexpr int kExitRejected = 3;     // the server rejected the secret or credential (401/403)

// ---- pure pieces of the protocol (tested directly) ----

// Top-level keys whose values differ between old and now (changed or new), and keys of old
// missing from now, except "apps" when now has "apps_error" (unreadable, not uninstalled).
struct FactsDelta {
  boost::json::object changed;
  std::vector<std::string> removed;
};
FactsDelta diff_facts(const boost::json::object& old, const boost::json::object& now);

// Applies the protocol limits in place: at most 5,000 apps (sets "apps_truncated": true),
// strings cut to 4,096 bytes.
void apply_fact_limits(boost::json::object& facts);

struct CheckinAnswer {
  uint64_t ack_seq = 0;
  std::optional<int> next_checkin_s;
  bool full_report = false;
  std::vector<Command> commands;
};
// Parses a check-in answer; parse_error naming the field for a malformed one.
Result<CheckinAnswer> parse_checkin_answer(std::string_view body);
// The message of a JSON error body ({"error":{"message":...}}), else the raw text (cut).
std::string error_message(long status, std::string_view body);

// Delay before retry number `failures` (1, 2, ...): min(cap, base * 2^(failures-1)) scaled by
// a factor in [0.5, 1.0] from rand01 (in [0, 1)).
Seconds backoff_delay(int failures, double rand01, Seconds base = Seconds(5), Seconds cap = Seconds(900));
// The check-in interval with +-10 % jitter, clamped to 30..86400 s first.
Seconds jittered_interval(int interval_s, double rand01);

// ---- the agent ----

struct AgentOptions {
  std::string server;
  std::string enroll_secret;
  std::string root = "/";  // facts are read below this root (tests: a fixture tree)
  bool once = false;
  QueueLimits queue;
};

// Sleeps for d or until stopped; returns false when the agent should stop.
using Sleeper = std::function<bool(Seconds d)>;
using Logger = std::function<void(std::string_view line)>;

struct AgentDeps {
  Transport* transport = nullptr;
  const StateDir* state_dir = nullptr;
  AgentConfig config;
  std::function<boost::json::object()> collect;  // fact collection
  const Clock* clock = nullptr;
  Sleeper sleep;
  std::function<double()> rand01;                // uniform in [0, 1)
  Logger log;
};

enum class CycleOutcome { ok, retry, rejected };

class Agent {
 public:
  Agent(AgentOptions opts, AgentDeps deps);

  // Enrols when the state directory holds no credential. retry when the server could not be
  // reached (or answered 5xx/429), rejected on 401/403 (message in last_error()).
  Result<CycleOutcome> enroll();
  // One check-in cycle: builds a report when due (queue empty, interval elapsed, or forced),
  // sends the queue oldest first, runs received commands and sends their results at once.
  Result<CycleOutcome> cycle();
  // The loop; returns an exit code (kExit*). With opts.once, one enrol + one cycle.
  int run();

  const std::string& last_error() const { return last_error_; }
  const AgentState& state() const { return state_; }
  // Seconds to wait before the next cycle, given the last outcome.
  Seconds next_delay(CycleOutcome o);

 private:
  Status load();
  Status build_and_enqueue();
  Result<CycleOutcome> flush();
  Status handle_answer(uint64_t seq, const CheckinAnswer& a);
  void log(std::string_view s) const;

  AgentOptions opts_;
  AgentDeps deps_;
  bool loaded_ = false;
  std::optional<Credential> cred_;
  AgentState state_;
  std::string last_error_;
  int failures_ = 0;
  std::optional<int> retry_after_s_;
  bool followup_ = false;  // commands ran / refresh asked: report again within this cycle
  std::optional<boost::json::object> enrol_facts_;  // collected for enrolment, not yet reported
};

}  // namespace fw::agent
