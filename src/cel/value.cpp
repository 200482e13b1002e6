// Value: construction, reference counting, lookup, equality, ordering and formatting;
// timestamp/duration text; value_from_json. Thread-safety: see cel.h (immutable values,
// atomic reference counts).
#include <boost/json.hpp>

#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <new>

#include "cel/value_impl.h"
#include "util/digits.h"

namespace fw::cel {
namespace detail {

MapHeap::MapHeap(std::vector<MapEntry> e) : Heap(Kind::map), entries(std::move(e)) {
  if (entries.size() > kIndexFrom) {
    for (const auto& [k, v] : entries)
      if (k.kind() != Kind::string) return;
    index.reserve(entries.size());
    for (uint32_t i = 0; i < entries.size(); ++i) index.emplace(entries[i].first.as_string(), i);
  }
}

void destroy(Heap* h) noexcept {
  switch (h->kind) {
    case Kind::string:
    case Kind::bytes: {
      auto* s = static_cast<StrHeap*>(h);
      s->~StrHeap();
      ::operator delete(static_cast<void*>(s));
      return;
    }
    case Kind::list: delete static_cast<ListHeap*>(h); return;
    case Kind::map: delete static_cast<MapHeap*>(h); return;
    case Kind::version: delete static_cast<VersionHeap*>(h); return;
    case Kind::error: delete static_cast<ErrorHeap*>(h); return;
    default: assert(false); return;
  }
}

Value make_error(std::string message, int32_t pos) {
  return Value::from_heap(Kind::error, new ErrorHeap(std::move(message), pos));
}

std::optional<std::strong_ordering> compare_numeric(const Value& a, const Value& b) noexcept {
  using so = std::strong_ordering;
  auto dcmp = [](double x, double y) -> std::optional<so> {
    if (std::isnan(x) || std::isnan(y)) return std::nullopt;
    return x < y ? so::less : x > y ? so::greater : so::equal;
  };
  switch (a.kind()) {
    case Kind::int_:
      if (b.kind() == Kind::int_) return a.as_int() <=> b.as_int();
      if (b.kind() == Kind::uint_) {
        if (a.as_int() < 0) return so::less;
        return uint64_t(a.as_int()) <=> b.as_uint();
      }
      return dcmp(double(a.as_int()), b.as_double());
    case Kind::uint_:
      if (b.kind() == Kind::uint_) return a.as_uint() <=> b.as_uint();
      if (b.kind() == Kind::int_) {
        if (b.as_int() < 0) return so::greater;
        return a.as_uint() <=> uint64_t(b.as_int());
      }
      return dcmp(double(a.as_uint()), b.as_double());
    default:
      if (b.kind() == Kind::double_) return dcmp(a.as_double(), b.as_double());
      if (b.kind() == Kind::int_) return dcmp(a.as_double(), double(b.as_int()));
      return dcmp(a.as_double(), double(b.as_uint()));
  }
}

std::optional<std::strong_ordering> compare_values(const Value& a, const Value& b, bool* nan) noexcept {
  *nan = false;
  if (is_numeric(a.kind()) && is_numeric(b.kind())) {
    auto r = compare_numeric(a, b);
    if (!r) *nan = true;
    return r;
  }
  if (a.kind() != b.kind()) return std::nullopt;
  switch (a.kind()) {
    case Kind::bool_: return a.as_bool() <=> b.as_bool();
    case Kind::string:
    case Kind::bytes: {
      int c = a.as_string().compare(b.as_string());
      return c <=> 0;
    }
    case Kind::timestamp:
      if (a.timestamp_seconds() != b.timestamp_seconds())
        return a.timestamp_seconds() <=> b.timestamp_seconds();
      return a.timestamp_nanos() <=> b.timestamp_nanos();
    case Kind::duration: return a.duration_nanos() <=> b.duration_nanos();
    case Kind::version: return a.as_version() <=> b.as_version();
    default: return std::nullopt;
  }
}

std::string format_double(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, r.ptr);
}

namespace {

// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
constexpr int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = unsigned(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + int64_t(doe) - 719468;
}

bool leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
unsigned days_in_month(int64_t y, unsigned m) {
  static const unsigned dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : dm[m - 1];
}

void append_escaped(std::string& out, std::string_view s, bool bytes) {
  out += bytes ? "b\"" : "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f || (bytes && c >= 0x80)) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
  }
  out += '"';
}

}  // namespace

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = unsigned(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = int64_t(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

std::string format_timestamp(int64_t seconds, int32_t nanos) {
  int64_t days = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
  int64_t rem = seconds - days * 86400;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld", (long long)y, m, d,
                (long long)(rem / 3600), (long long)(rem / 60 % 60), (long long)(rem % 60));
  std::string out = buf;
  if (nanos) {
    std::snprintf(buf, sizeof buf, ".%09d", nanos);
    std::string f = buf;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out + "Z";
}

std::string format_duration(int64_t nanos) {
  std::string out;
  uint64_t n = nanos < 0 ? uint64_t(0) - uint64_t(nanos) : uint64_t(nanos);
  if (nanos < 0) out += '-';
  out += std::to_string(n / 1000000000ULL);
  if (uint64_t frac = n % 1000000000ULL) {
    char buf[16];
    std::snprintf(buf, sizeof buf, ".%09llu", (unsigned long long)frac);
    std::string f = buf;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out + "s";
}

std::optional<std::pair<int64_t, int32_t>> parse_timestamp(std::string_view s) {
  int y, mo, d, h, mi, se;
  if (s.size() < 20 || !parse_digits(s, 0, 4, y) || s[4] != '-' || !parse_digits(s, 5, 2, mo) ||
      s[7] != '-' || !parse_digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't') ||
      !parse_digits(s, 11, 2, h) || s[13] != ':' || !parse_digits(s, 14, 2, mi) || s[16] != ':' ||
      !parse_digits(s, 17, 2, se))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || unsigned(d) > days_in_month(y, unsigned(mo)) || h > 23 || mi > 59 ||
      se > 59)
    return std::nullopt;
  size_t p = 19;
  int32_t nanos = 0;
  if (p < s.size() && s[p] == '.') {
    ++p;
    size_t start = p;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
      if (p - start < 9) nanos = nanos * 10 + (s[p] - '0');
      ++p;
    }
    if (p == start || p - start > 9) return std::nullopt;
    for (size_t k = p - start; k < 9; ++k) nanos *= 10;
  }
  if (p >= s.size()) return std::nullopt;
  int64_t offset = 0;
  if (s[p] == 'Z' || s[p] == 'z') {
    ++p;
  } else if (s[p] == '+' || s[p] == '-') {
    int oh, om;
    if (!parse_digits(s, p + 1, 2, oh) || p + 3 >= s.size() || s[p + 3] != ':' ||
        !parse_digits(s, p + 4, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset = (oh * 3600 + om * 60) * (s[p] == '-' ? -1 : 1);
    p += 6;
  } else {
    return std::nullopt;
  }
  if (p != s.size()) return std::nullopt;
  int64_t secs = days_from_civil(y, unsigned(mo), unsigned(d)) * 86400 + h * 3600 + mi * 60 + se - offset;
  if (secs < kMinTimestampSeconds || secs > kMaxTimestampSeconds) return std::nullopt;
  return std::pair{secs, nanos};
}

std::optional<int64_t> parse_duration_ns(std::string_view s) {
  if (s.empty() || s.size() > 256) return std::nullopt;
  size_t p = 0;
  bool neg = false;
  if (s[p] == '-' || s[p] == '+') neg = s[p++] == '-';
  if (s.substr(p) == "0") return 0;
  if (p >= s.size()) return std::nullopt;
  i128 total = 0;
  const i128 limit = (i128(1) << 63);
  while (p < s.size()) {
    i128 whole = 0;
    size_t start = p;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
      whole = whole * 10 + (s[p++] - '0');
      if (whole > limit) return std::nullopt;
    }
    bool had_whole = p > start;
    i128 frac = 0, scale = 1;
    if (p < s.size() && s[p] == '.') {
      ++p;
      size_t fs = p;
      while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
        if (scale < i128(1000000000000000000LL)) {
          frac = frac * 10 + (s[p] - '0');
          scale *= 10;
        }
        ++p;
      }
      if (p == fs && !had_whole) return std::nullopt;
    } else if (!had_whole) {
      return std::nullopt;
    }
    int64_t unit;
    auto rest = s.substr(p);
    if (rest.starts_with("ns")) unit = 1, p += 2;
    else if (rest.starts_with("us")) unit = 1000, p += 2;
    else if (rest.starts_with("\xc2\xb5s")) unit = 1000, p += 3;
    else if (rest.starts_with("ms")) unit = 1000000, p += 2;
    else if (rest.starts_with("s")) unit = 1000000000, p += 1;
    else if (rest.starts_with("m")) unit = 60LL * 1000000000, p += 1;
    else if (rest.starts_with("h")) unit = 3600LL * 1000000000, p += 1;
    else return std::nullopt;
    total += whole * unit + frac * unit / scale;
    if (total > limit) return std::nullopt;
  }
  if (neg) total = -total;
  if (total > INT64_MAX || total < INT64_MIN) return std::nullopt;
  return int64_t(total);
}

bool valid_utf8(std::string_view s) noexcept {
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) { ++i; continue; }
    int len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07;
    else return false;
    if (i + len > n) return false;
    for (int k = 1; k < len; ++k) {
      unsigned char cc = s[i + k];
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

size_t utf8_length(std::string_view s) noexcept {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace detail

using namespace detail;

std::string_view kind_name(Kind k) noexcept {
  switch (k) {
    case Kind::null_type: return "null_type";
    case Kind::bool_: return "bool";
    case Kind::int_: return "int";
    case Kind::uint_: return "uint";
    case Kind::double_: return "double";
    case Kind::string: return "string";
    case Kind::bytes: return "bytes";
    case Kind::list: return "list";
    case Kind::map: return "map";
    case Kind::timestamp: return "google.protobuf.Timestamp";
    case Kind::duration: return "google.protobuf.Duration";
    case Kind::type: return "type";
    case Kind::version: return "fleetward.Version";
    case Kind::error: return "error";
  }
  return "?";
}

Value& Value::operator=(const Value& o) noexcept {
  if (this != &o) {
    Value copy(o);
    *this = std::move(copy);
  }
  return *this;
}
Value& Value::operator=(Value&& o) noexcept {
  if (this != &o) {
    this->~Value();
    std::memcpy(rep_, o.rep_, sizeof rep_);
    small_ = o.small_;
    kind_ = o.kind_;
    o.kind_ = Kind::null_type;
    o.small_ = 0;
  }
  return *this;
}
Value Value::from_heap(Kind k, Heap* h) noexcept {
  Value v;
  v.kind_ = k;
  v.put(0, h);
  return v;
}
Value Value::boolean(bool b) noexcept {
  Value v;
  v.kind_ = Kind::bool_;
  v.rep_[0] = b ? 1 : 0;
  return v;
}
Value Value::integer(int64_t i) noexcept {
  Value v;
  v.kind_ = Kind::int_;
  v.put(0, i);
  return v;
}
Value Value::uinteger(uint64_t u) noexcept {
  Value v;
  v.kind_ = Kind::uint_;
  v.put(0, u);
  return v;
}
Value Value::dbl(double d) noexcept {
  Value v;
  v.kind_ = Kind::double_;
  v.put(0, d);
  return v;
}
Value make_small_string(Kind k, std::string_view s) noexcept {
  Value v;
  v.kind_ = k;
  v.small_ = uint8_t(s.size() + 1);
  if (!s.empty()) std::memcpy(v.rep_, s.data(), s.size());
  return v;
}
static Value make_str(Kind k, std::string_view s) {
  if (s.size() <= Value::kSmall) return make_small_string(k, s);
  void* mem = ::operator new(sizeof(StrHeap) + s.size());
  auto* h = new (mem) StrHeap(k, s.size());
  if (!s.empty()) std::memcpy(h->data(), s.data(), s.size());
  return Value::from_heap(k, h);
}
Value Value::string(std::string_view s) { return make_str(Kind::string, s); }
Value Value::bytes(std::string_view s) { return make_str(Kind::bytes, s); }
Value Value::list(std::vector<Value> items) { return from_heap(Kind::list, new ListHeap(std::move(items))); }
Value Value::map(std::vector<MapEntry> entries) { return from_heap(Kind::map, new MapHeap(std::move(entries))); }
Value Value::record(std::initializer_list<std::pair<std::string_view, Value>> fields) {
  std::vector<MapEntry> e;
  e.reserve(fields.size());
  for (const auto& [k, v] : fields) e.emplace_back(Value::string(k), v);
  return map(std::move(e));
}
Value Value::record(std::vector<std::pair<std::string, Value>> fields) {
  std::vector<MapEntry> e;
  e.reserve(fields.size());
  for (auto& [k, v] : fields) e.emplace_back(Value::string(k), std::move(v));
  return map(std::move(e));
}
Value Value::timestamp(int64_t seconds, int32_t nanos) noexcept {
  Value v;
  v.kind_ = Kind::timestamp;
  v.put(0, seconds);
  v.put(8, nanos);
  return v;
}
Value Value::duration_ns(int64_t nanos) noexcept {
  Value v;
  v.kind_ = Kind::duration;
  v.put(0, nanos);
  return v;
}
Value Value::type(Kind k) noexcept {
  Value v;
  v.kind_ = Kind::type;
  v.rep_[8] = static_cast<unsigned char>(k);
  return v;
}
Value Value::version(const Version& ver) { return from_heap(Kind::version, new VersionHeap(ver)); }

const Version& Value::as_version() const noexcept { return static_cast<const VersionHeap*>(heap())->v; }

const Value* Value::find(std::string_view key) const noexcept {
  if (kind_ != Kind::map) return nullptr;
  auto* m = static_cast<const MapHeap*>(heap());
  if (!m->index.empty()) {
    auto it = m->index.find(key);
    return it == m->index.end() ? nullptr : &m->entries[it->second].second;
  }
  for (const auto& [k, v] : m->entries)
    if (k.kind_ == Kind::string) {
      if (same_bytes(k.as_string(), key)) return &v;
    }
  return nullptr;
}

const Value* Value::find(const Value& key) const noexcept {
  if (kind_ != Kind::map) return nullptr;
  if (key.kind_ == Kind::string) return find(key.as_string());
  auto* m = static_cast<const MapHeap*>(heap());
  for (const auto& [k, v] : m->entries) {
    if (is_numeric(key.kind_)) {
      if (!is_numeric(k.kind_)) continue;
      auto c = compare_numeric(k, key);
      if (c && *c == 0) return &v;
    } else if (k.kind_ == key.kind_ && key.kind_ == Kind::bool_ && k.as_bool() == key.as_bool()) {
      return &v;
    }
  }
  return nullptr;
}

bool operator==(const Value& a, const Value& b) noexcept {
  if (is_numeric(a.kind_) && is_numeric(b.kind_)) {
    auto c = compare_numeric(a, b);
    return c && *c == 0;
  }
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
    case Kind::null_type: return true;
    case Kind::bool_: return a.as_bool() == b.as_bool();
    case Kind::string:
    case Kind::bytes: return a.as_string() == b.as_string();
    case Kind::list: {
      auto x = a.as_list(), y = b.as_list();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i)
        if (!(x[i] == y[i])) return false;
      return true;
    }
    case Kind::map: {
      auto x = a.as_map();
      if (x.size() != b.as_map().size()) return false;
      for (const auto& [k, v] : x) {
        const Value* o = b.find(k);
        if (!o || !(v == *o)) return false;
      }
      return true;
    }
    case Kind::timestamp: return a.timestamp_seconds() == b.timestamp_seconds() && a.timestamp_nanos() == b.timestamp_nanos();
    case Kind::duration: return a.duration_nanos() == b.duration_nanos();
    case Kind::type: return a.type_value() == b.type_value();
    case Kind::version: return a.as_version() == b.as_version();
    default: return false;
  }
}

std::string Value::to_string() const {
  switch (kind_) {
    case Kind::null_type: return "null";
    case Kind::bool_: return as_bool() ? "true" : "false";
    case Kind::int_: return std::to_string(as_int());
    case Kind::uint_: return std::to_string(as_uint()) + "u";
    case Kind::double_: {
      std::string s = format_double(as_double());
      if (s.find_first_of(".eIN") == std::string::npos) s += ".0";
      return s;
    }
    case Kind::string:
    case Kind::bytes: {
      std::string out;
      append_escaped(out, as_string(), kind_ == Kind::bytes);
      return out;
    }
    case Kind::list: {
      std::string out = "[";
      bool first = true;
      for (const auto& v : as_list()) {
        if (!first) out += ", ";
        first = false;
        out += v.to_string();
      }
      return out + "]";
    }
    case Kind::map: {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, v] : as_map()) {
        if (!first) out += ", ";
        first = false;
        out += k.to_string() + ": " + v.to_string();
      }
      return out + "}";
    }
    case Kind::timestamp: return "timestamp(\"" + format_timestamp(timestamp_seconds(), timestamp_nanos()) + "\")";
    case Kind::duration: return "duration(\"" + format_duration(duration_nanos()) + "\")";
    case Kind::type: return std::string(kind_name(type_value()));
    case Kind::version: return "version(\"" + as_version().to_string() + "\")";
    case Kind::error: return "error(" + error_of(*this).message + ")";
  }
  return "?";
}

namespace {

Value from_json(const boost::json::value& j) {
  switch (j.kind()) {
    case boost::json::kind::null: return Value();
    case boost::json::kind::bool_: return Value::boolean(j.get_bool());
    case boost::json::kind::int64: return Value::integer(j.get_int64());
    case boost::json::kind::uint64: {
      uint64_t u = j.get_uint64();
      return u <= uint64_t(INT64_MAX) ? Value::integer(int64_t(u)) : Value::uinteger(u);
    }
    case boost::json::kind::double_: return Value::dbl(j.get_double());
    case boost::json::kind::string: return Value::string(std::string_view(j.get_string()));
    case boost::json::kind::array: {
      std::vector<Value> items;
      items.reserve(j.get_array().size());
      for (const auto& e : j.get_array()) items.push_back(from_json(e));
      return Value::list(std::move(items));
    }
    case boost::json::kind::object: {
      std::vector<MapEntry> entries;
      entries.reserve(j.get_object().size());
      for (const auto& kv : j.get_object())
        entries.emplace_back(Value::string(std::string_view(kv.key())), from_json(kv.value()));
      return Value::map(std::move(entries));
    }
  }
  return Value();
}

}  // namespace

Result<Value> value_from_json(std::string_view json) {
  if (json.size() > 16 * 1024 * 1024) return fail(Errc::too_large, "JSON larger than 16 MiB");
  boost::json::parse_options opt;
  opt.max_depth = 64;
  boost::json::stream_parser p({}, opt);
  boost::system::error_code ec;
  size_t n = p.write(json.data(), json.size(), ec);
  if (!ec) p.finish(ec);
  if (ec) {
    Errc code = ec == boost::json::error::too_deep ? Errc::too_large : Errc::parse_error;
    return fail(code, "bad JSON: " + ec.message(), "byte " + std::to_string(n));
  }
  return from_json(p.release());
}

}  // namespace fw::cel
