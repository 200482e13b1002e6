// What the database-using subcommands share: the --db flag falls back to $FLEETWARD_DB,
// and a missing or unopenable database is reported the same way by every command
// ("fleetward CMD: --db: ..." on stderr, exit 2 for a missing flag, 1 for an open error).
// Main thread only, like every subcommand.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "policy/policy.h"
#include "store/store.h"
#include "util/timezone.h"

namespace fw::cli {

// Prints "fleetward <command>: <msg>" to stderr and throws CLI::RuntimeError(code).
[[noreturn]] void die(std::string_view command, const std::string& msg, int code = 1);

// `db`, or $FLEETWARD_DB when it is empty ("" when neither is set).
std::string db_or_env(std::string db);

// The database named by `db` or, when it is empty, by $FLEETWARD_DB, opened (and migrated).
// From then on the command's messages follow the organisation's language (adopt_org_lang).
std::unique_ptr<store::Store> open_db(std::string_view command, std::string db);

// Unless --lang or $FLEETWARD_LANG chose it, the command's own messages (cli_text.h) take
// the organisation's language (org.lang, Russian by default) from `store`.
void adopt_org_lang(store::Store& store);

// The organisation's display zone (setting org.timezone, `fleetward org set`), in which
// tables for people show times; Europe/Moscow when unset or unreadable.
TimeZone org_zone(store::Store& store);

// The language of a command's text for people: `lang` (--lang ru|en) when given, else
// $FLEETWARD_LANG, else the organisation's setting (org.lang, `fleetward org set`, Russian
// by default) when `store` is given, else the locale (cli_text.h).
policy::Lang org_lang(store::Store* store, std::string_view lang = "");

// For services that take the language as a string and fall back to org.lang themselves:
// `lang` when given, else "ru"/"en" when $FLEETWARD_LANG chose it, else "" (the organisation's).
std::string lang_option(std::string_view lang);

}  // namespace fw::cli
