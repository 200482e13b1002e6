// Fuzz target: the log line parsers (every format, nginx log_format compilation) and the
// ActiveSync query parser (plain and base64) over arbitrary bytes. Must never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "detect/detect.h"

using namespace fw::detect;

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
  return 0;
}
