// Report assembly over the store. See reports.h.
#include "service/reports.h"

#include <algorithm>
#include <unordered_map>

#include <boost/json.hpp>

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

// `id`, or the first active campaign by id when empty.
Result<std::string> default_document(store::Tx& tx, std::string_view id) {
  std::string doc_id(id);
  if (doc_id.empty()) {
    FW_TRY(auto all, tx.list_policies(true));
    for (const auto& d : all)
      if (d.kind == "campaign" && (doc_id.empty() || d.id < doc_id)) doc_id = d.id;
    if (doc_id.empty()) return fail(Errc::not_found, "no active campaign; name a policy with --campaign", "campaign");
  }
  return doc_id;
}

}  // namespace

Result<policy::ReportInput> load_report_input(store::Tx& tx, const Clock& clock, std::string_view id,
                                              std::optional<Time> now) {
  FW_TRY(auto doc_id, default_document(tx, id));
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
    in.devices.push_back(
        policy::DeviceRow{d.id, person_of(d.owner_id), d.os_family, d.os_version, d.model, d.org_unit_path});
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
  FW_TRY_STATUS(load_report_history(tx, in));
  return in;
}

Status load_report_history(store::Tx& tx, policy::ReportInput& in) {
  std::unordered_map<std::string_view, uint16_t> rule_index;
  std::vector<std::string> keys;
  keys.reserve(in.campaign.rules.size());
  for (const auto& r : in.campaign.rules) keys.push_back(in.campaign.id + "/" + r.id);
  for (size_t i = 0; i < keys.size(); ++i) rule_index.emplace(keys[i], uint16_t(i));
  std::unordered_map<std::string_view, uint32_t> device_index, person_index;
  device_index.reserve(in.devices.size());
  for (size_t i = 0; i < in.devices.size(); ++i) device_index.emplace(in.devices[i].id, uint32_t(i));
  person_index.reserve(in.people.size());
  for (size_t i = 0; i < in.people.size(); ++i) person_index.emplace(in.people[i].id, uint32_t(i));
  return tx.scan_finding_changes(in.campaign.id, [&](const store::FindingChange& c) -> Status {
    auto d = device_index.find(c.device_id);
    auto r = rule_index.find(c.rule_key);
    if (d == device_index.end() || r == rule_index.end()) return {};
    auto p = person_index.find(c.person_id);
    in.history.push_back(policy::ChangeRow{d->second, p == person_index.end() ? policy::kNone : p->second, r->second,
                                           from_store(c.status, ""), c.at});
    return {};
  });
}

// ---- aggregates ----

namespace {

namespace json = boost::json;

int64_t secs(Time t) { return to_unix(t); }

json::array str_array(const std::vector<std::string>& v) {
  json::array a;
  a.reserve(v.size());
  for (const auto& x : v) a.emplace_back(x);
  return a;
}

// The snapshot body: the report without burn-down and projection. Field order is fixed;
// lists are arrays of arrays to keep large overdue lists compact.
std::string encode_snapshot(const policy::Report& r) {
  json::object o;
  o["v"] = 1;
  o["campaign_id"] = r.campaign_id;
  o["title"] = r.title;
  o["is_campaign"] = r.is_campaign;
  o["start"] = secs(r.start);
  o["deadline"] = secs(r.deadline);
  o["now"] = secs(r.now);
  o["tz_name"] = r.tz_name;
  o["totals"] = json::array{r.people, r.people_noncompliant, r.people_unknown, r.people_exempt, r.devices,
                            r.devices_noncompliant};
  json::array units;
  for (const auto& u : r.units)
    units.push_back(json::array{json::value(u.path), json::value(u.name), u.depth, u.level ? int(*u.level) : -1,
                                u.people, u.people_noncompliant, u.people_unknown, u.devices, u.devices_noncompliant,
                                u.devices_exempt, u.compliance_pct});
  o["units"] = std::move(units);
  json::array rules;
  for (const auto& x : r.rules)
    rules.push_back(json::array{json::value(x.id), json::value(x.title), int(x.severity), x.pass, x.fail, x.exempt,
                                x.unknown, x.not_applicable});
  o["rules"] = std::move(rules);
  json::array plats;
  for (const auto& p : r.platforms) plats.push_back(json::array{json::value(p.family), p.devices, p.noncompliant});
  o["platforms"] = std::move(plats);
  json::array overdue;
  for (const auto& w : r.overdue)
    overdue.push_back(json::array{json::value(w.person_id), json::value(w.name), json::value(w.email),
                                  json::value(w.unit), json::value(w.manager_name), json::value(w.manager_email),
                                  str_array(w.devices), str_array(w.rules), w.days_overdue, secs(w.deadline)});
  o["overdue"] = std::move(overdue);
  return json::serialize(o);
}

Result<policy::Report> decode_snapshot(std::string_view body) {
  // The body was written by encode_snapshot(); anything else is a broken invariant reported
  // as an internal error naming the table, never a crash.
  auto bad = [](std::string_view what) {
    return fail(Errc::internal, "stored campaign snapshot is unreadable: " + std::string(what), "campaign_snapshots");
  };
  try {
    json::value v = json::parse(body);
    const auto& o = v.as_object();
    if (o.at("v").to_number<int64_t>() != 1) return bad("version");
    policy::Report r;
    r.campaign_id = json::value_to<std::string>(o.at("campaign_id"));
    r.title = json::value_to<std::string>(o.at("title"));
    r.is_campaign = o.at("is_campaign").as_bool();
    r.start = from_unix(o.at("start").to_number<int64_t>());
    r.deadline = from_unix(o.at("deadline").to_number<int64_t>());
    r.now = from_unix(o.at("now").to_number<int64_t>());
    r.tz_name = json::value_to<std::string>(o.at("tz_name"));
    const auto& t = o.at("totals").as_array();
    if (t.size() != 6) return bad("totals");
    r.people = t[0].to_number<int64_t>();
    r.people_noncompliant = t[1].to_number<int64_t>();
    r.people_unknown = t[2].to_number<int64_t>();
    r.people_exempt = t[3].to_number<int64_t>();
    r.devices = t[4].to_number<int64_t>();
    r.devices_noncompliant = t[5].to_number<int64_t>();
    auto i64 = [](const json::value& x) { return x.to_number<int64_t>(); };
    auto str = [](const json::value& x) { return json::value_to<std::string>(x); };
    for (const auto& e : o.at("units").as_array()) {
      const auto& a = e.as_array();
      policy::UnitStats u;
      u.path = str(a.at(0));
      u.name = str(a.at(1));
      u.depth = int(i64(a.at(2)));
      if (int lv = int(i64(a.at(3))); lv >= 0) u.level = policy::Level(lv);
      u.people = i64(a.at(4));
      u.people_noncompliant = i64(a.at(5));
      u.people_unknown = i64(a.at(6));
      u.devices = i64(a.at(7));
      u.devices_noncompliant = i64(a.at(8));
      u.devices_exempt = i64(a.at(9));
      u.compliance_pct = a.at(10).to_number<double>();
      r.units.push_back(std::move(u));
    }
    for (const auto& e : o.at("rules").as_array()) {
      const auto& a = e.as_array();
      policy::RuleStats x;
      x.id = str(a.at(0));
      x.title = str(a.at(1));
      x.severity = policy::Severity(i64(a.at(2)));
      x.pass = i64(a.at(3));
      x.fail = i64(a.at(4));
      x.exempt = i64(a.at(5));
      x.unknown = i64(a.at(6));
      x.not_applicable = i64(a.at(7));
      r.rules.push_back(std::move(x));
    }
    for (const auto& e : o.at("platforms").as_array()) {
      const auto& a = e.as_array();
      r.platforms.push_back(policy::PlatformStats{str(a.at(0)), i64(a.at(1)), i64(a.at(2))});
    }
    for (const auto& e : o.at("overdue").as_array()) {
      const auto& a = e.as_array();
      policy::OverdueRow w;
      w.person_id = str(a.at(0));
      w.name = str(a.at(1));
      w.email = str(a.at(2));
      w.unit = str(a.at(3));
      w.manager_name = str(a.at(4));
      w.manager_email = str(a.at(5));
      for (const auto& d : a.at(6).as_array()) w.devices.push_back(str(d));
      for (const auto& d : a.at(7).as_array()) w.rules.push_back(str(d));
      w.days_overdue = i64(a.at(8));
      w.deadline = from_unix(i64(a.at(9)));
      r.overdue.push_back(std::move(w));
    }
    return r;
  } catch (const std::exception& e) {
    return bad(e.what());
  }
}

}  // namespace

namespace {

// The aggregates from `rep` (build_report() of the current rows without history); days since
// the start without a stored point are taken from `full()`, the report with history.
template <class Full>
Result<CampaignAggregates> aggregates_of(store::Tx& tx, const policy::Document& campaign, Time now,
                                         const TimeZone& tz, policy::Report rep, int64_t version, Full full) {
  CampaignAggregates out;
  rep.burndown.clear();
  rep.projection = {};
  out.snapshot = store::CampaignSnapshot{campaign.id, version, now, encode_snapshot(rep)};
  if (!rep.is_campaign || now < rep.start) return out;
  // Today's point is the state now; earlier days without a stored point are reconstructed.
  Time today = tz.start_of_day(now);
  FW_TRY(auto stored, tx.list_burndown(campaign.id));
  std::vector<Time> have;
  for (const auto& d : stored) have.push_back(d.day);
  std::sort(have.begin(), have.end());
  bool missing = false;
  for (Time day = tz.start_of_day(rep.start); day < today; day = tz.start_of_next_day(day))
    if (!std::binary_search(have.begin(), have.end(), day)) missing = true;
  if (missing) {
    FW_TRY(policy::Report with_history, full());
    for (const auto& p : with_history.burndown)
      if (p.day < today && !std::binary_search(have.begin(), have.end(), p.day))
        out.days.push_back(store::BurnDay{p.day, p.people, p.devices});
  }
  out.days.push_back(store::BurnDay{today, rep.people_noncompliant, rep.devices_noncompliant});
  return out;
}

}  // namespace

Result<CampaignAggregates> compute_campaign_aggregates(store::Tx& tx, policy::ReportInput& in, int64_t version) {
  in.history.clear();
  auto rep = policy::build_report(in);  // no history: the burn-down comes from the stored days
  return aggregates_of(tx, in.campaign, in.now, in.tz, std::move(rep), version, [&]() -> Result<policy::Report> {
    FW_TRY_STATUS(load_report_history(tx, in));
    auto full = policy::build_report(in);
    in.history.clear();
    in.history.shrink_to_fit();
    return full;
  });
}

Result<CampaignAggregates> compute_campaign_aggregates(store::Tx& tx, const policy::ReportInput& in,
                                                       policy::Report rep, int64_t version) {
  return aggregates_of(tx, in.campaign, in.now, in.tz, std::move(rep), version, [&]() -> Result<policy::Report> {
    FixedClock clock(in.now);
    FW_TRY(auto full, load_report_input(tx, clock, in.campaign.id, in.now));
    return policy::build_report(full);
  });
}

Status put_campaign_aggregates(store::Tx& tx, const CampaignAggregates& a) {
  FW_TRY_STATUS(tx.put_campaign_snapshot(a.snapshot));
  return tx.put_burndown(a.snapshot.policy_id, a.days);
}

Result<std::optional<policy::Report>> report_from_aggregates(store::Tx& tx, const policy::Document& doc,
                                                             int64_t version, const TimeZone& tz) {
  auto snap = tx.get_campaign_snapshot(doc.id);
  if (!snap) {
    if (snap.error().code == Errc::not_found) return std::nullopt;
    return std::unexpected(snap.error());
  }
  if (snap->version != version) return std::nullopt;
  FW_TRY(auto rep, decode_snapshot(snap->body));
  rep.as_of_evaluation = true;
  rep.grace_end = rep.deadline + doc.grace;  // not in the snapshot: the document has it
  if (rep.is_campaign && rep.now >= rep.start) {
    FW_TRY(auto days, tx.list_burndown(doc.id));
    size_t k = 0;
    Time day = tz.start_of_day(rep.start);
    for (int guard = 0; day <= rep.now && guard < 3660; ++guard) {
      while (k < days.size() && days[k].day < day) ++k;
      if (k == days.size() || days[k].day != day) return std::nullopt;  // a day was never recorded
      rep.burndown.push_back(policy::BurnPoint{day, tz.format_date(day), days[k].people, days[k].devices});
      day = tz.start_of_next_day(day);
    }
    rep.projection = policy::project_burndown(rep.burndown, rep.deadline, rep.now);
  }
  return std::optional<policy::Report>(std::move(rep));
}

Result<RenderedReport> report(store::Store& s, const Clock& clock, std::string_view id, std::string_view format,
                              std::string_view lang, const policy::CsvOptions& csv) {
  if (format != "table" && format != "json" && format != "csv" && format != "html")
    return fail(Errc::invalid_argument, "format must be table, json, csv or html", "format");
  std::optional<policy::Lang> l;
  if (!lang.empty()) {
    l = policy::parse_lang(lang);
    if (!l) return fail(Errc::invalid_argument, "lang must be ru or en", "lang");
  }
  policy::ReportInput in;
  std::optional<policy::Report> stored;
  FW_TRY_STATUS(s.read([&](store::Tx& tx) -> Status {
    if (!l) l = org_lang(tx);
    in.tz = org_timezone(tx);
    FW_TRY(auto doc_id, default_document(tx, id));
    FW_TRY(auto loaded, load_policies(tx, doc_id));
    const auto& doc = loaded.at(0).compiled.document();
    if (doc.is_campaign()) {
      FW_TRY(stored, report_from_aggregates(tx, doc, loaded.at(0).stored.version, in.tz));
    }
    if (stored) return {};
    FW_TRY(in, load_report_input(tx, clock, doc_id));
    return {};
  }));
  auto rep = stored ? std::move(*stored) : policy::build_report(in);
  RenderedReport out;
  if (format == "table") {
    out.body = policy::render_table(rep, *l, in.tz);
    out.content_type = "text/plain; charset=utf-8";
  } else if (format == "json") {
    out.body = policy::render_json(rep, in.tz);
    out.content_type = "application/json";
  } else if (format == "csv") {
    if (!rep.is_campaign && (csv.table == policy::CsvTable::burndown || csv.table == policy::CsvTable::overdue))
      return fail(Errc::invalid_argument,
                  "'" + rep.campaign_id + "' is a policy: only a campaign has a burn-down and overdue people",
                  "table");
    out.body = policy::render_csv(rep, *l, in.tz, csv);
    out.content_type = "text/csv; charset=utf-8";
  } else {
    out.body = policy::render_html(rep, *l, in.tz);
    out.content_type = "text/html; charset=utf-8";
  }
  return out;
}

}  // namespace fw::service
