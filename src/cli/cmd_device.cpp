// `fleetward device show ID` and `fleetward device set-unit ID PATH|--clear`: one device as
// JSON (the API's shape), and setting a device's own org unit (its campaign scope while it
// has no owner). set-unit is audited (service::Inventory) and re-evaluates the device at
// once, so its findings change before the command returns. --db defaults to $FLEETWARD_DB.
// Messages in the reader's language (cli_text.h); the JSON as the API has it. Main thread only.
#include <cstdlib>
#include <iostream>

#include "cli/cli_db.h"
#include "cli/cli_text.h"
#include "cli/command.h"
#include "service/evaluate.h"
#include "service/inventory.h"
#include "service/model_json.h"
#include "store/store.h"

namespace {

struct DeviceArgs {
  std::string db;
  std::string actor = "cli";
  std::string id, path;
  bool clear = false;
};

[[noreturn]] void die(const std::string& msg, int code = 1) { fw::cli::die("device", msg, code); }

std::unique_ptr<fw::store::Store> open_db(const std::string& db) { return fw::cli::open_db("device", db); }

using fw::cli::msg;

// The error, said of the device: "device X: no such device" when it does not exist, else
// prefixed with the device unless it already names it.
std::string with_id(const std::string& id, const fw::Error& e) {
  if (e.code == fw::Errc::not_found && (e.where.empty() || e.where == id || e.where == "device " + id))
    return msg("cli.device.not_found", id);
  std::string text = fw::cli::error_text(e);
  return text.starts_with("device " + id + " ") ? text : msg("cli.device.prefix", id) + ": " + text;
}

void show(const DeviceArgs& a) {
  auto store = open_db(a.db);
  fw::SystemClock clock;
  fw::service::Inventory inv(*store, clock);
  auto d = inv.get_device(a.id);
  if (!d) die(with_id(a.id, d.error()));
  std::cout << fw::service::to_json_text(fw::service::to_json(*d)) << "\n";
}

void set_unit(const DeviceArgs& a) {
  if (a.clear == !a.path.empty()) die(msg("cli.device.path_or_clear"), 2);
  auto store = open_db(a.db);
  fw::SystemClock clock;
  fw::service::Inventory inv(*store, clock);
  auto d = inv.update_device(a.actor, a.id, [&](fw::model::Device& x) -> fw::Status {
    x.org_unit_path = a.path;
    return {};
  });
  if (!d) {
    auto err = d.error();
    if (err.where == "org_unit") err.where = "PATH " + a.path;
    die(with_id(a.id, err));
  }
  std::cout << msg("cli.device.unit", d->id, d->org_unit_path.empty() ? msg("cli.device.no_unit") : d->org_unit_path)
            << (d->owner_id.empty() ? "" : " " + msg("cli.device.owner_decides", d->owner_id)) << "\n";
  auto ev = fw::service::evaluate_device(*store, clock, d->id);
  if (!ev) die(msg("cli.device.stored_eval_failed", fw::cli::error_text(ev.error())));
  std::cout << msg("cli.device.reevaluated", fw::cli::count(ev->changes, "n.change")) << "\n";
}

void add_device(CLI::App& app) {
  auto* cmd = app.add_subcommand("device", "Show a device or set its own org unit");
  cmd->require_subcommand(1);
  auto args = std::make_shared<DeviceArgs>();
  auto common = [&](CLI::App* sub) {
    sub->add_option("--db", args->db, "database file or postgresql:// URL (default: $FLEETWARD_DB)");
    sub->add_option("id", args->id, "device id")->required();
    fw::cli::add_lang_option(sub);
  };
  auto* s = cmd->add_subcommand("show", "Print one device as JSON");
  common(s);
  s->callback([args] { show(*args); });
  auto* u = cmd->add_subcommand("set-unit",
                                "Set the device's own org unit (its campaign scope while it has no owner)");
  common(u);
  u->add_option("path", args->path, "org-unit path, e.g. /administration");
  u->add_flag("--clear", args->clear, "remove the device's own unit");
  u->add_option("--actor", args->actor, "name written to the audit log")->capture_default_str();
  u->callback([args] { set_unit(*args); });
}

}  // namespace

FW_COMMAND(add_device);
