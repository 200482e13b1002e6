// The one error type of fleetward, and Result<T> = std::expected<T, Error>.
// Every fallible function at a module boundary returns Result<T> (or Status).
// Exceptions from Boost or the standard library are caught where they arise and
// turned into an Error. Plain values; safe to copy across threads.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace fw {

// What kind of failure. server/ maps each code to one HTTP status (see docs/errors.md).
enum class Errc {
  invalid_argument,   // bad input from the caller (400)
  parse_error,        // malformed text: JSON, YAML, CEL, log line (400)
  not_found,          // (404)
  already_exists,     // unique key taken (409)
  conflict,           // concurrent change, foreign key, state conflict (409)
  unauthenticated,    // no or bad credential (401)
  permission_denied,  // credential fine, right missing (403)
  too_large,          // a size or count limit was exceeded (413)
  rate_limited,       // (429)
  eval_error,         // a policy expression failed at run time
  io_error,           // file, socket, database I/O failed (500/503)
  unavailable,        // dependency down, try again (503)
  timeout,            // (504)
  internal,           // a bug: an invariant did not hold (500)
};

std::string_view to_string(Errc code) noexcept;

struct Error {
  Errc code = Errc::internal;
  std::string message;  // human text, no trailing period
  std::string where;    // the place: "file:line:col", a field name, "byte 1234"; may be empty

  // "where: message" (or just "message" when where is empty).
  std::string to_string() const;
};

template <class T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

inline std::unexpected<Error> fail(Errc code, std::string message, std::string where = {}) {
  return std::unexpected(Error{code, std::move(message), std::move(where)});
}
inline std::unexpected<Error> fail(Error e) { return std::unexpected(std::move(e)); }

}  // namespace fw

// Propagate an error: FW_TRY(auto x, f()); or FW_TRY_STATUS(g());
#define FW_CONCAT_INNER(a, b) a##b
#define FW_CONCAT(a, b) FW_CONCAT_INNER(a, b)
#define FW_TRY_STATUS(expr)                                   \
  do {                                                        \
    auto fw_try_r_ = (expr);                                  \
    if (!fw_try_r_) return std::unexpected(fw_try_r_.error()); \
  } while (0)
#define FW_TRY_IMPL(tmp, decl, expr)                     \
  auto tmp = (expr);                                     \
  if (!tmp) return std::unexpected(std::move(tmp).error()); \
  decl = std::move(*tmp)
#define FW_TRY(decl, expr) FW_TRY_IMPL(FW_CONCAT(fw_try_, __LINE__), decl, expr)
