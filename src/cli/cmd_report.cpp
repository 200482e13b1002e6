// `fleetward report [--db DB] [--campaign ID] [--format table|json|csv|html] [--lang ru|en]
// [--table units|rules|platforms|burndown|overdue] [--bom] [--output FILE]`: the compliance
// report of a campaign (default: the first active one) or a policy, in the organisation's time
// zone. A CSV holds one table (--table, default units). --db defaults to $FLEETWARD_DB; --lang
// to the organisation's setting (org.lang), which defaults to Russian. Single-threaded.
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "cli/cli_db.h"
#include "cli/cli_text.h"
#include "cli/command.h"
#include "service/reports.h"
#include "store/store.h"

namespace {

struct ReportArgs {
  std::string db, campaign, format = "table", lang, output, table;
  bool bom = false;
};

[[noreturn]] void die(const std::string& msg, int code = 1) { fw::cli::die("report", msg, code); }

void run(const ReportArgs& a) {
  fw::policy::CsvOptions csv;
  if (!a.table.empty()) {
    if (a.format != "csv") die(fw::cli::msg("cli.report.table_needs_csv"), 2);
    csv.table = *fw::policy::parse_csv_table(a.table);  // checked by CLI11
  }
  if (a.bom && a.format != "csv") die(fw::cli::msg("cli.report.bom_needs_csv"), 2);
  csv.bom = a.bom;
  auto store = fw::cli::open_db("report", a.db);
  fw::SystemClock clock;
  auto r = fw::service::report(*store, clock, a.campaign, a.format, fw::cli::lang_option(a.lang), csv);
  if (!r) {
    // What the reader asked for, in their words; other failures framed (cli_text.h).
    if (r.error().code == fw::Errc::not_found)
      die(a.campaign.empty() ? fw::cli::msg("cli.report.no_active") : fw::cli::msg("cli.report.not_found", a.campaign));
    die(fw::cli::error_text(r.error()));
  }
  if (a.output.empty()) {
    std::cout << r->body;
    return;
  }
  std::ofstream f(a.output, std::ios::binary);
  if (!(f << r->body)) die(fw::cli::msg("cli.cannot_write", a.output));
  std::cerr << fw::cli::msg("cli.wrote", a.output) << "\n";
}

void add_report(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  auto* cmd = app.add_subcommand("report", "Compliance report of a campaign or policy");
  cmd->add_option("--db", args->db, "SQLite file or postgresql:// URL (default $FLEETWARD_DB)");
  cmd->add_option("--campaign", args->campaign, "campaign or policy id (default: the first active campaign)");
  cmd->add_option("--format", args->format, "table|json|csv|html")
      ->capture_default_str()
      ->check(CLI::IsMember({"table", "json", "csv", "html"}));
  cmd->add_option("--lang", args->lang, "ru|en (default: $FLEETWARD_LANG, else the organisation's setting, Russian)")
      ->check(CLI::IsMember({"ru", "en"}));
  cmd->add_option("--table", args->table,
                  "with --format csv: the one table the CSV holds: units (per org unit, the default), rules, "
                  "platforms, burndown or overdue (these two for a campaign)")
      ->check(CLI::IsMember({"units", "rules", "platforms", "burndown", "overdue"}));
  cmd->add_flag("--bom", args->bom,
                "with --format csv: start with a UTF-8 byte-order mark, for Excel to read Cyrillic (pandas, "
                "LibreOffice and most tools do not need it)");
  cmd->add_option("-o,--output", args->output, "write to FILE instead of standard output");
  cmd->callback([args] { run(*args); });
}

}  // namespace

FW_COMMAND(add_report);
