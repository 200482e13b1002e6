// How a subcommand of the `fleetward` executable plugs in. Each cmd_*.cpp file in this
// folder defines one function that adds its subcommand to the CLI11 app, and registers it
// with FW_COMMAND(fn). main() calls every registered function once, on the main thread.
// A subcommand reports failure by throwing CLI::RuntimeError(exit_code) after printing
// its error to stderr.
#pragma once

#include <CLI/CLI.hpp>

namespace fw::cli {

using AddCommand = void (*)(CLI::App& app);

// Called by FW_COMMAND during static initialisation.
bool register_command(AddCommand fn);

}  // namespace fw::cli

#define FW_COMMAND(fn) \
  static const bool fw_command_registered_##fn = ::fw::cli::register_command(&fn)
