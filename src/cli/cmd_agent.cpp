// `fleetward agent ...`: administration of fleetward-agent devices on the database directly
// (docs/agent-protocol.md): `secret create` (an enrolment secret for an org unit),
// `command DEVICE TYPE [--payload JSON]` (queue a command; lock and wipe included: whoever
// can open the database is an admin), `commands DEVICE` (list with results) and
// `revoke DEVICE`. Every change is audited with the actor "cli:agent". --db defaults to
// $FLEETWARD_DB. Main thread only.
#include <iostream>

#include "cli/cli_db.h"
#include "cli/command.h"
#include "service/checkin.h"
#include "service/model_json.h"
#include "store/store.h"

namespace {

namespace json = boost::json;

constexpr std::string_view kActor = "cli:agent";

[[noreturn]] void die(std::string_view what, const fw::Error& e) {
  std::cerr << "fleetward agent " << what << ": " << e.to_string() << "\n";
  throw CLI::RuntimeError(1);
}

std::unique_ptr<fw::store::Store> open_store(std::string_view what, const std::string& db) {
  return fw::cli::open_db("agent " + std::string(what), db);
}


struct SecretArgs {
  std::string db, org_unit, expires = "7d";
  int64_t max_uses = 1;
};

void run_secret(const SecretArgs& a) {
  fw::SystemClock clock;
  fw::Time expires{};
  if (auto t = fw::parse_time(a.expires)) {
    expires = *t;
  } else if (auto d = fw::parse_duration(a.expires)) {
    expires = clock.now() + *d;
  } else {
    die("secret create", fw::Error{fw::Errc::invalid_argument, "expected an RFC 3339 time or a duration such as 7d",
                                   "--expires"});
  }
  auto store = open_store("secret create", a.db);
  fw::service::AgentService agents(*store, clock);
  auto s = agents.create_enroll_secret(kActor, a.org_unit, expires, a.max_uses);
  if (!s) die("secret create", s.error());
  std::cout << s->secret << "\n";
  std::cerr << "enrolment secret for " << s->org_unit_path << ", valid until " << fw::cli::org_zone(*store).format(s->expires_at)
            << " for " << s->max_uses << " enrolment(s); shown only once\n";
}

struct CommandArgs {
  std::string db, device, type, payload = "{}";
};

void run_command(const CommandArgs& a) {
  auto args = fw::service::parse_json(a.payload, {.max_bytes = 64 * 1024, .max_depth = 8});
  if (!args) die("command", fw::Error{args.error().code, args.error().message, "--payload " + args.error().where});
  if (!args->is_object()) die("command", fw::Error{fw::Errc::invalid_argument, "must be a JSON object", "--payload"});
  fw::SystemClock clock;
  auto store = open_store("command", a.db);
  fw::service::AgentService agents(*store, clock);
  auto c = agents.queue_command(kActor, /*may_lock_wipe=*/true, a.device, a.type, args->get_object());
  if (!c) die("command", c.error());
  std::cout << c->id << "\n";
  std::cerr << c->type << " queued for " << c->device_id << "; it goes out with the device's next check-in\n";
}

struct DeviceArgs {
  std::string db, device;
};

void run_commands(const DeviceArgs& a) {
  fw::SystemClock clock;
  auto store = open_store("commands", a.db);
  fw::service::AgentService agents(*store, clock);
  auto cs = agents.list_commands(a.device);
  if (!cs) die("commands", cs.error());
  const fw::TimeZone tz = fw::cli::org_zone(*store);
  for (const auto& c : *cs)
    std::cout << c.id << "\t" << c.type << "\t" << c.state << "\t" << tz.format(c.created_at) << "\t"
              << (c.finished_at ? tz.format(*c.finished_at) : "-") << "\t" << c.created_by << "\t" << c.payload_json << "\t"
              << (c.result_json.empty() ? "-" : c.result_json) << "\n";
}

void run_revoke(const DeviceArgs& a) {
  fw::SystemClock clock;
  auto store = open_store("revoke", a.db);
  fw::service::AgentService agents(*store, clock);
  if (auto st = agents.revoke(kActor, a.device); !st) die("revoke", st.error());
  std::cerr << "revoked " << a.device << ": its next check-in is refused (401)\n";
}

void add_agent(CLI::App& app) {
  auto* agent = app.add_subcommand("agent", "Administer fleetward-agent devices (enrolment secrets, commands, revocation)");
  agent->require_subcommand(1);

  auto* secret = agent->add_subcommand("secret", "Enrolment secrets");
  secret->require_subcommand(1);
  auto sa = std::make_shared<SecretArgs>();
  auto* create = secret->add_subcommand("create", "Create an enrolment secret for an org unit (printed once)");
  create->add_option("--db", sa->db, "SQLite file or postgresql:// URL (default $FLEETWARD_DB)");
  create->add_option("--org-unit", sa->org_unit, "org-unit path the devices join, e.g. /field")->required();
  create->add_option("--expires", sa->expires, "RFC 3339 time or a duration from now (7d, 12h)")->capture_default_str();
  create->add_option("--max-uses", sa->max_uses, "enrolments allowed")->capture_default_str()->check(CLI::Range(1, 1000000));
  create->callback([sa] { run_secret(*sa); });

  auto ca = std::make_shared<CommandArgs>();
  auto* command = agent->add_subcommand("command", "Queue a command for a device (refresh, message, remove-app, "
                                                   "install-app, lock, wipe)");
  command->add_option("--db", ca->db, "SQLite file or postgresql:// URL (default $FLEETWARD_DB)");
  command->add_option("device", ca->device, "device id")->required();
  command->add_option("type", ca->type, "command type")->required();
  command->add_option("--payload", ca->payload, "the command's args as a JSON object, e.g. '{\"text\": \"Hi\"}'")
      ->capture_default_str();
  command->callback([ca] { run_command(*ca); });

  auto la = std::make_shared<DeviceArgs>();
  auto* commands = agent->add_subcommand("commands", "List a device's commands with their state and results (TSV)");
  commands->add_option("--db", la->db, "SQLite file or postgresql:// URL (default $FLEETWARD_DB)");
  commands->add_option("device", la->device, "device id")->required();
  commands->callback([la] { run_commands(*la); });

  auto ra = std::make_shared<DeviceArgs>();
  auto* revoke = agent->add_subcommand("revoke", "Revoke a device's credential: its next check-in gets 401");
  revoke->add_option("--db", ra->db, "SQLite file or postgresql:// URL (default $FLEETWARD_DB)");
  revoke->add_option("device", ra->device, "device id")->required();
  revoke->callback([ra] { run_revoke(*ra); });
}

}  // namespace

FW_COMMAND(add_agent);
