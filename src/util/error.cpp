// Error names and formatting.
#include "util/error.h"

namespace fw {

std::string_view to_string(Errc code) noexcept {
  switch (code) {
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::parse_error: return "parse_error";
    case Errc::not_found: return "not_found";
    case Errc::already_exists: return "already_exists";
    case Errc::conflict: return "conflict";
    case Errc::unauthenticated: return "unauthenticated";
    case Errc::permission_denied: return "permission_denied";
    case Errc::too_large: return "too_large";
    case Errc::rate_limited: return "rate_limited";
    case Errc::eval_error: return "eval_error";
    case Errc::io_error: return "io_error";
    case Errc::unavailable: return "unavailable";
    case Errc::timeout: return "timeout";
    case Errc::internal: return "internal";
  }
  return "internal";
}

std::string Error::to_string() const {
  if (where.empty()) return message;
  return where + ": " + message;
}

}  // namespace fw
