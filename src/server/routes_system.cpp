// GET /healthz (database reachable) and GET /metrics (Prometheus text). Public routes.
#include "server/errors.h"
#include "server/routes.h"

namespace fw::server {

void add_system_routes(Router& r, Services& s) {
  r.add(Verb::get, "/healthz", Access::public_, [&s](Request&) -> Result<Response> {
    // A read transaction proves the database answers.
    FW_TRY_STATUS(s.store.read([](store::Tx& tx) -> Status {
      auto v = tx.get_setting("schema.probe");
      if (!v && v.error().code != Errc::not_found) return fail(v.error());
      return {};
    }));
    return json_response(200, boost::json::object{{"status", "ok"},
                                                  {"store", std::string(s.store.backend())},
                                                  {"schema_version", s.store.schema_version()}});
  });
  r.add(Verb::get, "/metrics", Access::public_, [&s](Request&) -> Result<Response> {
    Response res;
    res.content_type = "text/plain; version=0.0.4";
    res.body = s.metrics.render();
    if (s.eval) res.body += render_eval_queue(s.eval->stats());
    return res;
  });
}

}  // namespace fw::server
