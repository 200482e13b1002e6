// Access-log line parsers: nginx/Apache combined and common, nginx log_format strings, and
// IIS/Exchange W3C extended logs (#Fields:), plus the ActiveSync query string (plain and
// MS-ASHTTP base64). Pure functions over one line; no I/O. A LineParser holds per-file state
// (the W3C layout, scratch buffers): one per file and thread.
#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "detect/detect.h"
#include "util/strings.h"

namespace fw::detect {

namespace {

// ---- time ------------------------------------------------------------------------------

int digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return -1;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

Time make_time(int y, int mo, int d, int h, int mi, int se, int offset_seconds) {
  using namespace std::chrono;
  auto days = sys_days(year{y} / month{static_cast<unsigned>(mo)} / day{static_cast<unsigned>(d)});
  return Time{days} + hours{h} + minutes{mi} + seconds{se} - seconds{offset_seconds};
}

// "10/Oct/2000:13:55:36 -0700"
std::optional<Time> parse_clf_time(std::string_view s) {
  static constexpr std::array<const char*, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() < 20 || s[2] != '/' || s[6] != '/' || s[11] != ':') return std::nullopt;
  int d = digits(s, 0, 2), y = digits(s, 7, 4), h = digits(s, 12, 2), mi = digits(s, 15, 2), se = digits(s, 18, 2);
  int mo = 0;
  for (int i = 0; i < 12; ++i)
    if (s.substr(3, 3) == months[static_cast<size_t>(i)]) mo = i + 1;
  if (d < 1 || d > 31 || y < 1970 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60 || mo == 0)
    return std::nullopt;
  int off = 0;
  if (s.size() >= 26 && s[20] == ' ' && (s[21] == '+' || s[21] == '-')) {
    int oh = digits(s, 22, 2), om = digits(s, 24, 2);
    if (oh < 0 || om < 0) return std::nullopt;
    off = (oh * 3600 + om * 60) * (s[21] == '-' ? -1 : 1);
  }
  return make_time(y, mo, d, h, mi, se, off);
}

// "2023-03-01" + "12:00:01" (W3C, UTC) or "2023-03-01T12:00:01+03:00" (ISO 8601).
std::optional<Time> parse_iso_parts(std::string_view date, std::string_view time) {
  if (date.size() < 10 || date[4] != '-' || date[7] != '-' || time.size() < 8 || time[2] != ':' || time[5] != ':')
    return std::nullopt;
  int y = digits(date, 0, 4), mo = digits(date, 5, 2), d = digits(date, 8, 2);
  int h = digits(time, 0, 2), mi = digits(time, 3, 2), se = digits(time, 6, 2);
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60)
    return std::nullopt;
  int off = 0;
  std::string_view rest = time.substr(8);
  while (!rest.empty() && (rest[0] == '.' || (rest[0] >= '0' && rest[0] <= '9'))) rest.remove_prefix(1);
  if (rest.size() >= 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int oh = digits(rest, 1, 2), om = digits(rest, 4, 2);
    if (oh >= 0 && om >= 0) off = (oh * 3600 + om * 60) * (rest[0] == '-' ? -1 : 1);
  }
  return make_time(y, mo, d, h, mi, se, off);
}

// The last time text parsed and its value: consecutive lines mostly share the second.
struct TimeCache {
  char text[40] = {};  // the text, then the "] \"" that followed it in the line
  size_t len = 0;
  Time value{};
  int hms = -1;  // the clock part of a 26-byte text (h * 3600 + m * 60 + s), else -1
};

// The clock part "hh:mm:ss" at s[0..8) in seconds as parse_clf_time reads it, or -1 when
// it would reject it; the ':' between are required here (parse_clf_time does not look at
// them: a line with other bytes there just takes the full parse).
inline int clock_seconds(const char* s) {
  unsigned d[6] = {static_cast<unsigned char>(s[0]) - 48u, static_cast<unsigned char>(s[1]) - 48u,
                   static_cast<unsigned char>(s[3]) - 48u, static_cast<unsigned char>(s[4]) - 48u,
                   static_cast<unsigned char>(s[6]) - 48u, static_cast<unsigned char>(s[7]) - 48u};
  if (d[0] > 9 || d[1] > 9 || d[2] > 9 || d[3] > 9 || d[4] > 9 || d[5] > 9 || s[2] != ':' || s[5] != ':') return -1;
  unsigned h = d[0] * 10 + d[1], m = d[2] * 10 + d[3], se = d[4] * 10 + d[5];
  if (h > 23 || m > 59 || se > 60) return -1;
  return static_cast<int>(h * 3600 + m * 60 + se);
}

std::optional<Time> parse_iso(std::string_view s) {
  if (s.size() < 19 || (s[10] != 'T' && s[10] != ' ')) return std::nullopt;
  return parse_iso_parts(s.substr(0, 10), s.substr(11));
}

// ---- request line -----------------------------------------------------------------------

// The positions of the ' ' bytes of an 8-byte word (little-endian): 0x80 in each byte that
// is ' ', exactly (no borrow from one byte into the next).
inline uint64_t space_bytes(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  uint64_t x = w ^ 0x2020202020202020ull;  // ' ' -> 0
  constexpr uint64_t k7f = 0x7f7f7f7f7f7f7f7full;
  return ~(((x & k7f) + k7f) | x | k7f);
}

// "METHOD TARGET PROTOCOL": the method's ' ' among the first 8 bytes in one word, the
// protocol's among the last 16 in one 16-byte compare (byte loops when they are not there),
// 16-byte scans for the '?' of the target; the same split as find(' '), rfind(' ') and
// find('?') on the parts. `readable`: how many bytes from req.data() may be loaded (>= req.size(); the fast path
// passes the rest of its line, so that the last scan of a short target needs no byte loop).
// `before`: how many bytes before req.data() may be loaded (the fast path's line before the
// request), so that the protocol's ' ' of a request shorter than 16 bytes is found with the
// same one 16-byte compare.
inline __attribute__((always_inline)) void split_request(std::string_view req, LogRecord& r, size_t readable = 0, size_t before = 0) {
  const char* d = req.data();
  size_t n = req.size();
  if (readable < n) readable = n;
  size_t sp = 0;
  if (uint64_t m = n >= 8 ? space_bytes(d) : 0) {
    sp = static_cast<size_t>(__builtin_ctzll(m)) >> 3;
  } else {
    while (sp < n && d[sp] != ' ') ++sp;
  }
  if (sp == n) {
    r.path = req;
    return;
  }
  r.method = std::string_view(d, sp);
  size_t b = sp + 1;  // the target starts here and ends at the last ' ' (or the end)
  size_t e;
#if defined(__SSE2__)
  unsigned last = 0;  // the ' ' bytes among the 16 that end the request, at or after b
  bool looked = n >= 16 || before >= 16 - n;
  if (looked) {
    const char* lo = d + static_cast<ptrdiff_t>(n) - 16;  // before d when n < 16 (readable then)
    last = static_cast<unsigned>(_mm_movemask_epi8(
        _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(lo)), _mm_set1_epi8(' '))));
    if (b + 16 > n) last &= ~0u << (b + 16 - n);  // bit j is byte n - 16 + j; b + 16 - n <= 16
  }
  if (last) {
    e = n - 16 + static_cast<size_t>(31 - __builtin_clz(last));
  } else if (n >= 16 && b <= n - 16) {  // none in the last 16 bytes: look further back
    e = n - 16;
    while (e > b && d[e - 1] != ' ') --e;
    e = e > b ? e - 1 : n;
  } else if (looked) {  // the 16 bytes covered [b, n): no ' ' there
    e = n;
  } else
#endif
  {
    e = n;
    while (e > b && d[e - 1] != ' ') --e;
    e = e > b ? e - 1 : n;
  }
  size_t q = b;
#if defined(__SSE2__)
  const __m128i vq = _mm_set1_epi8('?');
  for (; q < e && q + 16 <= readable; q += 16) {
    auto m = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(d + q)), vq)));
    if (m) {  // a first '?' at or past e (in the protocol or beyond): none in the target
      q = std::min(q + static_cast<size_t>(__builtin_ctz(m)), e);
      goto found;
    }
  }
  if (q > e) q = e;
#endif
  while (q < e && d[q] != '?') ++q;
#if defined(__SSE2__)
found:
#endif
  r.path = std::string_view(d + b, q - b);
  r.query = q < e ? std::string_view(d + q + 1, e - q - 1) : std::string_view();
}

bool is_activesync(std::string_view path) {
  static constexpr std::string_view k = "/microsoft-server-activesync";
  static constexpr std::string_view usual = "/Microsoft-Server-ActiveSync";
  // The first two bytes turn away almost every path; the usual spelling is one memcmp.
  return path.size() >= k.size() && (path[1] == 'm' || path[1] == 'M') && path[0] == '/' &&
         (std::memcmp(path.data(), usual.data(), usual.size()) == 0 || iequals_ascii(path.substr(0, k.size()), k));
}

int parse_status(std::string_view s) {
  if (s.size() != 3) return 0;
  int v = digits(s, 0, 3);
  return v < 0 ? 0 : v;
}

// ---- nginx log_format --------------------------------------------------------------------

enum class Var { ignore, remote_addr, remote_user, time_local, time_iso8601, request, request_uri, args, status,
                 user_agent, request_method, uri };

struct Token {
  bool literal = false;
  std::string text;  // literal text
  Var var = Var::ignore;
};

Var var_of(std::string_view name) {
  if (name == "remote_addr" || name == "http_x_forwarded_for" || name == "realip_remote_addr") return Var::remote_addr;
  if (name == "remote_user") return Var::remote_user;
  if (name == "time_local") return Var::time_local;
  if (name == "time_iso8601") return Var::time_iso8601;
  if (name == "request") return Var::request;
  if (name == "request_uri") return Var::request_uri;
  if (name == "args" || name == "query_string") return Var::args;
  if (name == "status") return Var::status;
  if (name == "http_user_agent") return Var::user_agent;
  if (name == "request_method") return Var::request_method;
  if (name == "uri") return Var::uri;
  return Var::ignore;
}

Result<std::vector<Token>> compile_nginx(std::string_view fmt) {
  if (fmt.size() > 4096) return fail(Errc::too_large, "log_format longer than 4096 bytes");
  std::vector<Token> out;
  size_t i = 0;
  while (i < fmt.size()) {
    if (fmt[i] == '$') {
      size_t j = i + 1;
      bool braces = j < fmt.size() && fmt[j] == '{';
      if (braces) ++j;
      size_t start = j;
      while (j < fmt.size() && (std::isalnum(static_cast<unsigned char>(fmt[j])) || fmt[j] == '_')) ++j;
      if (j == start) return fail(Errc::parse_error, "'$' without a variable name", "byte " + std::to_string(i));
      std::string_view name = fmt.substr(start, j - start);
      if (braces) {
        if (j >= fmt.size() || fmt[j] != '}') return fail(Errc::parse_error, "unclosed ${", "byte " + std::to_string(i));
        ++j;
      }
      if (!out.empty() && !out.back().literal)
        return fail(Errc::parse_error, "two variables without text between them", "byte " + std::to_string(i));
      Token t;
      t.var = var_of(name);
      out.push_back(t);
      i = j;
    } else {
      if (out.empty() || !out.back().literal) out.push_back(Token{true, {}, Var::ignore});
      out.back().text.push_back(fmt[i++]);
    }
  }
  return out;
}

constexpr std::string_view kCombined =
    R"($remote_addr $ident $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent")";
constexpr std::string_view kCommon = R"($remote_addr $ident $remote_user [$time_local] "$request" $status $body_bytes_sent)";

// Finds the end of a variable's value: the next occurrence of the following literal. Inside
// quotes, a backslash escapes the next byte (Apache \" and nginx \x22).
size_t find_end(std::string_view line, size_t pos, const std::string& lit, bool quoted) {
  if (lit.empty()) return line.size();
  if (quoted && lit[0] == '"') {
    for (size_t i = pos; i < line.size(); ++i) {
      if (line[i] == '\\') {
        ++i;
        continue;
      }
      if (line[i] == '"' && line.compare(i, lit.size(), lit) == 0) return i;
    }
    return std::string_view::npos;
  }
  return line.find(lit, pos);
}

}  // namespace

// ---- public helpers ----------------------------------------------------------------------

std::optional<LogFormat> parse_log_format(std::string_view s) noexcept {
  if (s == "auto") return LogFormat::auto_detect;
  if (s == "combined") return LogFormat::combined;
  if (s == "common") return LogFormat::common;
  if (s == "nginx") return LogFormat::nginx;
  if (s == "w3c" || s == "iis") return LogFormat::w3c;
  return std::nullopt;
}

std::string_view to_string(LogFormat f) noexcept {
  switch (f) {
    case LogFormat::auto_detect: return "auto";
    case LogFormat::combined: return "combined";
    case LogFormat::common: return "common";
    case LogFormat::nginx: return "nginx";
    case LogFormat::w3c: return "w3c";
  }
  return "auto";
}

namespace {
int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

void url_decode_into(std::string_view s, std::string& out) {
  out.clear();
  size_t pct = 0;  // values are short: a byte loop rather than a call
  while (pct < s.size() && s[pct] != '%') ++pct;
  if (pct == s.size()) {
    out.assign(s);
    return;
  }
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
}

std::string url_decode(std::string_view s) {
  std::string out;
  url_decode_into(s, out);
  return out;
}

namespace {

std::optional<std::string> base64_decode(std::string_view s) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  while (!s.empty() && s.back() == '=') s.remove_suffix(1);
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    int v = val(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string hex_upper(std::string_view b) {
  static const char* d = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : b) {
    out.push_back(d[c >> 4]);
    out.push_back(d[c & 15]);
  }
  return out;
}

const char* as_command(int code) {
  static const char* names[] = {"Sync",        "SendMail",       "SmartForward", "SmartReply",  "GetAttachment",
                                nullptr,       nullptr,          nullptr,        nullptr,       "FolderSync",
                                "FolderCreate", "FolderDelete",  "FolderUpdate", "MoveItems",   "GetItemEstimate",
                                "MeetingResponse", "Search",     "Settings",     "Ping",        "ItemOperations",
                                "Provision",   "ResolveRecipients", "ValidateCert"};
  if (code < 0 || code >= static_cast<int>(std::size(names))) return nullptr;
  return names[code];
}

// MS-ASHTTP 2.2.1.1.1.1: version, command, locale(2), device id (len+bytes), policy key
// (len+bytes), device type (len+bytes), then (tag, len, value) parameters; tag 8 = User.
ActiveSyncHints parse_base64_query(std::string_view q) {
  ActiveSyncHints h;
  auto bytes = base64_decode(url_decode(q));
  if (!bytes || bytes->size() < 6) return h;
  const std::string& b = *bytes;
  size_t p = 0;
  auto take = [&](size_t n, std::string_view& out) {
    if (p + n > b.size()) return false;
    out = std::string_view(b).substr(p, n);
    p += n;
    return true;
  };
  p = 1;
  const char* cmd = as_command(static_cast<unsigned char>(b[p++]));
  p += 2;  // locale
  std::string_view id, key, type;
  size_t idlen = static_cast<unsigned char>(b[p++]);
  if (idlen > 32 || !take(idlen, id)) return h;
  if (p >= b.size()) return h;
  size_t keylen = static_cast<unsigned char>(b[p++]);
  if ((keylen != 0 && keylen != 4) || !take(keylen, key)) return h;
  if (p >= b.size()) return h;
  size_t typelen = static_cast<unsigned char>(b[p++]);
  if (typelen > 64 || !take(typelen, type)) return h;
  for (char c : type)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) return h;
  h.device_id = hex_upper(id);
  h.device_type = std::string(type);
  if (cmd) h.command = cmd;
  while (p + 2 <= b.size()) {
    int tag = static_cast<unsigned char>(b[p]);
    size_t len = static_cast<unsigned char>(b[p + 1]);
    p += 2;
    std::string_view v;
    if (!take(len, v)) break;
    if (tag == 8) h.user = std::string(v);
  }
  return h;
}

}  // namespace

void parse_activesync_query_into(std::string_view q, ActiveSyncHints& h) {
  h.device_id.clear();
  h.device_type.clear();
  h.user.clear();
  h.command.clear();
  if (q.empty() || q.size() > 8192) return;
  if (size_t first_eq = q.find('='); first_eq != std::string_view::npos && first_eq < q.size() - 2) {
    // Plain form: walked in place in one pass (each part cut at its first '=' and at the
    // '&' after it; a part without '=' is skipped), the keys told apart by their length
    // first, the values decoded into the reused strings.
    const char* d = q.data();
    const size_t n = q.size();
    // The first a or b at or after i, or n: 16 bytes at a time while they are in q.
    auto find2 = [d, n](size_t i, char a, char b) {
#if defined(__SSE2__)
      const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b);
      for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + i));
        if (int m = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, va), _mm_cmpeq_epi8(v, vb))))
          return i + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(m)));
      }
#endif
      while (i < n && d[i] != a && d[i] != b) ++i;
      return i;
    };
    // Values without a '%' (most queries have none) are copied as they are.
    const bool pct = find2(0, '%', '%') < n;
    size_t i = 0;
    while (i < n) {
      size_t ks = i;
      i = find2(i, '=', '&');
      if (i == n || d[i] == '&') {  // no '=' in this part
        ++i;
        continue;
      }
      std::string_view k(d + ks, i - ks);
      size_t vs = ++i;
      i = find2(i, '&', '&');
      std::string_view v(d + vs, i - vs);
      ++i;
      // The usual spelling in one inline compare, any other case through iequals_ascii.
      auto is = [&k](std::string_view name) {
        return std::memcmp(k.data(), name.data(), name.size()) == 0 || iequals_ascii(k, name);
      };
      std::string* out = nullptr;
      switch (k.size()) {
        case 8: out = is("DeviceId") ? &h.device_id : nullptr; break;
        case 10: out = is("DeviceType") ? &h.device_type : nullptr; break;
        case 4: out = is("User") ? &h.user : nullptr; break;
        case 3: out = is("Cmd") ? &h.command : nullptr; break;
        default: break;
      }
      if (out) {
        if (pct) url_decode_into(v, *out);
        else out->assign(v);
      }
    }
    return;
  }
  h = parse_base64_query(q);
}

ActiveSyncHints parse_activesync_query(std::string_view q) {
  ActiveSyncHints h;
  parse_activesync_query_into(q, h);
  return h;
}

// ---- LineParser ----------------------------------------------------------------------------

enum class W3c { ignore, date, time, c_ip, username, method, uri_stem, uri_query, status, user_agent };

struct LineParser::State {
  std::vector<Token> tokens;           // combined/common/nginx
  std::vector<W3c> w3c_fields;         // from #Fields:
  std::string ua_buf;                  // UA with '+' turned into spaces
  std::string user_buf;                // decoded user name
  bool fast = true;                    // combined-format fast path enabled
  TimeCache time_cache;
};

LineParser::LineParser() : st_(std::make_unique<State>()) {}
LineParser::~LineParser() = default;
LineParser::LineParser(LineParser&&) noexcept = default;
LineParser& LineParser::operator=(LineParser&&) noexcept = default;

Result<LineParser> LineParser::make(LogFormat format, std::string_view nginx_format) {
  LineParser p;
  p.format_ = format;
  if (format == LogFormat::combined) p.st_->tokens = *compile_nginx(kCombined);
  else if (format == LogFormat::common) p.st_->tokens = *compile_nginx(kCommon);
  else if (format == LogFormat::nginx) {
    if (nginx_format.empty()) return fail(Errc::invalid_argument, "--format nginx needs a log_format string");
    FW_TRY(p.st_->tokens, compile_nginx(nginx_format));
  }
  return p;
}

namespace {

inline __attribute__((always_inline)) void finish_activesync(LogRecord& r) {
  // (Most requests have no query: that test first, without a call.)
  if (!r.query.empty() && is_activesync(r.path)) parse_activesync_query_into(r.query, r.activesync);
}

// The fast path below also runs over a whole read buffer from a line start (parse_line_at):
// every scan stops at a '\n', so that it never looks into the next line, and a '\n' where a
// field should be makes it give up like any other surprise.

// Position of the first c at or after pos, or npos when a '\n' or the end comes first. 16
// bytes at a time while they are there (the fields before the request are short).
inline size_t find_short(std::string_view s, size_t pos, char c) {
  const char* d = s.data();
  size_t n = s.size();
#if defined(__SSE2__)
  const __m128i vc = _mm_set1_epi8(c), nl = _mm_set1_epi8('\n');
  while (pos + 16 <= n) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + pos));
    int m = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, vc), _mm_cmpeq_epi8(v, nl)));
    if (m) {
      size_t i = pos + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(m)));
      return d[i] == c ? i : std::string_view::npos;
    }
    pos += 16;
  }
#endif
  for (; pos < n; ++pos) {
    if (d[pos] == c) return pos;
    if (d[pos] == '\n') return std::string_view::npos;
  }
  return std::string_view::npos;
}

// Position of the first '"', '\\' or '\n' at or after pos, 16 bytes at a time; npos when none.
inline size_t find_quote_or_stop(std::string_view s, size_t pos) {
  const char* d = s.data();
  size_t n = s.size();
#if defined(__SSE2__)
  const __m128i q = _mm_set1_epi8('"'), b = _mm_set1_epi8('\\'), nl = _mm_set1_epi8('\n');
  while (pos + 16 <= n) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + pos));
    int m = _mm_movemask_epi8(
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, q), _mm_cmpeq_epi8(v, b)), _mm_cmpeq_epi8(v, nl)));
    if (m) return pos + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(m)));
    pos += 16;
  }
#endif
  for (; pos < n; ++pos)
    if (d[pos] == '"' || d[pos] == '\\' || d[pos] == '\n') return pos;
  return std::string_view::npos;
}

// find_quote_or_stop for long fields (the User-Agent): 32 bytes at a time with AVX2 where the
// processor has it (chosen once at run time; the build targets baseline x86-64), else the
// same 16-byte scan.
using FindQuoteFn = size_t (*)(std::string_view s, size_t pos);
size_t find_quote_or_stop_16(std::string_view s, size_t pos) { return find_quote_or_stop(s, pos); }
#if defined(__SSE2__) && (defined(__x86_64__) || defined(__i386__))
__attribute__((target("avx2"))) size_t find_quote_or_stop_32(std::string_view s, size_t pos) {
  const char* d = s.data();
  size_t n = s.size();
  // '"', '\\' and '\n' end in the distinct nibbles 2, 0xc and 0xa: a byte is one of them when
  // it equals the entry of this table at its low nibble (one shuffle and one compare instead
  // of three compares). Every other entry has a low nibble other than its index, so equals
  // no byte; a byte with its high bit set shuffles to 0, which it is not.
  const __m256i tbl = _mm256_setr_epi8(1, 0, '"', 0, 0, 0, 0, 0, 0, 0, '\n', 0, '\\', 0, 0, 0,  //
                                       1, 0, '"', 0, 0, 0, 0, 0, 0, 0, '\n', 0, '\\', 0, 0, 0);
  while (pos + 32 <= n) {
    __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(d + pos));
    auto m = static_cast<unsigned>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_shuffle_epi8(tbl, v), v)));
    if (m) return pos + static_cast<size_t>(__builtin_ctz(m));
    pos += 32;
  }
  for (; pos < n; ++pos)
    if (d[pos] == '"' || d[pos] == '\\' || d[pos] == '\n') return pos;
  return std::string_view::npos;
}
// AVX2 where the processor has it, unless $FW_DETECT_NO_AVX2 is set: the tests run the
// baseline (SSE2) code too on a machine that has AVX2 (detect_test_baseline, CMakeLists.txt).
bool use_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && !std::getenv("FW_DETECT_NO_AVX2");
}
FindQuoteFn pick_find_quote() { return use_avx2() ? find_quote_or_stop_32 : find_quote_or_stop_16; }
#else
FindQuoteFn pick_find_quote() { return find_quote_or_stop_16; }
#endif
const FindQuoteFn g_find_quote_long = pick_find_quote();

// The end of a quoted field that the general parser would find (the first '"' followed by
// `next` and `next2`, when they are not 0), or npos when there is none or when a backslash
// (the general parser then handles the escapes) or a '\n' comes first. `lng`: a long field
// (g_find_quote_long; Avx2: the caller is compiled for AVX2, which inlines the 32-byte search).
template <bool Avx2 = false>
inline __attribute__((always_inline)) size_t find_quoted_end(std::string_view s, size_t pos, char next = 0, char next2 = 0,
                                                             bool lng = false) {
  for (;;) {
    size_t i;
#if defined(__SSE2__) && (defined(__x86_64__) || defined(__i386__))
    if constexpr (Avx2) i = lng ? find_quote_or_stop_32(s, pos) : find_quote_or_stop(s, pos);
    else
#endif
      i = lng ? g_find_quote_long(s, pos) : find_quote_or_stop(s, pos);
    if (i == std::string_view::npos || s[i] != '"') return std::string_view::npos;
    if ((next == 0 || (i + 1 < s.size() && s[i + 1] == next)) && (next2 == 0 || (i + 2 < s.size() && s[i + 2] == next2)))
      return i;
    pos = i + 1;
  }
}

// The combined format without the token interpreter: the field ends are located by short
// 16-byte scans. Returns 0, leaving the decision to the general parser, for every line where
// the two could differ: a backslash in a quoted field (escapes), a missing separator, a bad
// time or status, a '\n' before the User-Agent's closing quote. Otherwise r holds exactly
// what parse_with_tokens(kCombined) gives for the line that `line` starts with (the bytes up
// to its first '\n', or all of it), and the result is one past the User-Agent's closing
// quote: nothing after it matters to the record.
template <bool Avx2>
inline __attribute__((always_inline)) size_t parse_combined_fast_impl(std::string_view line, LogRecord& r, TimeCache& tc) {
  constexpr size_t npos = std::string_view::npos;
  size_t p1 = find_short(line, 0, ' ');  // $remote_addr " "
  if (p1 == npos) return 0;
  // $ident " ": mostly "-", then the scan would stop at the ' ' right after it.
  size_t p2 = p1 + 2 < line.size() && line[p1 + 1] == '-' && line[p1 + 2] == ' ' ? p1 + 2 : find_short(line, p1 + 1, ' ');
  if (p2 == npos) return 0;
  size_t p3 = p2 + 1;  // $remote_user " ["
  for (;; ++p3) {
    p3 = find_short(line, p3, ' ');
    if (p3 == npos) return 0;
    if (p3 + 1 < line.size() && line[p3 + 1] == '[') break;
  }
  size_t ts = p3 + 2;  // $time_local "] \""
  size_t p4;
  bool cached_time = false;
  // The same time text as the last line, followed by the separator: the scan would stop
  // right after it (the cached text came from such a scan, so holds no '\n' nor "] \"").
  // Mostly 26 bytes ("10/Oct/2000:13:55:36 -0700"): then the text and the separator, kept
  // after it in tc.text, are compared in two 16-byte compares.
  if (tc.len == 26 && ts + 28 < line.size()) {
#if defined(__SSE2__)
    const char* t = line.data() + ts;
    __m128i eq = _mm_and_si128(
        _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t)),
                       _mm_loadu_si128(reinterpret_cast<const __m128i*>(tc.text))),
        _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t + 13)),
                       _mm_loadu_si128(reinterpret_cast<const __m128i*>(tc.text + 13))));
    cached_time = _mm_movemask_epi8(eq) == 0xffff;
#else
    cached_time = std::memcmp(line.data() + ts, tc.text, 29) == 0;
#endif
    if (cached_time) p4 = ts + 26;
  } else if (tc.len > 0 && ts + tc.len + 2 < line.size() &&
             std::memcmp(line.data() + ts, tc.text, tc.len) == 0 && line[ts + tc.len] == ']' &&
             line[ts + tc.len + 1] == ' ' && line[ts + tc.len + 2] == '"') {
    p4 = ts + tc.len;
    cached_time = true;
  }
  if (!cached_time && tc.hms >= 0 && ts + 28 < line.size() && std::memcmp(line.data() + ts, tc.text, 12) == 0 &&
      std::memcmp(line.data() + ts + 20, tc.text + 20, 6) == 0 && line[ts + 26] == ']' && line[ts + 27] == ' ' &&
      line[ts + 28] == '"') {
    // The same day and zone as the last time text, another second of the day (most changes
    // of the time text): the value moves by the difference of the clock parts. The clock
    // bytes are digits and ':' (checked), so the scan below would stop at the same ']'.
    int hms = clock_seconds(line.data() + ts + 12);
    if (hms >= 0) {
      p4 = ts + 26;
      tc.value += std::chrono::seconds(hms - tc.hms);
      tc.hms = hms;
      std::memcpy(tc.text + 12, line.data() + ts + 12, 8);
      cached_time = true;
    }
  }
  if (!cached_time) {
    for (p4 = ts;; ++p4) {
      p4 = find_short(line, p4, ']');
      if (p4 == npos) return 0;
      if (p4 + 2 < line.size() && line[p4 + 1] == ' ' && line[p4 + 2] == '"') break;
    }
  }
  size_t rq = p4 + 3;
  size_t p5 = find_quoted_end<Avx2>(line, rq, ' ', 0, /*lng=*/true);  // $request "\" " (mostly over 16 bytes)
  if (p5 == npos) return 0;
  // $status " ": mostly three digits, then the scan would stop at the ' ' right after them
  // (and the status is read here).
  const char* d = line.data();
  size_t p6 = npos;
  int status = -1;
  if (p5 + 5 < line.size() && d[p5 + 5] == ' ') {
    unsigned a = static_cast<unsigned char>(d[p5 + 2]) - '0', b = static_cast<unsigned char>(d[p5 + 3]) - '0',
             c = static_cast<unsigned char>(d[p5 + 4]) - '0';
    if (a <= 9 && b <= 9 && c <= 9) {
      p6 = p5 + 5;
      status = static_cast<int>(a * 100 + b * 10 + c);
    }
  }
  if (status < 0) {
    p6 = find_short(line, p5 + 2, ' ');
    if (p6 == npos) return 0;
    status = 0;
    if (p6 - p5 - 2 == 3) {
      unsigned a = static_cast<unsigned char>(d[p5 + 2]) - '0', b = static_cast<unsigned char>(d[p5 + 3]) - '0',
               c = static_cast<unsigned char>(d[p5 + 4]) - '0';
      if (a <= 9 && b <= 9 && c <= 9) status = static_cast<int>(a * 100 + b * 10 + c);
    }
  }
  size_t p7 = p6 + 1;  // $body_bytes_sent " \""
  for (;; ++p7) {
    p7 = find_short(line, p7, ' ');
    if (p7 == npos) return 0;
    if (p7 + 1 < line.size() && line[p7 + 1] == '"') break;
  }
  // $http_referer "\" \"": mostly "-", then the search would stop at the '"' right after it.
  size_t p8 = p7 + 5 < line.size() && line[p7 + 2] == '-' && line[p7 + 3] == '"' && line[p7 + 4] == ' ' &&
                      line[p7 + 5] == '"'
                  ? p7 + 3
                  : find_quoted_end<Avx2>(line, p7 + 2, ' ', '"');
  if (p8 == npos) return 0;
  size_t ua = p8 + 3;
  size_t p9 = find_quoted_end<Avx2>(line, ua, 0, 0, /*lng=*/true);  // $http_user_agent "\""
  if (p9 == npos) return 0;

  // Fields are decided on locals and stored once (reading a view back right after storing
  // its two halves stalled on store forwarding).
  if (status == 0 && !(p6 - p5 - 2 == 1 && d[p5 + 2] == '-')) return 0;
  std::string_view tt(d + ts, p4 - ts);
  Time time;
  if (cached_time) {
    time = tc.value;
  } else {
    auto tm = parse_clf_time(tt);
    if (!tm) return 0;
    time = *tm;
    if (tt.size() + 3 <= sizeof tc.text) {
      std::memcpy(tc.text, tt.data(), tt.size() + 3);  // with the "] \"" after it
      tc.len = tt.size();
      tc.value = *tm;
      tc.hms = tt.size() == 26 ? clock_seconds(tt.data() + 12) : -1;
    }
  }
  r.status = status;
  r.time = time;
  r.time_text = tt;
  r.client_ip = std::string_view(d, p1);
  size_t user_len = p3 - p2 - 1, ua_len = p9 - ua;
  r.user = user_len == 1 && d[p2 + 1] == '-' ? std::string_view() : std::string_view(d + p2 + 1, user_len);
  r.user_agent = ua_len == 1 && d[ua] == '-' ? std::string_view() : std::string_view(d + ua, ua_len);
  split_request(std::string_view(d + rq, p5 - rq), r, p9 + 1 - rq, rq);
  return p9 + 1;
}

// The fast path for the processor at hand, chosen once at run time: with AVX2, a copy
// compiled for it and flattened, so that the two 32-byte searches of a line and the time
// helpers are inline (no call through g_find_quote_long): -1.7% instructions a line. (The
// whole fast path cloned for AVX2 without flattening kept the calls: +0.9%, not kept.)
using ParseFastFn = size_t (*)(std::string_view line, LogRecord& r, TimeCache& tc);
size_t parse_combined_fast_base(std::string_view line, LogRecord& r, TimeCache& tc) {
  return parse_combined_fast_impl<false>(line, r, tc);
}
#if defined(__SSE2__) && (defined(__x86_64__) || defined(__i386__))
__attribute__((target("avx2"), flatten)) size_t parse_combined_fast_avx2(std::string_view line, LogRecord& r, TimeCache& tc) {
  return parse_combined_fast_impl<true>(line, r, tc);
}
ParseFastFn pick_parse_fast() { return use_avx2() ? parse_combined_fast_avx2 : parse_combined_fast_base; }
#else
ParseFastFn pick_parse_fast() { return parse_combined_fast_base; }
#endif
const ParseFastFn parse_combined_fast = pick_parse_fast();

void reset(LogRecord& r) {
  r.time_text = {};
  r.time = Time{};
  r.client_ip = r.user = r.method = r.path = r.query = r.user_agent = {};
  r.status = 0;
  r.activesync.device_id.clear();
  r.activesync.device_type.clear();
  r.activesync.user.clear();
  r.activesync.command.clear();
}

Status parse_with_tokens(const std::vector<Token>& toks, std::string_view line, LogRecord& r, std::string& ua_buf) {
  size_t pos = 0;
  bool quoted = false;
  for (size_t t = 0; t < toks.size(); ++t) {
    const Token& tok = toks[t];
    if (tok.literal) {
      if (line.compare(pos, tok.text.size(), tok.text) != 0)
        return fail(Errc::parse_error, "expected '" + tok.text + "'", "byte " + std::to_string(pos + 1));
      quoted = !tok.text.empty() && tok.text.back() == '"';
      pos += tok.text.size();
      continue;
    }
    static const std::string empty;
    const std::string& next = t + 1 < toks.size() ? toks[t + 1].text : empty;
    size_t end = find_end(line, pos, next, quoted);
    if (end == std::string_view::npos)
      return fail(Errc::parse_error, "field not terminated", "byte " + std::to_string(pos + 1));
    std::string_view v = line.substr(pos, end - pos);
    switch (tok.var) {
      case Var::remote_addr: r.client_ip = v; break;
      case Var::remote_user: r.user = v; break;
      case Var::time_local: {
        r.time_text = v;
        auto tm = parse_clf_time(v);
        if (!tm) return fail(Errc::parse_error, "bad time", "byte " + std::to_string(pos + 1));
        r.time = *tm;
        break;
      }
      case Var::time_iso8601: {
        r.time_text = v;
        auto tm = parse_iso(v);
        if (!tm) return fail(Errc::parse_error, "bad time", "byte " + std::to_string(pos + 1));
        r.time = *tm;
        break;
      }
      case Var::request: split_request(v, r); break;
      case Var::request_uri: {
        auto q = v.find('?');
        r.path = v.substr(0, q);
        r.query = q == std::string_view::npos ? std::string_view() : v.substr(q + 1);
        break;
      }
      case Var::uri: r.path = v; break;
      case Var::args: r.query = v; break;
      case Var::request_method: r.method = v; break;
      case Var::status:
        r.status = parse_status(v);
        if (r.status == 0 && v != "-") return fail(Errc::parse_error, "bad status", "byte " + std::to_string(pos + 1));
        break;
      case Var::user_agent:
        if (v.find('\\') != std::string_view::npos) {
          ua_buf.clear();
          for (size_t i = 0; i < v.size(); ++i) {
            if (v[i] == '\\' && i + 1 < v.size() && v[i + 1] == '"') continue;
            ua_buf.push_back(v[i]);
          }
          r.user_agent = ua_buf;
        } else {
          r.user_agent = v;
        }
        break;
      case Var::ignore: break;
    }
    pos = end;
  }
  if (r.user_agent == "-") r.user_agent = {};
  if (r.user == "-") r.user = {};
  return {};
}

}  // namespace

Result<bool> LineParser::parse_into(std::string_view line, LogRecord& r) {
  reset(r);
  if (line.size() > kMaxLogLine) return fail(Errc::too_large, "line longer than 64 KiB", "byte 1");
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) return false;
  if (line[0] == '#') {
    if (format_ == LogFormat::auto_detect) format_ = LogFormat::w3c;
    if (format_ == LogFormat::w3c && line.starts_with("#Fields:")) {
      st_->w3c_fields.clear();
      for (auto f : split(trim(line.substr(8)), ' ')) {
        if (f.empty()) continue;
        W3c k = W3c::ignore;
        if (f == "date") k = W3c::date;
        else if (f == "time") k = W3c::time;
        else if (f == "c-ip") k = W3c::c_ip;
        else if (f == "cs-username") k = W3c::username;
        else if (f == "cs-method") k = W3c::method;
        else if (f == "cs-uri-stem") k = W3c::uri_stem;
        else if (f == "cs-uri-query") k = W3c::uri_query;
        else if (f == "sc-status") k = W3c::status;
        else if (f == "cs(User-Agent)") k = W3c::user_agent;
        st_->w3c_fields.push_back(k);
      }
    }
    return false;
  }
  if (format_ == LogFormat::auto_detect) {
    for (LogFormat f : {LogFormat::combined, LogFormat::common}) {
      auto toks = *compile_nginx(f == LogFormat::combined ? kCombined : kCommon);
      LogRecord tmp;
      if (parse_with_tokens(toks, line, tmp, st_->ua_buf)) {
        format_ = f;
        st_->tokens = std::move(toks);
        break;
      }
    }
    if (format_ == LogFormat::auto_detect)
      return fail(Errc::parse_error, "not a combined, common or W3C log line", "byte 1");
  }
  if (format_ == LogFormat::w3c) {
    if (st_->w3c_fields.empty()) return fail(Errc::parse_error, "W3C line before any #Fields: directive", "byte 1");
    std::string_view date, time;
    size_t pos = 0, col = 0;
    while (pos <= line.size() && col < st_->w3c_fields.size()) {
      size_t end = line.find(' ', pos);
      if (end == std::string_view::npos) end = line.size();
      std::string_view v = line.substr(pos, end - pos);
      if (v == "-") v = {};
      switch (st_->w3c_fields[col]) {
        case W3c::date: date = v; break;
        case W3c::time: time = v; break;
        case W3c::c_ip: r.client_ip = v; break;
        case W3c::username: r.user = v; break;
        case W3c::method: r.method = v; break;
        case W3c::uri_stem: r.path = v; break;
        case W3c::uri_query: r.query = v; break;
        case W3c::status: r.status = parse_status(v); break;
        case W3c::user_agent:
          if (v.find('+') != std::string_view::npos) {
            st_->ua_buf.assign(v);
            std::replace(st_->ua_buf.begin(), st_->ua_buf.end(), '+', ' ');
            r.user_agent = st_->ua_buf;
          } else {
            r.user_agent = v;
          }
          break;
        case W3c::ignore: break;
      }
      ++col;
      pos = end + 1;
      if (end == line.size()) break;
    }
    if (col != st_->w3c_fields.size())
      return fail(Errc::parse_error,
                  "expected " + std::to_string(st_->w3c_fields.size()) + " fields, found " + std::to_string(col),
                  "byte " + std::to_string(line.size()));
    if (!date.empty() || !time.empty()) {
      auto tm = parse_iso_parts(date, time);
      if (!tm) return fail(Errc::parse_error, "bad date/time", "byte 1");
      r.time = *tm;
      r.time_text = date.empty() ? time : date;
    }
    finish_activesync(r);
    return true;
  }
  if (format_ == LogFormat::combined && st_->fast) {
    if (parse_combined_fast(line, r, st_->time_cache) != 0) {
      finish_activesync(r);
      return true;
    }
    reset(r);  // the general parser decides (and names the error)
  }
  FW_TRY_STATUS(parse_with_tokens(st_->tokens, line, r, st_->ua_buf));
  finish_activesync(r);
  return true;
}

Result<std::optional<LogRecord>> LineParser::parse(std::string_view line) {
  LogRecord r;
  FW_TRY(bool got, parse_into(line, r));
  if (!got) return std::optional<LogRecord>();
  return std::optional<LogRecord>(std::move(r));
}

size_t LineParser::parse_line_at(std::string_view text, LogRecord& r) {
  if (format_ != LogFormat::combined || !st_->fast || text.empty() || text[0] == '#') return 0;
  // Only what parse_combined_fast may leave unset (the request's method and query when it
  // has no ' ') and the ActiveSync part are cleared: it sets every other field when it
  // takes the line, and the caller's parse_into resets the whole record when it does not.
  r.method = r.query = {};
  ActiveSyncHints& as = r.activesync;  // mostly empty already: one test instead of four stores
  if ((as.device_id.size() | as.device_type.size() | as.user.size() | as.command.size()) != 0) {
    as.device_id.clear();
    as.device_type.clear();
    as.user.clear();
    as.command.clear();
  }
  size_t end = parse_combined_fast(text.substr(0, std::min(text.size(), kMaxLogLine + 1)), r, st_->time_cache);
  if (end == 0) return 0;
  // The line ends at the first '\n' from `end` on (mostly right there, or after a '\r').
  size_t nl;
  if (end < text.size() && text[end] == '\n') nl = end;
  else if (end + 1 < text.size() && text[end] == '\r' && text[end + 1] == '\n') nl = end + 1;
  else if (const void* p = end < text.size() ? std::memchr(text.data() + end, '\n', text.size() - end) : nullptr)
    nl = static_cast<size_t>(static_cast<const char*>(p) - text.data());
  else
    return 0;  // no '\n' in the text: the caller knows whether the line is complete
  if (nl > kMaxLogLine) return 0;  // too long: parse_into reports it
  finish_activesync(r);
  return nl + 1;
}

void LineParser::set_fast_path(bool on) { st_->fast = on; }

}  // namespace fw::detect
