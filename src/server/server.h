// fleetward's HTTP/1.1 server (Boost.Beast over Asio): a small pool of I/O threads,
// keep-alive, body/header limits, read/write timeouts, admin bearer-token auth, metrics,
// graceful shutdown. Routes come from routes.h.
//
// Use: auto srv = Server::start(opts, services); print srv->url(); srv->wait();
// start() returns once the listener is bound (port 0 = pick one, read it with port()).
// stop() and wait() may be called from any thread; the signal handler calls stop().
// Shutdown: stop accepting, close idle keep-alive connections, let requests already being
// read or handled finish (bounded by the request timeout), then the I/O threads end.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "server/routes.h"
#include "util/error.h"

namespace fw::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;                        // 0 = any free port
  int threads = 4;                             // I/O threads (handlers run on them)
  std::size_t body_limit = 1 << 20;            // bytes; larger bodies get 413 (routes may set their own)
  std::size_t upload_limit = 64u << 20;        // bytes, for routes registered with kUploadBody (router.h)
  std::size_t header_limit = 16 * 1024;        // bytes; larger headers get 431
  std::chrono::seconds request_timeout{30};    // to read one request / write one response
  std::chrono::seconds idle_timeout{60};       // keep-alive connection waiting for a request
  bool handle_signals = false;                 // stop() on SIGINT/SIGTERM
};

// Parses "HOST:PORT" ("127.0.0.1:8080", "[::1]:0", ":8080" = all interfaces).
Status parse_listen(std::string_view text, ServerOptions& opts);

class Server {
 public:
  virtual ~Server() = default;

  // Binds, starts the I/O threads and returns. io_error when the address cannot be bound.
  static Result<std::unique_ptr<Server>> start(const ServerOptions& opts, Services& services);

  virtual uint16_t port() const = 0;
  virtual std::string url() const = 0;  // "http://127.0.0.1:8080"
  // Begins graceful shutdown; returns at once. Idempotent.
  virtual void stop() = 0;
  // Blocks until the server has stopped and its threads have ended.
  virtual void wait() = 0;
};

}  // namespace fw::server

namespace fw::server {

// Sends spdlog's default logger to stderr (stdout is for the command's own output) at
// `level` ("info", "debug", ...). Call once on the main thread before starting servers.
void log_to_stderr(std::string_view level = "info");

}  // namespace fw::server
