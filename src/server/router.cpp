// Route matching (see router.h). Linear scan over a few dozen routes: cheap next to
// the JSON and database work of every request.
#include "server/router.h"

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

void Router::add_async(Verb method, std::string pattern, Access access, AsyncHandler handler) {
  add(method, std::move(pattern), access, Handler{});
  routes_.back().async = std::move(handler);
}

Router::Match Router::match(Verb method, std::string_view path) const {
  Match m;
  auto segs = segments_of(path);
  for (const auto& r : routes_) {
    if (r.segments.size() != segs.size()) continue;
    std::map<std::string, std::string, std::less<>> params;
    bool ok = true;
    for (size_t i = 0; i < segs.size() && ok; ++i) {
      const auto& p = r.segments[i];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        if (segs[i].empty()) ok = false;
        else params.emplace(p.substr(1, p.size() - 2), segs[i]);
      } else if (p != segs[i]) {
        ok = false;
      }
    }
    if (!ok) continue;
    if (r.method == method || (method == Verb::head && r.method == Verb::get)) {
      m.route = &r;
      m.params = std::move(params);
      return m;
    }
    m.path_known = true;
    if (!m.allowed.empty()) m.allowed += ", ";
    m.allowed += std::string(boost::beast::http::to_string(r.method));
  }
  return m;
}

}  // namespace fw::server
