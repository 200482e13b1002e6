// How the agent talks to the server: a Transport posts one JSON body and returns the answer.
// CurlTransport is the libcurl implementation (HTTPS with the system trust store or a pinned
// CA file; plain http only when explicitly allowed). One Transport per thread.
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
  // status is a value; fails with unavailable when no HTTP answer came (connect, TLS, timeout),
  // too_large when the answer exceeds 1 MiB.
  virtual Result<HttpResponse> post_json(std::string_view path, std::string_view body,
                                         std::string_view bearer) = 0;
};

struct TransportOptions {
  std::string server;         // "https://fleet.example.org" (a trailing '/' is dropped)
  std::string ca_file;        // PEM file of trusted CAs; empty = the system trust store
  bool insecure_http = false; // allow http:// URLs
  long timeout_s = 30;
};

// Fails with invalid_argument for a URL that is not http(s), or http without insecure_http.
Result<std::unique_ptr<Transport>> make_curl_transport(const TransportOptions& opts);

}  // namespace fw::agent
