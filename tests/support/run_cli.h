// Runs the built `fleetward` executable (FW_CLI_BIN) for end-to-end CLI tests and captures
// what a person would see. Header-only; each call spawns one process; not thread-safe
// with respect to the working directory of the test.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace fw::testing {

struct CliOutcome {
  int code = -1;    // exit status, -1 if the process did not exit normally
  std::string out;  // stdout and stderr together
};

// `args` is appended to the executable path as shell text: quote what needs quoting.
inline CliOutcome run_cli(const std::string& args) {
  CliOutcome r;
  std::string cmd = std::string(FW_CLI_BIN) + " " + args + " 2>&1";
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

}  // namespace fw::testing
