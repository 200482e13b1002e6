// `fleetward exemption add|list|remove`: exemptions of a person or a device from a rule or a
// whole policy/campaign, with a reason, an approver and an expiry. add and remove are audited
// (service::create_exemption / delete_exemption) and re-evaluate the policy at once, so the
// findings change before the command returns. --db defaults to $FLEETWARD_DB. Times are
// shown in the organisation's zone (setting org.timezone); messages and the table's words in the
// reader's language (cli_text.h; JSON keeps its English keys and states). Main thread only.
#include <cstdlib>
#include <iostream>
#include <map>

#include "cli/cli_db.h"
#include "cli/cli_text.h"
#include "cli/command.h"
#include "service/evaluate.h"
#include "service/policies.h"
#include "store/store.h"
#include "util/strings.h"
#include "util/timezone.h"

namespace {

struct ExemptionArgs {
  std::string db;
  std::string actor = "cli";
  std::string id;
  std::string person, device, policy, rule, reason, approver, expires, for_;
  std::string format = "table";
};

[[noreturn]] void die(const std::string& msg, int code = 1) { fw::cli::die("exemption", msg, code); }

std::unique_ptr<fw::store::Store> open_db(const std::string& db) { return fw::cli::open_db("exemption", db); }

// The flag a service field error belongs to, so errors name what the user typed.
std::string flag_for(const std::string& field) {
  static const std::map<std::string, std::string> flags = {
      {"id", "--id"},         {"person_id", "--person"}, {"device_id", "--device"},  {"policy_id", "--policy"},
      {"rule_id", "--rule"},  {"reason", "--reason"},    {"approver", "--approver"}, {"expires_at", "--expires"}};
  auto it = flags.find(field);
  return it == flags.end() ? field : it->second;
}

// Terminal columns of UTF-8 text (code points; reasons are often Cyrillic).
size_t columns(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

using fw::cli::msg;

void print_stats(const std::string& policy_id, const fw::service::EvalStats& st) {
  std::cout << msg("cli.reevaluated", policy_id, fw::cli::count(st.devices, "n.device"),
                   fw::cli::count(st.changes, "n.change"))
            << "\n";
}

// "person ann" / "сотрудник ann".
std::string subject(const fw::store::Exemption& e) {
  return e.person_id.empty() ? msg("cli.exemption.device", e.device_id) : msg("cli.exemption.person", e.person_id);
}

void add(const ExemptionArgs& a) {
  if (a.person.empty() == a.device.empty()) die(msg("cli.exemption.person_or_device"), 2);
  if (a.expires.empty() == a.for_.empty()) die(msg("cli.exemption.expires_or_for"), 2);
  if (a.reason.empty()) die(msg("cli.empty", "--reason"), 2);
  if (a.approver.empty()) die(msg("cli.empty", "--approver"), 2);
  auto store = open_db(a.db);
  fw::SystemClock clock;
  fw::Time now = fw::service::policy_now(*store, clock);
  fw::store::Exemption e;
  e.id = a.id;
  e.person_id = a.person;
  e.device_id = a.device;
  e.policy_id = a.policy;
  e.rule_id = a.rule;
  e.reason = a.reason;
  e.approver = a.approver;
  if (!a.expires.empty()) {
    auto t = fw::parse_time(a.expires);
    if (!t) die(msg("cli.exemption.expires", a.expires, t.error().to_string()), 2);
    e.expires_at = *t;
  } else {
    auto d = fw::parse_duration(a.for_);
    if (!d || d->count() <= 0) die(msg("cli.exemption.for", a.for_), 2);
    e.expires_at = now + *d;
  }
  if (e.expires_at <= now) die(msg("cli.exemption.past", fw::format_time(e.expires_at)), 2);
  // Name the flag for what does not exist (the service says not_found without a field).
  std::string missing;
  auto st = store->read([&](fw::store::Tx& tx) -> fw::Status {
    auto found = [&](auto r, const char* key, const std::string& id) -> fw::Status {
      if (r) return {};
      if (r.error().code == fw::Errc::not_found) missing = msg(key, id);
      return fw::fail(r.error());
    };
    FW_TRY_STATUS(found(tx.get_policy(e.policy_id), "cli.no_policy", e.policy_id));
    if (!e.person_id.empty()) FW_TRY_STATUS(found(tx.get_person(e.person_id), "cli.no_person", e.person_id));
    if (!e.device_id.empty()) FW_TRY_STATUS(found(tx.get_device(e.device_id), "cli.no_device", e.device_id));
    return {};
  });
  if (!st) die(missing.empty() ? fw::cli::error_text(st.error()) : missing);
  auto created = fw::service::create_exemption(*store, clock, a.actor, std::move(e));
  if (!created) {
    auto err = created.error();
    if (err.code == fw::Errc::invalid_argument || err.code == fw::Errc::already_exists) err.where = flag_for(err.where);
    die(fw::cli::error_text(err));
  }
  const fw::TimeZone tz = fw::cli::org_zone(*store);
  const auto& x = *created;
  std::cout << msg("cli.exemption.added", x.id, subject(x), x.policy_id + (x.rule_id.empty() ? "" : "/" + x.rule_id),
                   tz.format_short(x.expires_at), tz.name())
            << "\n";
  auto ev = fw::service::evaluate_all(*store, clock, x.policy_id);
  if (!ev) die(msg("cli.exemption.stored_eval_failed", x.policy_id, fw::cli::error_text(ev.error())));
  print_stats(x.policy_id, *ev);
}

void list(const ExemptionArgs& a) {
  if (a.format != "table" && a.format != "json") die(msg("cli.table_or_json", a.format), 2);
  auto store = open_db(a.db);
  fw::SystemClock clock;
  std::vector<fw::store::Exemption> xs;
  fw::TimeZone tz;
  fw::Time now{};
  auto st = store->read([&](fw::store::Tx& tx) -> fw::Status {
    now = fw::service::policy_now(tx, clock);
    tz = fw::service::org_timezone(tx);
    if (!a.policy.empty()) FW_TRY_STATUS(tx.get_policy(a.policy));
    FW_TRY(xs, tx.list_exemptions(a.policy));
    return {};
  });
  if (!st) {
    if (!a.policy.empty() && st.error().code == fw::Errc::not_found) die(msg("cli.no_policy", a.policy));
    die(fw::cli::error_text(st.error()));
  }
  auto state = [&](const fw::store::Exemption& e) { return e.expires_at <= now ? "expired" : "active"; };
  if (a.format == "json") {
    std::cout << "{\"now\":\"" << tz.format(now) << "\",\"timezone\":\"" << fw::json_escape(tz.name()) << "\",\"items\":[";
    for (size_t i = 0; i < xs.size(); ++i) {
      const auto& e = xs[i];
      std::cout << (i ? "," : "") << "{\"id\":\"" << fw::json_escape(e.id) << "\",\"person_id\":\""
                << fw::json_escape(e.person_id) << "\",\"device_id\":\"" << fw::json_escape(e.device_id)
                << "\",\"policy_id\":\"" << fw::json_escape(e.policy_id) << "\",\"rule_id\":\""
                << fw::json_escape(e.rule_id) << "\",\"reason\":\"" << fw::json_escape(e.reason)
                << "\",\"approver\":\"" << fw::json_escape(e.approver) << "\",\"created_at\":\""
                << tz.format(e.created_at) << "\",\"expires_at\":\"" << tz.format(e.expires_at) << "\",\"state\":\""
                << state(e) << "\"}";
    }
    std::cout << "]}\n";
    return;
  }
  if (xs.empty()) {
    std::cout << (a.policy.empty() ? msg("cli.exemption.none") : msg("cli.exemption.none_for", a.policy)) << "\n";
    return;
  }
  // Columns sized to their widest cell.
  std::vector<std::vector<std::string>> rows = {
      {"ID", msg("cli.exemption.col.subject"), msg("cli.exemption.col.rule"), msg("cli.exemption.col.expires", tz.name()),
       msg("cli.exemption.col.state"), msg("cli.exemption.col.approver"), msg("cli.exemption.col.reason")}};
  for (const auto& e : xs)
    rows.push_back({e.id, subject(e), e.policy_id + (e.rule_id.empty() ? "" : "/" + e.rule_id),
                    tz.format_short(e.expires_at), msg(std::string("cli.state.") + state(e)), e.approver, e.reason});
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& r : rows)
    for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], columns(r[c]));
  for (const auto& r : rows) {
    std::string line;
    for (size_t c = 0; c < r.size(); ++c) {
      line += r[c];
      if (c + 1 < r.size()) line += std::string(width[c] - columns(r[c]) + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

void remove(const ExemptionArgs& a) {
  auto store = open_db(a.db);
  fw::SystemClock clock;
  std::string policy_id;
  auto st = store->read([&](fw::store::Tx& tx) -> fw::Status {
    auto e = tx.get_exemption(a.id);
    if (!e) return fw::fail(e.error());
    policy_id = e->policy_id;
    return {};
  });
  if (!st) die(st.error().code == fw::Errc::not_found ? msg("cli.exemption.not_found", a.id) : fw::cli::error_text(st.error()));
  if (auto d = fw::service::delete_exemption(*store, clock, a.actor, a.id); !d)
    die("ID " + a.id + ": " + fw::cli::error_text(d.error()));
  std::cout << msg("cli.exemption.removed", a.id) << "\n";
  auto ev = fw::service::evaluate_all(*store, clock, policy_id);
  if (!ev) die(msg("cli.exemption.removed_eval_failed", policy_id, fw::cli::error_text(ev.error())));
  print_stats(policy_id, *ev);
}

void add_exemption(CLI::App& app) {
  auto args = std::make_shared<ExemptionArgs>();
  auto* cmd = app.add_subcommand("exemption", "Exemptions of a person or device from a rule or policy");
  cmd->require_subcommand(1);
  auto db = [&](CLI::App* c) {
    c->add_option("--db", args->db, "SQLite file or postgresql:// URL (default $FLEETWARD_DB)");
    fw::cli::add_lang_option(c);
  };
  auto* a = cmd->add_subcommand("add", "Exempt a person or a device (audited; re-evaluates the policy)");
  a->add_option("--person", args->person, "person id (or --device)");
  a->add_option("--device", args->device, "device id (or --person)");
  a->add_option("--policy", args->policy, "policy or campaign id")->required();
  a->add_option("--rule", args->rule, "one rule of it (default: the whole policy)");
  a->add_option("--reason", args->reason, "why")->required();
  a->add_option("--approver", args->approver, "who approved it")->required();
  a->add_option("--expires", args->expires, "expiry, RFC 3339 (or --for)");
  a->add_option("--for", args->for_, "expiry as a duration from now: 30d, 2w, 12h (or --expires)");
  a->add_option("--id", args->id, "exemption id (default: generated)");
  a->add_option("--actor", args->actor, "name recorded in the audit log")->capture_default_str();
  db(a);
  a->callback([args] { add(*args); });
  auto* l = cmd->add_subcommand("list", "List exemptions (expired ones shown as expired)");
  l->add_option("--policy", args->policy, "only this policy or campaign");
  l->add_option("--format", args->format, "table|json")->capture_default_str();
  db(l);
  l->callback([args] { list(*args); });
  auto* r = cmd->add_subcommand("remove", "Remove an exemption (audited; re-evaluates the policy)");
  r->add_option("id", args->id, "exemption id")->required();
  r->add_option("--actor", args->actor, "name recorded in the audit log")->capture_default_str();
  db(r);
  r->callback([args] { remove(*args); });
}

}  // namespace

FW_COMMAND(add_exemption);
