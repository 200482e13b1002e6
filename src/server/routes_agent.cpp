// Agent API (docs/agent-protocol.md): POST /api/v1/agent/enroll and /api/v1/agent/checkin,
// public routes authenticated by the enrolment secret or the device credential (never an
// admin token); for admins POST /api/v1/agent/enroll-secrets, /api/v1/devices/{id}/commands
// (POST, GET) and POST /api/v1/devices/{id}/revoke (docs/api.md). Thin: parse ->
// service::AgentService -> JSON. Handlers run on I/O threads; AgentService is thread-safe.
// The enrolment and check-in routes are asynchronous: they answer from the group-commit
// writer after the commit, without holding an I/O thread.
#include "server/errors.h"
#include "server/routes.h"
#include "service/model_json.h"

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

boost::json::object command_to_json(const store::AgentCommand& c) {
  auto parse = [](const std::string& text) -> boost::json::value {
    if (text.empty()) return nullptr;
    auto v = service::parse_json(text);
    return v ? std::move(*v) : boost::json::value(nullptr);
  };
  auto time = [](const std::optional<Time>& t) -> boost::json::value {
    return t ? boost::json::value(format_time(*t)) : boost::json::value(nullptr);
  };
  return boost::json::object{{"id", c.id},
                             {"device_id", c.device_id},
                             {"type", c.type},
                             {"args", parse(c.payload_json)},
                             {"state", c.state},
                             {"created_by", c.created_by},
                             {"created_at", format_time(c.created_at)},
                             {"sent_at", time(c.sent_at)},
                             {"finished_at", time(c.finished_at)},
                             {"result", parse(c.result_json)}};
}

}  // namespace

void add_agent_routes(Router& r, Services& s) {
  r.add_async(Verb::post, "/api/v1/agent/enroll", Access::public_, [&s](Request& req, Respond respond) {
    s.agents.enroll_async(req.body, [respond](Result<boost::json::object> a) {
      if (!a) return respond(fail(a.error()));
      respond(json_object_response(200, std::move(*a)));
    });
  });

  // The callback captures only `respond` (two pointers): no allocation per check-in for it;
  // the answer object is serialised by the I/O thread, not on the writer thread.
  r.add_async(Verb::post, "/api/v1/agent/checkin", Access::public_, [&s](Request& req, Respond respond) {
    s.agents.checkin_async(bearer(req), req.body, [respond](Result<boost::json::object> a) {
      if (!a) {
        Response err = error_response(a.error());
        if (a.error().code == Errc::rate_limited) err.headers.emplace_back("Retry-After", "10");
        return respond(std::move(err));
      }
      respond(json_object_response(200, std::move(*a)));
    });
  });

  // {"type": "message", "args": {"text": "..."}} -> 201 the command. lock/wipe: admin only.
  r.add(Verb::post, "/api/v1/devices/{id}/commands", Access::write, [&s](Request& req) -> Result<Response> {
    FW_TRY(auto body, parse_body(req));
    if (!body.is_object()) return fail(Errc::invalid_argument, "body must be a JSON object");
    const auto& o = body.get_object();
    for (const auto& kv : o)
      if (kv.key() != "type" && kv.key() != "args") return fail(Errc::invalid_argument, "unknown field", std::string(kv.key()));
    auto* t = o.if_contains("type");
    if (!t || !t->is_string()) return fail(Errc::invalid_argument, "is required (a string)", "type");
    boost::json::object args;
    if (auto* a = o.if_contains("args"); a && !a->is_null()) {
      if (!a->is_object()) return fail(Errc::invalid_argument, "must be an object", "args");
      args = a->get_object();
    }
    bool admin = req.token && req.token->role == model::Role::admin;
    FW_TRY(auto c, s.agents.queue_command(req.actor(), admin, req.param("id"), t->get_string(), args));
    return json_response(201, command_to_json(c));
  });

  // ?state=queued|sent|done|failed (optional) -> {"items": [...]} oldest first (at most 1,000).
  r.add(Verb::get, "/api/v1/devices/{id}/commands", Access::read, [&s](Request& req) -> Result<Response> {
    FW_TRY_STATUS(check_query(req, {"state"}));
    auto state = req.query_value("state");
    if (state && *state != "queued" && *state != "sent" && *state != "done" && *state != "failed")
      return fail(Errc::invalid_argument, "expected queued, sent, done or failed", "state");
    FW_TRY(auto cmds, s.agents.list_commands(req.param("id")));
    boost::json::array items;
    for (const auto& c : cmds)
      if (!state || c.state == *state) items.push_back(command_to_json(c));
    return json_response(200, boost::json::object{{"items", std::move(items)}});
  });

  // Revokes the device's credentials: its next check-in gets 401. 204; audited.
  r.add(Verb::post, "/api/v1/devices/{id}/revoke", Access::write, [&s](Request& req) -> Result<Response> {
    FW_TRY_STATUS(s.agents.revoke(req.actor(), req.param("id")));
    return no_content();
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
