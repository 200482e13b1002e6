// Small string helpers used across modules. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fw {

std::string_view trim(std::string_view s) noexcept;
// Splits on every occurrence of sep; keeps empty fields ("a,,b" -> {"a","","b"}).
std::vector<std::string_view> split(std::string_view s, char sep);
std::string to_lower_ascii(std::string_view s);
std::string to_upper_ascii(std::string_view s);
bool iequals_ascii(std::string_view a, std::string_view b) noexcept;
bool istarts_with_ascii(std::string_view s, std::string_view prefix) noexcept;
// Joins parts with sep.
std::string join(const std::vector<std::string>& parts, std::string_view sep);
// 64-bit FNV-1a hash of s, continuing from `seed` (chain calls to hash several parts).
// Stable across builds and machines: used for fingerprints and ids that are stored.
inline constexpr uint64_t kFnv1aSeed = 14695981039346656037ull;
uint64_t fnv1a64(std::string_view s, uint64_t seed = kFnv1aSeed) noexcept;
// Escapes a string for a JSON string literal body (no surrounding quotes).
std::string json_escape(std::string_view s);

}  // namespace fw
