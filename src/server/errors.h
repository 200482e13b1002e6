// The one place where an fw::Error becomes an HTTP response: status from the error code,
// body {"error": {"code": ..., "message": ..., "where": ...}}. Pure; thread-safe.
#pragma once

#include "server/http.h"
#include "util/error.h"

namespace fw::server {

// The HTTP status for an error code (invalid_argument/parse_error 400, unauthenticated
// 401, permission_denied 403, not_found 404, already_exists/conflict 409, too_large 413,
// rate_limited 429, unavailable/io_error 503, timeout 504, everything else 500).
unsigned http_status(Errc code) noexcept;

// The response for an error. `status` overrides the mapped status where HTTP needs a
// finer code than Errc has (405 method not allowed, 431 header too large); 0 = mapped.
// 401 answers carry "WWW-Authenticate: Bearer".
Response error_response(const Error& e, unsigned status = 0);

}  // namespace fw::server
