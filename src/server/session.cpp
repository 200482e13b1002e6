// Dashboard sessions (see session.h). Thread-safe: every access to the map holds mu_.
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

SessionStore::SessionStore(const Clock& clock, Seconds ttl, std::size_t max_sessions)
    : clock_(clock), ttl_(ttl), max_(std::max<std::size_t>(1, max_sessions)) {}

Session SessionStore::create(const model::ApiToken& token) {
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
  std::lock_guard lock(mu_);
  sweep_locked(s.created_at);
  if (by_hash_.size() >= max_) {
    auto oldest = std::min_element(by_hash_.begin(), by_hash_.end(), [](const auto& a, const auto& b) {
      return a.second.expires_at < b.second.expires_at;
    });
    by_hash_.erase(oldest);
  }
  by_hash_.emplace(sha256_hex(s.id), s);
  return s;
}

std::optional<Session> SessionStore::find(std::string_view id) {
  if (id.size() != 64) return std::nullopt;
  const std::string key = sha256_hex(id);
  const Time now = clock_.now();
  std::lock_guard lock(mu_);
  auto it = by_hash_.find(key);
  if (it == by_hash_.end()) return std::nullopt;
  if (now >= it->second.expires_at) {
    by_hash_.erase(it);
    return std::nullopt;
  }
  return it->second;
}

void SessionStore::erase(std::string_view id) {
  const std::string key = sha256_hex(id);
  std::lock_guard lock(mu_);
  by_hash_.erase(key);
}

void SessionStore::erase_token(std::string_view token_id) {
  std::lock_guard lock(mu_);
  std::erase_if(by_hash_, [&](const auto& kv) { return kv.second.token_id == token_id; });
}

std::size_t SessionStore::size() {
  std::lock_guard lock(mu_);
  sweep_locked(clock_.now());
  return by_hash_.size();
}

void SessionStore::sweep_locked(Time now) {
  std::erase_if(by_hash_, [&](const auto& kv) { return now >= kv.second.expires_at; });
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
