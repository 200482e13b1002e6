// Route registration: what handlers get (Services) and one function per area that adds
// its routes. server.cpp calls every add_*_routes function from one central list; a new
// area adds its declaration here, its routes_<area>.cpp file, and one line in that list.
// Called once on the main thread before the server starts; handlers then run on I/O
// threads, so what they capture must be thread-safe (the Store and the services are).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "server/http.h"
#include "server/metrics.h"
#include "server/router.h"
#include "service/checkin.h"
#include "service/eval_queue.h"
#include "service/inventory.h"
#include "store/store.h"
#include "util/time.h"

namespace fw::server {

// What route handlers need. Owned by the caller of Server::start and outliving it.
// Other areas add their service objects here, constructed from store and clock.
struct Services {
  Services(store::Store& s, const Clock& c) : store(s), clock(c), inventory(s, c), agents(s, c) {}

  store::Store& store;
  const Clock& clock;
  service::Inventory inventory;
  service::AgentService agents;  // enrolment and check-ins (owns the group-commit writer)
  Metrics metrics;
  // The background evaluation queue (`fleetward serve` owns and starts it; nullptr when
  // there is none, e.g. in tests: always check). After committing a change call
  //   eval->mark_dirty(device_ids)         a device was created, changed, checked in, seen;
  //   eval->mark_people_dirty(person_ids)  a person's org unit or manager changed;
  //   eval->request_full()                 a bulk change (import, org-unit move);
  //   eval->replan()                       policies or exemptions changed (new time points).
  // Thread-safe and non-blocking (no store access); see service/eval_queue.h.
  service::EvalQueue* eval = nullptr;
  // Credentials other than a bearer token (the dashboard's session cookie), tried when a
  // request has no Authorization header: nullopt = none presented (then 401), an error =
  // presented but bad. Set by the area that owns them in its add_*_routes; empty = none.
  std::function<Result<std::optional<model::ApiToken>>(const Request&)> alt_auth;
  // Directory of static assets for "/" (the dashboard); "" = none. See add_static_routes.
  std::string static_dir;
};

// GET /healthz, GET /metrics.
void add_system_routes(Router& r, Services& s);
// /api/v1/org-units, /api/v1/people, /api/v1/devices, /api/v1/audit.
void add_inventory_routes(Router& r, Services& s);
// /api/v1/agent/enroll, /api/v1/agent/checkin (device credentials), /api/v1/agent/enroll-secrets.
void add_agent_routes(Router& r, Services& s);
// /api/v1/policies, /api/v1/campaigns (+ /{id}/actions), /api/v1/findings, /api/v1/exemptions,
// /api/v1/reports/{id} (routes_policies.cpp).
void add_policy_routes(Router& r, Services& s);
// POST /api/v1/sightings (NDJSON from log shippers) and POST /api/v1/exchange-devices
// (Get-MobileDevice CSV) (routes_sightings.cpp).
void add_sightings_routes(Router& r, Services& s);
// The dashboard (routes_web.cpp): /api/v1/session, /api/v1/export/{list}, the embedded
// web/ files as the fallback, and the session cookie as alt_auth.
void add_web_routes(Router& r, Services& s);
// /api/v1/tokens: list, create, revoke API tokens, admin only (routes_tokens.cpp; added by
// add_web_routes).
void add_token_routes(Router& r, Services& s);
// The static-file hook: serves files under s.static_dir for GET requests no API route
// matched ("/" -> index.html). Does nothing when static_dir is empty.
void add_static_routes(Router& r, Services& s);

// Every area's routes, in order (server.cpp). Exposed for tests that build a Router.
void add_all_routes(Router& r, Services& s);

}  // namespace fw::server
