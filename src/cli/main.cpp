// The `fleetward` executable: parses the command line and runs one subcommand.
// Subcommands live in cmd_*.cpp and register themselves (see command.h). Exit status: 0
// done, 1 failed (the reason on stderr), 2 a bad command line.
#include <cstdio>
#include <vector>

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

int main(int argc, char** argv) {
  CLI::App app{"fleetward: mobile-fleet security and compliance", "fleetward"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "fleetward 0.1.0");
  for (auto fn : fw::cli::registry()) fn(app);
  // CLI11 answers an unknown command with "A subcommand is required": name it instead.
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    for (const auto* sub : app.get_subcommands([](CLI::App*) { return true; }))
      known = known || sub->check_name(argv[1]);
    if (!known) {
      std::fprintf(stderr, "fleetward: unknown command '%s' (fleetward --help lists them)\n", argv[1]);
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // A command's failure (RuntimeError) keeps its status (1, or 2 for a bad flag value the
    // command found); CLI11's own codes for a bad command line (105-109, 106 for a missing
    // argument...) become 2, the usage-error status of every subcommand; help and version 0.
    const int rc = app.exit(e);
    if (rc == 0 || dynamic_cast<const CLI::RuntimeError*>(&e)) return rc;
    return 2;
  }
  return 0;
}
