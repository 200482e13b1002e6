// The `fleetward` executable: parses the command line and runs one subcommand.
// Subcommands live in cmd_*.cpp and register themselves (see command.h).
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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}
