// `fleetward campaign actions ID [--db DB] [--window 24h] [--json] [--lang ru|en]`: what the
// campaign's schedule asks for now (notifications and blocks due in the last window) and
// every non-compliant person's escalation and next action (people by id and name), times in
// the organisation's zone.
// The text is in --lang (default: the organisation's setting, Russian); --json is not
// translated. --db defaults to $FLEETWARD_DB.
// `fleetward campaign notices ID [--db DB] [--window 24h] [--person P] [--limit N] [--lang ru|en]`:
// the texts of the notifications due in the window (reminders to owners, escalations to
// managers and administrators; notify/notify.h), as they would be sent: delivery is not built.
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>

#include "cli/cli_db.h"
#include "cli/cli_text.h"
#include "cli/command.h"
#include "notify/notify.h"
#include "service/policies.h"
#include "store/store.h"
#include "util/strings.h"

namespace {

struct CampaignArgs {
  std::string db, id, window = "24h", lang, person;
  bool json = false;
  size_t limit = 50;
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

// Opens the database and computes the campaign's actions due in --window (the window is checked
// first: a bad command line exits 2 before anything is opened); exits with a message naming what
// is wrong. The Result that comes back holds a value.
auto due_actions(const CampaignArgs& a) {
  auto window = fw::parse_duration(a.window);
  if (!window || window->count() <= 0) die(fw::cli::msg("cli.campaign.window"), 2);
  auto store = fw::cli::open_db("campaign", a.db);
  fw::SystemClock clock;
  auto r = fw::service::campaign_actions(*store, clock, a.id, *window);
  if (!r) {
    if (r.error().code == fw::Errc::not_found) die(fw::cli::msg("cli.campaign.not_found", a.id));
    if (r.error().code == fw::Errc::invalid_argument && r.error().where == "id")
      die(fw::cli::msg("cli.campaign.is_policy", a.id));
    die(fw::cli::error_text(r.error()));
  }
  return std::pair{std::move(store), std::move(r)};
}

void actions(const CampaignArgs& a) {
  auto [store, r] = due_actions(a);
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
  // People are named as well as identified: the reader is a person, not a script.
  std::map<std::string, std::string> names;
  for (const auto& d : r->due) names[d.person_id];
  for (const auto& p : r->people) names[p.person_id];
  (void)store->read([&](fw::store::Tx& tx) -> fw::Status {
    for (auto& [id, name] : names)
      if (auto p = tx.get_person(id)) name = p->name;
    return {};
  });
  auto who = [&](const std::string& id) {
    const auto& n = names[id];
    return n.empty() ? id : id + " " + n;
  };
  std::cout << t("campaign") << " " << r->campaign_id << " " << t("actions.at") << " " << tz.format_short(r->now)
            << " (" << tz.name() << ")\n\n"
            << t("actions.due") << " " << a.window << ": " << r->due.size() << "\n";
  for (const auto& d : r->due)
    std::cout << "  " << tz.format_short(d.point.at) << "  " << who(d.person_id) << "  " << d.point.label << "  "
              << recipients(d.point, lang) << "\n";
  std::cout << "\n" << t("people_noncompliant") << ": " << r->people.size() << "\n";
  for (const auto& p : r->people) {
    std::cout << "  " << who(p.person_id) << "  " << t(fw::policy::to_string(p.level)) << "  " << escalation(p.escalation)
              << "  " << t("deadline_marker") << " " << tz.format_short(p.deadline);
    if (p.next)
      std::cout << "  " << t("actions.next") << " " << tz.format_short(p.next->at) << " " << p.next->label << " "
                << recipients(*p.next, lang);
    std::cout << "\n";
  }
}

// "Apple iPhone 12 (iOS 16.2)": what its owner calls the device.
std::string device_label(const fw::model::Device& d) {
  std::string s = d.vendor;
  if (!d.model.empty()) s += (s.empty() ? "" : " ") + d.model;
  if (s.empty()) s = d.id;
  if (!d.os_family.empty()) s += " (" + d.os_family + (d.os_version.empty() ? "" : " " + d.os_version) + ")";
  return s;
}

void notices(const CampaignArgs& a) {
  auto [store, r] = due_actions(a);
  const auto lang = fw::cli::org_lang(store.get(), a.lang);
  const fw::TimeZone tz = fw::cli::org_zone(*store);
  std::map<std::string, const fw::policy::PersonTimeline*> timeline;
  for (const auto& p : r->people) timeline[p.person_id] = &p;

  std::vector<fw::notify::Notice> out;
  size_t total = 0;
  auto st = store->read([&](fw::store::Tx& tx) -> fw::Status {
    FW_TRY(auto loaded, fw::service::load_policies(tx, a.id));
    const auto& doc = loaded.at(0).compiled.document();
    std::map<std::string, const fw::policy::Rule*> rules;  // by rule key "<policy>/<rule>"
    for (const auto& rule : doc.rules) rules[doc.id + "/" + rule.id] = &rule;
    auto person = [&](const std::string& id) -> fw::model::Person {
      if (id.empty()) return {};
      auto p = tx.get_person(id);
      return p ? *p : fw::model::Person{id, id};
    };
    for (const auto& due : r->due) {
      if (!a.person.empty() && due.person_id != a.person) continue;
      if (due.point.notify.empty()) continue;
      total += due.point.notify.size();
      if (out.size() >= a.limit) continue;
      fw::notify::NoticeInput in;
      in.campaign_id = doc.id;
      in.campaign_title = doc.title.empty() ? doc.id : doc.title;
      in.now = r->now;
      in.block = due.point.block;
      in.deadline = doc.deadline.value_or(r->now);  // the person's own one below, when known
      const auto owner = person(due.person_id);
      in.person_name = owner.name;
      in.person_email = owner.email;
      if (auto it = timeline.find(due.person_id); it != timeline.end()) {
        in.deadline = it->second->deadline;
      }
      // The person's failing devices, each with the rules it fails.
      std::map<std::string, fw::notify::NoticeDevice> devices;
      fw::store::FindingFilter f;
      f.policy_id = doc.id;
      f.person_id = due.person_id;
      f.status = fw::store::FindingStatus::fail;
      FW_TRY_STATUS(tx.scan_findings(f, [&](const fw::store::Finding& x) -> fw::Status {
        auto& d = devices[x.device_id];
        if (d.label.empty()) {
          auto dev = tx.get_device(x.device_id);
          d.label = dev ? device_label(*dev) : x.device_id;
        }
        auto rule = rules.find(x.rule_key);
        if (rule != rules.end()) d.failing.push_back({rule->second->title.empty() ? rule->second->id : rule->second->title,
                                                      rule->second->remedy});
        else d.failing.push_back({x.rule_key, ""});
        return {};
      }));
      for (auto& [id, d] : devices) in.devices.push_back(std::move(d));
      for (auto to : due.point.notify) {
        if (out.size() >= a.limit) break;
        in.to = to;
        in.recipient_name.clear();
        in.recipient_email.clear();
        if (to == fw::policy::Recipient::manager) {
          if (owner.manager_id.empty()) continue;  // nobody to escalate to
          const auto m = person(owner.manager_id);
          in.recipient_name = m.name;
          in.recipient_email = m.email;
        }
        out.push_back(fw::notify::render_notice(in, lang, tz));
      }
    }
    return {};
  });
  if (!st) die(fw::cli::error_text(st.error()));
  auto t = [&](std::string_view key) { return fw::policy::tr(lang, key); };
  for (const auto& n : out) {
    std::cout << t("notice.header.to") << ": " << (n.to.empty() ? std::string(t("recipient.admin")) : n.to) << "\n"
              << t("notice.header.subject") << ": " << n.subject << "\n\n"
              << n.body << "\n";
  }
  std::cout << fw::policy::tr_n(lang, "notice.count", static_cast<int64_t>(total));
  if (total > out.size()) std::cout << " " << fw::policy::tr_n(lang, "notice.shown", static_cast<int64_t>(out.size()));
  std::cout << "\n";
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
  a->add_option("--lang", args->lang, "ru|en (default: $FLEETWARD_LANG, else the organisation's setting, Russian)")
      ->check(CLI::IsMember({"ru", "en"}));
  a->callback([args] { actions(*args); });
  auto* n = cmd->add_subcommand("notices", "The notification texts due now (reminders, escalations); not sent");
  n->add_option("id", args->id, "campaign id")->required();
  n->add_option("--db", args->db, "SQLite file or postgresql:// URL (default $FLEETWARD_DB)");
  n->add_option("--window", args->window, "what counts as due now: points in (now - window, now]")
      ->capture_default_str();
  n->add_option("--person", args->person, "only the notices about this person id");
  n->add_option("--limit", args->limit, "print at most N notices (all are counted)")->capture_default_str();
  n->add_option("--lang", args->lang, "ru|en (default: $FLEETWARD_LANG, else the organisation's setting, Russian)")
      ->check(CLI::IsMember({"ru", "en"}));
  n->callback([args] { notices(*args); });
}

}  // namespace

FW_COMMAND(add_campaign);
