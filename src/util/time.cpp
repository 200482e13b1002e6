// RFC 3339 times and short durations.
#include "util/time.h"

#include <cstdio>

#include "util/digits.h"

namespace fw {
namespace {

using namespace std::chrono;

std::unexpected<Error> bad(std::string_view what, size_t offset) {
  return fail(Errc::parse_error, std::string(what), "byte " + std::to_string(offset));
}

}  // namespace

Result<Time> parse_time(std::string_view s) {
  int y, mo, d, h = 0, mi = 0, se = 0;
  if (!parse_digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !parse_digits(s, 5, 2, mo) ||
      s[7] != '-' || !parse_digits(s, 8, 2, d))
    return bad("expected a date YYYY-MM-DD", 0);
  year_month_day ymd{year{y}, month{unsigned(mo)}, day{unsigned(d)}};
  if (!ymd.ok()) return bad("no such date", 0);
  Time t = sys_days{ymd};
  if (s.size() == 10) return t;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return bad("expected 'T' after the date", 10);
  if (!parse_digits(s, 11, 2, h) || s.size() < 19 || s[13] != ':' || !parse_digits(s, 14, 2, mi) ||
      s[16] != ':' || !parse_digits(s, 17, 2, se))
    return bad("expected a time hh:mm:ss", 11);
  if (h > 23 || mi > 59 || se > 60) return bad("time out of range", 11);
  size_t p = 19;
  if (p < s.size() && s[p] == '.') {
    ++p;
    size_t start = p;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') ++p;
    if (p == start) return bad("expected digits after '.'", p);
  }
  if (p >= s.size()) return bad("expected a zone: 'Z' or +hh:mm", p);
  int offset = 0;
  if (s[p] == 'Z' || s[p] == 'z') {
    ++p;
  } else if (s[p] == '+' || s[p] == '-') {
    int oh, om;
    if (!parse_digits(s, p + 1, 2, oh) || p + 3 >= s.size() || s[p + 3] != ':' ||
        !parse_digits(s, p + 4, 2, om))
      return bad("expected a zone offset +hh:mm", p);
    offset = (oh * 3600 + om * 60) * (s[p] == '-' ? -1 : 1);
    p += 6;
  } else {
    return bad("expected a zone: 'Z' or +hh:mm", p);
  }
  if (p != s.size()) return bad("unexpected text after the time", p);
  return t + hours{h} + minutes{mi} + seconds{se} - seconds{offset};
}

std::string format_time(Time t) { return format_time(t, 0); }

std::string format_time(Time t, int offset) {
  Time local = t + seconds{offset};
  auto dp = floor<days>(local);
  year_month_day ymd{dp};
  hh_mm_ss hms{local - dp};
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ld", int(ymd.year()),
                        unsigned(ymd.month()), unsigned(ymd.day()), long(hms.hours().count()),
                        long(hms.minutes().count()), long(hms.seconds().count()));
  std::string out(buf, size_t(n));
  if (offset == 0) return out + "Z";
  int a = offset < 0 ? -offset : offset;
  std::snprintf(buf, sizeof buf, "%c%02d:%02d", offset < 0 ? '-' : '+', a / 3600, (a % 3600) / 60);
  return out + buf;
}

std::string format_date(Time t, int offset) { return format_time(t, offset).substr(0, 10); }

Result<Seconds> parse_duration(std::string_view s) {
  if (s.empty()) return bad("empty duration", 0);
  bool neg = false;
  size_t p = 0;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    ++p;
  }
  if (p >= s.size()) return bad("expected a number", p);
  int64_t total = 0;
  while (p < s.size()) {
    size_t start = p;
    int64_t v = 0;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
      if (v > 1'000'000'000) return bad("duration too large", start);
      v = v * 10 + (s[p] - '0');
      ++p;
    }
    if (p == start) return bad("expected a number", p);
    if (p >= s.size()) return bad("expected a unit (w, d, h, m, s) after the number", p);
    int64_t unit = 0;
    switch (s[p]) {
      case 'w': unit = 7 * 86400; break;
      case 'd': unit = 86400; break;
      case 'h': unit = 3600; break;
      case 'm': unit = 60; break;
      case 's': unit = 1; break;
      default: return bad("unknown unit; use w, d, h, m or s", p);
    }
    ++p;
    total += v * unit;
  }
  return Seconds{neg ? -total : total};
}

std::string format_duration(Seconds d) {
  int64_t v = d.count();
  if (v == 0) return "0s";
  std::string out = v < 0 ? "-" : "";
  if (v < 0) v = -v;
  const std::pair<int64_t, char> units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
  for (auto [u, c] : units) {
    if (v >= u) {
      out += std::to_string(v / u);
      out += c;
      v %= u;
    }
  }
  return out;
}

Time SystemClock::now() const { return floor<seconds>(system_clock::now()); }

}  // namespace fw
