// Runs a built executable for end-to-end tests and captures what a person would see:
// run_cli() the `fleetward` executable (FW_CLI_BIN), run_program()/run_argv() any other.
// Header-only; each call spawns one process through /bin/sh; not thread-safe with respect
// to the working directory or environment of the test.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>
#include <vector>

namespace fw::testing {

struct CliOutcome {
  int code = -1;    // exit status, -1 if the process did not exit normally
  std::string out;  // stdout and stderr together
};

// `args` is appended to the executable path as shell text: quote what needs quoting.
inline CliOutcome run_program(const std::string& exe, const std::string& args) {
  CliOutcome r;
  std::string cmd = exe + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// Single-quotes s for /bin/sh.
inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// run_program() with each argument quoted.
inline CliOutcome run_argv(const std::string& exe, const std::vector<std::string>& args) {
  std::string line;
  for (const auto& a : args) line += (line.empty() ? "" : " ") + shell_quote(a);
  return run_program(exe, line);
}

// " --db '<path>'": the flag every database command takes, to append to the arguments.
inline std::string db_flag(const std::string& path) { return " --db " + shell_quote(path); }

#ifdef FW_CLI_BIN
inline CliOutcome run_cli(const std::string& args) { return run_program(FW_CLI_BIN, args); }
#endif

}  // namespace fw::testing
