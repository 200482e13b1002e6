// `fleetward report [--db DB] [--campaign ID] [--format table|json|csv|html] [--lang ru|en]
// [--output FILE]`: the compliance report of a campaign (default: the first active one) or a
// policy, in the organisation's time zone. --db defaults to $FLEETWARD_DB; --lang to the
// organisation's setting (org.lang), which defaults to Russian.
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "cli/cli_db.h"
#include "cli/command.h"
#include "service/reports.h"
#include "store/store.h"

namespace {

struct ReportArgs {
  std::string db, campaign, format = "table", lang, output;
};

[[noreturn]] void die(const std::string& msg, int code = 1) { fw::cli::die("report", msg, code); }

void run(const ReportArgs& a) {
  auto store = fw::cli::open_db("report", a.db);
  fw::SystemClock clock;
  auto r = fw::service::report(*store, clock, a.campaign, a.format, a.lang);
  if (!r) die(r.error().to_string());
  if (a.output.empty()) {
    std::cout << r->body;
    return;
  }
  std::ofstream f(a.output, std::ios::binary);
  if (!(f << r->body)) die(a.output + ": cannot write");
  std::cerr << "wrote " << a.output << "\n";
}

void add_report(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  auto* cmd = app.add_subcommand("report", "Compliance report of a campaign or policy");
  cmd->add_option("--db", args->db, "SQLite file or postgresql:// URL (default $FLEETWARD_DB)");
  cmd->add_option("--campaign", args->campaign, "campaign or policy id (default: the first active campaign)");
  cmd->add_option("--format", args->format, "table|json|csv|html")
      ->capture_default_str()
      ->check(CLI::IsMember({"table", "json", "csv", "html"}));
  cmd->add_option("--lang", args->lang, "ru|en (default: the organisation's setting, Russian)")
      ->check(CLI::IsMember({"ru", "en"}));
  cmd->add_option("-o,--output", args->output, "write to FILE instead of standard output");
  cmd->callback([args] { run(*args); });
}

}  // namespace

FW_COMMAND(add_report);
