// Private to store/: the small SQL connection interface both drivers implement, so the
// entity code (tx_*.cpp) is written once in portable SQL with '?' placeholders.
// A Conn is used by one thread at a time (the driver hands it to one transaction).
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "util/error.h"
#include "util/time.h"

namespace fw::store::sql {

// A bound parameter: NULL, a 64-bit integer or text. Text is borrowed: it must outlive the call.
struct Param {
  enum class Kind { null, integer, text } kind = Kind::null;
  int64_t i = 0;
  std::string_view s;

  Param() = default;
  Param(std::nullptr_t) {}
  Param(int64_t v) : kind(Kind::integer), i(v) {}
  Param(int v) : kind(Kind::integer), i(v) {}
  Param(bool v) : kind(Kind::integer), i(v ? 1 : 0) {}
  Param(Time t) : kind(Kind::integer), i(to_unix(t)) {}
  Param(std::string_view v) : kind(Kind::text), s(v) {}
  Param(const std::string& v) : kind(Kind::text), s(v) {}
  Param(const char* v) : kind(Kind::text), s(v) {}
};
// "" -> NULL (optional references such as manager_id, owner_id).
inline Param text_or_null(std::string_view v) { return v.empty() ? Param{} : Param{v}; }
inline Param time_or_null(const std::optional<Time>& t) { return t ? Param{*t} : Param{}; }

// One result row; valid only during the callback.
class Row {
 public:
  virtual ~Row() = default;
  virtual bool is_null(int col) const = 0;
  virtual int64_t i64(int col) const = 0;  // NULL -> 0
  virtual std::string text(int col) const = 0;  // NULL -> ""
  bool flag(int col) const { return i64(col) != 0; }
  Time time(int col) const { return from_unix(i64(col)); }
  std::optional<Time> opt_time(int col) const {
    return is_null(col) ? std::nullopt : std::optional<Time>(time(col));
  }
};
using RowFn = std::function<Status(const Row&)>;

enum class Dialect { sqlite, postgres };

// Errors: unique violation -> already_exists, foreign key -> conflict, check / not null ->
// invalid_argument, busy / lost connection -> unavailable, serialization failure -> conflict
// with where == kRetryable (the driver's retry loop looks for it).
inline constexpr std::string_view kRetryable = "retryable";

class Conn {
 public:
  virtual ~Conn() = default;
  // Runs one statement; returns the number of rows changed.
  virtual Result<int64_t> exec(std::string_view sql, std::span<const Param> params) = 0;
  // Runs one query; calls fn for each row in order; stops at fn's first error and returns it.
  virtual Status query(std::string_view sql, std::span<const Param> params, const RowFn& fn) = 0;
  // Runs a script of several statements without parameters (migrations, BEGIN/COMMIT).
  virtual Status exec_script(std::string_view sql) = 0;
  virtual Dialect dialect() const = 0;

  Result<int64_t> exec(std::string_view sql, std::initializer_list<Param> params) {
    return exec(sql, std::span<const Param>(params.begin(), params.size()));
  }
  Status query(std::string_view sql, std::initializer_list<Param> params, const RowFn& fn) {
    return query(sql, std::span<const Param>(params.begin(), params.size()), fn);
  }
};

}  // namespace fw::store::sql
