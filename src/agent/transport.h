// How the agent talks to the server: a Transport posts one JSON body and returns the answer.
// make_http_transport() is the agent's own HTTP/1.1 client (transport.cpp) over TCP or TLS 1.2
// with mbed TLS: the system trust store or a pinned CA file, host name checked; plain http only
// when explicitly allowed; redirects refused. One Transport per thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "util/error.h"

namespace fw::agent {

struct HttpResponse {
  long status = 0;
  std::string body;
  std::optional<int> retry_after_s;  // from a Retry-After header in seconds
};

class Transport {
 public:
  virtual ~Transport() = default;
  // POSTs body to base URL + path. bearer empty: no Authorization header. A response of any
  // status except 3xx is a value; fails with unavailable when no valid HTTP answer came
  // (connect, TLS, certificate, malformed or cut answer, a redirect), timeout after
  // timeout_s, too_large when the answer body exceeds 1 MiB. Errors name the URL.
  virtual Result<HttpResponse> post_json(std::string_view path, std::string_view body,
                                         std::string_view bearer) = 0;
};

inline constexpr std::string_view kSystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";

struct TransportOptions {
  std::string server;         // "https://fleet.example.org[:port][/prefix]" (a trailing '/' is dropped)
  std::string ca_file;        // PEM file of trusted CAs; empty = kSystemCaBundle
  bool insecure_http = false; // allow http:// URLs
  long timeout_s = 30;
};

// Fails with invalid_argument for a URL that is not http(s), or http without insecure_http,
// or an unreadable ca_file. Connects lazily (on the first post_json) and keeps the connection.
Result<std::unique_ptr<Transport>> make_http_transport(const TransportOptions& opts);

}  // namespace fw::agent
