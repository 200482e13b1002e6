// Time zones for display: an IANA zone ("Europe/Moscow") read from the system's TZif files
// (tzdata, /usr/share/zoneinfo), since GCC 12 has no std::chrono::tzdb. Converts UTC
// instants to local offsets, dates and text. A TimeZone is an immutable value after load();
// safe to share and use from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "util/error.h"
#include "util/time.h"

namespace fw {

class TimeZone {
 public:
  TimeZone();  // UTC

  static TimeZone utc() { return TimeZone(); }
  // A zone that is always `offset_seconds` east of UTC, named e.g. "+03:00".
  static TimeZone fixed(int offset_seconds);
  // Loads `name` from `dir`. Fails with invalid_argument for a malformed name (absolute path,
  // "..", characters outside [A-Za-z0-9_+-/]), not_found when no such file, parse_error
  // for a file that is not TZif. "UTC" and "" give UTC without reading a file.
  static Result<TimeZone> load(std::string_view name, std::string_view dir = "/usr/share/zoneinfo");
  // Parses TZif data (versions 1-4; the footer's POSIX TZ rule covers times after the
  // last transition). Fails with parse_error naming the byte offset; too_large over 1 MiB.
  static Result<TimeZone> parse_tzif(std::string_view data, std::string name);

  const std::string& name() const noexcept;
  // Seconds east of UTC in force at t.
  int offset_at(Time t) const noexcept;
  // Zone abbreviation at t ("MSK", "CEST"); may be a numeric form such as "+03".
  std::string abbreviation_at(Time t) const;

  // "2023-03-31T23:59:59+03:00"
  std::string format(Time t) const { return format_time(t, offset_at(t)); }
  // "2023-03-31 23:59" (local, for people)
  std::string format_short(Time t) const { return format_time(t, offset_at(t)).substr(0, 16).replace(10, 1, " "); }
  // "2023-03-31" (local date)
  std::string format_date(Time t) const { return fw::format_date(t, offset_at(t)); }
  // The UTC instant of local midnight starting the local day that contains t.
  Time start_of_day(Time t) const noexcept;
  // The UTC instant of local midnight starting the local day after the one containing t.
  Time start_of_next_day(Time t) const noexcept;

  struct Impl;

 private:
  std::shared_ptr<const Impl> impl_;
};

}  // namespace fw
