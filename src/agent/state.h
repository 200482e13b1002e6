// The agent's state directory: the device credential (0600), the report state (next seq,
// last facts sent, pending command results) and the on-disk queue of unsent reports.
// Layout in docs/agent-protocol.md. Every write is atomic (temporary file, fsync, rename).
// One StateDir per process; not thread-safe; two agents must not share a state directory.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/executor.h"
#include "util/error.h"

namespace fw::agent {

struct Credential {
  std::string server;
  std::string device_id;
  std::string credential;
};

// A command result waiting for the server's acknowledgement. included_in is the seq of the
// first report that carried it (0: not yet in a report).
struct PendingResult {
  CommandResult result;
  uint64_t included_in = 0;
};

struct AgentState {
  uint64_t next_seq = 1;
  bool have_last = false;
  boost::json::object last_facts;  // facts of the last report built (deltas are against it)
  int reports_since_full = 0;
  bool force_full = true;          // the next report must be full
  int interval_s = 900;            // from the last answer
  int64_t last_built_at = 0;       // unix seconds of the last report built, 0 = never
  std::vector<PendingResult> pending;
  std::vector<CommandResult> done;  // commands already run (newest last, at most kDoneKept)
  static constexpr size_t kDoneKept = 256;
};

struct QueueLimits {
  size_t max_files = 64;
  size_t max_bytes = 4u << 20;
};

class StateDir {
 public:
  explicit StateDir(std::string dir) : dir_(std::move(dir)) {}
  const std::string& dir() const { return dir_; }

  // Creates the directory (0700) and queue/ when missing.
  Status ensure() const;

  // nullopt when there is no credential yet; parse_error for a damaged file.
  Result<std::optional<Credential>> load_credential() const;
  // Writes credential.json with mode 0600.
  Status save_credential(const Credential& c) const;

  // /etc/machine-id below root when it holds an id, else a random id generated once and kept
  // in hardware-id.
  Result<std::string> hardware_id(const std::string& root) const;

  // A fresh AgentState when state.json does not exist; parse_error when it is damaged.
  Result<AgentState> load_state() const;
  Status save_state(const AgentState& s) const;

  // The queue: one file per report, named by seq. Sorted oldest first.
  Result<std::vector<uint64_t>> queued() const;
  Result<std::string> read_queued(uint64_t seq) const;
  // Adds a report; then drops the oldest reports until the queue fits the limits (the new one
  // is always kept). Returns how many were dropped.
  Result<size_t> enqueue(uint64_t seq, const std::string& body, const QueueLimits& limits) const;
  Status remove_queued(uint64_t seq) const;
  Status clear_queue() const;

 private:
  std::string queue_path(uint64_t seq) const;
  std::string dir_;
};

// JSON of a command result (protocol shape) and back.
boost::json::object to_json(const CommandResult& r);
Result<CommandResult> command_result_from_json(const boost::json::value& v);

}  // namespace fw::agent
