// Command executors: config parsing, argument expansion, process running with a timeout.
// run_process uses posix_spawnp + poll; it does not touch signal dispositions.
#include "agent/executor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "util/strings.h"

extern char** environ;

namespace fw::agent {

bool is_command_type(std::string_view type) noexcept {
  return std::find(std::begin(kCommandTypes), std::end(kCommandTypes), type) != std::end(kCommandTypes);
}

Result<std::vector<std::string>> split_command_line(std::string_view line) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false, in_quote = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (in_quote) {
      if (c == '\\' && i + 1 < line.size()) {
        cur.push_back(line[++i]);
      } else if (c == '"') {
        in_quote = false;
      } else {
        cur.push_back(c);
      }
    } else if (c == '"') {
      in_quote = in_word = true;
    } else if (c == ' ' || c == '\t') {
      if (in_word) out.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else {
      cur.push_back(c);
      in_word = true;
    }
  }
  if (in_quote) return fail(Errc::invalid_argument, "unterminated double quote");
  if (in_word) out.push_back(std::move(cur));
  if (out.empty()) return fail(Errc::invalid_argument, "empty command line");
  return out;
}

Result<AgentConfig> parse_agent_config(std::string_view text, std::string_view origin) {
  AgentConfig cfg;
  int lineno = 0;
  for (std::string_view line : split(text, '\n')) {
    ++lineno;
    std::string where = std::string(origin) + ":" + std::to_string(lineno);
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) return fail(Errc::invalid_argument, "expected <key> = <value>", where);
    std::string key(trim(line.substr(0, eq)));
    std::string_view value = trim(line.substr(eq + 1));
    if (key == "full_report_every" || key == "command_timeout_s") {
      int v = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec != std::errc() || p != value.data() + value.size() || v < 1 || v > 100000)
        return fail(Errc::invalid_argument, "expected a number from 1 to 100000 for " + key, where);
      (key == "full_report_every" ? cfg.full_report_every : cfg.command_timeout_s) = v;
    } else if (is_command_type(key)) {
      if (key == "refresh") return fail(Errc::invalid_argument, "refresh is built in and takes no executor", where);
      auto argv = split_command_line(value);
      if (!argv) return fail(Errc::invalid_argument, argv.error().message, where);
      cfg.executors[key] = std::string(value);
    } else {
      return fail(Errc::invalid_argument, "unknown key '" + key + "'", where);
    }
  }
  return cfg;
}

namespace {
bool allowed_plain(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::strchr("._+:@/-", c) != nullptr;
}
Status check_arg(const std::string& name, const std::string& value) {
  if (name == "text") {
    if (value.size() > 1024) return fail(Errc::invalid_argument, "longer than 1024 bytes", "args." + name);
    for (unsigned char c : value)
      if (c < 0x20 || c == 0x7f) return fail(Errc::invalid_argument, "control character", "args." + name);
    return {};
  }
  if (value.empty() || value.size() > 256)
    return fail(Errc::invalid_argument, "empty or longer than 256 bytes", "args." + name);
  if (value.front() == '-') return fail(Errc::invalid_argument, "must not start with '-'", "args." + name);
  for (unsigned char c : value)
    if (!allowed_plain(c)) return fail(Errc::invalid_argument, "character not allowed", "args." + name);
  return {};
}
}  // namespace

Result<std::vector<std::string>> expand_command(const std::vector<std::string>& argv_template,
                                                const std::map<std::string, std::string>& args) {
  std::vector<std::string> out;
  for (const auto& t : argv_template) {
    std::string r;
    size_t i = 0;
    while (i < t.size()) {
      size_t open = t.find('{', i);
      if (open == std::string::npos) {
        r.append(t, i);
        break;
      }
      size_t close = t.find('}', open);
      if (close == std::string::npos) {
        r.append(t, i);
        break;
      }
      r.append(t, i, open - i);
      std::string name = t.substr(open + 1, close - open - 1);
      auto it = args.find(name);
      if (it == args.end()) return fail(Errc::invalid_argument, "missing argument", "args." + name);
      FW_TRY_STATUS(check_arg(name, it->second));
      r += it->second;
      i = close + 1;
    }
    out.push_back(std::move(r));
  }
  return out;
}

Result<ProcessResult> run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                                  size_t max_output) {
  if (argv.empty()) return fail(Errc::invalid_argument, "empty argv");
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return fail(Errc::io_error, std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, cargv[0], &fa, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return fail(Errc::io_error, "cannot start: " + std::string(std::strerror(rc)), argv[0]);
  }
  ProcessResult res;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[8192];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      res.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    int n = poll(&p, 1, int(std::min<long long>(left.count(), 1000)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    ssize_t got = read(fds[0], buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;  // EOF: every writer closed
    res.output.append(buf, size_t(got));
    if (res.output.size() > 2 * max_output) {
      res.output.erase(0, res.output.size() - max_output);
      res.truncated = true;
    }
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (res.output.size() > max_output) {
    res.output.erase(0, res.output.size() - max_output);
    res.truncated = true;
  }
  res.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return res;
}

CommandResult execute_command(const AgentConfig& config, const Command& cmd, const Clock& clock) {
  CommandResult r;
  r.id = cmd.id;
  auto done = [&](std::string status, std::string output) {
    r.status = std::move(status);
    r.output = std::move(output);
    r.finished_at = clock.now();
    return r;
  };
  if (!is_command_type(cmd.type)) return done("rejected", "unknown command type '" + cmd.type + "'");
  if (cmd.type == "refresh") return done("ok", "");
  auto it = config.executors.find(cmd.type);
  if (it == config.executors.end())
    return done("not_configured", "no executor configured for '" + cmd.type + "'");
  auto tmpl = split_command_line(it->second);
  if (!tmpl) return done("rejected", tmpl.error().to_string());
  auto argv = expand_command(*tmpl, cmd.args);
  if (!argv) return done("rejected", argv.error().to_string());
  auto pr = run_process(*argv, std::chrono::seconds(config.command_timeout_s), 4096);
  if (!pr) return done("failed", pr.error().to_string());
  r.exit_code = pr->exit_code;
  if (pr->timed_out) return done("timeout", pr->output);
  return done(pr->exit_code == 0 ? "ok" : "failed", pr->output);
}

}  // namespace fw::agent
