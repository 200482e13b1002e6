// See cli_db.h. Main thread only.
#include "cli/cli_db.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

namespace fw::cli {

void die(std::string_view command, const std::string& msg, int code) {
  std::cerr << "fleetward " << command << ": " << msg << "\n";
  throw CLI::RuntimeError(code);
}

std::unique_ptr<store::Store> open_db(std::string_view command, std::string db) {
  if (db.empty())
    if (const char* e = std::getenv("FLEETWARD_DB")) db = e;
  if (db.empty())
    die(command, "--db: no database: pass --db PATH (or set FLEETWARD_DB); `fleetward demo` prints its path", 2);
  auto s = store::Store::open(db);
  if (!s) die(command, "--db " + db + ": " + s.error().to_string());
  return std::move(*s);
}

}  // namespace fw::cli
