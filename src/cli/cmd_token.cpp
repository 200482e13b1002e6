// `fleetward token create|list|revoke`: the admin API tokens of a database. create prints the
// secret once (only its hash is stored); revoke takes effect at once for the API and ends the
// token's dashboard sessions. create and revoke are audited (service/tokens.cpp) with the
// actor "cli" (--actor). --db defaults to $FLEETWARD_DB. Messages and the table's words in the
// reader's language (cli_text.h); the JSON keeps English keys and states. Main thread only.
#include <cstdlib>
#include <iostream>

#include <boost/json.hpp>

#include "cli/cli_db.h"
#include "cli/cli_text.h"
#include "cli/command.h"
#include "service/tokens.h"
#include "store/store.h"

namespace {

struct TokenArgs {
  std::string db;
  std::string actor = "cli";
  std::string name, role, scope, expires, id;
  std::string format = "table";
};

[[noreturn]] void die(const std::string& msg, int code = 1) { fw::cli::die("token", msg, code); }

std::unique_ptr<fw::store::Store> open_db(const std::string& db) { return fw::cli::open_db("token", db); }

// A service error names a field; the user typed a flag.
std::string flag_for(const std::string& where) {
  if (where == "name") return "--name";
  if (where == "role") return "--role";
  if (where == "scope_path" || where.starts_with("org unit")) return "--scope";
  if (where == "expires_at") return "--expires";
  if (where == "id") return "ID";
  return where;
}

using fw::cli::msg;

[[noreturn]] void die_error(const fw::Error& e) {
  fw::Error named = e;
  named.where = e.where.empty() ? std::string() : flag_for(e.where);
  die(fw::cli::error_text(named), e.code == fw::Errc::invalid_argument ? 2 : 1);
}

void run_create(const TokenArgs& a) {
  auto store = open_db(a.db);
  fw::SystemClock clock;
  const fw::Time now = clock.now();
  fw::service::TokenSpec spec;
  spec.name = a.name;
  auto role = fw::model::parse_role(a.role);
  if (!role) die(msg("cli.token.role", a.role), 2);
  spec.role = *role;
  spec.scope_path = a.scope;
  if (!a.expires.empty()) {
    auto d = fw::parse_duration(a.expires);
    if (!d || d->count() <= 0) die(msg("cli.token.expires", a.expires), 2);
    spec.expires_at = now + *d;
  }
  std::optional<fw::service::NewToken> created;
  auto st = store->write([&](fw::store::Tx& tx) -> fw::Status {
    FW_TRY(auto t, fw::service::create_token(tx, spec, a.actor, now));
    created = std::move(t);
    return {};
  });
  if (!st) die_error(st.error());
  std::cout << msg("cli.token.created", created->token.id, created->token.name,
                   fw::model::to_string(created->token.role))
            << "\n"
            << msg("cli.token.secret", created->secret) << std::endl;
}

void run_list(const TokenArgs& a) {
  auto store = open_db(a.db);
  std::vector<fw::model::ApiToken> all;
  auto st = store->read([&](fw::store::Tx& tx) -> fw::Status {
    FW_TRY(all, tx.list_tokens());
    return {};
  });
  if (!st) die_error(st.error());
  const fw::Time now = fw::SystemClock().now();
  auto state = [&](const fw::model::ApiToken& t) -> std::string {
    if (t.revoked) return "revoked";
    if (t.expires_at && *t.expires_at <= now) return "expired";
    return "active";
  };
  if (a.format == "json") {
    boost::json::array items;
    for (const auto& t : all) {
      boost::json::object o{{"id", t.id},       {"name", t.name},
                            {"role", std::string(fw::model::to_string(t.role))},
                            {"scope_path", t.scope_path}, {"created_at", fw::format_time(t.created_at)},
                            {"revoked", t.revoked},       {"state", state(t)}};
      o["expires_at"] = t.expires_at ? boost::json::value(fw::format_time(*t.expires_at)) : boost::json::value(nullptr);
      items.push_back(std::move(o));
    }
    std::cout << boost::json::serialize(boost::json::object{{"items", std::move(items)}}) << "\n";
    return;
  }
  // The table is for people: times in the organisation's zone (JSON keeps UTC).
  const fw::TimeZone tz = fw::cli::org_zone(*store);
  std::cout << msg("cli.token.header") << "\n";
  for (const auto& t : all)
    std::cout << t.id << "\t" << t.name << "\t" << fw::model::to_string(t.role) << "\t"
              << (t.scope_path.empty() ? "-" : t.scope_path) << "\t" << tz.format(t.created_at) << "\t"
              << (t.expires_at ? tz.format(*t.expires_at) : "-") << "\t" << msg("cli.state." + state(t)) << "\n";
}

void run_revoke(const TokenArgs& a) {
  auto store = open_db(a.db);
  int64_t ended = 0;
  auto st = store->write([&](fw::store::Tx& tx) -> fw::Status {
    FW_TRY(ended, fw::service::revoke_token(tx, a.id, a.actor, fw::SystemClock().now()));
    return {};
  });
  if (!st) {
    if (st.error().code == fw::Errc::not_found) die(msg("cli.token.not_found", a.id));
    die_error(st.error());
  }
  std::cout << msg("cli.token.revoked", a.id, fw::cli::count(ended, "n.session")) << "\n";
}

void add_token(CLI::App& app) {
  auto a = std::make_shared<TokenArgs>();
  auto* cmd = app.add_subcommand("token", "Create, list and revoke admin API tokens");
  cmd->require_subcommand(1);
  auto common = [&](CLI::App* c) {
    c->add_option("--db", a->db, "SQLite file or postgresql:// URL (default $FLEETWARD_DB)");
    fw::cli::add_lang_option(c);
  };
  auto* create = cmd->add_subcommand("create", "Create a token and print its secret once");
  common(create);
  create->add_option("--name", a->name, "who or what uses it (1-128 characters)")->required();
  create->add_option("--role", a->role, "admin, operator, auditor or manager")->required();
  create->add_option("--scope", a->scope, "a manager's org-unit path (\"/...\")");
  create->add_option("--expires", a->expires, "lifetime, e.g. 90d (default: no expiry)");
  create->add_option("--actor", a->actor, "audit actor (default cli)");
  create->callback([a] { run_create(*a); });

  auto* list = cmd->add_subcommand("list", "List the tokens (never their secrets)");
  common(list);
  list->add_option("--format", a->format, "table or json")->check(CLI::IsMember({"table", "json"}));
  list->callback([a] { run_list(*a); });

  auto* revoke = cmd->add_subcommand("revoke", "Revoke a token now (API and dashboard sessions)");
  common(revoke);
  revoke->add_option("ID", a->id, "the token's id (tok-...)")->required();
  revoke->add_option("--actor", a->actor, "audit actor (default cli)");
  revoke->callback([a] { run_revoke(*a); });
}

}  // namespace

FW_COMMAND(add_token);
