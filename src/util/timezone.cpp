// TZif reader (RFC 8536) and POSIX TZ footer rules. See timezone.h.
#include "util/timezone.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <vector>

namespace fw {

using namespace std::chrono;

namespace {

struct Type {
  int32_t offset = 0;
  bool dst = false;
  std::string abbr;
};

// Mm.w.d/time rule of a POSIX TZ string.
struct MRule {
  int month = 0, week = 0, wday = 0;
  int32_t time = 7200;  // seconds after local midnight
};

struct Posix {
  Type std_type, dst_type;
  bool has_dst = false;
  MRule start, end;
};

}  // namespace

struct TimeZone::Impl {
  std::string name;
  std::vector<int64_t> trans;      // UTC seconds
  std::vector<uint8_t> trans_type;  // index into types
  std::vector<Type> types;
  std::optional<Posix> footer;
  Type initial;  // before the first transition
};

namespace {

std::unexpected<Error> bad(std::string msg, size_t off) {
  return fail(Errc::parse_error, "TZif: " + std::move(msg), "byte " + std::to_string(off));
}

uint32_t be32(std::string_view d, size_t p) {
  return (uint32_t(uint8_t(d[p])) << 24) | (uint32_t(uint8_t(d[p + 1])) << 16) |
         (uint32_t(uint8_t(d[p + 2])) << 8) | uint32_t(uint8_t(d[p + 3]));
}
int64_t be64(std::string_view d, size_t p) {
  return int64_t((uint64_t(be32(d, p)) << 32) | be32(d, p + 4));
}

// --- POSIX TZ strings: "MSK-3", "CET-1CEST,M3.5.0,M10.5.0/3", "<+03>-3" ---
struct PosixParser {
  std::string_view s;
  size_t p = 0;
  bool name(std::string& out) {
    if (p < s.size() && s[p] == '<') {
      size_t e = s.find('>', p);
      if (e == std::string_view::npos) return false;
      out = std::string(s.substr(p + 1, e - p - 1));
      p = e + 1;
      return !out.empty();
    }
    size_t b = p;
    while (p < s.size() && ((s[p] >= 'A' && s[p] <= 'Z') || (s[p] >= 'a' && s[p] <= 'z'))) ++p;
    out = std::string(s.substr(b, p - b));
    return out.size() >= 3;
  }
  bool num(int& v) {
    size_t b = p;
    v = 0;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9' && p - b < 4) v = v * 10 + (s[p++] - '0');
    return p > b;
  }
  // [+-]hh[:mm[:ss]] -> seconds
  bool hms(int32_t& out) {
    int sign = 1;
    if (p < s.size() && (s[p] == '+' || s[p] == '-')) sign = s[p++] == '-' ? -1 : 1;
    int h, m = 0, sec = 0;
    if (!num(h)) return false;
    if (p < s.size() && s[p] == ':') {
      ++p;
      if (!num(m)) return false;
      if (p < s.size() && s[p] == ':') {
        ++p;
        if (!num(sec)) return false;
      }
    }
    out = sign * (h * 3600 + m * 60 + sec);
    return true;
  }
  bool rule(MRule& r) {
    if (p >= s.size() || s[p] != 'M') return false;  // only the M form is used by tzdata
    ++p;
    if (!num(r.month) || p >= s.size() || s[p++] != '.' || !num(r.week) || p >= s.size() || s[p++] != '.' ||
        !num(r.wday))
      return false;
    if (r.month < 1 || r.month > 12 || r.week < 1 || r.week > 5 || r.wday > 6) return false;
    r.time = 7200;
    if (p < s.size() && s[p] == '/') {
      ++p;
      if (!hms(r.time)) return false;
    }
    return true;
  }
  std::optional<Posix> parse() {
    Posix z;
    if (!name(z.std_type.abbr)) return std::nullopt;
    int32_t off;
    if (!hms(off)) return std::nullopt;
    z.std_type.offset = -off;
    if (p == s.size()) return z;
    if (!name(z.dst_type.abbr)) return std::nullopt;
    z.has_dst = true;
    z.dst_type.dst = true;
    z.dst_type.offset = z.std_type.offset + 3600;
    if (p < s.size() && s[p] != ',') {
      if (!hms(off)) return std::nullopt;
      z.dst_type.offset = -off;
    }
    if (p >= s.size() || s[p++] != ',' || !rule(z.start) || p >= s.size() || s[p++] != ',' || !rule(z.end))
      return std::nullopt;
    if (p != s.size()) return std::nullopt;
    return z;
  }
};

// The local date (days since epoch) of the rule's day in `y`.
int64_t rule_day(int y, const MRule& r) {
  sys_days first = sys_days{year{y} / month{unsigned(r.month)} / day{1}};
  unsigned wd0 = weekday{first}.c_encoding();
  int d = 1 + (r.wday - int(wd0) + 7) % 7 + (r.week - 1) * 7;
  unsigned last = unsigned((year{y} / month{unsigned(r.month)} / std::chrono::last).day());
  while (d > int(last)) d -= 7;
  return first.time_since_epoch().count() + d - 1;
}

const Type& posix_type(const Posix& z, int64_t t) {
  if (!z.has_dst) return z.std_type;
  int y = int(year_month_day{floor<days>(sys_seconds{seconds{t + z.std_type.offset}})}.year());
  // Check the year of t and its neighbours (a southern rule spans the new year).
  for (int yy : {y}) {
    int64_t start = rule_day(yy, z.start) * 86400 + z.start.time - z.std_type.offset;
    int64_t end = rule_day(yy, z.end) * 86400 + z.end.time - z.dst_type.offset;
    if (start < end) return (t >= start && t < end) ? z.dst_type : z.std_type;
    return (t >= end && t < start) ? z.std_type : z.dst_type;
  }
  return z.std_type;
}

bool valid_name(std::string_view n) {
  if (n.empty() || n.size() > 128 || n[0] == '/' || n.find("..") != std::string_view::npos) return false;
  for (char c : n)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '+' ||
          c == '-' || c == '/'))
      return false;
  return true;
}

std::shared_ptr<const TimeZone::Impl> utc_impl() {
  static const auto impl = [] {
    auto i = std::make_shared<TimeZone::Impl>();
    i->name = "UTC";
    i->initial = Type{0, false, "UTC"};
    return i;
  }();
  return impl;
}

}  // namespace

TimeZone::TimeZone() : impl_(utc_impl()) {}

TimeZone TimeZone::fixed(int offset) {
  auto i = std::make_shared<Impl>();
  int a = offset < 0 ? -offset : offset;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%c%02d:%02d", offset < 0 ? '-' : '+', a / 3600, (a % 3600) / 60);
  i->name = buf;
  i->initial = Type{offset, false, buf};
  TimeZone z;
  z.impl_ = std::move(i);
  return z;
}

Result<TimeZone> TimeZone::parse_tzif(std::string_view d, std::string name) {
  if (d.size() > (1u << 20)) return fail(Errc::too_large, "TZif file larger than 1 MiB", name);
  auto header = [&](size_t p, uint32_t c[6], char& version) -> Status {
    if (d.size() < p + 44) return bad("truncated header", p);
    if (d.substr(p, 4) != "TZif") return bad("not a TZif file", p);
    version = d[p + 4];
    for (int k = 0; k < 6; ++k) c[k] = be32(d, p + 20 + size_t(k) * 4);
    // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
    if (c[4] == 0 || c[4] > 256 || c[3] > 100000 || c[5] > 10000 || c[2] > 10000) return bad("bad counts", p + 20);
    return {};
  };
  uint32_t c[6];
  char version;
  FW_TRY_STATUS(header(0, c, version));
  size_t p = 44;
  size_t tsize = 4;
  if (version >= '2') {
    size_t v1 = size_t(c[3]) * 4 + c[3] + size_t(c[4]) * 6 + c[5] + size_t(c[2]) * 8 + c[1] + c[0];
    p += v1;
    FW_TRY_STATUS(header(p, c, version));
    p += 44;
    tsize = 8;
  }
  const uint32_t isutcnt = c[0], isstdcnt = c[1], leapcnt = c[2], timecnt = c[3], typecnt = c[4], charcnt = c[5];
  size_t need = size_t(timecnt) * tsize + timecnt + size_t(typecnt) * 6 + charcnt + size_t(leapcnt) * (tsize + 4) +
                isstdcnt + isutcnt;
  if (d.size() < p + need) return bad("truncated data block", p);
  auto impl = std::make_shared<Impl>();
  impl->name = std::move(name);
  impl->trans.resize(timecnt);
  impl->trans_type.resize(timecnt);
  for (uint32_t k = 0; k < timecnt; ++k)
    impl->trans[k] = tsize == 8 ? be64(d, p + k * 8) : int64_t(int32_t(be32(d, p + k * 4)));
  p += size_t(timecnt) * tsize;
  for (uint32_t k = 0; k < timecnt; ++k) {
    impl->trans_type[k] = uint8_t(d[p + k]);
    if (impl->trans_type[k] >= typecnt) return bad("transition type out of range", p + k);
  }
  p += timecnt;
  size_t abbr_base = p + size_t(typecnt) * 6;
  for (uint32_t k = 0; k < typecnt; ++k) {
    Type t;
    t.offset = int32_t(be32(d, p + k * 6));
    t.dst = d[p + k * 6 + 4] != 0;
    uint8_t ai = uint8_t(d[p + k * 6 + 5]);
    if (ai >= charcnt) return bad("abbreviation index out of range", p + k * 6 + 5);
    std::string_view chars = d.substr(abbr_base, charcnt);
    size_t e = chars.find('\0', ai);
    t.abbr = std::string(chars.substr(ai, e == std::string_view::npos ? std::string_view::npos : e - ai));
    impl->types.push_back(std::move(t));
  }
  p = abbr_base + charcnt + size_t(leapcnt) * (tsize + 4) + isstdcnt + isutcnt;
  impl->initial = impl->types[0];
  if (tsize == 8 && p < d.size() && d[p] == '\n') {
    size_t e = d.find('\n', p + 1);
    if (e != std::string_view::npos && e > p + 1) {
      PosixParser pp{d.substr(p + 1, e - p - 1)};
      impl->footer = pp.parse();
    }
  }
  TimeZone z;
  z.impl_ = std::move(impl);
  return z;
}

Result<TimeZone> TimeZone::load(std::string_view name, std::string_view dir) {
  if (name.empty() || name == "UTC" || name == "Etc/UTC") return TimeZone();
  if (!valid_name(name)) return fail(Errc::invalid_argument, "not a time-zone name: '" + std::string(name) + "'", "timezone");
  std::string path = std::string(dir) + "/" + std::string(name);
  std::ifstream f(path, std::ios::binary);
  if (!f) return fail(Errc::not_found, "no such time zone: '" + std::string(name) + "'", path);
  std::string data;
  char buf[65536];
  while (f.read(buf, sizeof buf) || f.gcount() > 0) {
    data.append(buf, size_t(f.gcount()));
    if (data.size() > (1u << 20)) return fail(Errc::too_large, "TZif file larger than 1 MiB", path);
  }
  auto z = parse_tzif(data, std::string(name));
  if (!z) {
    Error e = z.error();
    e.where = path + ": " + e.where;
    return fail(std::move(e));
  }
  return z;
}

const std::string& TimeZone::name() const noexcept { return impl_->name; }

namespace {
const Type& type_at(const TimeZone::Impl& z, int64_t t) {
  if (z.trans.empty() || t < z.trans.front()) {
    if (z.trans.empty() && z.footer) return posix_type(*z.footer, t);
    return z.initial;
  }
  if (t >= z.trans.back() && z.footer) return posix_type(*z.footer, t);
  auto it = std::upper_bound(z.trans.begin(), z.trans.end(), t);
  size_t k = size_t(it - z.trans.begin()) - 1;
  return z.types[z.trans_type[k]];
}
}  // namespace

int TimeZone::offset_at(Time t) const noexcept { return type_at(*impl_, to_unix(t)).offset; }

std::string TimeZone::abbreviation_at(Time t) const { return type_at(*impl_, to_unix(t)).abbr; }

Time TimeZone::start_of_day(Time t) const noexcept {
  int off = offset_at(t);
  auto local = t + seconds{off};
  auto midnight = floor<days>(local);
  Time guess = Time{midnight.time_since_epoch()} - seconds{off};
  // The offset at midnight may differ from the one at t (a DST change during the day).
  int off2 = offset_at(guess);
  if (off2 != off) guess = Time{midnight.time_since_epoch()} - seconds{off2};
  return guess;
}

Time TimeZone::start_of_next_day(Time t) const noexcept {
  Time s = start_of_day(t);
  return start_of_day(s + hours{36});
}

}  // namespace fw
