// `fleetward policy check FILE...` (no database: every problem as file:line:col: message),
// `fleetward policy apply [--db DB] FILE...` (store versioned with an audit event, then
// evaluate), `fleetward policy list`, `fleetward policy evaluate` (the scheduled re-evaluation,
// for cron or a timer). --db defaults to $FLEETWARD_DB.
#include <cstdlib>
#include <iostream>

#include "cli/cli_db.h"
#include "cli/command.h"
#include "service/evaluate.h"
#include "service/policies.h"
#include "store/store.h"

namespace {

struct PolicyArgs {
  std::vector<std::string> files;
  std::string db;
  std::string actor = "cli";
  std::string policy_id;
  bool no_eval = false;
};

[[noreturn]] void die(const std::string& msg, int code = 1) { fw::cli::die("policy", msg, code); }

std::unique_ptr<fw::store::Store> open_db(const std::string& db) { return fw::cli::open_db("policy", db); }

void print_stats(const fw::service::EvalStats& st) {
  std::cout << "evaluated " << st.devices << " devices (" << st.evaluations << " rule results): " << st.written
            << " findings written, " << st.changes << " status changes, " << st.unknown << " unknown\n";
}

void check(const PolicyArgs& a) {
  int bad = 0;
  for (const auto& f : a.files) {
    auto text = fw::service::read_policy_file(f);
    if (!text) {
      std::cerr << f << ": " << text.error().message << "\n";
      ++bad;
      continue;
    }
    auto r = fw::policy::parse_file(*text, f);
    if (!r.ok()) {
      for (const auto& e : r.errors) std::cerr << e.to_string() << "\n";
      ++bad;
      continue;
    }
    std::cout << f << ": ok (";
    for (size_t i = 0; i < r.documents.size(); ++i)
      std::cout << (i ? ", " : "") << r.documents[i].kind << " " << r.documents[i].id << ": "
                << r.documents[i].rules.size() << " rules";
    std::cout << ")\n";
  }
  if (bad) throw CLI::RuntimeError(1);
}

void apply(const PolicyArgs& a) {
  auto store = open_db(a.db);
  fw::SystemClock clock;
  std::vector<std::string> ids;
  for (const auto& f : a.files) {
    auto text = fw::service::read_policy_file(f);
    if (!text) die(text.error().to_string());
    auto r = fw::service::apply_policy_text(*store, clock, a.actor, *text, f);
    if (!r) {
      std::cerr << r.error().to_string() << "\n";
      throw CLI::RuntimeError(1);
    }
    for (const auto& x : *r) {
      std::cout << "applied " << x.kind << " " << x.id << " version " << x.version << "\n";
      ids.push_back(x.id);
    }
  }
  if (a.no_eval) return;
  for (const auto& id : ids) {
    auto st = fw::service::evaluate_all(*store, clock, id);
    if (!st) die("evaluating " + id + ": " + st.error().to_string());
    std::cout << id << ": ";
    print_stats(*st);
  }
}

void list(const PolicyArgs& a) {
  auto store = open_db(a.db);
  const fw::TimeZone tz = fw::cli::org_zone(*store);
  auto st = store->read([&](fw::store::Tx& tx) -> fw::Status {
    FW_TRY(auto docs, tx.list_policies(false));
    for (const auto& d : docs)
      std::cout << d.id << "\t" << d.kind << "\tv" << d.version << "\t" << (d.active ? "active" : "withdrawn") << "\t"
                << tz.format(d.applied_at) << "\t" << d.applied_by << "\t" << d.source_name << "\n";
    return {};
  });
  if (!st) die(st.error().to_string());
}

void evaluate(const PolicyArgs& a) {
  auto store = open_db(a.db);
  fw::SystemClock clock;
  auto st = fw::service::evaluate_all(*store, clock, a.policy_id);
  if (!st) die(st.error().to_string());
  print_stats(*st);
}

void add_policy(CLI::App& app) {
  auto args = std::make_shared<PolicyArgs>();
  auto* cmd = app.add_subcommand("policy", "Check, apply and evaluate policy files");
  cmd->require_subcommand(1);
  auto* c = cmd->add_subcommand("check", "Validate policy files without a database");
  c->add_option("files", args->files, "policy files (YAML)")->required();
  c->callback([args] { check(*args); });
  auto* ap = cmd->add_subcommand("apply", "Store policy files (new versions, audited) and evaluate");
  ap->add_option("files", args->files, "policy files (YAML)")->required();
  ap->add_option("--db", args->db, "SQLite file or postgresql:// URL (default $FLEETWARD_DB)");
  ap->add_option("--actor", args->actor, "name recorded in the audit log")->capture_default_str();
  ap->add_flag("--no-eval", args->no_eval, "store only; evaluate later");
  ap->callback([args] { apply(*args); });
  auto* l = cmd->add_subcommand("list", "List stored policies and campaigns");
  l->add_option("--db", args->db, "SQLite file or postgresql:// URL (default $FLEETWARD_DB)");
  l->callback([args] { list(*args); });
  auto* e = cmd->add_subcommand("evaluate", "Re-evaluate every device (the scheduled run)");
  e->add_option("--db", args->db, "SQLite file or postgresql:// URL (default $FLEETWARD_DB)");
  e->add_option("--policy", args->policy_id, "only this policy or campaign");
  e->callback([args] { evaluate(*args); });
}

}  // namespace

FW_COMMAND(add_policy);
