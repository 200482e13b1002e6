// Private to store/: the embedded schema migrations (generated from migrations/*.sql at
// build time) and the runner that applies them, each in its own transaction, recording
// each in schema_version. Call from one thread with a connection no one else uses.
#pragma once

#include <string_view>
#include <vector>

#include "store/sql/db.h"

namespace fw::store::sql {

struct Migration {
  int version;             // 1, 2, 3... (the file's number)
  std::string_view name;   // "0001_inventory"
  std::string_view sql;    // the file's text
};

// All migrations in version order (defined in the generated migrations_data.cpp).
const std::vector<Migration>& migrations();
inline int newest_schema_version() { return static_cast<int>(migrations().size()); }

// Hooks a driver gives the runner: how to start a migration transaction (SQLite: BEGIN
// IMMEDIATE; PostgreSQL: BEGIN + an advisory lock so concurrent servers migrate once).
struct MigrationHooks {
  std::string_view begin = "BEGIN";
  std::string_view after_begin;  // run after begin, before reading the version (may be "")
};

// Reads the applied version (0 for an empty database; creates schema_version if missing).
Result<int> applied_version(Conn& c);
// Applies every migration above the applied version up to `target` (0 = newest), each in
// one transaction together with its schema_version row; on error that migration is rolled
// back and the error names it. Fails with conflict if the database is newer than this binary.
Result<int> migrate(Conn& c, const MigrationHooks& hooks, int target = 0);

}  // namespace fw::store::sql
