// Dashboard sessions: an admin token is exchanged once (POST /api/v1/session) for a random
// session id carried in an HttpOnly, SameSite=Strict cookie, plus a CSRF token that the page
// sends back in the X-CSRF-Token header on every state-changing request.
// SessionStore is thread-safe (one mutex guards the map); sessions live in this process's
// memory, so a restart or a second node signs everyone out (see docs/dashboard.md).
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "model/model.h"
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
  // ttl: how long a session lasts from sign-in (no sliding renewal). max_sessions: when
  // full, the session closest to expiry is dropped to make room.
  explicit SessionStore(const Clock& clock, Seconds ttl = std::chrono::hours(8), std::size_t max_sessions = 10000);

  // Creates a session for a token that the caller has already verified. Never fails.
  Session create(const model::ApiToken& token);
  // The live session with this id, or nullopt when unknown or expired (expired ones are
  // removed). Comparison does not leak the id through timing (the map is keyed by hash).
  std::optional<Session> find(std::string_view id);
  // Removes the session; unknown ids are ignored.
  void erase(std::string_view id);
  // Drops every session of a token (revocation).
  void erase_token(std::string_view token_id);
  std::size_t size();
  Seconds ttl() const noexcept { return ttl_; }

 private:
  void sweep_locked(Time now);

  const Clock& clock_;
  const Seconds ttl_;
  const std::size_t max_;
  std::mutex mu_;
  std::map<std::string, Session, std::less<>> by_hash_;  // guarded by mu_; key = sha256(id)
};

// True when the request's CSRF header equals the session's token (constant time).
bool csrf_ok(const Session& s, std::string_view header_value) noexcept;

// Set-Cookie header values. `secure` adds Secure (the listener speaks TLS).
std::string session_set_cookie(const Session& s, Time now, bool secure);
std::string session_clear_cookie(bool secure);

// The value of cookie `name` in a Cookie request header ("a=1; fw_session=xyz"), or "" when
// absent. Tolerates spaces and malformed pairs; never throws.
std::string cookie_value(std::string_view cookie_header, std::string_view name);

}  // namespace fw::server
