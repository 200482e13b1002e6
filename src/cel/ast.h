// Private to src/cel: the syntax tree the parser produces and the compiler consumes.
// Macros (has, all, exists, exists_one, map, filter) are already expanded into their own
// node kinds. Plain data; one tree is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cel/cel.h"

namespace fw::cel::detail {

enum class Op : uint8_t {
  // binary
  add, sub, mul, div, mod, eq, ne, lt, le, gt, ge, in,
  // unary
  neg, not_,
};

enum class MacroKind : uint8_t { all, exists, exists_one, map, filter };

struct Expr {
  enum class K : uint8_t {
    literal,   // value
    ident,     // name (absolute: leading '.')
    select,    // args[0].name; test_only for has()
    index,     // args[0][args[1]]
    call,      // name(args...) or target.name(args...) (target = args[0] when receiver)
    op,        // op, args
    and_,      // args: n-ary &&
    or_,       // args: n-ary ||
    cond,      // args[0] ? args[1] : args[2]
    list,      // args
    map,       // args: k0, v0, k1, v1, ...
    macro,     // macro: args[0] = range, var = name, args[1] = predicate/transform, args[2] = transform of map(x, p, t)
  };
  K kind;
  Op op = Op::add;
  MacroKind macro = MacroKind::all;
  bool absolute = false;   // ident: leading '.'
  bool test_only = false;  // select: has()
  bool receiver = false;   // call: args[0] is the target
  int32_t pos = 0;         // byte offset into the text
  int depth = 1;
  std::string name;        // ident name, field, function name, macro variable
  Value value;             // literal
  std::vector<std::unique_ptr<Expr>> args;
};

using ExprPtr = std::unique_ptr<Expr>;

// Parses text; errors are Errc::parse_error / Errc::too_large with where/message already
// formatted from options (source name, base position, caret).
Result<ExprPtr> parse(std::string_view text, const CompileOptions& options);

// Formats "source:line:col" for byte offset pos, and the message with a caret excerpt.
Error make_error_at(std::string_view text, const CompileOptions& options, int32_t pos, Errc code,
                    std::string message);

}  // namespace fw::cel::detail
