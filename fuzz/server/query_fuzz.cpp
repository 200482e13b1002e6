// Fuzzes the HTTP layer's readers of request targets (src/server, compiled directly: the
// fuzz build has no server module): Router::match on the path and the query helpers
// (check_query, page_request, query_bool/time, device_filter) and parse_body. Input:
// "PATH?k=v&k=v\nBODY" (already decoded, as the server hands them over). Any input must
// give a value or an error naming the parameter, never a crash. Seeds: corpus_query/.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "server/http.h"
#include "server/router.h"

namespace {

const fw::server::Router& router() {
  static fw::server::Router* r = [] {
    auto* x = new fw::server::Router;
    auto ok = [](fw::server::Request&) -> fw::Result<fw::server::Response> { return fw::server::no_content(); };
    using fw::server::Access;
    using fw::server::Verb;
    for (const char* p : {"/api/v1/devices", "/api/v1/devices/{id}", "/api/v1/devices/{id}/commands",
                          "/api/v1/people/{id}", "/api/v1/org-units/{id}", "/api/v1/campaigns/{id}/report",
                          "/healthz"}) {
      x->add(Verb::get, p, Access::read, ok);
      x->add(Verb::put, p, Access::write, ok);
    }
    return x;
  }();
  return *r;
}

void check(bool promise, const char* what, const fw::Error* e = nullptr) {
  if (promise) return;
  std::fprintf(stderr, "query_fuzz: broken promise: %s %s\n", what, e ? e->to_string().c_str() : "");
  __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  fw::server::Request req;
  auto nl = in.find('\n');
  std::string_view target = in.substr(0, nl);
  if (nl != std::string_view::npos) req.body = std::string(in.substr(nl + 1));
  auto q = target.find('?');
  req.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) {
    std::string_view rest = target.substr(q + 1);
    while (!rest.empty()) {
      auto amp = rest.find('&');
      std::string_view kv = rest.substr(0, amp);
      auto eq = kv.find('=');
      req.query.emplace_back(std::string(kv.substr(0, eq)), eq == std::string_view::npos ? "" : std::string(kv.substr(eq + 1)));
      if (amp == std::string_view::npos) break;
      rest.remove_prefix(amp + 1);
    }
  }
  auto m = router().match(fw::server::Verb::get, req.path);
  check(!m.route || m.params.size() <= m.route->segments.size(), "at most one parameter per segment");
  auto post = router().match(fw::server::Verb::post, req.path);
  check(!post.route, "no POST route was added");

  auto named = [](const fw::Error& e) { return !e.where.empty() && e.code != fw::Errc::internal; };
  if (auto st = fw::server::check_query(req, {"limit", "cursor", "org_unit", "managed", "since"}); !st)
    check(named(st.error()), "check_query names the parameter", &st.error());
  if (auto p = fw::server::page_request(req); !p) check(named(p.error()), "page_request names the parameter", &p.error());
  if (auto b = fw::server::query_bool(req, "managed"); !b) check(named(b.error()), "query_bool names it", &b.error());
  if (auto t = fw::server::query_time(req, "since"); !t) check(named(t.error()), "query_time names it", &t.error());
  if (auto f = fw::server::device_filter(req); !f) check(named(f.error()), "device_filter names it", &f.error());
  if (auto v = fw::server::parse_body(req); !v) check(v.error().code != fw::Errc::internal, "parse_body", &v.error());
  return 0;
}
