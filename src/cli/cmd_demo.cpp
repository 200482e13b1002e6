// `fleetward demo [--devices N] [--seed S] [--lang ru|en] [--listen HOST:PORT] [--data-dir DIR]`:
// builds the demo organisation (service/demo.h; its names and policies in --lang, which also
// becomes the organisation's language, org.lang) in a fresh SQLite database, creates an admin
// token, serves, and prints the URL and the token. --no-serve stops after building (for
// scripts and tests). The data directory must not already hold a database; the listen
// address is checked before the (possibly long) build, which shows its steps on a terminal.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "server/server.h"
#include "service/demo.h"
#include "service/eval_queue.h"
#include "service/tokens.h"
#include "store/store.h"

namespace {

namespace fs = std::filesystem;

struct DemoArgs {
  int devices = 2600;
  uint64_t seed = 1;
  std::string lang = "ru";
  std::string listen = "127.0.0.1:8080";
  std::string data_dir;
  bool no_serve = false;
  std::string log_level = "info";
};

[[noreturn]] void die(const std::string& msg, int code = 1) {
  std::cerr << "fleetward demo: " << msg << "\n";
  throw CLI::RuntimeError(code);
}

// Fails early when the listen address cannot be bound (port taken, no such address), so a
// large demo is not built for nothing into a directory that cannot be used again. The
// server binds again later (the same options, reuse_address like the server's acceptor).
void check_listen(const fw::server::ServerOptions& opts) {
  if (opts.port == 0) return;
  namespace net = boost::asio;
  net::io_context io;
  net::ip::tcp::acceptor acc(io);
  boost::system::error_code ec;
  auto addr = net::ip::make_address(opts.host, ec);
  if (!ec) acc.open(net::ip::tcp::endpoint(addr, opts.port).protocol(), ec);
  if (!ec) acc.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(net::ip::tcp::endpoint(addr, opts.port), ec);
  if (!ec) acc.listen(net::socket_base::max_listen_connections, ec);
  if (ec) die("--listen " + opts.host + ":" + std::to_string(opts.port) + ": cannot listen: " + ec.message(), 1);
}

void run_demo(DemoArgs a) {
  fw::server::log_to_stderr(a.log_level);
  fw::server::ServerOptions opts;
  opts.handle_signals = true;
  if (auto st = fw::server::parse_listen(a.listen, opts); !st) die("--listen " + a.listen + ": " + st.error().message, 2);
  if (!a.no_serve) check_listen(opts);

  if (a.data_dir.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "fleetward-demo-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) die("cannot create a temporary data directory");
    a.data_dir = tmpl;
  }
  std::error_code ec;
  fs::create_directories(a.data_dir, ec);
  if (ec) die(a.data_dir + ": " + ec.message());
  auto db = (fs::path(a.data_dir) / "fleetward.db").string();
  if (fs::exists(db)) die(db + " already exists: the demo needs a fresh data directory");

  auto store = fw::store::Store::open(db);
  if (!store) die(db + ": " + store.error().to_string());
  fw::SystemClock clock;
  fw::service::DemoOptions d;
  d.devices = a.devices;
  d.seed = a.seed;
  d.lang = *fw::policy::parse_lang(a.lang);  // checked by the option
  // Building 100,000 devices with their campaign history takes a while: on a terminal, one
  // line that says which step runs (rewritten in place); nothing when stderr is piped.
  const bool tty = ::isatty(2) != 0;
  if (tty)
    d.progress = [](const std::string& step) { std::fprintf(stderr, "\r\033[Kbuilding the demo: %s", step.c_str()); };
  auto sum = fw::service::build_demo(**store, d, clock);
  if (tty) std::fprintf(stderr, "\r\033[K");
  if (!sum) die("building the demo: " + sum.error().to_string());
  auto token = fw::service::create_token(**store, "demo-admin", fw::model::Role::admin, "demo", clock.now());
  if (!token) die("creating the admin token: " + token.error().to_string());
  std::cout << "Demo organisation: " << sum->units << " org units, " << sum->people << " people, " << sum->devices
            << " devices (seed " << a.seed << ") in " << db << "\n";
  if (a.no_serve) {
    std::cout << "Admin token: " << token->secret << std::endl;
    return;
  }
  {
    // As in `fleetward serve`: changes made through the API and agent check-ins are
    // evaluated in the background, and campaign time points re-evaluate the fleet.
    fw::service::EvalQueue eval(**store, clock);
    fw::server::Services services(**store, clock);
    services.eval = &eval;
    services.agents.set_on_committed([&eval](const std::vector<std::string>& ids) { eval.mark_dirty(ids); });
    auto srv = fw::server::Server::start(opts, services);
    if (!srv) die(srv.error().to_string());
    eval.start();
    std::cout << "Listening on " << (*srv)->url() << "\n"
              << "Admin token: " << token->secret << "\n"
              << "Try: curl -H 'Authorization: Bearer " << token->secret << "' '" << (*srv)->url()
              << "/api/v1/devices?os_family=iOS&limit=5'" << std::endl;
    (*srv)->wait();
    eval.stop();
  }
  store->reset();
  spdlog::info("stopped");
}

void add_demo(CLI::App& app) {
  auto args = std::make_shared<DemoArgs>();
  auto* cmd = app.add_subcommand("demo", "Build a realistic demo organisation and serve it");
  cmd->add_option("--devices", args->devices, "number of devices (people scale with it)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--seed", args->seed, "random seed: the same seed gives the same data")->capture_default_str();
  cmd->add_option("--lang", args->lang,
                  "the organisation's language (ru|en): names of departments, people and policies, and the "
                  "default of reports and the dashboard")
      ->capture_default_str()
      ->check(CLI::IsMember({"ru", "en"}));
  cmd->add_option("--listen", args->listen, "HOST:PORT to listen on (port 0 = any)")->capture_default_str();
  cmd->add_option("--data-dir", args->data_dir, "fresh directory for the database (default: a new temp dir)");
  cmd->add_flag("--no-serve", args->no_serve, "build the data directory, print the token and exit");
  cmd->add_option("--log-level", args->log_level, "trace|debug|info|warn|error")->capture_default_str();
  cmd->callback([args] { run_demo(*args); });
}

}  // namespace

FW_COMMAND(add_demo);
