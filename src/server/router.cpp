// Route matching (see router.h). Linear scan over a few dozen routes: cheap next to
// the JSON and database work of every request.
#include "server/router.h"

#include <array>
#include <cassert>

#include "util/strings.h"

namespace fw::server {

static std::vector<std::string> segments_of(std::string_view path) {
  std::vector<std::string> out;
  if (path.starts_with('/')) path.remove_prefix(1);
  if (path.empty()) return out;
  for (auto s : split(path, '/')) out.emplace_back(s);
  return out;
}

void Router::add(Verb method, std::string pattern, Access access, Handler handler) {
  for ([[maybe_unused]] const auto& r : routes_) assert(!(r.method == method && r.pattern == pattern));
  Route r;
  r.method = method;
  r.segments = segments_of(pattern);
  r.pattern = std::move(pattern);
  r.access = access;
  r.handler = std::move(handler);
  routes_.push_back(std::move(r));
}

void Router::add(Verb method, std::string pattern, Access access, std::size_t max_body, Handler handler) {
  add(method, std::move(pattern), access, std::move(handler));
  routes_.back().max_body = max_body;
}

void Router::add_async(Verb method, std::string pattern, Access access, AsyncHandler handler) {
  add(method, std::move(pattern), access, Handler{});
  routes_.back().async = std::move(handler);
}

Router::Match Router::match(Verb method, std::string_view path) const {
  Match m;
  // The path's segments as views into it: no allocation on the hot path. No route has more
  // than kMaxSegments segments, so a longer path matches nothing.
  constexpr size_t kMaxSegments = 16;
  std::array<std::string_view, kMaxSegments> segs;
  size_t n = 0;
  if (path.starts_with('/')) path.remove_prefix(1);
  if (!path.empty()) {
    for (;;) {
      if (n == kMaxSegments) return m;
      size_t slash = path.find('/');
      segs[n++] = path.substr(0, slash);
      if (slash == std::string_view::npos) break;
      path.remove_prefix(slash + 1);
    }
  }
  auto is_param = [](const std::string& p) { return p.size() > 2 && p.front() == '{' && p.back() == '}'; };
  for (const auto& r : routes_) {
    if (r.segments.size() != n) continue;
    bool ok = true;
    for (size_t i = 0; i < n && ok; ++i) {
      const auto& p = r.segments[i];
      ok = is_param(p) ? !segs[i].empty() : p == segs[i];
    }
    if (!ok) continue;
    if (r.method == method || (method == Verb::head && r.method == Verb::get)) {
      m.route = &r;
      for (size_t i = 0; i < n; ++i)
        if (is_param(r.segments[i])) m.params.emplace(r.segments[i].substr(1, r.segments[i].size() - 2), segs[i]);
      return m;
    }
    m.path_known = true;
    if (!m.allowed.empty()) m.allowed += ", ";
    m.allowed += std::string(boost::beast::http::to_string(r.method));
  }
  return m;
}

}  // namespace fw::server
