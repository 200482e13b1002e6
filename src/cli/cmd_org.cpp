// `fleetward org show [--db DB]` / `fleetward org set [--db DB] [--timezone ZONE] [--lang ru|en]`:
// the organisation's settings that reports and the CLI read: the display zone
// (org.timezone, an IANA name from the system's tzdata; default Europe/Moscow) and the
// report language (org.lang; default ru). Values are checked before anything is written;
// a change is one transaction with an audit event "org.settings". Messages in the reader's
// language (cli_text.h; `org set --lang` also chooses it); the setting names and values printed
// stay as stored. Main thread only.
#include <iostream>

#include <boost/json.hpp>

#include "cli/cli_db.h"
#include "cli/cli_text.h"
#include "cli/command.h"
#include "service/policies.h"
#include "store/store.h"
#include "util/timezone.h"

namespace {

struct OrgArgs {
  std::string db;
  std::string timezone, lang;
  std::string actor = "cli";
};

constexpr std::string_view kCommand = "org";

[[noreturn]] void die(const std::string& msg, int code = 1) { fw::cli::die(kCommand, msg, code); }

using fw::cli::msg;

// The stored value of `key`, or "" when it was never set.
fw::Result<std::string> setting_or_empty(fw::store::Tx& tx, std::string_view key) {
  auto v = tx.get_setting(key);
  if (v) return *v;
  if (v.error().code == fw::Errc::not_found) return std::string();
  return fw::fail(v.error());
}

void run_show(const OrgArgs& a) {
  auto store = fw::cli::open_db(kCommand, a.db);
  std::string tz_set, lang_set, tz, lang;
  auto st = store->read([&](fw::store::Tx& tx) -> fw::Status {
    FW_TRY(tz_set, setting_or_empty(tx, "org.timezone"));
    FW_TRY(lang_set, setting_or_empty(tx, "org.lang"));
    tz = fw::service::org_timezone(tx).name();
    lang = fw::service::org_lang(tx) == fw::policy::Lang::en ? "en" : "ru";
    return {};
  });
  if (!st) die(fw::cli::error_text(st.error()));
  const std::string by_default = "\t" + msg("cli.org.default");
  std::cout << "timezone\t" << tz << (tz_set.empty() ? by_default : "") << "\n"
            << "lang\t" << lang << (lang_set.empty() ? by_default : "") << "\n";
}

void run_set(const OrgArgs& a) {
  if (a.timezone.empty() && a.lang.empty()) die(msg("cli.org.nothing"), 2);
  if (!a.timezone.empty()) {
    auto z = fw::TimeZone::load(a.timezone);
    if (!z) die(msg("cli.org.timezone", a.timezone, z.error().message), 2);
  }
  if (!a.lang.empty() && !fw::policy::parse_lang(a.lang)) die(msg("cli.org.lang", a.lang), 2);

  auto store = fw::cli::open_db(kCommand, a.db);
  const fw::Time now = fw::SystemClock().now();
  auto st = store->write([&](fw::store::Tx& tx) -> fw::Status {
    boost::json::object before, after;
    auto put = [&](std::string_view key, const std::string& value) -> fw::Status {
      if (value.empty()) return {};
      FW_TRY(auto old, setting_or_empty(tx, key));
      before[key] = old;
      after[key] = value;
      return tx.put_setting(key, value);
    };
    FW_TRY_STATUS(put("org.timezone", a.timezone));
    FW_TRY_STATUS(put("org.lang", a.lang));
    fw::model::AuditEvent e;
    e.at = now;
    e.actor = a.actor;
    e.action = "org.settings";
    e.entity = "settings/org";
    e.before_json = boost::json::serialize(before);
    e.after_json = boost::json::serialize(after);
    FW_TRY_STATUS(tx.append_audit(std::move(e)));
    return {};
  });
  if (!st) die(fw::cli::error_text(st.error()));
  if (!a.timezone.empty()) std::cout << "timezone\t" << a.timezone << "\n";
  if (!a.lang.empty()) std::cout << "lang\t" << a.lang << "\n";
}

void add_org(CLI::App& app) {
  auto a = std::make_shared<OrgArgs>();
  auto* cmd = app.add_subcommand("org", "Show or set the organisation's time zone and report language");
  cmd->require_subcommand(1);
  auto* show = cmd->add_subcommand("show", "Print the time zone and language in force (and whether set or default)");
  show->add_option("--db", a->db, "SQLite file or postgresql:// URL (default $FLEETWARD_DB)");
  fw::cli::add_lang_option(show);
  show->callback([a] { run_show(*a); });
  auto* set = cmd->add_subcommand("set", "Set the time zone and/or the report language (audited)");
  set->add_option("--db", a->db, "SQLite file or postgresql:// URL (default $FLEETWARD_DB)");
  set->add_option("--timezone", a->timezone, "IANA zone for dates people read, e.g. Europe/Moscow, Asia/Yekaterinburg");
  set->add_option("--lang", a->lang, "report language: ru or en");
  set->add_option("--actor", a->actor, "audit actor (default cli)");
  set->callback([a] { run_set(*a); });
}

}  // namespace

FW_COMMAND(add_org);
