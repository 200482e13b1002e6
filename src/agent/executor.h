// Command execution of fleetward-agent: the agent config file (one command line per command
// type; nothing runs that is not configured), argument checking and expansion, and running a
// process with a timeout and bounded output. See docs/agent-protocol.md, "Commands".
// Pure functions are thread-safe; run_process forks and may be called from any one thread.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"
#include "util/time.h"

namespace fw::agent {

// The command types of the protocol. refresh is built in (needs no executor line).
inline constexpr std::string_view kCommandTypes[] = {"refresh", "message", "remove-app",
                                                     "install-app", "lock", "wipe"};
bool is_command_type(std::string_view type) noexcept;

struct AgentConfig {
  std::map<std::string, std::string> executors;  // command type -> command line template
  int full_report_every = 96;                    // a full report after this many reports
  int command_timeout_s = 300;
};

// Parses the agent config: "<key> = <value>" lines, '#' comments. Keys are command types or
// settings (full_report_every, command_timeout_s). Fails with invalid_argument naming
// "<origin>:<line>" for an unknown key, a bad number or a bad command line.
Result<AgentConfig> parse_agent_config(std::string_view text, std::string_view origin = "agent.conf");

// Splits a command line on blanks; double quotes group words, backslash escapes the next
// character inside quotes. Fails on an unterminated quote or an empty line.
Result<std::vector<std::string>> split_command_line(std::string_view line);

// A command from a check-in answer.
struct Command {
  std::string id;
  std::string type;
  std::map<std::string, std::string> args;
};

// Replaces {name} in each argv element by the argument `name`. The argument "text" may hold
// any printable text (no control characters, at most 1024 bytes); every other argument only
// [A-Za-z0-9._+:@/-], must not start with '-', and at most 256 bytes. Fails with
// invalid_argument naming the argument for a missing or disallowed value.
Result<std::vector<std::string>> expand_command(const std::vector<std::string>& argv_template,
                                                const std::map<std::string, std::string>& args);

struct ProcessResult {
  int exit_code = -1;      // -1 when killed by a signal
  bool timed_out = false;  // killed after the timeout
  bool truncated = false;  // output longer than max_output; only the last bytes are kept
  std::string output;      // stdout and stderr together
};
// Runs argv (argv[0] looked up in PATH) with stdin from /dev/null, waits at most timeout.
// Fails with io_error when the process could not be started.
Result<ProcessResult> run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                                  size_t max_output);

// The result of one command, as sent in command_results.
struct CommandResult {
  std::string id;
  std::string status;             // ok, failed, timeout, not_configured, rejected
  std::optional<int> exit_code;   // nullopt when the command did not run
  std::string output;             // last 4096 bytes at most
  Time finished_at{};
};

// Executes a command through its configured executor (refresh must be handled by the caller;
// here it is "ok" without running anything). Never throws; every failure is a result status.
CommandResult execute_command(const AgentConfig& config, const Command& cmd, const Clock& clock);

}  // namespace fw::agent
