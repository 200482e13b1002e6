// `fleetward policy check FILE...` (no database: every problem as file:line:col: message),
// `fleetward policy apply [--db DB] FILE...` (store versioned with an audit event, then
// evaluate), `fleetward policy list`, `fleetward policy evaluate` (the scheduled re-evaluation,
// for cron or a timer). --db defaults to $FLEETWARD_DB. Messages in the reader's language
// (cli_text.h); a policy file's errors (file:line:col: detail) and `list`'s columns stay English.
#include <cstdlib>
#include <iostream>

#include "cli/cli_db.h"
#include "cli/cli_text.h"
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

using fw::cli::msg;

void print_stats(const fw::service::EvalStats& st) {
  std::cout << msg("cli.policy.evaluated", fw::cli::count(st.devices, "n.device"),
                   fw::cli::count(st.evaluations, "n.result"), fw::cli::count(st.written, "n.finding"),
                   fw::cli::count(st.changes, "n.change"), st.unknown)
            << "\n";
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
    std::string docs;
    for (size_t i = 0; i < r.documents.size(); ++i)
      docs += (i ? ", " : "") + msg("cli.kind." + r.documents[i].kind) + " " + r.documents[i].id + ": " +
              fw::cli::count(int64_t(r.documents[i].rules.size()), "n.rule");
    std::cout << msg("cli.policy.ok", f, docs) << "\n";
  }
  if (bad) throw CLI::RuntimeError(1);
}

void apply(const PolicyArgs& a) {
  auto store = open_db(a.db);
  fw::SystemClock clock;
  std::vector<std::string> ids;
  for (const auto& f : a.files) {
    auto text = fw::service::read_policy_file(f);
    if (!text) die(fw::cli::error_text(text.error()));
    auto r = fw::service::apply_policy_text(*store, clock, a.actor, *text, f);
    if (!r) {
      std::cerr << r.error().to_string() << "\n";
      throw CLI::RuntimeError(1);
    }
    for (const auto& x : *r) {
      std::cout << msg("cli.policy.applied", msg("cli.kind." + x.kind), x.id, x.version) << "\n";
      ids.push_back(x.id);
    }
  }
  if (a.no_eval) return;
  for (const auto& id : ids) {
    auto st = fw::service::evaluate_all(*store, clock, id);
    if (!st) die(msg("cli.policy.eval_failed", id, fw::cli::error_text(st.error())));
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
  if (!st) die(fw::cli::error_text(st.error()));
}

void evaluate(const PolicyArgs& a) {
  auto store = open_db(a.db);
  fw::SystemClock clock;
  auto st = fw::service::evaluate_all(*store, clock, a.policy_id);
  if (!st) {
    if (!a.policy_id.empty() && st.error().code == fw::Errc::not_found) die(msg("cli.no_policy", a.policy_id));
    die(fw::cli::error_text(st.error()));
  }
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
  for (auto* sub : {c, ap, l, e}) fw::cli::add_lang_option(sub);
}

}  // namespace

FW_COMMAND(add_policy);
