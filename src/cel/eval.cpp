// The evaluation nodes and CEL's operators: checked arithmetic, heterogeneous equality and
// ordering, `in`, indexing, commutative &&/||, comprehensions. See eval.h for the protocol.
// Thread-safety: nodes are immutable; each evaluation has its own Ctx.
#include <re2/re2.h>

#include <cmath>
#include <cstring>
#include <unordered_set>

#include "cel/eval.h"

namespace fw::cel::detail {

const Value kTrue = Value::boolean(true);
const Value kFalse = Value::boolean(false);
const Value kNull;

const Value& raise(Value& tmp, int32_t pos, std::string message) {
  return put(tmp, make_error(std::move(message), pos));
}

static std::string kname(const Value& v) { return std::string(kind_name(v.kind())); }

const Value& no_overload(Value& tmp, int32_t pos, std::string_view fn, const Value& a) {
  return raise(tmp, pos, "no matching overload for '" + std::string(fn) + "' on (" + kname(a) + ")");
}
const Value& no_overload(Value& tmp, int32_t pos, std::string_view fn, const Value& a, const Value& b) {
  return raise(tmp, pos,
               "no matching overload for '" + std::string(fn) + "' on (" + kname(a) + ", " + kname(b) + ")");
}

const Value* find_field(const Value& m, std::string_view key, std::atomic<uint32_t>& hint) {
  if (m.kind() != Kind::map) return nullptr;
  auto entries = m.as_map();
  uint32_t h = hint.load(std::memory_order_relaxed);
  if (h < entries.size()) {
    const Value& k = entries[h].first;
    if (k.kind() == Kind::string && same_bytes(k.as_string(), key)) return &entries[h].second;
  }
  const Value* v = m.find(key);
  if (v) {
    auto idx = uint32_t(reinterpret_cast<const MapEntry*>(reinterpret_cast<const char*>(v) - offsetof(MapEntry, second)) -
                        entries.data());
    if (idx != h) hint.store(idx, std::memory_order_relaxed);
  }
  return v;
}

// ---------------------------------------------------------------- operators

static const char* op_name(Op op) {
  switch (op) {
    case Op::add: return "+";
    case Op::sub: return "-";
    case Op::mul: return "*";
    case Op::div: return "/";
    case Op::mod: return "%";
    case Op::eq: return "==";
    case Op::ne: return "!=";
    case Op::lt: return "<";
    case Op::le: return "<=";
    case Op::gt: return ">";
    case Op::ge: return ">=";
    case Op::in: return "in";
    case Op::neg: return "-";
    case Op::not_: return "!";
  }
  return "?";
}

static const Value& ts_result(Value& tmp, int32_t pos, i128 total_ns) {
  // total_ns is nanoseconds since the epoch
  i128 sec = total_ns / 1000000000;
  i128 ns = total_ns % 1000000000;
  if (ns < 0) ns += 1000000000, sec -= 1;
  if (sec < kMinTimestampSeconds || sec > kMaxTimestampSeconds) return raise(tmp, pos, "timestamp out of range");
  return put(tmp, Value::timestamp(int64_t(sec), int32_t(ns)));
}
static i128 ts_ns(const Value& t) { return i128(t.timestamp_seconds()) * 1000000000 + t.timestamp_nanos(); }
static const Value& dur_result(Value& tmp, int32_t pos, i128 ns) {
  if (ns > INT64_MAX || ns < INT64_MIN) return raise(tmp, pos, "duration out of range");
  return put(tmp, Value::duration_ns(int64_t(ns)));
}

const Value& eval_arith(Op op, const Value& a, const Value& b, Value& tmp, Ctx& c, int32_t pos) {
  Kind ka = a.kind(), kb = b.kind();
  if (ka == kb) {
    switch (ka) {
      case Kind::int_: {
        int64_t x = a.as_int(), y = b.as_int(), r;
        switch (op) {
          case Op::add: if (__builtin_add_overflow(x, y, &r)) return raise(tmp, pos, "integer overflow"); break;
          case Op::sub: if (__builtin_sub_overflow(x, y, &r)) return raise(tmp, pos, "integer overflow"); break;
          case Op::mul: if (__builtin_mul_overflow(x, y, &r)) return raise(tmp, pos, "integer overflow"); break;
          case Op::div:
            if (y == 0) return raise(tmp, pos, "division by zero");
            if (x == INT64_MIN && y == -1) return raise(tmp, pos, "integer overflow");
            r = x / y;
            break;
          case Op::mod:
            if (y == 0) return raise(tmp, pos, "modulus by zero");
            if (x == INT64_MIN && y == -1) return raise(tmp, pos, "integer overflow");
            r = x % y;
            break;
          default: return no_overload(tmp, pos, op_name(op), a, b);
        }
        return put(tmp, Value::integer(r));
      }
      case Kind::uint_: {
        uint64_t x = a.as_uint(), y = b.as_uint(), r;
        switch (op) {
          case Op::add: if (__builtin_add_overflow(x, y, &r)) return raise(tmp, pos, "unsigned integer overflow"); break;
          case Op::sub: if (__builtin_sub_overflow(x, y, &r)) return raise(tmp, pos, "unsigned integer overflow"); break;
          case Op::mul: if (__builtin_mul_overflow(x, y, &r)) return raise(tmp, pos, "unsigned integer overflow"); break;
          case Op::div:
            if (y == 0) return raise(tmp, pos, "division by zero");
            r = x / y;
            break;
          case Op::mod:
            if (y == 0) return raise(tmp, pos, "modulus by zero");
            r = x % y;
            break;
          default: return no_overload(tmp, pos, op_name(op), a, b);
        }
        return put(tmp, Value::uinteger(r));
      }
      case Kind::double_: {
        double x = a.as_double(), y = b.as_double();
        switch (op) {
          case Op::add: return put(tmp, Value::dbl(x + y));
          case Op::sub: return put(tmp, Value::dbl(x - y));
          case Op::mul: return put(tmp, Value::dbl(x * y));
          case Op::div: return put(tmp, Value::dbl(x / y));
          default: return no_overload(tmp, pos, op_name(op), a, b);
        }
      }
      case Kind::string:
      case Kind::bytes: {
        if (op != Op::add) break;
        auto x = a.as_string(), y = b.as_string();
        if (x.size() + y.size() > c.max_value_bytes) return raise(tmp, pos, "string or bytes result too large");
        std::string s;
        s.reserve(x.size() + y.size());
        s.append(x).append(y);
        return put(tmp, ka == Kind::string ? Value::string(s) : Value::bytes(s));
      }
      case Kind::list: {
        if (op != Op::add) break;
        auto x = a.as_list(), y = b.as_list();
        if (y.empty()) return a;
        if (x.empty()) return b;
        if ((x.size() + y.size()) * sizeof(Value) > c.max_value_bytes) return raise(tmp, pos, "list result too large");
        std::vector<Value> v;
        v.reserve(x.size() + y.size());
        v.insert(v.end(), x.begin(), x.end());
        v.insert(v.end(), y.begin(), y.end());
        return put(tmp, Value::list(std::move(v)));
      }
      case Kind::duration: {
        i128 x = a.duration_nanos(), y = b.duration_nanos();
        if (op == Op::add) return dur_result(tmp, pos, x + y);
        if (op == Op::sub) return dur_result(tmp, pos, x - y);
        break;
      }
      case Kind::timestamp:
        if (op == Op::sub) return dur_result(tmp, pos, ts_ns(a) - ts_ns(b));
        break;
      default: break;
    }
    return no_overload(tmp, pos, op_name(op), a, b);
  }
  if (ka == Kind::timestamp && kb == Kind::duration && (op == Op::add || op == Op::sub))
    return ts_result(tmp, pos, op == Op::add ? ts_ns(a) + b.duration_nanos() : ts_ns(a) - b.duration_nanos());
  if (ka == Kind::duration && kb == Kind::timestamp && op == Op::add)
    return ts_result(tmp, pos, ts_ns(b) + a.duration_nanos());
  return no_overload(tmp, pos, op_name(op), a, b);
}

const Value& eval_compare(Op op, const Value& a, const Value& b, Value& tmp, int32_t pos) {
  if (op == Op::eq) return boolean(a == b);
  if (op == Op::ne) return boolean(!(a == b));
  bool nan = false;
  auto c = compare_values(a, b, &nan);
  if (!c) {
    if (nan) return kFalse;
    return no_overload(tmp, pos, op_name(op), a, b);
  }
  switch (op) {
    case Op::lt: return boolean(*c < 0);
    case Op::le: return boolean(*c <= 0);
    case Op::gt: return boolean(*c > 0);
    default: return boolean(*c >= 0);
  }
}

const Value& eval_in(const Value& a, const Value& b, Value& tmp, int32_t pos) {
  if (b.kind() == Kind::list) {
    for (const auto& e : b.as_list())
      if (a == e) return kTrue;
    return kFalse;
  }
  if (b.kind() == Kind::map) {
    Kind k = a.kind();
    if (k != Kind::string && k != Kind::bool_ && !is_numeric(k)) return no_overload(tmp, pos, "in", a, b);
    return boolean(b.find(a) != nullptr);
  }
  return no_overload(tmp, pos, "in", a, b);
}

const Value& eval_index(const Value& a, const Value& b, Value& tmp, int32_t pos) {
  if (a.kind() == Kind::list) {
    auto items = a.as_list();
    int64_t i;
    switch (b.kind()) {
      case Kind::int_: i = b.as_int(); break;
      case Kind::uint_:
        if (b.as_uint() > uint64_t(INT64_MAX)) return raise(tmp, pos, "index out of range");
        i = int64_t(b.as_uint());
        break;
      case Kind::double_: {
        double d = b.as_double();
        if (!(d >= -9.2e18 && d <= 9.2e18) || d != std::trunc(d))
          return raise(tmp, pos, "invalid list index " + format_double(d));
        i = int64_t(d);
        break;
      }
      default: return no_overload(tmp, pos, "[]", a, b);
    }
    if (i < 0 || uint64_t(i) >= items.size())
      return raise(tmp, pos, "index " + std::to_string(i) + " out of range (size " + std::to_string(items.size()) + ")");
    return items[size_t(i)];
  }
  if (a.kind() == Kind::map) {
    Kind k = b.kind();
    if (k != Kind::string && k != Kind::bool_ && !is_numeric(k)) return raise(tmp, pos, "no such key: " + b.to_string());
    const Value* v = a.find(b);
    if (!v) return raise(tmp, pos, "no such key: " + b.to_string());
    return *v;
  }
  return no_overload(tmp, pos, "[]", a, b);
}

// ---------------------------------------------------------------- nodes

namespace {

struct ConstNode final : Node {
  Value v;
  const Value& eval(Ctx&, Value&) const override { return v; }
  const Value* constant() const override { return &v; }
};

struct SlotNode final : Node {
  size_t slot;
  std::string name;
  const Value& eval(Ctx& c, Value& tmp) const override {
    const Value* v = c.act->get(slot);
    if (!v) return raise(tmp, pos, "no value bound to variable '" + name + "'");
    return *v;
  }
};

struct LocalNode final : Node {
  int level;
  const Value& eval(Ctx& c, Value&) const override { return *c.locals[level]; }
};

struct ErrorNode final : Node {
  std::string message;
  const Value& eval(Ctx&, Value& tmp) const override { return raise(tmp, pos, message); }
};

struct SelectNode final : Node {
  NodePtr operand;
  std::string field;
  bool test_only = false;
  mutable std::atomic<uint32_t> hint{0};
  const Value& eval(Ctx& c, Value& tmp) const override {
    Value t;
    const Value& m = operand->eval(c, t);
    if (m.kind() != Kind::map) {
      if (m.kind() == Kind::error) return pass(m, t, tmp);
      return raise(tmp, pos, "cannot select field '" + field + "' from a value of type " + kname(m));
    }
    const Value* v = find_field(m, field, hint);
    if (test_only) return boolean(v != nullptr);
    if (!v) return raise(tmp, pos, "no such key: '" + field + "'");
    if (&m == &t) return put(tmp, *v);
    return *v;
  }
};

struct IndexNode final : Node {
  NodePtr a, b;
  const Value& eval(Ctx& c, Value& tmp) const override {
    Value ta, tb;
    const Value& x = a->eval(c, ta);
    if (x.kind() == Kind::error) return pass(x, ta, tmp);
    const Value& y = b->eval(c, tb);
    if (y.kind() == Kind::error) return pass(y, tb, tmp);
    const Value& r = eval_index(x, y, tmp, pos);
    if (&r != &tmp && &x == &ta) return put(tmp, r);  // element of a temporary container
    return r;
  }
};

struct BinaryNode final : Node {
  Op op;
  NodePtr a, b;
  const Value& eval(Ctx& c, Value& tmp) const override {
    Value ta, tb;
    const Value& x = a->eval(c, ta);
    if (x.kind() == Kind::error) return pass(x, ta, tmp);
    const Value& y = b->eval(c, tb);
    if (y.kind() == Kind::error) return pass(y, tb, tmp);
    switch (op) {
      case Op::eq: case Op::ne: case Op::lt: case Op::le: case Op::gt: case Op::ge:
        return eval_compare(op, x, y, tmp, pos);
      case Op::in: return eval_in(x, y, tmp, pos);
      default: {
        const Value& r = eval_arith(op, x, y, tmp, c, pos);
        if (&r == &x) return pass(x, ta, tmp);  // list + [] returns an operand
        if (&r == &y) return pass(y, tb, tmp);
        return r;
      }
    }
  }
};

struct UnaryNode final : Node {
  Op op;
  NodePtr a;
  const Value& eval(Ctx& c, Value& tmp) const override {
    Value t;
    const Value& x = a->eval(c, t);
    if (x.kind() == Kind::error) return pass(x, t, tmp);
    if (op == Op::not_) {
      if (x.kind() != Kind::bool_) return no_overload(tmp, pos, "!", x);
      return boolean(!x.as_bool());
    }
    switch (x.kind()) {
      case Kind::int_:
        if (x.as_int() == INT64_MIN) return raise(tmp, pos, "integer overflow");
        return put(tmp, Value::integer(-x.as_int()));
      case Kind::double_: return put(tmp, Value::dbl(-x.as_double()));
      case Kind::duration:
        if (x.duration_nanos() == INT64_MIN) return raise(tmp, pos, "duration out of range");
        return put(tmp, Value::duration_ns(-x.duration_nanos()));
      default: return no_overload(tmp, pos, "-", x);
    }
  }
};

// n-ary && / ||: commutative over errors. The first deciding operand (false for &&, true
// for ||) wins even when an earlier operand failed; otherwise the first error is the result.
struct LogicNode final : Node {
  bool is_and;
  std::vector<NodePtr> args;
  const Value& eval(Ctx& c, Value& tmp) const override {
    bool have_err = false;
    for (const auto& n : args) {
      Value t;
      const Value& r = n->eval(c, t);
      if (r.kind() == Kind::bool_) {
        if (r.as_bool() != is_and) return r.as_bool() ? kTrue : kFalse;
        continue;
      }
      if (!have_err) {
        have_err = true;
        if (r.kind() == Kind::error) tmp = &r == &t ? std::move(t) : r;
        else no_overload(tmp, n->pos, is_and ? "&&" : "||", r);
      }
    }
    if (have_err) return tmp;
    return is_and ? kTrue : kFalse;
  }
};

struct CondNode final : Node {
  NodePtr c, a, b;
  const Value& eval(Ctx& ctx, Value& tmp) const override {
    Value t;
    const Value& x = c->eval(ctx, t);
    if (x.kind() != Kind::bool_) {
      if (x.kind() == Kind::error) return pass(x, t, tmp);
      return no_overload(tmp, pos, "?:", x);
    }
    return (x.as_bool() ? a : b)->eval(ctx, tmp);
  }
};

struct ListNode final : Node {
  std::vector<NodePtr> items;
  const Value& eval(Ctx& c, Value& tmp) const override {
    std::vector<Value> out;
    out.reserve(items.size());
    for (const auto& n : items) {
      Value t;
      const Value& r = n->eval(c, t);
      if (r.kind() == Kind::error) return pass(r, t, tmp);
      out.push_back(&r == &t ? std::move(t) : r);
    }
    return put(tmp, Value::list(std::move(out)));
  }
};

struct MapNode final : Node {
  std::vector<NodePtr> kv;
  const Value& eval(Ctx& c, Value& tmp) const override {
    std::vector<MapEntry> out;
    out.reserve(kv.size() / 2);
    for (size_t i = 0; i < kv.size(); i += 2) {
      Value tk, tv;
      const Value& k = kv[i]->eval(c, tk);
      if (k.kind() == Kind::error) return pass(k, tk, tmp);
      const Value& v = kv[i + 1]->eval(c, tv);
      if (v.kind() == Kind::error) return pass(v, tv, tmp);
      Kind kk = k.kind();
      if (kk != Kind::string && kk != Kind::bool_ && kk != Kind::int_ && kk != Kind::uint_)
        return raise(tmp, kv[i]->pos, "unsupported map key type " + kname(k));
      for (const auto& e : out)
        if (e.first == k) return raise(tmp, kv[i]->pos, "duplicate map key " + k.to_string());
      out.emplace_back(&k == &tk ? std::move(tk) : k, &v == &tv ? std::move(tv) : v);
    }
    return put(tmp, Value::map(std::move(out)));
  }
};

struct CallNode final : Node {
  Fn fn;
  std::string name;
  std::vector<NodePtr> args;
  const Value& eval(Ctx& c, Value& tmp) const override {
    constexpr size_t kInline = 4;
    size_t n = args.size();
    Value inline_tmp[kInline];
    const Value* inline_ptr[kInline];
    std::vector<Value> heap_tmp;
    std::vector<const Value*> heap_ptr;
    Value* t = inline_tmp;
    const Value** p = inline_ptr;
    if (n > kInline) {
      heap_tmp.resize(n);
      heap_ptr.resize(n);
      t = heap_tmp.data();
      p = heap_ptr.data();
    }
    for (size_t i = 0; i < n; ++i) {
      const Value& r = args[i]->eval(c, t[i]);
      if (r.kind() == Kind::error) return pass(r, t[i], tmp);
      p[i] = &r;
    }
    const Value& r = fn(p, n, tmp, c, pos);
    if (&r == &tmp || &r == &kTrue || &r == &kFalse) return r;
    for (size_t i = 0; i < n; ++i)  // a borrowed result must not point into our temporaries
      if (p[i] == &t[i]) return put(tmp, r);
    return r;
  }
};

struct MacroNode final : Node {
  MacroKind kind;
  int level;
  NodePtr range, a, b;

  const Value& eval(Ctx& c, Value& tmp) const override {
    Value tr;
    const Value& r = range->eval(c, tr);
    if (r.kind() == Kind::error) return pass(r, tr, tmp);
    std::span<const Value> list_items;
    std::span<const MapEntry> map_items;
    bool is_map = r.kind() == Kind::map;
    if (r.kind() == Kind::list) list_items = r.as_list();
    else if (is_map) map_items = r.as_map();
    else return raise(tmp, pos, "cannot iterate over a value of type " + kname(r));
    size_t n = is_map ? map_items.size() : list_items.size();
    const Value* saved = c.locals[level];
    struct Restore {
      Ctx& c; int level; const Value* saved;
      ~Restore() { c.locals[level] = saved; }
    } restore{c, level, saved};

    bool have_err = false;
    size_t count = 0;
    std::vector<Value> out;
    for (size_t i = 0; i < n; ++i) {
      if (c.iterations_left == 0) return raise(tmp, pos, "evaluation exceeded the iteration limit");
      --c.iterations_left;
      const Value& elem = is_map ? map_items[i].first : list_items[i];
      c.locals[level] = &elem;
      Value t;
      const Value& p = a->eval(c, t);
      switch (kind) {
        case MacroKind::all:
        case MacroKind::exists: {
          bool decisive = kind == MacroKind::exists;
          if (p.kind() == Kind::bool_) {
            if (p.as_bool() == decisive) return boolean(decisive);
          } else if (!have_err) {
            have_err = true;
            if (p.kind() == Kind::error) tmp = &p == &t ? std::move(t) : p;
            else no_overload(tmp, a->pos, kind == MacroKind::all ? "all" : "exists", p);
          }
          break;
        }
        case MacroKind::exists_one:
        case MacroKind::filter: {
          if (p.kind() != Kind::bool_) {
            if (p.kind() == Kind::error) return pass(p, t, tmp);
            return no_overload(tmp, a->pos, kind == MacroKind::filter ? "filter" : "exists_one", p);
          }
          if (p.as_bool()) {
            ++count;
            if (kind == MacroKind::filter) out.push_back(elem);
          }
          break;
        }
        case MacroKind::map: {
          if (b) {  // map(x, filter, transform)
            if (p.kind() != Kind::bool_) {
              if (p.kind() == Kind::error) return pass(p, t, tmp);
              return no_overload(tmp, a->pos, "map", p);
            }
            if (!p.as_bool()) break;
            Value t2;
            const Value& q = b->eval(c, t2);
            if (q.kind() == Kind::error) return pass(q, t2, tmp);
            out.push_back(&q == &t2 ? std::move(t2) : q);
          } else {
            if (p.kind() == Kind::error) return pass(p, t, tmp);
            out.push_back(&p == &t ? std::move(t) : p);
          }
          if (out.size() * sizeof(Value) > c.max_value_bytes) return raise(tmp, pos, "list result too large");
          break;
        }
      }
    }
    switch (kind) {
      case MacroKind::all:
      case MacroKind::exists:
        if (have_err) return tmp;
        return boolean(kind == MacroKind::all);
      case MacroKind::exists_one: return boolean(count == 1);
      default: return put(tmp, Value::list(std::move(out)));
    }
  }
};

// `x in [constant list]`: strings are looked up in a hash set (or a short array); other
// kinds fall back to CEL equality over the constant elements.
struct InConstNode final : Node {
  NodePtr x;
  Value list;  // keeps the string storage alive
  std::vector<std::string_view> small;
  std::unordered_set<std::string_view> strings;
  bool all_strings = true;
  const Value& eval(Ctx& c, Value& tmp) const override {
    Value t;
    const Value& v = x->eval(c, t);
    if (v.kind() == Kind::error) return pass(v, t, tmp);
    if (v.kind() == Kind::string && all_strings) {
      auto s = v.as_string();
      if (strings.empty()) {
        for (auto e : small)
          if (same_bytes(e, s)) return kTrue;
        return kFalse;
      }
      return boolean(strings.count(s) != 0);
    }
    return eval_in(v, list, tmp, pos);
  }
};

// s.startsWith("c") / s.endsWith("c") / s.contains("c") with a constant argument.
struct StrTestConstNode final : Node {
  int which;  // 0 contains, 1 startsWith, 2 endsWith
  NodePtr s;
  Value arg;
  const Value& eval(Ctx& c, Value& tmp) const override {
    Value t;
    const Value& v = s->eval(c, t);
    if (v.kind() != Kind::string) {
      if (v.kind() == Kind::error) return pass(v, t, tmp);
      static const char* names[] = {"contains", "startsWith", "endsWith"};
      return no_overload(tmp, pos, names[which], v, arg);
    }
    auto x = v.as_string(), y = arg.as_string();
    if (x.size() < y.size()) return kFalse;
    if (which == 1) return boolean(same_bytes(x.substr(0, y.size()), y));
    if (which == 2) return boolean(same_bytes(x.substr(x.size() - y.size()), y));
    return boolean(x.find(y) != std::string_view::npos);
  }
};

// x == "c" / x != "c" with a constant string: no overload can fail, other kinds are unequal.
struct EqStringConstNode final : Node {
  bool negate;
  NodePtr x;
  Value c;
  const Value& eval(Ctx& ctx, Value& tmp) const override {
    Value t;
    const Value& v = x->eval(ctx, t);
    if (v.kind() == Kind::error) return pass(v, t, tmp);
    bool eq = v.kind() == Kind::string && same_bytes(v.as_string(), c.as_string());
    return boolean(eq != negate);
  }
};

struct MatchesConstNode final : Node {
  NodePtr s;
  std::unique_ptr<re2::RE2> re;
  const Value& eval(Ctx& c, Value& tmp) const override {
    Value t;
    const Value& v = s->eval(c, t);
    if (v.kind() == Kind::error) return pass(v, t, tmp);
    if (v.kind() != Kind::string) return no_overload(tmp, pos, "matches", v);
    auto sv = v.as_string();
    return boolean(re2::RE2::PartialMatch(re2::StringPiece(sv.data(), sv.size()), *re));
  }
};

struct VersionCompareNode final : Node {
  Op op;
  bool version_on_left;
  NodePtr x;
  Version constant;
  const Value& eval(Ctx& c, Value& tmp) const override {
    Value t;
    const Value& v = x->eval(c, t);
    if (v.kind() == Kind::error) return pass(v, t, tmp);
    std::strong_ordering ord = std::strong_ordering::equal;
    if (v.kind() == Kind::string) {
      auto parsed = Version::parse(v.as_string());
      if (!parsed) return raise(tmp, x->pos, "version(): " + parsed.error().message + " in " + v.to_string());
      ord = *parsed <=> constant;
    } else if (v.kind() == Kind::version) {
      ord = v.as_version() <=> constant;
    } else {
      return no_overload(tmp, x->pos, "version", v);
    }
    if (!version_on_left) ord = 0 <=> ord;
    switch (op) {
      case Op::eq: return boolean(ord == 0);
      case Op::ne: return boolean(ord != 0);
      case Op::lt: return boolean(ord < 0);
      case Op::le: return boolean(ord <= 0);
      case Op::gt: return boolean(ord > 0);
      default: return boolean(ord >= 0);
    }
  }
};

template <class N>
std::unique_ptr<N> mk(int32_t pos) {
  auto n = std::make_unique<N>();
  n->pos = pos;
  return n;
}

}  // namespace

NodePtr make_const(Value v, int32_t pos) {
  auto n = mk<ConstNode>(pos);
  n->v = std::move(v);
  return n;
}
NodePtr make_slot(size_t slot, std::string name, int32_t pos) {
  auto n = mk<SlotNode>(pos);
  n->slot = slot;
  n->name = std::move(name);
  return n;
}
NodePtr make_local(int level, int32_t pos) {
  auto n = mk<LocalNode>(pos);
  n->level = level;
  return n;
}
NodePtr make_error_node(std::string message, int32_t pos) {
  auto n = mk<ErrorNode>(pos);
  n->message = std::move(message);
  return n;
}
NodePtr make_select(NodePtr operand, std::string field, bool test_only, int32_t pos) {
  auto n = mk<SelectNode>(pos);
  n->operand = std::move(operand);
  n->field = std::move(field);
  n->test_only = test_only;
  return n;
}
NodePtr make_index(NodePtr a, NodePtr b, int32_t pos) {
  auto n = mk<IndexNode>(pos);
  n->a = std::move(a);
  n->b = std::move(b);
  return n;
}
NodePtr make_op(Op op, std::vector<NodePtr> args, int32_t pos) {
  if (args.size() == 1) {
    auto n = mk<UnaryNode>(pos);
    n->op = op;
    n->a = std::move(args[0]);
    return n;
  }
  auto n = mk<BinaryNode>(pos);
  n->op = op;
  n->a = std::move(args[0]);
  n->b = std::move(args[1]);
  return n;
}
NodePtr make_logic(bool is_and, std::vector<NodePtr> args, int32_t pos) {
  auto n = mk<LogicNode>(pos);
  n->is_and = is_and;
  n->args = std::move(args);
  return n;
}
NodePtr make_cond(NodePtr c, NodePtr a, NodePtr b, int32_t pos) {
  auto n = mk<CondNode>(pos);
  n->c = std::move(c);
  n->a = std::move(a);
  n->b = std::move(b);
  return n;
}
NodePtr make_list(std::vector<NodePtr> items, int32_t pos) {
  auto n = mk<ListNode>(pos);
  n->items = std::move(items);
  return n;
}
NodePtr make_map(std::vector<NodePtr> kv, int32_t pos) {
  auto n = mk<MapNode>(pos);
  n->kv = std::move(kv);
  return n;
}
NodePtr make_call(const FnInfo* fn, std::string name, std::vector<NodePtr> args, int32_t pos) {
  auto n = mk<CallNode>(pos);
  n->fn = fn->fn;
  n->name = std::move(name);
  n->args = std::move(args);
  return n;
}
NodePtr make_macro(MacroKind k, int level, NodePtr range, NodePtr a, NodePtr b, int32_t pos) {
  auto n = mk<MacroNode>(pos);
  n->kind = k;
  n->level = level;
  n->range = std::move(range);
  n->a = std::move(a);
  n->b = std::move(b);
  return n;
}
NodePtr make_in_const(NodePtr x, const Value& list, int32_t pos) {
  if (list.kind() != Kind::list) return nullptr;
  auto n = mk<InConstNode>(pos);
  n->x = std::move(x);
  n->list = list;
  for (const auto& e : list.as_list()) {
    if (e.kind() != Kind::string) {
      n->all_strings = false;
      continue;
    }
    n->small.push_back(e.as_string());
  }
  if (n->all_strings && n->small.size() > 8) n->strings.insert(n->small.begin(), n->small.end());
  return n;
}
NodePtr make_matches_const(NodePtr& s, const std::string& pattern, int32_t pos) {
  auto re = std::make_unique<re2::RE2>(pattern, re2::RE2::Quiet);
  if (!re->ok()) return nullptr;
  auto n = mk<MatchesConstNode>(pos);
  n->s = std::move(s);
  n->re = std::move(re);
  return n;
}
NodePtr make_strtest_const(std::string_view name, NodePtr& s, const Value& arg, int32_t pos) {
  int which = name == "contains" ? 0 : name == "startsWith" ? 1 : name == "endsWith" ? 2 : -1;
  if (which < 0 || arg.kind() != Kind::string) return nullptr;
  auto n = mk<StrTestConstNode>(pos);
  n->which = which;
  n->s = std::move(s);
  n->arg = arg;
  return n;
}
NodePtr make_eq_string_const(bool negate, NodePtr x, const Value& c, int32_t pos) {
  auto n = mk<EqStringConstNode>(pos);
  n->negate = negate;
  n->x = std::move(x);
  n->c = c;
  return n;
}
NodePtr make_version_compare(Op op, NodePtr x, const Value& cv, bool version_on_left, int32_t pos) {
  if (cv.kind() != Kind::version) return nullptr;
  auto n = mk<VersionCompareNode>(pos);
  n->op = op;
  n->x = std::move(x);
  n->constant = cv.as_version();
  n->version_on_left = version_on_left;
  return n;
}

}  // namespace fw::cel::detail
