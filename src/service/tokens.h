// Admin API tokens: creation (the secret is shown once, only its SHA-256 is stored) and
// authentication of a presented secret. Thread-safe (the Store is).
// Failure: authenticate() gives unauthenticated for an unknown, revoked or expired secret
// (one message for all, so a caller learns nothing about which), io errors as they come.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "model/model.h"
#include "store/store.h"
#include "util/error.h"
#include "util/time.h"

namespace fw::service {

struct NewToken {
  model::ApiToken token;  // as stored (secret_hash set)
  std::string secret;     // "fw_<64 hex>": give it to the user once, never store it
};

// Creates a token inside tx and writes a "token.create" audit event (without the hash).
Result<NewToken> create_token(store::Tx& tx, std::string_view name, model::Role role, std::string_view actor,
                              Time now);
Result<NewToken> create_token(store::Store& store, std::string_view name, model::Role role, std::string_view actor,
                              Time now);

// A token to create: a manager needs the org-unit subtree it may see ("/..."); the other
// roles have none. Agent credentials are not API tokens (invalid_argument).
struct TokenSpec {
  std::string name;  // 1-128 characters
  model::Role role = model::Role::admin;
  std::string scope_path;
  std::optional<Time> expires_at;
};
Result<NewToken> create_token(store::Tx& tx, const TokenSpec& spec, std::string_view actor, Time now);

// Revokes a token at once (its API calls get 401 and its dashboard sessions end) and writes
// a "token.revoke" audit event; not_found for an unknown id. Returns the sessions ended.
Result<int64_t> revoke_token(store::Tx& tx, std::string_view id, std::string_view actor, Time now);

// Finds the token whose hash matches sha256(secret); checks revoked and expires_at.
Result<model::ApiToken> authenticate(store::Store& store, std::string_view secret, Time now);

}  // namespace fw::service
