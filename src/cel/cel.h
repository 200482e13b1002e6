// fleetward's policy language: a subset of CEL (Common Expression Language), with the
// fleetward extensions version() and the host-bound variables device, person and now.
// Start here: build Values, compile() an expression once, eval() it many times.
// Thread-safety: Value is an immutable, reference-counted (atomic) value; copies may be
// used from any thread. A Program is immutable after compile() and may be evaluated from
// several threads at once, each with its own Activation. An Activation is not thread-safe.
// See docs/policy-language.md for the language itself.
#pragma once

#include <atomic>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "util/error.h"
#include "util/time.h"
#include "util/version.h"

namespace fw::cel {

// The runtime type of a Value. `error` only appears inside the evaluator; eval() turns it
// into a fw::Error, so callers never see an error Value.
enum class Kind : uint8_t {
  null_type, bool_, int_, uint_, double_, timestamp, duration, type,  // held inline
  string, bytes, list, map, version, error                           // held on the heap
};

// CEL's name of a kind: "int", "uint", "double", "bool", "string", "bytes", "list", "map",
// "null_type", "type", "google.protobuf.Timestamp", "google.protobuf.Duration",
// "fleetward.Version".
std::string_view kind_name(Kind k) noexcept;

namespace detail {
struct Heap;  // reference-counted payload of strings, bytes, lists, maps, versions, errors
}

class Value;
using MapEntry = std::pair<Value, Value>;

// A CEL value. 16 bytes; scalars and strings/bytes of up to 14 bytes are held inline,
// everything else in one shared, immutable heap block (a longer string is one allocation:
// header + bytes). Copying costs an atomic increment for heap values, nothing otherwise.
class Value {
 public:
  Value() noexcept : rep_{}, small_(0), kind_(Kind::null_type) {}  // null
  inline Value(const Value& o) noexcept;
  Value(Value&& o) noexcept : small_(o.small_), kind_(o.kind_) {
    std::memcpy(rep_, o.rep_, sizeof rep_);
    o.kind_ = Kind::null_type;
    o.small_ = 0;
  }
  Value& operator=(const Value& o) noexcept;
  Value& operator=(Value&& o) noexcept;
  inline ~Value();

  // --- building (cheap; none of these can fail) ---
  static Value null() noexcept { return Value(); }
  static Value boolean(bool b) noexcept;
  static Value integer(int64_t i) noexcept;
  static Value uinteger(uint64_t u) noexcept;
  static Value dbl(double d) noexcept;
  // The text must be valid UTF-8 (not checked here; value_from_json() checks).
  static Value string(std::string_view utf8);
  static Value bytes(std::string_view raw);
  static Value list(std::vector<Value> items);
  // Keys must be int, uint, bool or string and unique (not checked here; map literals
  // in expressions are checked at evaluation). Lookup is a linear scan for small maps and
  // a hash index for maps of more than 16 entries.
  static Value map(std::vector<MapEntry> entries);
  // A map with string keys: Value::record({{"family", Value::string("iOS")}, ...}).
  static Value record(std::initializer_list<std::pair<std::string_view, Value>> fields);
  static Value record(std::vector<std::pair<std::string, Value>> fields);
  // Seconds since the Unix epoch plus nanoseconds (0..999'999'999). Range is not checked
  // here; CEL's range is years 1..9999.
  static Value timestamp(int64_t seconds, int32_t nanos = 0) noexcept;
  static Value timestamp(Time t) noexcept { return timestamp(to_unix(t)); }
  static Value duration_ns(int64_t nanos) noexcept;
  static Value type(Kind k) noexcept;  // the type value `int`, `string`, ...
  static Value version(const Version& v);

  // --- reading ---
  Kind kind() const noexcept { return kind_; }
  bool is_null() const noexcept { return kind_ == Kind::null_type; }
  // Accessors require the matching kind (asserted in debug builds).
  bool as_bool() const noexcept { return rep_[0] != 0; }
  int64_t as_int() const noexcept { return get<int64_t>(0); }
  uint64_t as_uint() const noexcept { return get<uint64_t>(0); }
  double as_double() const noexcept { return get<double>(0); }
  inline std::string_view as_string() const noexcept;  // string and bytes
  inline std::span<const Value> as_list() const noexcept;
  inline std::span<const MapEntry> as_map() const noexcept;
  int64_t timestamp_seconds() const noexcept { return get<int64_t>(0); }
  int32_t timestamp_nanos() const noexcept { return get<int32_t>(8); }
  int64_t duration_nanos() const noexcept { return get<int64_t>(0); }
  Kind type_value() const noexcept { return static_cast<Kind>(rep_[8]); }
  const Version& as_version() const noexcept;

  // Map lookup with CEL key semantics (numeric keys match across int/uint/double).
  // nullptr when absent or when this is not a map.
  const Value* find(const Value& key) const noexcept;
  const Value* find(std::string_view string_key) const noexcept;

  // CEL equality (heterogeneous numeric; NaN != NaN; different kinds are unequal).
  friend bool operator==(const Value& a, const Value& b) noexcept;

  // A readable, CEL-literal-like rendering: 1, 1u, 1.5, "a", b"\x00", [1, 2], {"a": 1},
  // timestamp("2023-01-01T00:00:00Z"), duration("3600s"), version("16.3.1"), int.
  std::string to_string() const;

  // internal
  static constexpr size_t kSmall = 14;  // longest inline string or bytes
  static Value from_heap(Kind k, detail::Heap* h) noexcept;
  detail::Heap* heap() const noexcept { return get<detail::Heap*>(0); }
  bool on_heap() const noexcept { return kind_ >= Kind::string && small_ == 0; }

 private:
  // Representation: rep_[0..8) the payload (bool, int64, uint64, double or heap pointer),
  // rep_[8..12) timestamp nanos / a type value's kind; or rep_[0..small_-1) the bytes of an
  // inline string (small_ = length + 1; 0 when not inline). Accessed with memcpy.
  template <class T>
  T get(size_t off) const noexcept {
    T x;
    std::memcpy(&x, rep_ + off, sizeof x);
    return x;
  }
  template <class T>
  void put(size_t off, T x) noexcept {
    std::memcpy(rep_ + off, &x, sizeof x);
  }
  friend Value make_small_string(Kind k, std::string_view s) noexcept;

  alignas(8) unsigned char rep_[kSmall];
  uint8_t small_;
  Kind kind_;
};
static_assert(sizeof(Value) == 16);

// Parses JSON into a Value: objects -> maps with string keys, arrays -> lists,
// integers -> int (or uint above INT64_MAX), other numbers -> double, strings, bools, null.
// Strings of RFC 3339 form are NOT turned into timestamps (use timestamp(s) in CEL).
// Fails with Errc::parse_error (where = "byte N") for bad JSON, Errc::too_large for input
// over 16 MiB or nesting deeper than 64.
Result<Value> value_from_json(std::string_view json);

// Limits on expression text; exceeding one is a compile error naming the limit.
struct Limits {
  size_t max_text_bytes = 16 * 1024;
  int max_depth = 128;               // nesting of parentheses, calls, lists, maps, operators
  size_t max_literal_bytes = 4096;   // one string/bytes literal
  size_t max_list_literal = 1024;    // elements of one list or map literal
  // Evaluation: comprehension iterations per eval() and the size of a string, bytes or list
  // that an expression may build; exceeding one is an eval error.
  uint64_t max_iterations = 1'000'000;
  size_t max_value_bytes = 1 << 20;
};

struct CompileOptions {
  // Declared variables; the slot of variables[i] is i. Names may be dotted
  // ("a.b.c"): resolution takes the longest declared prefix, the rest is field selection.
  std::vector<std::string> variables;
  // When false (default), an undeclared identifier is a compile error. When true it compiles
  // into a run-time "undeclared reference" error, as CEL without a type checker does (the
  // conformance suite needs this). Unknown functions follow the same rule.
  bool allow_undeclared = false;
  // Name-resolution container (namespace), e.g. "com.example"; empty for none.
  std::string container;
  // Where the expression sits, for messages: "policy.yaml:12:31: ...". base_line/base_col
  // is the position of the expression's first character; columns of later lines of a
  // multi-line expression are counted from col 1 + continuation_indent.
  std::string source_name = "<expr>";
  int base_line = 1;
  int base_col = 1;
  int continuation_indent = 0;
  // Append a caret excerpt (the offending line and a '^' under the column) to messages.
  bool caret = true;
  Limits limits;
};

namespace detail {
struct ProgramImpl;
}

// Variable bindings for one evaluation. Slot i holds the value of CompileOptions::variables[i].
// Reuse one Activation per thread: set() replaces a slot without allocating.
// set()/unset() require slot < size() (a programming error otherwise; asserted).
class Activation {
 public:
  Activation() = default;
  explicit Activation(size_t slots) : values_(slots), bound_(slots, false) {}
  void resize(size_t slots) { values_.resize(slots); bound_.resize(slots, false); }
  void set(size_t slot, Value v) {
    assert(slot < values_.size());
    values_[slot] = std::move(v);
    bound_[slot] = true;
  }
  void unset(size_t slot) {
    assert(slot < values_.size());
    values_[slot] = Value();
    bound_[slot] = false;
  }
  size_t size() const noexcept { return values_.size(); }
  // nullptr when the slot is out of range or unbound (evaluating it is an eval error).
  const Value* get(size_t slot) const noexcept {
    return slot < values_.size() && bound_[slot] ? &values_[slot] : nullptr;
  }

 private:
  std::vector<Value> values_;
  std::vector<bool> bound_;
};

// A compiled expression. Cheap to copy (shared, immutable). Thread-safe: see the top.
class Program {
 public:
  Program() = default;  // evaluates to an error "empty program"

  // The value of the expression. Never throws, never crashes: every run-time failure
  // (overflow, division by zero, no such key, no matching overload, unbound variable,
  // recursion/size limits) comes back as Errc::eval_error with where = "source:line:col"
  // of the failing sub-expression.
  Result<Value> eval(const Activation& act) const;
  // For rules: the result must be a bool, otherwise Errc::eval_error "expected bool, got T".
  Result<bool> eval_bool(const Activation& act) const;

  // The slot of a declared variable, or nullopt.
  std::optional<size_t> slot(std::string_view name) const;
  size_t slot_count() const;  // == CompileOptions::variables.size()
  Activation make_activation() const { return Activation(slot_count()); }
  const std::string& text() const;
  // What the program reads of a declared variable: each use as the variable's name followed
  // by the fields selected from it ("device.os.version", "device.apps", "device.facts.x"),
  // sorted, without duplicates. A use that is not a field selection (the variable indexed,
  // passed to a function, compared, or selected from inside a macro's range by index) appears
  // as the variable alone ("device"): all of it may be read. Empty when the variable is unused.
  std::vector<std::string> paths(std::string_view variable) const;

  // internal
  explicit Program(std::shared_ptr<const detail::ProgramImpl> p) : impl_(std::move(p)) {}

 private:
  std::shared_ptr<const detail::ProgramImpl> impl_;
};

// Parses and compiles. Fails with Errc::parse_error (syntax, undeclared names when not
// allowed, bad literals) or Errc::too_large (a Limits value exceeded); Error::where is
// "source_name:line:col" and Error::message is the message plus, when options.caret, the
// caret excerpt on following lines.
Result<Program> compile(std::string_view text, const CompileOptions& options = {});

// Convenience for tools and tests: compile and evaluate with variables bound by name.
Result<Value> evaluate(std::string_view text,
                       std::span<const std::pair<std::string, Value>> bindings = {});

// ---- implementation details below: not part of the interface ----
namespace detail {
struct Heap {
  std::atomic<uint32_t> refs{1};
  Kind kind;
  explicit Heap(Kind k) : kind(k) {}
};
void destroy(Heap* h) noexcept;
// String and bytes: one allocation, the bytes follow the header.
struct StrHeap : Heap {
  size_t size;
  StrHeap(Kind k, size_t n) : Heap(k), size(n) {}
  const char* data() const { return reinterpret_cast<const char*>(this + 1); }
  char* data() { return reinterpret_cast<char*>(this + 1); }
};
struct ListHeap : Heap {
  std::vector<Value> items;
  explicit ListHeap(std::vector<Value> v) : Heap(Kind::list), items(std::move(v)) {}
};
struct MapHeap : Heap {
  std::vector<MapEntry> entries;
  // For maps of more than kIndexFrom entries whose keys are all strings.
  std::unordered_map<std::string_view, uint32_t> index;
  static constexpr size_t kIndexFrom = 16;
  explicit MapHeap(std::vector<MapEntry> e);
};
}  // namespace detail

inline Value::Value(const Value& o) noexcept : small_(o.small_), kind_(o.kind_) {
  std::memcpy(rep_, o.rep_, sizeof rep_);
  if (on_heap()) heap()->refs.fetch_add(1, std::memory_order_relaxed);
}
inline Value::~Value() {
  if (on_heap()) {
    detail::Heap* h = heap();
    if (h->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) detail::destroy(h);
  }
}
inline std::string_view Value::as_string() const noexcept {
  if (small_) return {reinterpret_cast<const char*>(rep_), size_t(small_ - 1)};
  auto* s = static_cast<const detail::StrHeap*>(heap());
  return {s->data(), s->size};
}
inline std::span<const Value> Value::as_list() const noexcept {
  return static_cast<const detail::ListHeap*>(heap())->items;
}
inline std::span<const MapEntry> Value::as_map() const noexcept {
  return static_cast<const detail::MapHeap*>(heap())->entries;
}

}  // namespace fw::cel
