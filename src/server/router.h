// Routes: (method, pattern) -> handler, with path parameters: "/api/v1/devices/{id}".
// Built once before the server starts (not thread-safe while adding), then read-only and
// safe to match from every I/O thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "server/http.h"

namespace fw::server {

struct Route {
  Verb method;
  std::string pattern;                 // also the metrics label
  std::vector<std::string> segments;   // "{name}" segments are parameters
  Access access = Access::read;
  Handler handler;         // set for routes added with add()
  AsyncHandler async;      // set for routes added with add_async()
};

class Router {
 public:
  // Adds a route. Patterns start with '/'; a segment "{name}" matches any one segment.
  // Adding the same (method, pattern) twice is a programming error (asserts).
  void add(Verb method, std::string pattern, Access access, Handler handler);
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
