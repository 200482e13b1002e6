// `fleetward serve --db PATH|postgresql://... --listen HOST:PORT`: opens (and migrates) the
// store, serves the HTTP API until SIGINT/SIGTERM, then finishes in-flight requests and
// closes the store. Prints "Listening on http://HOST:PORT" (the real port for :0).
// Owns the background evaluation queue (service::EvalQueue): changed devices are evaluated a
// moment after the change, everything every --eval-interval and at each campaign time point.
#include <cstdio>
#include <iostream>

#include <spdlog/spdlog.h>

#include "cli/cli_db.h"
#include "cli/command.h"
#include "server/server.h"
#include "service/eval_queue.h"
#include "store/store.h"

namespace {

struct ServeArgs {
  std::string db;  // empty: $FLEETWARD_DB, else fleetward.db in the working directory
  std::string listen = "127.0.0.1:8080";
  int threads = 4;
  std::string static_dir;
  std::string log_level = "info";
  std::string eval_interval = "15m";
  std::size_t max_upload = 64u << 20;  // bytes, bulk upload routes (sightings, Exchange import)
};

void run_serve(const ServeArgs& a) {
  fw::server::log_to_stderr(a.log_level);
  fw::server::ServerOptions opts;
  opts.threads = a.threads;
  opts.upload_limit = a.max_upload;
  opts.handle_signals = true;
  if (auto st = fw::server::parse_listen(a.listen, opts); !st) {
    std::cerr << "fleetward serve: --listen " << a.listen << ": " << st.error().message << "\n";
    throw CLI::RuntimeError(2);
  }
  fw::service::EvalQueueOptions eval_opts;
  auto interval = fw::parse_duration(a.eval_interval);
  if (!interval || interval->count() < 0) {
    std::cerr << "fleetward serve: --eval-interval " << a.eval_interval
              << ": expected a duration such as 15m, 1h or 0 (only at campaign time points)\n";
    throw CLI::RuntimeError(2);
  }
  eval_opts.interval = *interval;
  // --db, else $FLEETWARD_DB (like the other database commands), else fleetward.db here.
  std::string db = fw::cli::db_or_env(a.db);
  if (db.empty()) db = "fleetward.db";
  auto store = fw::store::Store::open(db);
  if (!store) {
    std::cerr << "fleetward serve: " << db << ": " << store.error().to_string() << "\n";
    throw CLI::RuntimeError(1);
  }
  fw::SystemClock clock;
  {
    fw::service::EvalQueue eval(**store, clock, eval_opts);
    fw::server::Services services(**store, clock);
    services.static_dir = a.static_dir;
    services.eval = &eval;
    // Devices whose reported facts changed are re-evaluated a moment after their commit.
    services.agents.set_on_committed([&eval](const std::vector<std::string>& ids) { eval.mark_dirty(ids); });
    auto srv = fw::server::Server::start(opts, services);
    if (!srv) {
      std::cerr << "fleetward serve: " << srv.error().to_string() << "\n";
      throw CLI::RuntimeError(1);
    }
    eval.start();  // first a full run: deadlines may have passed while the server was down
    std::cout << "Listening on " << (*srv)->url() << std::endl;
    spdlog::info("serving {} ({}) on {}", db, (*store)->backend(), (*srv)->url());
    (*srv)->wait();
    eval.stop();  // after the last request: a batch call in progress finishes, the rest waits for the next start
  }
  store->reset();  // closes the database cleanly
  spdlog::info("stopped");
}

void add_serve(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand("serve", "Serve the HTTP API and dashboard");
  cmd->add_option("--db", args->db, "SQLite file or postgresql:// URL (default: $FLEETWARD_DB, else fleetward.db)");
  cmd->add_option("--listen", args->listen, "HOST:PORT to listen on (port 0 = any)")->capture_default_str();
  cmd->add_option("--threads", args->threads, "I/O threads")->capture_default_str()->check(CLI::Range(1, 64));
  cmd->add_option("--static-dir", args->static_dir, "serve static files from this directory for /");
  cmd->add_option("--eval-interval", args->eval_interval,
                  "full re-evaluation at least this often (0 = only at campaign time points)")
      ->capture_default_str();
  cmd->add_option("--max-upload", args->max_upload,
                  "largest request body of the bulk upload routes (POST /api/v1/sightings, /api/v1/exchange-devices), "
                  "e.g. 64MiB; other routes take 1 MiB")
      ->transform(CLI::AsSizeValue(true))
      ->check(CLI::Range(std::size_t(1) << 20, std::size_t(1) << 32))
      ->capture_default_str();
  cmd->add_option("--log-level", args->log_level, "trace|debug|info|warn|error")->capture_default_str();
  cmd->callback([args] { run_serve(*args); });
}

}  // namespace

FW_COMMAND(add_serve);
