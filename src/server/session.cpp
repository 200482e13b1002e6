// Dashboard sessions (see session.h), stored through store::Tx. Thread-safe: no state of
// its own besides the references given at construction.
#include "server/session.h"

#include <algorithm>

#include <fmt/format.h>

#include <cstdlib>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

namespace fw::server {

namespace {

std::string hex(const unsigned char* p, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 15];
  }
  return out;
}

// 32 random bytes as hex. The CSPRNG cannot fail on a working system; if it does, handing
// out a guessable session id would be worse than stopping.
std::string random_id() {
  unsigned char buf[32];
  if (RAND_bytes(buf, sizeof buf) != 1) std::abort();
  return hex(buf, sizeof buf);
}

std::string sha256_hex(std::string_view s) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  return hex(d, sizeof d);
}

}  // namespace

SessionStore::SessionStore(store::Store& db, const Clock& clock, Seconds ttl) : db_(db), clock_(clock), ttl_(ttl) {}

Result<Session> SessionStore::create(const model::ApiToken& token) {
  Session s;
  s.id = random_id();
  s.csrf = random_id();
  s.actor = token.name;
  s.token_id = token.id;
  s.role = token.role;
  s.scope_path = token.scope_path;
  s.created_at = clock_.now();
  s.expires_at = s.created_at + ttl_;
  if (token.expires_at && *token.expires_at < s.expires_at) s.expires_at = *token.expires_at;
  store::WebSession row{.id_hash = sha256_hex(s.id), .csrf = s.csrf, .token_id = s.token_id,
                        .created_at = s.created_at, .expires_at = s.expires_at};
  FW_TRY_STATUS(db_.write([&](store::Tx& tx) -> Status {
    FW_TRY_STATUS(tx.purge_web_sessions(s.created_at));
    return tx.put_web_session(row);
  }));
  return s;
}

Result<std::optional<Session>> SessionStore::find(std::string_view id) {
  if (id.size() != 64) return std::optional<Session>{};
  const std::string key = sha256_hex(id);
  std::optional<Session> out;
  FW_TRY_STATUS(db_.read([&](store::Tx& tx) -> Status {
    auto row = tx.find_web_session(key, clock_.now());
    if (!row) return row.error().code == Errc::not_found ? Status{} : std::unexpected(row.error());
    Session s;
    s.id = std::string(id);
    s.csrf = row->csrf;
    s.actor = row->token_name;
    s.token_id = row->token_id;
    s.role = row->role;
    s.scope_path = row->scope_path;
    s.created_at = row->created_at;
    s.expires_at = row->expires_at;
    out = std::move(s);
    return {};
  }));
  return out;
}

Status SessionStore::erase(std::string_view id) {
  const std::string key = sha256_hex(id);
  return db_.write([&](store::Tx& tx) { return tx.delete_web_session(key); });
}

Result<int64_t> SessionStore::erase_token(std::string_view token_id) {
  int64_t n = 0;
  FW_TRY_STATUS(db_.write([&](store::Tx& tx) -> Status {
    FW_TRY(n, tx.delete_web_sessions_of_token(token_id));
    return {};
  }));
  return n;
}

Result<int64_t> SessionStore::purge() {
  int64_t n = 0;
  const Time now = clock_.now();
  FW_TRY_STATUS(db_.write([&](store::Tx& tx) -> Status {
    FW_TRY(n, tx.purge_web_sessions(now));
    return {};
  }));
  return n;
}

bool csrf_ok(const Session& s, std::string_view header_value) noexcept {
  if (s.csrf.empty() || header_value.size() != s.csrf.size()) return false;
  return CRYPTO_memcmp(s.csrf.data(), header_value.data(), s.csrf.size()) == 0;
}

std::string session_set_cookie(const Session& s, Time now, bool secure) {
  const auto max_age = std::max<int64_t>(0, (s.expires_at - now).count());
  return fmt::format("{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{}", kSessionCookie, s.id, max_age,
                     secure ? "; Secure" : "");
}

std::string session_clear_cookie(bool secure) {
  return fmt::format("{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{}", kSessionCookie, secure ? "; Secure" : "");
}

std::string cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const auto semi = header.find(';');
    std::string_view pair = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    while (!pair.empty() && (pair.front() == ' ' || pair.front() == '\t')) pair.remove_prefix(1);
    while (!pair.empty() && (pair.back() == ' ' || pair.back() == '\t')) pair.remove_suffix(1);
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (pair.substr(0, eq) != name) continue;
    std::string_view v = pair.substr(eq + 1);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return std::string(v);
  }
  return {};
}

}  // namespace fw::server
