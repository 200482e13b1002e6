// Dashboard sessions: an admin token is exchanged once (POST /api/v1/session) for a random
// session id carried in an HttpOnly, SameSite=Strict cookie, plus a CSRF token that the page
// sends back in the X-CSRF-Token header on every state-changing request.
// Sessions are rows of the store (web_sessions: the id's SHA-256, never the id), so they
// survive a restart and are shared by every node on one database; a revoked or expired
// token ends its sessions at once. SessionStore is thread-safe (the Store is).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "model/model.h"
#include "store/store.h"
#include "util/error.h"
#include "util/time.h"

namespace fw::server {

inline constexpr std::string_view kSessionCookie = "fw_session";
inline constexpr std::string_view kCsrfHeader = "X-CSRF-Token";

struct Session {
  std::string id;    // the cookie value: 64 hex characters (32 random bytes)
  std::string csrf;  // 64 hex characters, sent by the page in X-CSRF-Token
  std::string actor;  // the token's name, written into audit events
  std::string token_id;
  model::Role role = model::Role::admin;
  std::string scope_path;
  Time created_at{};
  Time expires_at{};
};

class SessionStore {
 public:
  // ttl: how long a session lasts from sign-in (no sliding renewal), never past the token's
  // own expiry.
  SessionStore(store::Store& db, const Clock& clock, Seconds ttl = std::chrono::hours(8));

  // Creates a session for a token that the caller has already verified, and purges expired
  // sessions. Fails only when the database does (or the token row is gone: conflict).
  Result<Session> create(const model::ApiToken& token);
  // The live session with this cookie value: nullopt when unknown, expired, or its token is
  // revoked or expired. An error only when the database fails.
  Result<std::optional<Session>> find(std::string_view id);
  // Removes the session (sign-out); unknown ids are ignored.
  Status erase(std::string_view id);
  // Removes every session of a token; returns how many.
  Result<int64_t> erase_token(std::string_view token_id);
  // Removes expired sessions; returns how many.
  Result<int64_t> purge();
  Seconds ttl() const noexcept { return ttl_; }

 private:
  store::Store& db_;
  const Clock& clock_;
  const Seconds ttl_;
};

bool csrf_ok(const Session& s, std::string_view header_value) noexcept;

// Set-Cookie header values. `secure` adds Secure (the listener speaks TLS).
std::string session_set_cookie(const Session& s, Time now, bool secure);
std::string session_clear_cookie(bool secure);

// The value of cookie `name` in a Cookie request header ("a=1; fw_session=xyz"), or "" when
// absent. Tolerates spaces and malformed pairs; never throws.
std::string cookie_value(std::string_view cookie_header, std::string_view name);

}  // namespace fw::server
