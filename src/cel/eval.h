// Private to src/cel: the evaluation tree that compile() builds from the syntax tree.
// Nodes are immutable after compile (the only mutable state is SelectNode's relaxed-atomic
// position hint), so one tree is evaluated by many threads at once, each with its own Ctx.
//
// Evaluation protocol: `const Value& eval(Ctx&, Value& tmp)` returns a reference either to a
// value that outlives the call (a constant, a bound variable, an element of one of those) or
// to `tmp`, where a computed value was stored. Borrowing instead of copying keeps the common
// paths free of reference counting and allocation. Errors are Values of Kind::error.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "cel/ast.h"
#include "cel/value_impl.h"

namespace fw::cel::detail {

struct Ctx {
  const Activation* act = nullptr;
  const Value** locals = nullptr;  // comprehension variables, by nesting level
  uint64_t iterations_left = 0;
  size_t max_value_bytes = 0;
};

struct Node {
  int32_t pos = 0;
  virtual ~Node() = default;
  virtual const Value& eval(Ctx& c, Value& tmp) const = 0;
  // Non-null for constant nodes (used by constant folding and specialisations).
  virtual const Value* constant() const { return nullptr; }
};
using NodePtr = std::unique_ptr<Node>;

extern const Value kTrue;
extern const Value kFalse;
extern const Value kNull;

inline const Value& boolean(bool b) { return b ? kTrue : kFalse; }
inline const Value& put(Value& tmp, Value v) {
  tmp = std::move(v);
  return tmp;
}
const Value& raise(Value& tmp, int32_t pos, std::string message);
const Value& no_overload(Value& tmp, int32_t pos, std::string_view fn, const Value& a);
const Value& no_overload(Value& tmp, int32_t pos, std::string_view fn, const Value& a, const Value& b);
// Moves `r` into tmp when it lives in `local` (a caller's temporary), else returns it.
inline const Value& pass(const Value& r, Value& local, Value& tmp) {
  if (&r == &local) {
    tmp = std::move(local);
    return tmp;
  }
  return r;
}

// A built-in function: args[0..n) are the evaluated, non-error arguments (the receiver first
// for receiver-style calls). Returns a borrowed value, kTrue/kFalse, or one stored in tmp.
using Fn = const Value& (*)(const Value* const* args, size_t n, Value& tmp, Ctx& c, int32_t pos);

struct FnInfo {
  Fn fn = nullptr;
  bool pure = true;  // may be folded when all arguments are constant
};

// Looks up a built-in by name and call style; nullptr when there is none.
const FnInfo* find_function(std::string_view name, bool receiver, size_t argc);

// Operators, shared by the operator nodes and constant folding.
const Value& eval_arith(Op op, const Value& a, const Value& b, Value& tmp, Ctx& c, int32_t pos);
const Value& eval_compare(Op op, const Value& a, const Value& b, Value& tmp, int32_t pos);
const Value& eval_in(const Value& a, const Value& b, Value& tmp, int32_t pos);
const Value& eval_index(const Value& a, const Value& b, Value& tmp, int32_t pos);

// Map lookup by string with a position hint (relaxed atomic; a wrong hint only costs a scan).
const Value* find_field(const Value& map, std::string_view key, std::atomic<uint32_t>& hint);

// Node factories (eval.cpp).
NodePtr make_const(Value v, int32_t pos);
NodePtr make_slot(size_t slot, std::string name, int32_t pos);
NodePtr make_local(int level, int32_t pos);
NodePtr make_error_node(std::string message, int32_t pos);
NodePtr make_select(NodePtr operand, std::string field, bool test_only, int32_t pos);
NodePtr make_index(NodePtr a, NodePtr b, int32_t pos);
NodePtr make_op(Op op, std::vector<NodePtr> args, int32_t pos);
NodePtr make_logic(bool is_and, std::vector<NodePtr> args, int32_t pos);
NodePtr make_cond(NodePtr c, NodePtr a, NodePtr b, int32_t pos);
NodePtr make_list(std::vector<NodePtr> items, int32_t pos);
NodePtr make_map(std::vector<NodePtr> kv, int32_t pos);
NodePtr make_call(const FnInfo* fn, std::string name, std::vector<NodePtr> args, int32_t pos);
NodePtr make_macro(MacroKind k, int level, NodePtr range, NodePtr a, NodePtr b, int32_t pos);
// Specialisations: `x in <constant list>`, `s.matches(<constant pattern>)`,
// `version(x) <op> <constant version>`. Return nullptr when not applicable (e.g. bad regex:
// then the generic node reports the error at run time).
NodePtr make_in_const(NodePtr x, const Value& list, int32_t pos);
// make_matches_const takes `s` only when it succeeds (a valid pattern).
NodePtr make_matches_const(NodePtr& s, const std::string& pattern, int32_t pos);
// s.contains/startsWith/endsWith(<constant string>); takes `s` only when it succeeds.
NodePtr make_strtest_const(std::string_view name, NodePtr& s, const Value& arg, int32_t pos);
// x == c / x != c for a constant string c.
NodePtr make_eq_string_const(bool negate, NodePtr x, const Value& c, int32_t pos);
NodePtr make_version_compare(Op op, NodePtr x, const Value& constant_version, bool version_on_left, int32_t pos);

}  // namespace fw::cel::detail
