// Error -> HTTP response, the only place that writes error bodies (see errors.h).
#include "server/errors.h"

namespace fw::server {

unsigned http_status(Errc code) noexcept {
  switch (code) {
    case Errc::invalid_argument:
    case Errc::parse_error:
    case Errc::eval_error: return 400;
    case Errc::unauthenticated: return 401;
    case Errc::permission_denied: return 403;
    case Errc::not_found: return 404;
    case Errc::already_exists:
    case Errc::conflict: return 409;
    case Errc::too_large: return 413;
    case Errc::rate_limited: return 429;
    case Errc::io_error:
    case Errc::unavailable: return 503;
    case Errc::timeout: return 504;
    case Errc::internal: return 500;
  }
  return 500;
}

Response error_response(const Error& e, unsigned status) {
  Response r = json_response(status ? status : http_status(e.code),
                             boost::json::object{{"error", boost::json::object{{"code", std::string(to_string(e.code))},
                                                                                {"message", e.message},
                                                                                {"where", e.where}}}});
  if (r.status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

}  // namespace fw::server
