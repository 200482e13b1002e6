// The fleetward-agent executable: `facts` prints the device facts as JSON, `run` enrols and
// checks in (docs/agent-protocol.md). Single-threaded; SIGINT/SIGTERM stop the run loop
// between check-ins.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include "agent/agent.h"

namespace {

namespace json = boost::json;
using namespace fw::agent;

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }

void pretty(std::ostream& os, const json::value& v, int indent) {
  std::string pad(size_t(indent) * 2, ' ');
  if (v.is_object()) {
    const auto& o = v.get_object();
    if (o.empty()) {
      os << "{}";
      return;
    }
    os << "{\n";
    size_t i = 0;
    for (const auto& kv : o) {
      os << pad << "  " << json::serialize(json::value(kv.key())) << ": ";
      pretty(os, kv.value(), indent + 1);
      os << (++i < o.size() ? ",\n" : "\n");
    }
    os << pad << "}";
  } else if (v.is_array() && !v.get_array().empty()) {
    const auto& a = v.get_array();
    os << "[\n";
    for (size_t i = 0; i < a.size(); ++i) {
      os << pad << "  ";
      pretty(os, a[i], indent + 1);
      os << (i + 1 < a.size() ? ",\n" : "\n");
    }
    os << pad << "]";
  } else {
    os << json::serialize(v);
  }
}

fw::Result<std::string> rpm_query(const std::string& root) {
  std::vector<std::string> argv{"rpm"};
  if (root != "/") argv.insert(argv.end(), {"--root", root});
  argv.insert(argv.end(), {"-qa", "--queryformat", std::string(kRpmQueryFormat)});
  FW_TRY(auto pr, run_process(argv, std::chrono::seconds(60), 32u << 20));
  if (pr.truncated) return fw::fail(fw::Errc::too_large, "rpm -qa output larger than 32 MiB");
  if (pr.exit_code != 0) return fw::fail(fw::Errc::io_error, "rpm -qa exited with " + std::to_string(pr.exit_code));
  return std::move(pr.output);
}

CollectOptions collect_options(const std::string& root) {
  CollectOptions o;
  o.root = root;
  o.rpm_query = rpm_query;
  o.agent_version = std::string(kAgentVersion);
  return o;
}

void log_line(std::string_view s) {
  std::fprintf(stderr, "fleetward-agent: %.*s\n", int(s.size()), s.data());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fleetward-agent: reports this device's facts to a fleetward server"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(kAgentVersion));

  std::string facts_root = "/";
  bool facts_compact = false;
  auto* facts = app.add_subcommand("facts", "Print this device's facts as JSON");
  facts->add_option("--root", facts_root, "Read the system below this directory")->check(CLI::ExistingDirectory);
  facts->add_flag("--compact", facts_compact, "One line of JSON");

  std::string server, secret, state_dir = "/var/lib/fleetward-agent", ca_file, config_file, run_root = "/";
  bool once = false, insecure_http = false;
  auto* run = app.add_subcommand("run", "Enrol once, then check in on the server's schedule");
  run->add_option("--server", server, "Server URL, https://host[:port]")->required();
  run->add_option("--enroll-secret", secret, "Enrolment secret (needed until enrolled)");
  run->add_option("--state-dir", state_dir, "Where the credential, state and queued reports live")->capture_default_str();
  run->add_flag("--once", once, "Check in once and exit (status 0 when the report was acknowledged)");
  run->add_option("--ca-file", ca_file, "Trust only the CAs in this PEM file")->check(CLI::ExistingFile);
  run->add_flag("--insecure-http", insecure_http, "Allow a plain http:// server URL");
  run->add_option("--config", config_file, "Agent config (default: <state-dir>/agent.conf when present)")
      ->check(CLI::ExistingFile);
  run->add_option("--root", run_root, "Read the system below this directory")->check(CLI::ExistingDirectory);

  CLI11_PARSE(app, argc, argv);

  if (facts->parsed()) {
    json::object f = collect_facts(collect_options(facts_root));
    if (facts_compact) {
      std::cout << json::serialize(f) << "\n";
    } else {
      pretty(std::cout, f, 0);
      std::cout << "\n";
    }
    return 0;
  }

  // run
  AgentConfig config;
  if (config_file.empty()) {
    std::string dflt = state_dir + "/agent.conf";
    if (std::ifstream(dflt)) config_file = dflt;
  }
  if (!config_file.empty()) {
    std::ifstream in(config_file);
    std::stringstream ss;
    ss << in.rdbuf();
    auto c = parse_agent_config(ss.str(), config_file);
    if (!c) {
      log_line("error: " + c.error().to_string());
      return kExitError;
    }
    config = std::move(*c);
  }
  auto transport = make_http_transport({server, ca_file, insecure_http, 30});
  if (!transport) {
    log_line("error: " + transport.error().to_string());
    return kExitError;
  }
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  StateDir dir(state_dir);
  fw::SystemClock clock;
  std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> uni(0.0, 1.0);
  AgentDeps deps;
  deps.transport = transport->get();
  deps.state_dir = &dir;
  deps.config = std::move(config);
  deps.collect = [&] { return collect_facts(collect_options(run_root)); };
  deps.clock = &clock;
  deps.sleep = [](fw::Seconds d) {
    auto until = std::chrono::steady_clock::now() + d;
    while (!g_stop.load()) {
      if (std::chrono::steady_clock::now() >= until) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  };
  deps.rand01 = [&] { return uni(rng); };
  deps.log = log_line;
  AgentOptions opts;
  opts.server = server;
  opts.enroll_secret = secret;
  opts.root = run_root;
  opts.once = once;
  Agent agent(std::move(opts), std::move(deps));
  return agent.run();
}
