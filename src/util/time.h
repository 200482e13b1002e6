// Time in fleetward: instants are UTC, second precision, as fw::Time. Text is RFC 3339.
// Logic that a test must pin down takes a Clock, never reads the wall clock itself.
// Everything here is thread-safe (Clock implementations document their own contract).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/error.h"

namespace fw {

using Time = std::chrono::sys_seconds;
using Seconds = std::chrono::seconds;

// Seconds since the Unix epoch, and back.
inline int64_t to_unix(Time t) noexcept { return t.time_since_epoch().count(); }
inline Time from_unix(int64_t s) noexcept { return Time{Seconds{s}}; }

// Parses RFC 3339 / ISO 8601: "2023-03-31T23:59:59+03:00", "2023-03-31T20:59:59Z",
// fractional seconds (dropped), and a bare date "2023-03-31" (00:00:00 UTC).
// Fails with parse_error naming the byte offset.
Result<Time> parse_time(std::string_view text);

// "2023-03-31T20:59:59Z".
std::string format_time(Time t);
// "2023-03-31T23:59:59+03:00" for an offset in seconds east of UTC.
std::string format_time(Time t, int offset_seconds);
// "2023-03-31" (UTC date, or the date at the given offset).
std::string format_date(Time t, int offset_seconds = 0);

// Parses a duration such as "7d", "36h", "90m", "30s", "2w", "1d12h"; negative with '-'.
Result<Seconds> parse_duration(std::string_view text);
// "7d", "1d12h", "90s": the shortest form parse_duration reads back.
std::string format_duration(Seconds d);

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Time now() const = 0;
};

// The wall clock. Thread-safe.
class SystemClock final : public Clock {
 public:
  Time now() const override;
};

// A clock tests set by hand. Not thread-safe while being set.
class FixedClock final : public Clock {
 public:
  explicit FixedClock(Time t) : t_(t) {}
  Time now() const override { return t_; }
  void set(Time t) { t_ = t; }
  void advance(Seconds d) { t_ += d; }

 private:
  Time t_;
};

}  // namespace fw
