// Routes: (method, pattern) -> handler, with path parameters: "/api/v1/devices/{id}".
// Built once before the server starts (not thread-safe while adding), then read-only and
// safe to match from every I/O thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "server/http.h"

namespace fw::server {

// A route's largest request body; larger bodies get 413 before they are read.
// kDefaultBody = the server's default (ServerOptions::body_limit, 1 MiB); kUploadBody = the
// server's upload limit (ServerOptions::upload_limit, 64 MiB, `fleetward serve --max-upload`);
// any other value is a number of bytes of the route's own.
inline constexpr std::size_t kDefaultBody = 0;
inline constexpr std::size_t kUploadBody = static_cast<std::size_t>(-1);

struct Route {
  Verb method;
  std::string pattern;                 // also the metrics label
  std::vector<std::string> segments;   // "{name}" segments are parameters
  Access access = Access::read;
  std::size_t max_body = kDefaultBody;  // see kDefaultBody / kUploadBody
  Handler handler;         // set for routes added with add()
  AsyncHandler async;      // set for routes added with add_async()
};

class Router {
 public:
  // Adds a route. Patterns start with '/'; a segment "{name}" matches any one segment.
  // Adding the same (method, pattern) twice is a programming error (asserts).
  void add(Verb method, std::string pattern, Access access, Handler handler);
  // The same with the route's own request body limit (kUploadBody or bytes; see Route).
  void add(Verb method, std::string pattern, Access access, std::size_t max_body, Handler handler);
  // The same for an asynchronous handler (http.h, AsyncHandler).
  void add_async(Verb method, std::string pattern, Access access, AsyncHandler handler);

  // The handler for GET/HEAD requests that match no route (static files); none by default.
  void set_fallback(Handler handler) { fallback_ = std::move(handler); }
  const Handler& fallback() const { return fallback_; }

  struct Match {
    const Route* route = nullptr;  // null when nothing matched
    std::map<std::string, std::string, std::less<>> params;
    bool path_known = false;       // a pattern matched the path but not the method (405)
    std::string allowed;           // then: the methods it allows, "GET, PUT"
  };
  // Matches a decoded path.
  Match match(Verb method, std::string_view path) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
  Handler fallback_;
};

}  // namespace fw::server
