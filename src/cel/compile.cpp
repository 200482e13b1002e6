// compile(): syntax tree -> evaluation tree. Resolves names (locals, longest declared
// qualified name, container, type names) to slots at compile time, folds constant
// sub-expressions, and picks specialised nodes (constant `in` sets, precompiled regexes,
// version comparisons). Also Program::eval. Thread-safety: see cel.h.
#include <algorithm>

#include "cel/eval.h"

namespace fw::cel {
namespace detail {

struct ProgramImpl {
  std::string text;
  CompileOptions options;
  NodePtr root;
  int max_locals = 0;
  std::vector<std::string> paths;  // sorted, unique: see Program::paths
};

namespace {

struct CompileFail {
  int32_t pos;
  std::string message;
};

struct TypeName {
  const char* name;
  Kind kind;
};
const TypeName kTypeNames[] = {
    {"int", Kind::int_},         {"uint", Kind::uint_},     {"double", Kind::double_},
    {"bool", Kind::bool_},       {"string", Kind::string},  {"bytes", Kind::bytes},
    {"list", Kind::list},        {"map", Kind::map},        {"null_type", Kind::null_type},
    {"type", Kind::type},        {"google.protobuf.Timestamp", Kind::timestamp},
    {"google.protobuf.Duration", Kind::duration},
};

class Compiler {
 public:
  Compiler(const CompileOptions& o) : o_(o) {}
  int max_locals = 0;

  std::expected<NodePtr, CompileFail> compile(const Expr& e) {
    switch (e.kind) {
      case Expr::K::literal: return make_const(e.value, e.pos);
      case Expr::K::ident:
      case Expr::K::select: return name_or_select(e);
      case Expr::K::index: {
        auto a = compile(*e.args[0]);
        if (!a) return a;
        auto b = compile(*e.args[1]);
        if (!b) return b;
        bool ac = (*a)->constant() && (*b)->constant();
        return fold(make_index(std::move(*a), std::move(*b), e.pos), ac);
      }
      case Expr::K::op: return op(e);
      case Expr::K::and_:
      case Expr::K::or_: {
        auto args = compile_all(e.args, 0);
        if (!args) return std::unexpected(args.error());
        // Constant operands: a deciding constant decides; a non-deciding one is dropped.
        bool is_and = e.kind == Expr::K::and_;
        std::vector<NodePtr> keep;
        for (auto& n : *args) {
          const Value* c = n->constant();
          if (c && c->kind() == Kind::bool_) {
            if (c->as_bool() != is_and) return make_const(*c, e.pos);
            continue;
          }
          keep.push_back(std::move(n));
        }
        if (keep.empty()) return make_const(Value::boolean(is_and), e.pos);
        return make_logic(is_and, std::move(keep), e.pos);
      }
      case Expr::K::cond: {
        auto args = compile_all(e.args, 0);
        if (!args) return std::unexpected(args.error());
        auto& v = *args;
        if (const Value* c = v[0]->constant(); c && c->kind() == Kind::bool_) return std::move(v[c->as_bool() ? 1 : 2]);
        return make_cond(std::move(v[0]), std::move(v[1]), std::move(v[2]), e.pos);
      }
      case Expr::K::list: {
        auto args = compile_all(e.args, 0);
        if (!args) return std::unexpected(args.error());
        bool ac = all_const(*args);
        return fold(make_list(std::move(*args), e.pos), ac);
      }
      case Expr::K::map: {
        auto args = compile_all(e.args, 0);
        if (!args) return std::unexpected(args.error());
        bool ac = all_const(*args);
        return fold(make_map(std::move(*args), e.pos), ac);
      }
      case Expr::K::call: return call(e);
      case Expr::K::macro: {
        auto range = compile(*e.args[0]);
        if (!range) return range;
        int level = int(scopes_.size());
        scopes_.push_back(e.name);
        max_locals = std::max(max_locals, int(scopes_.size()));
        auto a = compile(*e.args[1]);
        std::expected<NodePtr, CompileFail> b = NodePtr();
        if (a && e.args.size() > 2) b = compile(*e.args[2]);
        scopes_.pop_back();
        if (!a) return a;
        if (!b) return b;
        return make_macro(e.macro, level, std::move(*range), std::move(*a), std::move(*b), e.pos);
      }
    }
    return std::unexpected(CompileFail{e.pos, "unsupported expression"});
  }

 private:
  std::expected<std::vector<NodePtr>, CompileFail> compile_all(const std::vector<ExprPtr>& in, size_t from) {
    std::vector<NodePtr> out;
    out.reserve(in.size());
    for (size_t i = from; i < in.size(); ++i) {
      auto n = compile(*in[i]);
      if (!n) return std::unexpected(n.error());
      out.push_back(std::move(*n));
    }
    return out;
  }

  // Evaluates a node whose children are all constant; replaces it by a constant unless the
  // result is an error (errors stay run-time errors so that && / || can absorb them).
  NodePtr fold(NodePtr n, bool all_constant) {
    if (!all_constant) return n;
    Activation empty;
    Ctx c;
    c.act = &empty;
    const Value* no_locals[1] = {nullptr};
    c.locals = no_locals;
    c.iterations_left = o_.limits.max_iterations;
    c.max_value_bytes = o_.limits.max_value_bytes;
    Value tmp;
    const Value& r = n->eval(c, tmp);
    if (r.kind() == Kind::error) return n;
    return make_const(r, n->pos);
  }

  bool all_const(const std::vector<NodePtr>& v) {
    for (const auto& n : v)
      if (!n->constant()) return false;
    return true;
  }

  std::expected<NodePtr, CompileFail> op(const Expr& e) {
    auto args = compile_all(e.args, 0);
    if (!args) return std::unexpected(args.error());
    auto& v = *args;
    if (v.size() == 2) {
      // version(x) <op> version("const") and the mirror form.
      bool cmp = e.op == Op::eq || e.op == Op::ne || e.op == Op::lt || e.op == Op::le || e.op == Op::gt ||
                 e.op == Op::ge;
      if (cmp && !(v[0]->constant() && v[1]->constant())) {
        for (int side = 0; side < 2; ++side) {
          const Value* c = v[1 - side]->constant();
          const Expr& other = *e.args[side];
          if (c && c->kind() == Kind::version && other.kind == Expr::K::call && other.name == "version" &&
              !other.receiver && other.args.size() == 1 && !version_shadowed()) {
            auto x = compile(*other.args[0]);
            if (!x) return x;
            if (auto n = make_version_compare(e.op, std::move(*x), *c, side == 0, e.pos)) return n;
          }
        }
      }
      if ((e.op == Op::eq || e.op == Op::ne) && (v[0]->constant() == nullptr) != (v[1]->constant() == nullptr)) {
        int ci = v[0]->constant() ? 0 : 1;
        if (v[ci]->constant()->kind() == Kind::string)
          return make_eq_string_const(e.op == Op::ne, std::move(v[1 - ci]), *v[ci]->constant(), e.pos);
      }
      if (e.op == Op::in && !v[0]->constant()) {
        if (const Value* c = v[1]->constant(); c && c->kind() == Kind::list)
          return make_in_const(std::move(v[0]), *c, e.pos);
      }
    }
    bool ac = all_const(v);
    return fold(make_op(e.op, std::move(v), e.pos), ac);
  }

  bool version_shadowed() const { return false; }

  std::expected<NodePtr, CompileFail> call(const Expr& e) {
    std::string name = e.name;
    bool absolute = !name.empty() && name[0] == '.';
    if (absolute) name.erase(0, 1);
    const FnInfo* fn = find_function(name, e.receiver, e.args.size());
    if (!fn) {
      std::string msg = "unknown function '" + name + "' with " + std::to_string(e.args.size() - (e.receiver ? 1 : 0)) +
                        " argument(s)" + (e.receiver ? " on a receiver" : "");
      if (!o_.allow_undeclared) return std::unexpected(CompileFail{e.pos, msg});
      // Arguments are still compiled so that their own errors are reported.
      auto args = compile_all(e.args, 0);
      if (!args) return std::unexpected(args.error());
      return make_error_node(msg, e.pos);
    }
    auto args = compile_all(e.args, 0);
    if (!args) return std::unexpected(args.error());
    auto& v = *args;
    if (name == "matches" && v.size() == 2 && !v[0]->constant())
      if (const Value* p = v[1]->constant(); p && p->kind() == Kind::string)
        if (auto n = make_matches_const(v[0], std::string(p->as_string()), e.pos)) return n;
    if (e.receiver && v.size() == 2 && !v[0]->constant())
      if (const Value* arg = v[1]->constant())
        if (auto n = make_strtest_const(name, v[0], *arg, e.pos)) return n;
    bool ac = fn->pure && all_const(v);
    return fold(make_call(fn, name, std::move(v), e.pos), ac);
  }

  std::optional<size_t> find_var(const std::string& name) const {
    for (size_t i = 0; i < o_.variables.size(); ++i)
      if (o_.variables[i] == name) return i;
    return std::nullopt;
  }

  static std::optional<Kind> find_type(const std::string& name) {
    for (const auto& t : kTypeNames)
      if (name == t.name) return t.kind;
    return std::nullopt;
  }

  // ident or a chain of selects ending in an ident: local variable, longest declared
  // (qualified) name, type name; the rest of the chain is field selection.
  std::expected<NodePtr, CompileFail> name_or_select(const Expr& e) {
    std::vector<const Expr*> chain;  // outermost select first
    const Expr* cur = &e;
    while (cur->kind == Expr::K::select) {
      chain.push_back(cur);
      cur = cur->args[0].get();
    }
    if (cur->kind != Expr::K::ident) {  // selection on a computed value
      auto base = compile(*cur);
      if (!base) return base;
      return apply_selects(std::move(*base), chain, chain.size());
    }
    const Expr& root = *cur;
    // Local variables (comprehension) shadow everything unless the name is absolute.
    if (!root.absolute) {
      for (int i = int(scopes_.size()) - 1; i >= 0; --i)
        if (scopes_[size_t(i)] == root.name)
          return apply_selects(make_local(i, root.pos), chain, chain.size());
    }
    // parts: root name, then the fields from innermost select outwards.
    std::vector<std::string> parts{root.name};
    for (size_t i = chain.size(); i-- > 0;) parts.push_back(chain[i]->name);
    // A test-only select (has) cannot be part of the qualified name.
    size_t max_k = parts.size();
    if (!chain.empty() && chain[0]->test_only) max_k = parts.size() - 1;
    std::vector<std::string> prefixes;
    if (!root.absolute && !o_.container.empty()) {
      std::string c = o_.container;
      for (;;) {
        prefixes.push_back(c + ".");
        auto dot = c.rfind('.');
        if (dot == std::string::npos) break;
        c.resize(dot);
      }
    }
    prefixes.push_back("");
    for (size_t k = max_k; k >= 1; --k) {
      std::string q = parts[0];
      for (size_t j = 1; j < k; ++j) q += "." + parts[j];
      for (const auto& p : prefixes) {
        std::string full = p + q;
        // selects left to apply: parts[k..] = chain[0 .. parts.size()-k)
        size_t remaining = parts.size() - k;
        if (auto slot = find_var(full)) {
          std::string path = full;
          for (size_t j = remaining; j-- > 0;) path += "." + chain[j]->name;
          paths.push_back(std::move(path));
          return apply_selects(make_slot(*slot, full, root.pos), chain, remaining);
        }
        if (auto t = find_type(full)) return apply_selects(make_const(Value::type(*t), root.pos), chain, remaining);
      }
    }
    std::string msg = "undeclared reference to '" + root.name + "'";
    if (!o_.allow_undeclared) {
      std::string known;
      for (const auto& v : o_.variables) known += (known.empty() ? "" : ", ") + v;
      return std::unexpected(CompileFail{root.pos, msg + (known.empty() ? "" : " (declared: " + known + ")")});
    }
    return make_error_node(msg, root.pos);
  }

  // Applies the outermost `count` selects of chain (chain[0] is outermost).
  std::expected<NodePtr, CompileFail> apply_selects(NodePtr base, const std::vector<const Expr*>& chain, size_t count) {
    for (size_t i = count; i-- > 0;) {
      const Expr* s = chain[i];
      bool c = base->constant() != nullptr;
      base = fold(make_select(std::move(base), s->name, s->test_only, s->pos), c);
    }
    return base;
  }

  const CompileOptions& o_;
  std::vector<std::string> scopes_;

 public:
  std::vector<std::string> paths;  // every variable use with its selected fields (unsorted)
};

}  // namespace
}  // namespace detail

using namespace detail;

Result<Program> compile(std::string_view text, const CompileOptions& options) {
  FW_TRY(ExprPtr ast, parse(text, options));
  Compiler c(options);
  auto root = c.compile(*ast);
  if (!root) return fail(make_error_at(text, options, root.error().pos, Errc::parse_error, root.error().message));
  auto impl = std::make_shared<ProgramImpl>();
  impl->text = std::string(text);
  impl->options = options;
  impl->root = std::move(*root);
  impl->max_locals = c.max_locals;
  std::sort(c.paths.begin(), c.paths.end());
  c.paths.erase(std::unique(c.paths.begin(), c.paths.end()), c.paths.end());
  impl->paths = std::move(c.paths);
  return Program(std::move(impl));
}

namespace {
// Runs the tree with comprehension-variable storage on the stack (heap only for programs
// with more than 16 nested comprehensions).
template <class F>
auto run(const ProgramImpl& p, const Activation& act, F&& done) {
  constexpr int kInline = 16;
  const Value* inline_locals[kInline];
  std::vector<const Value*> more;
  Ctx c;
  c.act = &act;
  c.locals = inline_locals;
  if (p.max_locals > kInline) {
    more.assign(size_t(p.max_locals), nullptr);
    c.locals = more.data();
  }
  c.iterations_left = p.options.limits.max_iterations;
  c.max_value_bytes = p.options.limits.max_value_bytes;
  Value tmp;
  const Value& r = p.root->eval(c, tmp);
  return done(r, tmp);
}
}  // namespace

Result<Value> Program::eval(const Activation& act) const {
  if (!impl_) return fail(Errc::eval_error, "empty program");
  return run(*impl_, act, [&](const Value& r, Value& tmp) -> Result<Value> {
  if (r.kind() == Kind::error) {
    const auto& e = error_of(r);
    return fail(make_error_at(impl_->text, impl_->options, e.pos, Errc::eval_error, e.message));
  }
  return &r == &tmp ? std::move(tmp) : r;
  });
}

Result<bool> Program::eval_bool(const Activation& act) const {
  if (!impl_) return fail(Errc::eval_error, "empty program");
  return run(*impl_, act, [&](const Value& r, Value&) -> Result<bool> {
  if (r.kind() == Kind::bool_) return r.as_bool();
  if (r.kind() == Kind::error) {
    const auto& e = error_of(r);
    return fail(make_error_at(impl_->text, impl_->options, e.pos, Errc::eval_error, e.message));
  }
  return fail(make_error_at(impl_->text, impl_->options, 0, Errc::eval_error,
                            "expected the expression to give a bool, got " + std::string(kind_name(r.kind()))));
  });
}

std::optional<size_t> Program::slot(std::string_view name) const {
  if (!impl_) return std::nullopt;
  const auto& v = impl_->options.variables;
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i] == name) return i;
  return std::nullopt;
}

std::vector<std::string> Program::paths(std::string_view variable) const {
  std::vector<std::string> out;
  if (!impl_) return out;
  for (const auto& p : impl_->paths)
    if (p.starts_with(variable) && (p.size() == variable.size() || p[variable.size()] == '.')) out.push_back(p);
  return out;
}

size_t Program::slot_count() const { return impl_ ? impl_->options.variables.size() : 0; }

const std::string& Program::text() const {
  static const std::string empty;
  return impl_ ? impl_->text : empty;
}

Result<Value> evaluate(std::string_view text, std::span<const std::pair<std::string, Value>> bindings) {
  CompileOptions o;
  for (const auto& [k, v] : bindings) o.variables.push_back(k);
  FW_TRY(Program p, compile(text, o));
  Activation act(bindings.size());
  for (size_t i = 0; i < bindings.size(); ++i) act.set(i, bindings[i].second);
  return p.eval(act);
}

}  // namespace fw::cel
