// CEL's standard functions (size, string tests, matches, conversions, timestamp and
// duration accessors) and fleetward's version(). To add a policy function: write a
// `const Value& f(const Value* const* a, size_t n, Value& tmp, Ctx&, int32_t pos)` here and
// add a row to kFunctions (see docs/policy-language.md). Pure functions; thread-safe (the
// only shared state is the mutex-guarded cache of IANA time zones read from tzdata).
#include <re2/re2.h>

#include <charconv>
#include <cmath>
#include <map>
#include <mutex>

#include "cel/eval.h"
#include "util/timezone.h"

namespace fw::cel::detail {

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d);

namespace {

using Args = const Value* const*;

const Value& fn_size(Args a, size_t, Value& tmp, Ctx&, int32_t pos) {
  const Value& v = *a[0];
  switch (v.kind()) {
    case Kind::string: return put(tmp, Value::integer(int64_t(utf8_length(v.as_string()))));
    case Kind::bytes: return put(tmp, Value::integer(int64_t(v.as_string().size())));
    case Kind::list: return put(tmp, Value::integer(int64_t(v.as_list().size())));
    case Kind::map: return put(tmp, Value::integer(int64_t(v.as_map().size())));
    default: return no_overload(tmp, pos, "size", v);
  }
}

template <int Which>  // 0 contains, 1 startsWith, 2 endsWith
const Value& fn_strtest(Args a, size_t, Value& tmp, Ctx&, int32_t pos) {
  static const char* names[] = {"contains", "startsWith", "endsWith"};
  if (a[0]->kind() != Kind::string || a[1]->kind() != Kind::string) return no_overload(tmp, pos, names[Which], *a[0], *a[1]);
  auto s = a[0]->as_string(), t = a[1]->as_string();
  if constexpr (Which == 0) return boolean(s.find(t) != std::string_view::npos);
  if constexpr (Which == 1) return boolean(s.size() >= t.size() && same_bytes(s.substr(0, t.size()), t));
  return boolean(s.size() >= t.size() && same_bytes(s.substr(s.size() - t.size()), t));
}

const Value& fn_matches(Args a, size_t, Value& tmp, Ctx&, int32_t pos) {
  if (a[0]->kind() != Kind::string || a[1]->kind() != Kind::string) return no_overload(tmp, pos, "matches", *a[0], *a[1]);
  auto p = a[1]->as_string();
  re2::RE2 re(re2::StringPiece(p.data(), p.size()), re2::RE2::Quiet);
  if (!re.ok()) return raise(tmp, pos, "invalid regular expression: " + re.error());
  auto s = a[0]->as_string();
  return boolean(re2::RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), re));
}

template <bool Upper>
const Value& fn_case(Args a, size_t, Value& tmp, Ctx&, int32_t pos) {
  if (a[0]->kind() != Kind::string) return no_overload(tmp, pos, Upper ? "upperAscii" : "lowerAscii", *a[0]);
  std::string s(a[0]->as_string());
  for (char& ch : s) {
    if (Upper && ch >= 'a' && ch <= 'z') ch = char(ch - 'a' + 'A');
    if (!Upper && ch >= 'A' && ch <= 'Z') ch = char(ch - 'A' + 'a');
  }
  return put(tmp, Value::string(s));
}

// ------------------------------------------------------------- conversions

const Value& fn_int(Args a, size_t, Value& tmp, Ctx&, int32_t pos) {
  const Value& v = *a[0];
  switch (v.kind()) {
    case Kind::int_: return v;
    case Kind::uint_:
      if (v.as_uint() > uint64_t(INT64_MAX)) return raise(tmp, pos, "int() out of range");
      return put(tmp, Value::integer(int64_t(v.as_uint())));
    case Kind::double_: {
      double d = v.as_double();
      if (!(d > -9223372036854775808.0 && d < 9223372036854775808.0)) return raise(tmp, pos, "int() out of range");
      return put(tmp, Value::integer(int64_t(d)));
    }
    case Kind::string: {
      auto s = v.as_string();
      int64_t r;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), r);
      if (ec != std::errc() || p != s.data() + s.size()) return raise(tmp, pos, "int(): cannot parse " + v.to_string());
      return put(tmp, Value::integer(r));
    }
    case Kind::timestamp: return put(tmp, Value::integer(v.timestamp_seconds()));
    default: return no_overload(tmp, pos, "int", v);
  }
}

const Value& fn_uint(Args a, size_t, Value& tmp, Ctx&, int32_t pos) {
  const Value& v = *a[0];
  switch (v.kind()) {
    case Kind::uint_: return v;
    case Kind::int_:
      if (v.as_int() < 0) return raise(tmp, pos, "uint() out of range");
      return put(tmp, Value::uinteger(uint64_t(v.as_int())));
    case Kind::double_: {
      double d = v.as_double();
      if (!(d >= 0.0 && d < 18446744073709551616.0)) return raise(tmp, pos, "uint() out of range");
      return put(tmp, Value::uinteger(uint64_t(d)));
    }
    case Kind::string: {
      auto s = v.as_string();
      uint64_t r;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), r);
      if (ec != std::errc() || p != s.data() + s.size()) return raise(tmp, pos, "uint(): cannot parse " + v.to_string());
      return put(tmp, Value::uinteger(r));
    }
    default: return no_overload(tmp, pos, "uint", v);
  }
}

const Value& fn_double(Args a, size_t, Value& tmp, Ctx&, int32_t pos) {
  const Value& v = *a[0];
  switch (v.kind()) {
    case Kind::double_: return v;
    case Kind::int_: return put(tmp, Value::dbl(double(v.as_int())));
    case Kind::uint_: return put(tmp, Value::dbl(double(v.as_uint())));
    case Kind::string: {
      auto s = v.as_string();
      std::string_view body = s;
      bool neg = false;
      if (!body.empty() && (body[0] == '+' || body[0] == '-')) neg = body[0] == '-', body.remove_prefix(1);
      double r;
      auto [p, ec] = std::from_chars(body.data(), body.data() + body.size(), r);
      if (body.empty() || body[0] == '+' || body[0] == '-' || p != body.data() + body.size() ||
          (ec != std::errc() && ec != std::errc::result_out_of_range))
        return raise(tmp, pos, "double(): cannot parse " + v.to_string());
      if (ec == std::errc::result_out_of_range) r = std::strtod(std::string(body).c_str(), nullptr);
      return put(tmp, Value::dbl(neg ? -r : r));
    }
    default: return no_overload(tmp, pos, "double", v);
  }
}

const Value& fn_string(Args a, size_t, Value& tmp, Ctx&, int32_t pos) {
  const Value& v = *a[0];
  switch (v.kind()) {
    case Kind::string: return v;
    case Kind::int_: return put(tmp, Value::string(std::to_string(v.as_int())));
    case Kind::uint_: return put(tmp, Value::string(std::to_string(v.as_uint())));
    case Kind::double_: return put(tmp, Value::string(format_double(v.as_double())));
    case Kind::bool_: return put(tmp, Value::string(v.as_bool() ? "true" : "false"));
    case Kind::bytes:
      if (!valid_utf8(v.as_string())) return raise(tmp, pos, "string(): bytes are not valid UTF-8");
      return put(tmp, Value::string(v.as_string()));
    case Kind::timestamp: return put(tmp, Value::string(format_timestamp(v.timestamp_seconds(), v.timestamp_nanos())));
    case Kind::duration: return put(tmp, Value::string(format_duration(v.duration_nanos())));
    case Kind::version: return put(tmp, Value::string(v.as_version().to_string()));
    default: return no_overload(tmp, pos, "string", v);
  }
}

const Value& fn_bool(Args a, size_t, Value& tmp, Ctx&, int32_t pos) {
  const Value& v = *a[0];
  if (v.kind() == Kind::bool_) return v;
  if (v.kind() != Kind::string) return no_overload(tmp, pos, "bool", v);
  auto s = v.as_string();
  if (s == "1" || s == "t" || s == "true" || s == "TRUE" || s == "True") return kTrue;
  if (s == "0" || s == "f" || s == "false" || s == "FALSE" || s == "False") return kFalse;
  return raise(tmp, pos, "bool(): cannot parse " + v.to_string());
}

const Value& fn_bytes(Args a, size_t, Value& tmp, Ctx&, int32_t pos) {
  const Value& v = *a[0];
  if (v.kind() == Kind::bytes) return v;
  if (v.kind() == Kind::string) return put(tmp, Value::bytes(v.as_string()));
  return no_overload(tmp, pos, "bytes", v);
}

const Value& fn_timestamp(Args a, size_t, Value& tmp, Ctx&, int32_t pos) {
  const Value& v = *a[0];
  switch (v.kind()) {
    case Kind::timestamp: return v;
    case Kind::string: {
      auto t = parse_timestamp(v.as_string());
      if (!t) return raise(tmp, pos, "timestamp(): cannot parse " + v.to_string() + " (RFC 3339, years 1-9999)");
      return put(tmp, Value::timestamp(t->first, t->second));
    }
    case Kind::int_:
      if (v.as_int() < kMinTimestampSeconds || v.as_int() > kMaxTimestampSeconds)
        return raise(tmp, pos, "timestamp out of range");
      return put(tmp, Value::timestamp(v.as_int(), 0));
    default: return no_overload(tmp, pos, "timestamp", v);
  }
}

const Value& fn_duration(Args a, size_t, Value& tmp, Ctx&, int32_t pos) {
  const Value& v = *a[0];
  if (v.kind() == Kind::duration) return v;
  if (v.kind() != Kind::string) return no_overload(tmp, pos, "duration", v);
  auto d = parse_duration_ns(v.as_string());
  if (!d) return raise(tmp, pos, "duration(): cannot parse " + v.to_string() + " (e.g. \"72h\", \"1h30m\", \"-1.5s\")");
  return put(tmp, Value::duration_ns(*d));
}

const Value& fn_dyn(Args a, size_t, Value&, Ctx&, int32_t) { return *a[0]; }
const Value& fn_type(Args a, size_t, Value& tmp, Ctx&, int32_t) { return put(tmp, Value::type(a[0]->kind())); }

const Value& fn_version(Args a, size_t, Value& tmp, Ctx&, int32_t pos) {
  const Value& v = *a[0];
  if (v.kind() == Kind::version) return v;
  if (v.kind() != Kind::string) return no_overload(tmp, pos, "version", v);
  auto r = Version::parse(v.as_string());
  if (!r) return raise(tmp, pos, "version(): " + r.error().message + " in " + v.to_string());
  return put(tmp, Value::version(*r));
}

// ------------------------------------------------------------- time accessors

// IANA zones ("Europe/Moscow") come from the system's tzdata through fw::TimeZone; each
// zone is read once per process and kept (mutex-guarded cache; at most 64 zones).
std::optional<int64_t> iana_offset(std::string_view name, int64_t at) {
  static std::mutex mu;
  static std::map<std::string, TimeZone, std::less<>> cache;
  TimeZone tz;
  {
    std::lock_guard lock(mu);
    auto it = cache.find(name);
    if (it != cache.end()) {
      tz = it->second;
    } else {
      auto loaded = TimeZone::load(name);
      if (!loaded) return std::nullopt;
      tz = *loaded;
      if (cache.size() < 64) cache.emplace(std::string(name), tz);
    }
  }
  return tz.offset_at(from_unix(at));
}

// Offset in seconds east of UTC at `at` for "UTC", "Z", "+HH:MM", "-HH:MM", "HH:MM" or an IANA
// zone name; nullopt for anything else.
std::optional<int64_t> tz_offset(std::string_view tz, int64_t at) {
  if (tz.find('/') != std::string_view::npos) return iana_offset(tz, at);
  if (tz == "UTC" || tz == "Z" || tz == "Etc/UTC" || tz == "GMT") return 0;
  int sign = 1;
  if (!tz.empty() && (tz[0] == '+' || tz[0] == '-')) sign = tz[0] == '-' ? -1 : 1, tz.remove_prefix(1);
  if (tz.size() != 5 || tz[2] != ':') return std::nullopt;
  auto dig = [](char c) { return c >= '0' && c <= '9'; };
  if (!dig(tz[0]) || !dig(tz[1]) || !dig(tz[3]) || !dig(tz[4])) return std::nullopt;
  int h = (tz[0] - '0') * 10 + (tz[1] - '0'), m = (tz[3] - '0') * 10 + (tz[4] - '0');
  if (h > 23 || m > 59) return std::nullopt;
  return sign * (h * 3600 + m * 60);
}

enum class Acc { full_year, month, date, day_of_month, day_of_year, day_of_week, hours, minutes, seconds, millis };

template <Acc A>
const Value& fn_time_acc(Args a, size_t n, Value& tmp, Ctx&, int32_t pos) {
  static const char* names[] = {"getFullYear", "getMonth", "getDate", "getDayOfMonth", "getDayOfYear",
                                "getDayOfWeek", "getHours", "getMinutes", "getSeconds", "getMilliseconds"};
  const char* name = names[int(A)];
  const Value& v = *a[0];
  if (v.kind() == Kind::duration && n == 1) {
    int64_t ns = v.duration_nanos();
    switch (A) {
      case Acc::hours: return put(tmp, Value::integer(ns / 3600000000000LL));
      case Acc::minutes: return put(tmp, Value::integer(ns / 60000000000LL));
      case Acc::seconds: return put(tmp, Value::integer(ns / 1000000000LL));
      case Acc::millis: return put(tmp, Value::integer(ns % 1000000000LL / 1000000));
      default: return no_overload(tmp, pos, name, v);
    }
  }
  if (v.kind() != Kind::timestamp) return no_overload(tmp, pos, name, v);
  int64_t offset = 0;
  if (n == 2) {
    if (a[1]->kind() != Kind::string) return no_overload(tmp, pos, name, v, *a[1]);
    auto off = tz_offset(a[1]->as_string(), v.timestamp_seconds());
    if (!off)
      return raise(tmp, pos, "unknown time zone " + a[1]->to_string() +
                                 " (use \"UTC\", a fixed offset such as \"+03:00\", or an IANA name)");
    offset = *off;
  }
  int64_t s = v.timestamp_seconds() + offset;
  int64_t days = s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
  int64_t rem = s - days * 86400;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  int64_t r = 0;
  switch (A) {
    case Acc::full_year: r = y; break;
    case Acc::month: r = m - 1; break;
    case Acc::date: r = d; break;
    case Acc::day_of_month: r = d - 1; break;
    case Acc::day_of_year: {
      int64_t jan1;
      // days since 1970 of January 1st of year y
      int64_t yy = y - 1;
      jan1 = yy * 365 + yy / 4 - yy / 100 + yy / 400 - 719162;
      r = days - jan1;
      break;
    }
    case Acc::day_of_week: r = ((days % 7) + 7 + 4) % 7; break;  // 1970-01-01 was a Thursday
    case Acc::hours: r = rem / 3600; break;
    case Acc::minutes: r = rem / 60 % 60; break;
    case Acc::seconds: r = rem % 60; break;
    case Acc::millis: r = v.timestamp_nanos() / 1000000; break;
  }
  return put(tmp, Value::integer(r));
}

struct Row {
  const char* name;
  bool global;    // callable as f(x, ...)
  bool receiver;  // callable as x.f(...)  (argc counts the receiver)
  size_t min_args, max_args;
  FnInfo info;
};

const Row kFunctions[] = {
    {"size", true, true, 1, 1, {fn_size}},
    {"contains", false, true, 2, 2, {fn_strtest<0>}},
    {"startsWith", false, true, 2, 2, {fn_strtest<1>}},
    {"endsWith", false, true, 2, 2, {fn_strtest<2>}},
    {"matches", true, true, 2, 2, {fn_matches}},
    {"lowerAscii", false, true, 1, 1, {fn_case<false>}},
    {"upperAscii", false, true, 1, 1, {fn_case<true>}},
    {"int", true, false, 1, 1, {fn_int}},
    {"uint", true, false, 1, 1, {fn_uint}},
    {"double", true, false, 1, 1, {fn_double}},
    {"string", true, false, 1, 1, {fn_string}},
    {"bool", true, false, 1, 1, {fn_bool}},
    {"bytes", true, false, 1, 1, {fn_bytes}},
    {"timestamp", true, false, 1, 1, {fn_timestamp}},
    {"duration", true, false, 1, 1, {fn_duration}},
    {"dyn", true, false, 1, 1, {fn_dyn}},
    {"type", true, false, 1, 1, {fn_type}},
    {"version", true, false, 1, 1, {fn_version}},
    {"getFullYear", false, true, 1, 2, {fn_time_acc<Acc::full_year>}},
    {"getMonth", false, true, 1, 2, {fn_time_acc<Acc::month>}},
    {"getDate", false, true, 1, 2, {fn_time_acc<Acc::date>}},
    {"getDayOfMonth", false, true, 1, 2, {fn_time_acc<Acc::day_of_month>}},
    {"getDayOfYear", false, true, 1, 2, {fn_time_acc<Acc::day_of_year>}},
    {"getDayOfWeek", false, true, 1, 2, {fn_time_acc<Acc::day_of_week>}},
    {"getHours", false, true, 1, 2, {fn_time_acc<Acc::hours>}},
    {"getMinutes", false, true, 1, 2, {fn_time_acc<Acc::minutes>}},
    {"getSeconds", false, true, 1, 2, {fn_time_acc<Acc::seconds>}},
    {"getMilliseconds", false, true, 1, 2, {fn_time_acc<Acc::millis>}},
};

}  // namespace

const FnInfo* find_function(std::string_view name, bool receiver, size_t argc) {
  for (const auto& r : kFunctions) {
    if (name != r.name) continue;
    if (receiver ? !r.receiver : !r.global) continue;
    if (argc < r.min_args || argc > r.max_args) continue;
    return &r.info;
  }
  return nullptr;
}

}  // namespace fw::cel::detail
