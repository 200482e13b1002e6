// `fleetward eval EXPR [--device FILE.json] [--person FILE.json] [--now RFC3339]`: compiles
// and evaluates one policy expression (docs/policy-language.md) and prints the result, or
// the error with its line:column and caret to stderr and exits 1. Main thread only.
#include <fstream>
#include <iostream>
#include <sstream>

#include "cel/cel.h"
#include "cli/command.h"

namespace {

struct EvalArgs {
  std::string expr;
  std::string device_file;
  std::string person_file;
  std::string now;
};

[[noreturn]] void die(const std::string& msg) {
  std::cerr << "fleetward eval: " << msg << "\n";
  throw CLI::RuntimeError(1);
}

fw::cel::Value load_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) die(path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  auto v = fw::cel::value_from_json(ss.str());
  if (!v) die(path + ": " + v.error().to_string());
  return std::move(*v);
}

void run_eval(const EvalArgs& a) {
  fw::cel::CompileOptions opt;
  opt.variables = {"device", "person", "now"};
  opt.source_name = "expr";
  auto prog = fw::cel::compile(a.expr, opt);
  if (!prog) die(prog.error().to_string());
  auto act = prog->make_activation();
  if (!a.device_file.empty()) act.set(0, load_json(a.device_file));
  if (!a.person_file.empty()) act.set(1, load_json(a.person_file));
  fw::Time now = fw::SystemClock().now();
  if (!a.now.empty()) {
    auto t = fw::parse_time(a.now);
    if (!t) die("--now: " + t.error().to_string());
    now = *t;
  }
  act.set(2, fw::cel::Value::timestamp(now));
  auto r = prog->eval(act);
  if (!r) die(r.error().to_string());
  std::cout << r->to_string() << std::endl;
}

void add_eval(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  auto* cmd = app.add_subcommand("eval", "Evaluate a policy expression (CEL) and print the result");
  cmd->add_option("expr", args->expr, "the expression, e.g. 'version(\"16.3.1\") < version(\"17\")'")->required();
  cmd->add_option("--device", args->device_file, "JSON file bound to the variable `device`");
  cmd->add_option("--person", args->person_file, "JSON file bound to the variable `person`");
  cmd->add_option("--now", args->now, "RFC 3339 time bound to `now` (default: the current time)");
  cmd->callback([args] { run_eval(*args); });
}

}  // namespace

FW_COMMAND(add_eval);
