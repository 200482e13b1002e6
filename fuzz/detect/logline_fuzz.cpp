// Fuzz target: the log line parsers (every format, nginx log_format compilation) and the
// ActiveSync query parser (plain and base64) over arbitrary bytes. Must never crash, and the
// combined-format fast path must give exactly what the general parser gives, line by line and
// over the whole input from each line start (parse_line_at), or the target aborts.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "detect/detect.h"

using namespace fw::detect;

namespace {

std::string text(const LogRecord& r) {
  std::string o;
  for (std::string_view f : {r.time_text, r.client_ip, r.user, r.method, r.path, r.query, r.user_agent,
                             std::string_view(r.activesync.device_id), std::string_view(r.activesync.device_type),
                             std::string_view(r.activesync.user), std::string_view(r.activesync.command)}) {
    o.append(f);
    o.push_back('\x1f');
  }
  o += std::to_string(r.time.time_since_epoch().count()) + " " + std::to_string(r.status);
  return o;
}

std::string outcome(LineParser& p, std::string_view line) {
  LogRecord r;
  auto got = p.parse_into(line, r);
  if (!got) return "error " + got.error().to_string();
  if (!*got) return "none";
  return text(r);
}

[[noreturn]] void differs(std::string_view line, const std::string& a, const std::string& b) {
  std::fprintf(stderr, "fast path differs:\n  line: %.*s\n  fast: %s\n  slow: %s\n", static_cast<int>(line.size()),
               line.data(), a.c_str(), b.c_str());
  std::abort();
}

// Fast path (on by default) against the general parser, line by line, same parser state.
void differential(LogFormat f, std::string_view lines) {
  auto fast = LineParser::make(f);
  auto slow = LineParser::make(f);
  if (!fast || !slow) return;
  slow->set_fast_path(false);
  for (int i = 0; i < 64; ++i) {
    auto e = lines.find('\n');
    std::string_view line = lines.substr(0, e);
    std::string a = outcome(*fast, line), b = outcome(*slow, line);
    if (a != b) differs(line, a, b);
    if (e == std::string_view::npos) break;
    lines.remove_prefix(e + 1);
  }
}

// The buffer form (LineParser::parse_line_at, as scan_logs calls it from each line start
// over the rest of the input) against the general parser on the line alone.
void differential_at(LogFormat f, std::string_view rest) {
  auto fast = LineParser::make(f);
  auto slow = LineParser::make(f);
  if (!fast || !slow) return;
  slow->set_fast_path(false);
  for (int i = 0; i < 64 && !rest.empty(); ++i) {
    auto e = rest.find('\n');
    std::string_view line = rest.substr(0, e);
    LogRecord r;
    size_t n = fast->parse_line_at(rest, r);
    std::string b = outcome(*slow, line);
    if (n != 0) {
      if (e == std::string_view::npos || n != e + 1) differs(line, "taken with length " + std::to_string(n), b);
      if (text(r) != b) differs(line, text(r), b);
    } else {
      std::string a = outcome(*fast, line);
      if (a != b) differs(line, a, b);
    }
    if (e == std::string_view::npos) break;
    rest.remove_prefix(e + 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  (void)parse_activesync_query(s);
  (void)url_decode(s);
  (void)normalize_user(s, {"example.org"});
  // First line: a W3C header or an nginx log_format; the rest: lines.
  auto nl = s.find('\n');
  std::string_view head = s.substr(0, nl);
  std::string_view rest = nl == std::string_view::npos ? std::string_view() : s.substr(nl + 1);
  for (LogFormat f : {LogFormat::auto_detect, LogFormat::combined, LogFormat::common, LogFormat::w3c, LogFormat::nginx}) {
    auto p = LineParser::make(f, f == LogFormat::nginx ? head : std::string_view());
    if (!p) continue;
    if (f == LogFormat::w3c) (void)p->parse(head);
    std::string_view r = rest;
    for (int i = 0; i < 64; ++i) {
      auto e = r.find('\n');
      (void)p->parse(r.substr(0, e));
      if (e == std::string_view::npos) break;
      r.remove_prefix(e + 1);
    }
  }
  differential(LogFormat::combined, s);
  differential(LogFormat::auto_detect, s);
  differential_at(LogFormat::combined, s);
  differential_at(LogFormat::auto_detect, s);
  return 0;
}
