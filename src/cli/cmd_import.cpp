// `fleetward import [--db PATH] FILE...`: loads org-units*.csv, people*.csv, devices*.csv and
// *.json files into the inventory, one transaction per file (see service/importer.h and
// docs/import.md). Files are taken in the order org units, people, devices, JSON (stable),
// so references resolve. Errors go to stderr as "file:line: field: reason"; any failed
// file makes the exit status 1 (the other files still load). --db defaults to $FLEETWARD_DB.
// The summary lines in the reader's language (cli_text.h); each error's detail stays English.
#include <algorithm>
#include <iostream>

#include "cli/cli_db.h"
#include "cli/cli_text.h"
#include "cli/command.h"
#include "service/importer.h"
#include "store/store.h"
#include "util/strings.h"

namespace {

struct ImportArgs {
  std::string db;
  std::vector<std::string> files;
};

int rank_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  auto base = fw::to_lower_ascii(slash == std::string::npos ? path : path.substr(slash + 1));
  if (base.starts_with("org")) return 0;
  if (base.starts_with("people")) return 1;
  if (base.starts_with("devices")) return 2;
  return 3;
}

void run_import(ImportArgs a) {
  auto store = fw::cli::open_db("import", a.db);
  std::stable_sort(a.files.begin(), a.files.end(),
                   [](const auto& x, const auto& y) { return rank_of(x) < rank_of(y); });
  fw::SystemClock clock;
  bool failed = false;
  for (const auto& f : a.files) {
    auto rep = fw::service::import_file(*store, f, "cli:import", clock.now());
    if (!rep.ok()) {
      failed = true;
      for (const auto& e : rep.errors) std::cerr << e << "\n";
      std::cerr << fw::cli::msg("cli.import.nothing", f) << "\n";
      continue;
    }
    std::cout << fw::cli::msg("cli.import.done", f, fw::cli::count(rep.org_units, "n.unit"),
                              fw::cli::count(rep.people, "n.person"), fw::cli::count(rep.devices, "n.device"))
              << "\n";
  }
  std::cout.flush();
  if (failed) throw CLI::RuntimeError(1);
}

void add_import(CLI::App& app) {
  auto args = std::make_shared<ImportArgs>();
  auto* cmd = app.add_subcommand("import", "Import org units, people and devices from CSV or JSON files");
  cmd->add_option("--db", args->db, "SQLite file or postgresql:// URL (default $FLEETWARD_DB)");
  cmd->add_option("files", args->files, "org-units*.csv, people*.csv, devices*.csv, *.json")->required();
  fw::cli::add_lang_option(cmd);
  cmd->callback([args] { run_import(*args); });
}

}  // namespace

FW_COMMAND(add_import);
