// Report assembly over the store. See reports.h.
#include "service/reports.h"

#include <unordered_map>

#include "service/policies.h"

namespace fw::service {

namespace {

policy::RuleStatus from_store(store::FindingStatus s, std::string_view detail) {
  switch (s) {
    case store::FindingStatus::pass:
      return detail == "not_applicable" ? policy::RuleStatus::not_applicable : policy::RuleStatus::pass;
    case store::FindingStatus::fail: return policy::RuleStatus::fail;
    case store::FindingStatus::exempt: return policy::RuleStatus::exempt;
    case store::FindingStatus::unknown: return policy::RuleStatus::unknown;
  }
  return policy::RuleStatus::unknown;
}

}  // namespace

Result<policy::ReportInput> load_report_input(store::Tx& tx, const Clock& clock, std::string_view id,
                                              std::optional<Time> now) {
  std::string doc_id(id);
  if (doc_id.empty()) {
    FW_TRY(auto all, tx.list_policies(true));
    for (const auto& d : all)
      if (d.kind == "campaign" && (doc_id.empty() || d.id < doc_id)) doc_id = d.id;
    if (doc_id.empty()) return fail(Errc::not_found, "no active campaign; name a policy with --campaign", "campaign");
  }
  FW_TRY(auto loaded, load_policies(tx, doc_id));
  policy::ReportInput in;
  in.campaign = loaded.at(0).compiled.document();
  in.now = now ? *now : policy_now(tx, clock);
  in.tz = org_timezone(tx);
  std::unordered_map<std::string, uint16_t> rule_index;
  for (size_t i = 0; i < in.campaign.rules.size(); ++i)
    rule_index.emplace(in.campaign.id + "/" + in.campaign.rules[i].id, uint16_t(i));

  store::PageRequest page;
  page.limit = 1000;
  for (;;) {
    FW_TRY(auto pg, tx.list_org_units({}, page));
    for (auto& u : pg.items) in.units.push_back(policy::OrgUnitRow{std::move(u.path), std::move(u.name)});
    if (pg.next_cursor.empty()) break;
    page.cursor = pg.next_cursor;
  }
  std::unordered_map<std::string, uint32_t> person_index;
  std::vector<std::string> manager_ids;
  page.cursor.clear();
  for (;;) {
    FW_TRY(auto pg, tx.list_people({}, page));
    for (auto& p : pg.items) {
      person_index.emplace(p.id, uint32_t(in.people.size()));
      manager_ids.push_back(std::move(p.manager_id));
      in.people.push_back(policy::PersonRow{std::move(p.id), std::move(p.name), std::move(p.email),
                                            std::move(p.org_unit_path), policy::kNone});
    }
    if (pg.next_cursor.empty()) break;
    page.cursor = pg.next_cursor;
  }
  for (size_t i = 0; i < in.people.size(); ++i)
    if (auto it = person_index.find(manager_ids[i]); it != person_index.end()) in.people[i].manager = it->second;
  auto person_of = [&](const std::string& pid) {
    auto it = person_index.find(pid);
    return it == person_index.end() ? policy::kNone : it->second;
  };
  std::unordered_map<std::string, uint32_t> device_index;
  FW_TRY_STATUS(tx.scan_devices({}, [&](const model::Device& d) -> Status {
    device_index.emplace(d.id, uint32_t(in.devices.size()));
    in.devices.push_back(policy::DeviceRow{d.id, person_of(d.owner_id), d.os_family, d.os_version, d.model});
    return {};
  }));
  store::FindingFilter f;
  f.policy_id = in.campaign.id;
  FW_TRY_STATUS(tx.scan_findings(f, [&](const store::Finding& x) -> Status {
    auto d = device_index.find(x.device_id);
    auto r = rule_index.find(x.rule_key);
    if (d == device_index.end() || r == rule_index.end()) return {};  // removed device or rule
    in.findings.push_back(policy::FindingRow{d->second, person_of(x.person_id), r->second,
                                             from_store(x.status, x.detail), x.first_failed_at});
    return {};
  }));
  FW_TRY_STATUS(tx.scan_finding_changes(in.campaign.id, [&](const store::FindingChange& c) -> Status {
    auto d = device_index.find(c.device_id);
    auto r = rule_index.find(c.rule_key);
    if (d == device_index.end() || r == rule_index.end()) return {};
    in.history.push_back(policy::ChangeRow{d->second, person_of(c.person_id), r->second,
                                           from_store(c.status, ""), c.at});
    return {};
  }));
  return in;
}

Result<RenderedReport> report(store::Store& s, const Clock& clock, std::string_view id, std::string_view format,
                              std::string_view lang) {
  if (format != "table" && format != "json" && format != "csv" && format != "html")
    return fail(Errc::invalid_argument, "format must be table, json, csv or html", "format");
  std::optional<policy::Lang> l;
  if (!lang.empty()) {
    l = policy::parse_lang(lang);
    if (!l) return fail(Errc::invalid_argument, "lang must be ru or en", "lang");
  }
  policy::ReportInput in;
  FW_TRY_STATUS(s.read([&](store::Tx& tx) -> Status {
    FW_TRY(in, load_report_input(tx, clock, id));
    if (!l) l = org_lang(tx);
    return {};
  }));
  auto rep = policy::build_report(in);
  RenderedReport out;
  if (format == "table") {
    out.body = policy::render_table(rep, *l, in.tz);
    out.content_type = "text/plain; charset=utf-8";
  } else if (format == "json") {
    out.body = policy::render_json(rep, in.tz);
    out.content_type = "application/json";
  } else if (format == "csv") {
    out.body = policy::render_csv(rep, *l, in.tz);
    out.content_type = "text/csv; charset=utf-8";
  } else {
    out.body = policy::render_html(rep, *l, in.tz);
    out.content_type = "text/html; charset=utf-8";
  }
  return out;
}

}  // namespace fw::service
