// `fleetward import-exchange [--db DB] [--strip-domain D]... [--dry-run] FILE.csv...`: loads
// Exchange's mobile-device export (`Get-MobileDevice | Export-Csv`) so that ActiveSync
// clients the logs cannot tell apart (Outlook-iOS-Android) are resolved per device id, now
// and in later `discover` runs (service/exchange.h), then evaluates the devices it touched.
// A bad row is printed as "file:line: field: reason" and skipped (exit status 1); the good
// rows are still imported. Runs on the main thread only.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/cli_db.h"
#include "cli/command.h"
#include "service/exchange.h"
#include "service/sightings.h"
#include "store/store.h"

namespace fw::cli {
namespace {

struct Args {
  std::string db;
  std::vector<std::string> strip_domains;
  std::vector<std::string> files;
  bool dry_run = false;
};

[[noreturn]] void die(const std::string& msg, int code = 1) {
  std::cerr << "fleetward import-exchange: " << msg << "\n";
  throw CLI::RuntimeError(code);
}

std::string read_file(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) die(path + ": " + ec.message());
  if (size > service::kMaxExchangeCsvBytes)
    die(path + ": larger than " + std::to_string(service::kMaxExchangeCsvBytes) + " bytes");
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  if (!f || !(ss << f.rdbuf())) die(path + ": cannot read");
  return ss.str();
}

void run(const Args& a) {
  std::string db = a.db;
  if (db.empty())
    if (const char* e = std::getenv("FLEETWARD_DB")) db = e;
  if (db.empty() && !a.dry_run) die("no database: pass --db PATH (or set FLEETWARD_DB), or --dry-run", 2);

  auto cl = detect::Classifier::load({});
  if (!cl) die(cl.error().to_string());
  std::vector<service::ExchangeRow> rows;
  size_t bad = 0;
  for (const auto& file : a.files) {
    auto csv = service::parse_exchange_csv(read_file(file), file);
    if (!csv) die(csv.error().to_string());
    for (const auto& e : csv->errors) std::cerr << e.to_string(file) << "\n";
    bad += csv->errors.size();
    for (auto& r : csv->rows) rows.push_back(std::move(r));
  }
  if (a.dry_run) {
    for (const auto& r : rows) {
      auto rd = service::read_exchange_row(r, cl->get());
      std::printf("%s\t%s\t%s %s\t%s\t%s\n", r.device_id.c_str(), r.user.c_str(),
                  rd.os_family.empty() ? "(unknown)" : rd.os_family.c_str(), rd.os_version.c_str(),
                  rd.model.c_str(), std::string(model::to_string(rd.type)).c_str());
    }
    std::printf("rows %zu, rejected %zu (dry run: nothing written)\n", rows.size(), bad);
    if (bad) throw CLI::RuntimeError(1);
    return;
  }

  auto store = open_db("import-exchange", db);
  SystemClock clock;
  service::ExchangeImportOptions opts;
  opts.strip_domains = a.strip_domains;
  opts.classifier = *cl;
  auto res = service::import_exchange_devices(*store, rows, opts, clock.now());
  if (!res) die(res.error().to_string());
  auto ev = service::evaluate_ingested(*store, clock, res->device_ids);
  if (!ev) die("evaluating the devices: " + ev.error().to_string());
  std::printf("exchange: %zu rows imported, %zu rejected; %zu devices resolved, %zu created, %zu rows with an "
              "unreadable OS; fleet evaluated (%lld devices)\n",
              res->rows, bad, res->devices_resolved, res->devices_created, res->unresolved,
              static_cast<long long>(ev->devices));
  if (!res->unattributed_users.empty()) {
    std::printf("unattributed users (%zu):", res->unattributed_users.size());
    for (size_t i = 0; i < res->unattributed_users.size() && i < 50; ++i)
      std::printf(" %s;", res->unattributed_users[i].c_str());
    std::printf("%s\n", res->unattributed_users.size() > 50 ? " ..." : "");
  }
  if (bad) throw CLI::RuntimeError(1);
}

void add_import_exchange(CLI::App& app) {
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("import-exchange",
                                 "Import Exchange's mobile-device export (Get-MobileDevice | Export-Csv)");
  cmd->add_option("--db", a->db, "SQLite file or postgresql:// URL (default $FLEETWARD_DB)");
  cmd->add_option("--strip-domain", a->strip_domains, "e-mail domain to strip from user names (* = any); repeatable")
      ->allow_extra_args(false);
  cmd->add_flag("--dry-run", a->dry_run, "parse and print what each row reads as; no database");
  cmd->add_option("files", a->files, "CSV files written by Export-Csv")->required();
  cmd->callback([a] { run(*a); });
}

}  // namespace
FW_COMMAND(add_import_exchange);
}  // namespace fw::cli
