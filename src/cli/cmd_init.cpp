// `fleetward init --db PATH|postgresql://...`: creates and migrates the database and prints
// the first admin token (once; only its hash is stored). Refuses a database that was
// already initialised, so a second run cannot mint a token silently.
#include <iostream>

#include "cli/command.h"
#include "service/tokens.h"
#include "store/store.h"

namespace {

void run_init(const std::string& db) {
  auto store = fw::store::Store::open(db);
  if (!store) {
    std::cerr << "fleetward init: " << db << ": " << store.error().to_string() << "\n";
    throw CLI::RuntimeError(1);
  }
  fw::SystemClock clock;
  auto now = clock.now();
  std::optional<fw::service::NewToken> token;
  auto st = (*store)->write([&](fw::store::Tx& tx) -> fw::Status {
    auto done = tx.get_setting("init.at");
    if (done) return fw::fail(fw::Errc::already_exists, "already initialised at " + *done +
                                                         "; create more tokens with `fleetward token create`");
    if (done.error().code != fw::Errc::not_found) return fw::fail(done.error());
    FW_TRY(auto t, fw::service::create_token(tx, "admin", fw::model::Role::admin, "cli:init", now));
    FW_TRY_STATUS(tx.put_setting("init.at", fw::format_time(now)));
    token = std::move(t);
    return {};
  });
  if (!st) {
    std::cerr << "fleetward init: " << db << ": " << st.error().to_string() << "\n";
    throw CLI::RuntimeError(1);
  }
  std::cout << "Initialised " << db << " (" << (*store)->backend() << ", schema version "
            << (*store)->schema_version() << ").\n"
            << "Admin token (shown once, keep it safe): " << token->secret << std::endl;
}

void add_init(CLI::App& app) {
  auto db = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("init", "Create the database and print the first admin token");
  cmd->add_option("--db", *db, "SQLite file or postgresql:// URL")->required();
  cmd->callback([db] { run_init(*db); });
}

}  // namespace

FW_COMMAND(add_init);
