// Fixed-width decimal fields of date and time texts ("2023" at 0, "03" at 5): the parsers of
// RFC 3339 times (util/time.cpp, the CEL timestamp() in cel/value.cpp) read them the same way.
// Pure function; thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

namespace fw {

// The n ASCII digits of s at pos as a number in `out`; false (and `out` unchanged) when s is
// too short or any of them is not a digit. n is small (at most 9, so that `out` cannot overflow).
inline bool parse_digits(std::string_view s, size_t pos, size_t n, int& out) noexcept {
  if (pos > s.size() || n > s.size() - pos) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

}  // namespace fw
