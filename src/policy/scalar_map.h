// Private to policy/: maps each byte of a YAML scalar's decoded value back to its byte offset
// in the file, so that errors inside a value (a CEL typo, a bad date) point at the file.
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace fw::policy::detail {

// `mark` is the byte offset of the scalar's node as yaml-cpp reports it (its first token:
// the quote, the block indicator, or the first character of a plain scalar). Returns one
// file offset per byte of `value`, or an empty vector when the file text cannot be aligned
// with the value (then callers fall back to the scalar's start).
std::vector<size_t> map_scalar(std::string_view text, size_t mark, std::string_view value);

}  // namespace fw::policy::detail
