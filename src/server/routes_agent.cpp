// Agent API (docs/agent-protocol.md): POST /api/v1/agent/enroll and /api/v1/agent/checkin,
// public routes authenticated by the enrolment secret or the device credential (never an
// admin token), and POST /api/v1/agent/enroll-secrets for admins. Thin: parse ->
// service::AgentService -> JSON. Handlers run on I/O threads; AgentService is thread-safe
// and a check-in handler blocks until its group commit is durable.
#include "server/errors.h"
#include "server/routes.h"

namespace fw::server {

namespace {

// The credential of "Authorization: Bearer <credential>"; "" when absent or malformed.
std::string_view bearer(const Request& req) {
  std::string_view h = req.header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (h.size() <= kBearer.size()) return {};
  for (size_t i = 0; i < kBearer.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(h[i])) != std::tolower(static_cast<unsigned char>(kBearer[i]))) return {};
  return h.substr(kBearer.size());
}

}  // namespace

void add_agent_routes(Router& r, Services& s) {
  r.add(Verb::post, "/api/v1/agent/enroll", Access::public_, [&s](Request& req) -> Result<Response> {
    FW_TRY(auto answer, s.agents.enroll(req.body));
    return json_response(200, answer);
  });

  r.add(Verb::post, "/api/v1/agent/checkin", Access::public_, [&s](Request& req) -> Result<Response> {
    FW_TRY(auto answer, s.agents.checkin(bearer(req), req.body));
    return json_response(200, answer);
  });

  // {"org_unit_path": "/field", "expires_at": RFC 3339 | "ttl": "7d", "max_uses": 100}
  r.add(Verb::post, "/api/v1/agent/enroll-secrets", Access::write, [&s](Request& req) -> Result<Response> {
    FW_TRY(auto body, parse_body(req));
    if (!body.is_object()) return fail(Errc::invalid_argument, "body must be a JSON object");
    const auto& o = body.get_object();
    auto str = [&](const char* k) -> std::string {
      auto* v = o.if_contains(k);
      return (v && v->is_string()) ? std::string(v->get_string()) : std::string();
    };
    std::string path = str("org_unit_path");
    if (path.empty()) return fail(Errc::invalid_argument, "is required", "org_unit_path");
    Time expires{};
    if (!str("expires_at").empty()) {
      auto t = parse_time(str("expires_at"));
      if (!t) return fail(Errc::invalid_argument, t.error().message, "expires_at");
      expires = *t;
    } else {
      auto d = parse_duration(str("ttl").empty() ? "7d" : str("ttl"));
      if (!d) return fail(Errc::invalid_argument, d.error().message, "ttl");
      expires = s.clock.now() + *d;
    }
    int64_t max_uses = 1;
    if (auto* m = o.if_contains("max_uses")) {
      if (!m->is_int64()) return fail(Errc::invalid_argument, "must be an integer", "max_uses");
      max_uses = m->get_int64();
    }
    FW_TRY(auto created, s.agents.create_enroll_secret(req.actor(), path, expires, max_uses));
    return json_response(201, boost::json::object{{"secret", created.secret},
                                                  {"org_unit_path", created.org_unit_path},
                                                  {"expires_at", format_time(created.expires_at)},
                                                  {"max_uses", created.max_uses}});
  });
}

}  // namespace fw::server
