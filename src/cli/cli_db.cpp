// See cli_db.h. Main thread only.
#include "cli/cli_db.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "cli/cli_text.h"
#include "service/policies.h"

namespace fw::cli {

void die(std::string_view command, const std::string& msg, int code) {
  std::cerr << "fleetward " << command << ": " << msg << "\n";
  throw CLI::RuntimeError(code);
}

std::string db_or_env(std::string db) {
  if (db.empty())
    if (const char* e = std::getenv("FLEETWARD_DB")) db = e;
  return db;
}

std::unique_ptr<store::Store> open_db(std::string_view command, std::string db) {
  db = db_or_env(std::move(db));
  if (db.empty())
    die(command, msg("cli.no_db"), 2);
  auto s = store::Store::open(db);
  // The store names the file itself (where = the path): say it once.
  if (!s) die(command, msg("cli.db_open", db, s.error().where == db ? s.error().message : s.error().to_string()));
  adopt_org_lang(**s);
  return std::move(*s);
}

void adopt_org_lang(store::Store& store) {
  if (!ui_lang_explicit()) set_ui_lang(org_lang(&store));
}

TimeZone org_zone(store::Store& store) {
  TimeZone tz = TimeZone::fixed(3 * 3600);
  (void)store.read([&](store::Tx& tx) -> Status {
    tz = service::org_timezone(tx);
    return {};
  });
  return tz;
}

policy::Lang org_lang(store::Store* store, std::string_view lang) {
  if (auto l = policy::parse_lang(lang)) return *l;
  if (ui_lang_explicit() || !store) return ui_lang();  // $FLEETWARD_LANG; no organisation: the locale
  policy::Lang l = policy::Lang::ru;
  (void)store->read([&](store::Tx& tx) -> Status {
    l = service::org_lang(tx);
    return {};
  });
  return l;
}

std::string lang_option(std::string_view lang) {
  if (!lang.empty() || !ui_lang_explicit()) return std::string(lang);
  return ui_lang() == policy::Lang::en ? "en" : "ru";
}

}  // namespace fw::cli
