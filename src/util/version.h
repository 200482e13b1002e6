// Dotted version numbers as devices report them: "16.3.1", "13", "4.0.2.249", "12.1-rc1".
// Used by the CEL version() extension, the classifier and reports. Plain values; std only;
// every function here is thread-safe and never allocates for versions without a long suffix.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "util/error.h"

namespace fw {

// A parsed version: up to kMaxComponents numeric components, an optional pre-release
// suffix and optional build metadata.
//
// Grammar (leading/trailing spaces ignored, at most kMaxText bytes):
//   [v|V] N ('.' N)* [ ('-' | '_' | '~' | ' ' | letter) PRE ] [ '+' BUILD ]
// where N is 1-19 decimal digits. PRE is everything after the separator up to '+'.
//
// Ordering:
//   - numeric components first, missing ones count as 0: "4.0" == "4.0.0" < "4.0.2.249";
//   - then a version without a suffix is newer than one with a suffix:
//     "12.1-rc1" < "12.1" < "12.1.1";
//   - suffixes compare by identifiers split on '.', '-', '_': numeric identifiers
//     numerically and before alphanumeric ones, alphanumeric ones by ASCII, case-insensitively;
//     a shorter list of equal identifiers is older ("rc" < "rc.1", "beta2" < "rc1");
//   - build metadata ("+abc") is kept in text() but ignored by comparison.
class Version {
 public:
  static constexpr size_t kMaxComponents = 8;
  static constexpr size_t kMaxText = 128;

  Version() = default;  // "0"

  // Fails with Errc::parse_error ("where" = "byte N") for text that does not start with
  // a number, has an empty or over-long component, more than kMaxComponents components,
  // or is longer than kMaxText.
  static Result<Version> parse(std::string_view text);

  std::span<const uint64_t> components() const noexcept { return {parts_.data(), count_}; }
  std::string_view prerelease() const noexcept { return pre_; }
  std::string_view build() const noexcept { return build_; }
  // Canonical text: components joined by '.', then "-PRE" and "+BUILD" when present.
  std::string to_string() const;

  friend std::strong_ordering operator<=>(const Version& a, const Version& b) noexcept;
  friend bool operator==(const Version& a, const Version& b) noexcept {
    return (a <=> b) == std::strong_ordering::equal;
  }

 private:
  std::array<uint64_t, kMaxComponents> parts_{};
  size_t count_ = 1;
  std::string pre_;
  std::string build_;
};

}  // namespace fw
