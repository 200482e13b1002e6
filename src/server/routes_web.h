// The dashboard's server side: embedded static files, sign-in sessions (cookie + CSRF) and
// CSV export of list endpoints. Registered by add_web_routes() from add_all_routes();
// web_session_auth() becomes Services::alt_auth, tried by the server for requests without a
// bearer token. Thread-safe: handlers only touch the SessionStore (own mutex) and Services.
#pragma once

#include <optional>

#include "server/http.h"
#include "server/router.h"
#include "server/session.h"
#include "util/error.h"

namespace fw::server {

struct Services;

// POST /api/v1/session {"token": "..."} -> 201 {csrf_token, expires_at, actor, role, timezone}
//   + Set-Cookie fw_session (HttpOnly, SameSite=Strict, Max-Age; Secure when TLS).
// GET /api/v1/session -> 200 the same (no new cookie) or 401.
// DELETE /api/v1/session (X-CSRF-Token) -> 204 + cookie cleared.
// GET /api/v1/export/{list}?<the list's filters> -> text/csv of every page of /api/v1/{list}.
// GET /api/v1/dashboard/device-count?<the devices list's filters> -> {"total": N}.
// GET /api/v1/dashboard/platform-mix?weeks=12 -> {method, families, series: [{date, counts}]}.
// GET /api/v1/dashboard/devices/{id}/sightings -> {"items": [...]} (access-log sightings).
// GET /api/v1/dashboard/devices/{id}/history?limit=200 -> {"items": [{policy_id, rule_key,
//   status, person_id, at}]}: the device's finding status changes, newest first.
// GET <anything else not under /api/> -> the embedded file, "/" = index.html.
void add_web_routes(Router& r, Services& s);

// The lists' ?sort=field / ?sort=-field parameter (at most 64 characters) into p.sort; the
// store checks the field against the list's sortable fields (400 naming it otherwise).
Status sort_param(const Request& req, store::PageRequest& p);

// Authentication by session cookie. nullopt when the request carries no fw_session cookie
// (the caller then answers 401 as for a missing bearer token). unauthenticated when the
// session is unknown or expired; permission_denied when the method changes state (not
// GET/HEAD/OPTIONS) and X-CSRF-Token does not match the session's token.
Result<std::optional<model::ApiToken>> web_session_auth(const Request& req, SessionStore& sessions);

}  // namespace fw::server
