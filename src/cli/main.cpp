// The `fleetward` executable: parses the command line and runs one subcommand.
// Subcommands live in cmd_*.cpp and register themselves (see command.h). Exit status: 0
// done, 1 failed (the reason on stderr), 2 a bad command line. Messages on stderr are in the
// reader's language (cli_text.h), and so is --help (help_ru.cpp); CLI11's own descriptions of a
// bad command line stay English inside a translated frame.
#include <cstdio>
#include <vector>

#include "cli/cli_text.h"
#include "cli/command.h"

namespace fw::cli {

static std::vector<AddCommand>& registry() {
  static std::vector<AddCommand> r;
  return r;
}

bool register_command(AddCommand fn) {
  registry().push_back(fn);
  return true;
}

}  // namespace fw::cli

namespace {

// "fleetward report", "fleetward campaign actions": the deepest subcommand the parser reached.
std::string command_path(CLI::App& app) {
  std::string path = "fleetward";
  CLI::App* at = &app;
  for (;;) {
    auto subs = at->get_subcommands();
    if (subs.empty()) break;
    at = subs.front();
    path += " " + at->get_name();
  }
  return path;
}

}  // namespace

int main(int argc, char** argv) {
  fw::cli::init_ui_lang(argc, argv);
  CLI::App app{"fleetward: mobile-fleet security and compliance", "fleetward"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "fleetward 0.1.0");
  for (auto fn : fw::cli::registry()) fn(app);
  fw::cli::translate_help(app);  // --help in Russian when the language known now is Russian
  // CLI11 answers an unknown command with "A subcommand is required": name it instead.
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    for (const auto* sub : app.get_subcommands([](CLI::App*) { return true; }))
      known = known || sub->check_name(argv[1]);
    if (!known) {
      std::fprintf(stderr, "fleetward: %s\n", fw::cli::msg("cli.unknown_command", argv[1]).c_str());
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // A command's failure (RuntimeError) keeps its status (1, or 2 for a bad flag value the
    // command found); CLI11's own codes for a bad command line (105-109, 106 for a missing
    // argument...) become 2, the usage-error status of every subcommand; help and version 0.
    if (dynamic_cast<const CLI::RuntimeError*>(&e)) return e.get_exit_code();
    if (e.get_exit_code() != 0 && fw::cli::ui_lang() != fw::policy::Lang::en) {
      const std::string cmd = command_path(app);
      std::fprintf(stderr, "%s: %s\n%s\n", cmd.c_str(), fw::cli::msg("cli.usage_error", e.what()).c_str(),
                   fw::cli::msg("cli.see_help", cmd).c_str());
      return 2;
    }
    const int rc = app.exit(e);
    if (rc == 0) return rc;
    return 2;
  }
  return 0;
}
