// `fleetward campaign actions ID [--db DB] [--window 24h] [--json] [--lang ru|en]`: what the
// campaign's schedule asks for now (notifications and blocks due in the last window) and
// every non-compliant person's escalation and next action, times in the organisation's zone.
// The text is in --lang (default: the organisation's setting, Russian); --json is not
// translated. --db defaults to $FLEETWARD_DB.
#include <cstdlib>
#include <iostream>
#include <optional>

#include "cli/cli_db.h"
#include "cli/command.h"
#include "service/policies.h"
#include "store/store.h"
#include "util/strings.h"

namespace {

struct CampaignArgs {
  std::string db, id, window = "24h", lang;
  bool json = false;
};

[[noreturn]] void die(const std::string& msg, int code = 1) { fw::cli::die("campaign", msg, code); }

// JSON names (not translated), or the reader's words with `lang`.
std::string recipients(const fw::policy::ActionPoint& p, std::optional<fw::policy::Lang> lang = std::nullopt) {
  std::vector<std::string> r;
  for (auto x : p.notify) {
    auto key = fw::policy::to_string(x);
    r.emplace_back(lang ? fw::policy::tr(*lang, "recipient." + std::string(key)) : key);
  }
  if (p.block) r.emplace_back(lang ? fw::policy::tr(*lang, "action.block") : "block");
  return fw::join(r, "+");
}

void actions(const CampaignArgs& a) {
  auto window = fw::parse_duration(a.window);
  if (!window || window->count() <= 0) die("--window: expected a positive duration such as 24h or 7d", 2);
  auto store = fw::cli::open_db("campaign", a.db);
  fw::SystemClock clock;
  auto r = fw::service::campaign_actions(*store, clock, a.id, *window);
  if (!r) die(r.error().to_string());
  const fw::TimeZone tz = fw::cli::org_zone(*store);
  if (a.json) {
    std::cout << "{\"campaign\":\"" << fw::json_escape(r->campaign_id) << "\",\"now\":\"" << tz.format(r->now)
              << "\",\"due\":[";
    for (size_t i = 0; i < r->due.size(); ++i) {
      const auto& d = r->due[i];
      std::cout << (i ? "," : "") << "{\"person_id\":\"" << fw::json_escape(d.person_id) << "\",\"at\":\""
                << tz.format(d.point.at) << "\",\"point\":\"" << fw::json_escape(d.point.label)
                << "\",\"actions\":\"" << recipients(d.point) << "\"}";
    }
    std::cout << "],\"people\":[";
    for (size_t i = 0; i < r->people.size(); ++i) {
      const auto& p = r->people[i];
      std::cout << (i ? "," : "") << "{\"person_id\":\"" << fw::json_escape(p.person_id) << "\",\"level\":\""
                << fw::policy::to_string(p.level) << "\",\"escalation\":\"" << fw::policy::to_string(p.escalation)
                << "\",\"deadline\":\"" << tz.format(p.deadline) << "\",\"days_overdue\":" << p.days_overdue
                << ",\"next\":";
      if (p.next)
        std::cout << "{\"at\":\"" << tz.format(p.next->at) << "\",\"point\":\"" << fw::json_escape(p.next->label)
                  << "\",\"actions\":\"" << recipients(*p.next) << "\"}";
      else
        std::cout << "null";
      std::cout << "}";
    }
    std::cout << "]}\n";
    return;
  }
  const auto lang = fw::cli::org_lang(store.get(), a.lang);
  auto t = [&](std::string_view key) { return fw::policy::tr(lang, key); };
  auto escalation = [&](fw::policy::Escalation e) {
    return std::string(t("escalation." + std::string(fw::policy::to_string(e))));
  };
  std::cout << t("campaign") << " " << r->campaign_id << " " << t("actions.at") << " " << tz.format_short(r->now)
            << " (" << tz.name() << ")\n\n"
            << t("actions.due") << " " << a.window << ": " << r->due.size() << "\n";
  for (const auto& d : r->due)
    std::cout << "  " << tz.format_short(d.point.at) << "  " << d.person_id << "  " << d.point.label << "  "
              << recipients(d.point, lang) << "\n";
  std::cout << "\n" << t("people_noncompliant") << ": " << r->people.size() << "\n";
  for (const auto& p : r->people) {
    std::cout << "  " << p.person_id << "  " << t(fw::policy::to_string(p.level)) << "  " << escalation(p.escalation)
              << "  " << t("deadline_marker") << " " << tz.format_short(p.deadline);
    if (p.next)
      std::cout << "  " << t("actions.next") << " " << tz.format_short(p.next->at) << " " << p.next->label << " "
                << recipients(*p.next, lang);
    std::cout << "\n";
  }
}

void add_campaign(CLI::App& app) {
  auto args = std::make_shared<CampaignArgs>();
  auto* cmd = app.add_subcommand("campaign", "Campaign timeline: actions due, escalation per person");
  cmd->require_subcommand(1);
  auto* a = cmd->add_subcommand("actions", "Actions due now and each non-compliant person's next step");
  a->add_option("id", args->id, "campaign id")->required();
  a->add_option("--db", args->db, "SQLite file or postgresql:// URL (default $FLEETWARD_DB)");
  a->add_option("--window", args->window, "what counts as due now: points in (now - window, now]")
      ->capture_default_str();
  a->add_flag("--json", args->json, "JSON output (names and times as stored, not translated)");
  a->add_option("--lang", args->lang, "ru|en (default: the organisation's setting, Russian)")
      ->check(CLI::IsMember({"ru", "en"}));
  a->callback([args] { actions(*args); });
}

}  // namespace

FW_COMMAND(add_campaign);
