// Private to src/cel: the heap blocks behind Value, error values, and the numeric and
// ordering helpers shared by the evaluator and the standard library.
// Heap blocks are immutable after construction; the reference count is atomic, so Values
// may be shared between threads.
#pragma once

#include <atomic>
#include <compare>
#include <cstring>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cel/cel.h"

namespace fw::cel::detail {

// 128-bit integers for overflow-free timestamp and duration arithmetic (GCC/Clang).
__extension__ typedef __int128 i128;

struct VersionHeap : Heap {
  Version v;
  explicit VersionHeap(Version x) : Heap(Kind::version), v(std::move(x)) {}
};

struct ErrorHeap : Heap {
  std::string message;
  int32_t pos;  // byte offset into the expression text, -1 when unknown
  ErrorHeap(std::string m, int32_t p) : Heap(Kind::error), message(std::move(m)), pos(p) {}
};


Value make_error(std::string message, int32_t pos);
inline const ErrorHeap& error_of(const Value& v) { return *static_cast<const ErrorHeap*>(v.heap()); }

inline bool is_numeric(Kind k) { return k == Kind::int_ || k == Kind::uint_ || k == Kind::double_; }

// Ordering of two numbers of any numeric kinds; nullopt when a NaN is involved.
// int/uint compare exactly; against double, the integer is converted to double (as cel-go).
std::optional<std::strong_ordering> compare_numeric(const Value& a, const Value& b) noexcept;

// CEL ordering for < <= > >=: nullopt when the kinds cannot be ordered ("no such overload")
// or for NaN (then every comparison is false; `*nan` is set).
std::optional<std::strong_ordering> compare_values(const Value& a, const Value& b, bool* nan) noexcept;

// Formatting used by string() and Value::to_string().
std::string format_double(double d);
std::string format_timestamp(int64_t seconds, int32_t nanos);
std::string format_duration(int64_t nanos);

// Timestamp range of CEL: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999999Z.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;
// Parses RFC 3339 with nanoseconds; nullopt on bad text or out of range.
std::optional<std::pair<int64_t, int32_t>> parse_timestamp(std::string_view s);
// Parses a Go-style duration "1h30m", "-1.5s", "0"; nullopt on bad text or int64 overflow.
std::optional<int64_t> parse_duration_ns(std::string_view s);

bool valid_utf8(std::string_view s) noexcept;

// Byte equality, inlined for the short strings of field names and enum-like values.
inline bool same_bytes(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  if (a.size() > 16) return std::memcmp(a.data(), b.data(), a.size()) == 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return false;
  return true;
}
size_t utf8_length(std::string_view s) noexcept;

}  // namespace fw::cel::detail
