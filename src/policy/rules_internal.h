// Private to policy/: how rule expressions are compiled (variables device, person, now),
// shared by the file parser and CompiledPolicy. Pure; thread-safe.
#pragma once

#include <string_view>

#include "cel/cel.h"

namespace fw::policy::detail {

inline constexpr size_t kDeviceSlot = 0, kPersonSlot = 1, kNowSlot = 2;

// Compiles one `when`/`require` expression; errors have where = "<expr>:line:col" relative
// to the expression text and no caret excerpt.
Result<cel::Program> compile_rule_expr(std::string_view expr);

// The byte offset in `text` of a 1-based (line, col) position as the CEL compiler reports it;
// clamped to text.size().
size_t offset_of(std::string_view text, int line, int col) noexcept;

}  // namespace fw::policy::detail
