// Policy API: /api/v1/policies, /api/v1/campaigns (+ /{id}/actions), /api/v1/findings,
// /api/v1/exemptions, /api/v1/reports/{id}. Thin: parse -> service (policies, evaluate,
// reports) -> JSON. Handlers capture Services by reference; the services are thread-safe.
#include <charconv>
#include <limits>

#include "server/routes.h"
#include "server/routes_web.h"
#include "service/evaluate.h"
#include "service/policies.h"
#include "service/reports.h"

namespace fw::server {

namespace {

namespace json = boost::json;

json::object doc_json(const store::PolicyDoc& d, bool with_source) {
  json::object o{{"id", d.id},
                 {"kind", d.kind},
                 {"version", d.version},
                 {"source_name", d.source_name},
                 {"applied_at", format_time(d.applied_at)},
                 {"applied_by", d.applied_by},
                 {"active", d.active}};
  if (with_source) o["source"] = d.source;
  return o;
}

json::object finding_json(const store::Finding& f) {
  json::object o{{"device_id", f.device_id},
                 {"person_id", f.person_id},
                 {"policy_id", f.policy_id},
                 {"rule_key", f.rule_key},
                 {"status", std::string(store::to_string(f.status))},
                 {"severity", f.severity},
                 {"detail", f.detail},
                 {"last_evaluated_at", format_time(f.last_evaluated_at)},
                 {"status_since", format_time(f.status_since)}};
  o["first_failed_at"] = f.first_failed_at ? json::value(format_time(*f.first_failed_at)) : json::value(nullptr);
  return o;
}

json::object exemption_json(const store::Exemption& e) {
  return json::object{{"id", e.id},           {"person_id", e.person_id},   {"device_id", e.device_id},
                      {"policy_id", e.policy_id}, {"rule_id", e.rule_id},   {"reason", e.reason},
                      {"approver", e.approver}, {"created_at", format_time(e.created_at)},
                      {"expires_at", format_time(e.expires_at)}};
}

json::object stats_json(const service::EvalStats& s) {
  return json::object{{"devices", s.devices}, {"evaluations", s.evaluations}, {"written", s.written},
                      {"changes", s.changes}, {"unknown", s.unknown}};
}

std::string recipients(const policy::ActionPoint& p) {
  std::string r;
  for (auto x : p.notify) r += (r.empty() ? "" : "+") + std::string(policy::to_string(x));
  if (p.block) r += (r.empty() ? "" : "+") + std::string("block");
  return r;
}

json::object point_json(const policy::ActionPoint& p, const TimeZone& tz) {
  json::array notify;
  for (auto x : p.notify) notify.emplace_back(std::string(policy::to_string(x)));
  return json::object{{"at", tz.format(p.at)}, {"point", p.label}, {"notify", std::move(notify)},
                      {"block", p.block}, {"actions", recipients(p)}};
}

Result<std::string> string_field(const json::object& o, std::string_view name, bool required) {
  auto* v = o.if_contains(name);
  if (!v) {
    if (required) return fail(Errc::invalid_argument, "missing field", std::string(name));
    return std::string();
  }
  if (!v->is_string()) return fail(Errc::invalid_argument, "must be a string", std::string(name));
  return std::string(v->as_string());
}

// A campaign as the API shows it: schedule in the organisation's zone, scope and rules.
json::object campaign_json(const service::LoadedPolicy& lp, const TimeZone& tz) {
  const auto& d = lp.compiled.document();
  json::array scope;
  for (const auto& sc : d.scope)
    scope.push_back(json::object{{"path", sc.path}, {"level", std::string(policy::to_string(sc.level))}});
  json::array rules;
  for (const auto& ru : d.rules)
    rules.push_back(json::object{{"id", ru.id}, {"title", ru.title},
                                 {"severity", std::string(policy::to_string(ru.severity))}, {"remedy", ru.remedy}});
  return json::object{{"id", d.id}, {"title", d.title}, {"version", lp.stored.version},
                      {"start", tz.format(policy::campaign_start(d))}, {"deadline", tz.format(*d.deadline)},
                      {"grace", format_duration(d.grace)}, {"scope", std::move(scope)}, {"rules", std::move(rules)}};
}

}  // namespace

void add_policy_routes(Router& r, Services& s) {
  r.add(Verb::get, "/api/v1/policies", Access::read, [&s](Request& req) -> Result<Response> {
    FW_TRY_STATUS(check_query(req, {"active"}));
    FW_TRY(auto active, query_bool(req, "active"));
    std::vector<store::PolicyDoc> docs;
    FW_TRY_STATUS(s.store.read([&](store::Tx& tx) -> Status {
      FW_TRY(docs, tx.list_policies(active.value_or(false)));
      return {};
    }));
    json::array items;
    for (const auto& d : docs) items.push_back(doc_json(d, false));
    return json_response(200, json::object{{"items", std::move(items)}});
  });

  r.add(Verb::get, "/api/v1/policies/{id}", Access::read, [&s](Request& req) -> Result<Response> {
    FW_TRY_STATUS(check_query(req, {}));
    store::PolicyDoc d;
    FW_TRY_STATUS(s.store.read([&](store::Tx& tx) -> Status {
      FW_TRY(d, tx.get_policy(req.param("id")));
      return {};
    }));
    return json_response(200, doc_json(d, true));
  });

  // Body: the YAML file itself (any non-JSON content type), or {"source": "...", "source_name": "..."}.
  // Applies (new versions, audited), then evaluates every device against what was applied.
  r.add(Verb::post, "/api/v1/policies", Access::write, [&s](Request& req) -> Result<Response> {
    FW_TRY_STATUS(check_query(req, {"evaluate"}));
    FW_TRY(auto evaluate, query_bool(req, "evaluate"));
    std::string source, name = "api";
    if (req.header("content-type").starts_with("application/json")) {
      FW_TRY(auto body, parse_body(req));
      if (!body.is_object()) return fail(Errc::invalid_argument, "expected an object", "body");
      FW_TRY(source, string_field(body.as_object(), "source", true));
      FW_TRY(auto n, string_field(body.as_object(), "source_name", false));
      if (!n.empty()) name = n;
    } else {
      source = req.body;
    }
    FW_TRY(auto applied, service::apply_policy_text(s.store, s.clock, req.actor(), source, name));
    json::array items;
    for (const auto& a : applied) {
      json::object o{{"id", a.id}, {"kind", a.kind}, {"version", a.version}};
      if (evaluate.value_or(true)) {
        FW_TRY(auto st, service::evaluate_all(s.store, s.clock, a.id));
        o["evaluation"] = stats_json(st);
      }
      items.push_back(std::move(o));
    }
    if (s.eval) s.eval->replan();  // a new campaign brings new time points
    return json_response(201, json::object{{"items", std::move(items)}});
  });

  r.add(Verb::delete_, "/api/v1/policies/{id}", Access::write, [&s](Request& req) -> Result<Response> {
    FW_TRY_STATUS(check_query(req, {}));
    FW_TRY_STATUS(service::withdraw_policy(s.store, s.clock, req.actor(), req.param("id")));
    return no_content();
  });

  r.add(Verb::post, "/api/v1/policies/{id}/evaluate", Access::write, [&s](Request& req) -> Result<Response> {
    FW_TRY_STATUS(check_query(req, {}));
    FW_TRY(auto st, service::evaluate_all(s.store, s.clock, req.param("id")));
    return json_response(200, stats_json(st));
  });

  r.add(Verb::get, "/api/v1/campaigns", Access::read, [&s](Request& req) -> Result<Response> {
    FW_TRY_STATUS(check_query(req, {}));
    json::array items;
    FW_TRY_STATUS(s.store.read([&](store::Tx& tx) -> Status {
      auto tz = service::org_timezone(tx);
      FW_TRY(auto loaded, service::load_policies(tx));
      for (const auto& lp : loaded)
        if (lp.compiled.document().is_campaign()) items.push_back(campaign_json(lp, tz));
      return {};
    }));
    return json_response(200, json::object{{"items", std::move(items)}});
  });

  r.add(Verb::get, "/api/v1/campaigns/{id}", Access::read, [&s](Request& req) -> Result<Response> {
    FW_TRY_STATUS(check_query(req, {}));
    json::object out;
    FW_TRY_STATUS(s.store.read([&](store::Tx& tx) -> Status {
      FW_TRY(auto loaded, service::load_policies(tx, req.param("id")));
      const auto& lp = loaded.at(0);
      if (!lp.compiled.document().is_campaign())
        return fail(Errc::not_found, "'" + std::string(req.param("id")) + "' is a policy, not a campaign", "id");
      out = campaign_json(lp, service::org_timezone(tx));
      return {};
    }));
    return json_response(200, std::move(out));
  });

  // The timeline: actions due in (now - window, now] and every non-compliant person's state,
  // in full or in keyset pages (?limit=N rows of each list, ?due_after= / ?people_after= the
  // due_next / people_next of the previous page; totals always given). docs/api.md.
  r.add(Verb::get, "/api/v1/campaigns/{id}/actions", Access::read, [&s](Request& req) -> Result<Response> {
    FW_TRY_STATUS(check_query(req, {"window", "limit", "people", "due_after", "people_after"}));
    Seconds window{86400};
    if (auto w = req.query_value("window")) {
      auto d = parse_duration(*w);
      if (!d || d->count() <= 0) return fail(Errc::invalid_argument, "expected a positive duration such as 24h", "window");
      window = *d;
    }
    // ?people=false: no per-person timelines (the dashboard's campaign page shows only the
    // actions due). Without ?limit both lists come whole.
    service::ActionsPage page;
    if (auto l = req.query_value("limit")) {
      size_t n = 0;
      auto [p, ec] = std::from_chars(l->data(), l->data() + l->size(), n);
      if (ec != std::errc() || p != l->data() + l->size() || n < 1 || n > 100000)
        return fail(Errc::invalid_argument, "expected a number from 1 to 100000", "limit");
      page.due_limit = page.people_limit = n;
    }
    bool with_people = true;
    if (auto v = req.query_value("people")) {
      if (*v != "true" && *v != "false") return fail(Errc::invalid_argument, "expected true or false", "people");
      with_people = *v == "true";
    }
    if (!with_people) page.people_limit = 0;
    if (auto v = req.query_value("due_after")) {
      FW_TRY(auto a, service::parse_due_after(*v, "due_after"));
      page.due_after = std::move(a);
    }
    if (auto v = req.query_value("people_after")) {
      if (v->empty() || v->size() > 256) return fail(Errc::invalid_argument, "expected a person id", "people_after");
      page.people_after = std::string(*v);
    }
    FW_TRY(auto a, service::campaign_actions(s.store, s.clock, req.param("id"), window, page));
    TimeZone tz;
    FW_TRY_STATUS(s.store.read([&](store::Tx& tx) -> Status {
      tz = service::org_timezone(tx);
      return {};
    }));
    json::array due, people;
    for (const auto& d : a.due) {
      auto o = point_json(d.point, tz);
      o["person_id"] = d.person_id;
      due.push_back(std::move(o));
    }
    for (const auto& p : a.people) {
      json::object o{{"person_id", p.person_id},
                     {"level", std::string(policy::to_string(p.level))},
                     {"escalation", std::string(policy::to_string(p.escalation))},
                     {"deadline", tz.format(p.deadline)},
                     {"days_overdue", p.days_overdue}};
      o["last"] = p.last ? json::value(point_json(*p.last, tz)) : json::value(nullptr);
      o["next"] = p.next ? json::value(point_json(*p.next, tz)) : json::value(nullptr);
      people.push_back(std::move(o));
    }
    json::object out{{"campaign", a.campaign_id}, {"now", tz.format(a.now)}, {"window", format_duration(window)},
                     {"due", std::move(due)}, {"due_total", a.due_total}};
    out["due_next"] = a.due_next ? json::value(service::format_due_after(*a.due_next)) : json::value(nullptr);
    if (with_people) {
      out["people"] = std::move(people);
      out["people_total"] = a.people_total;
      out["people_next"] = a.people_next.empty() ? json::value(nullptr) : json::value(a.people_next);
    }
    return json_response(200, out);
  });

  r.add(Verb::get, "/api/v1/findings", Access::read, [&s](Request& req) -> Result<Response> {
    FW_TRY_STATUS(check_query(req, {"policy_id", "rule_key", "device_id", "person_id", "subtree", "status", "limit",
                                    "cursor", "sort"}));
    FW_TRY(auto page, page_request(req));
    FW_TRY_STATUS(sort_param(req, page));
    store::FindingFilter f;
    if (auto v = req.query_value("policy_id")) f.policy_id = *v;
    if (auto v = req.query_value("rule_key")) f.rule_key = *v;
    if (auto v = req.query_value("device_id")) f.device_id = *v;
    if (auto v = req.query_value("person_id")) f.person_id = *v;
    if (auto v = req.query_value("subtree")) f.subtree = *v;
    if (auto v = req.query_value("status")) {
      f.status = store::parse_finding_status(*v);
      if (!f.status) return fail(Errc::invalid_argument, "expected pass, fail, exempt or unknown", "status");
    }
    store::Page<store::Finding> out;
    FW_TRY_STATUS(s.store.read([&](store::Tx& tx) -> Status {
      FW_TRY(out, tx.list_findings_view(f, page));
      return {};
    }));
    // The person's name and the device's label from the list query's join.
    return page_response(out, [&out](const store::Finding& x) {
      json::object o = finding_json(x);
      if (auto it = out.person_names.find(x.person_id); !x.person_id.empty() && it != out.person_names.end())
        o["person_name"] = it->second;
      if (auto it = out.device_labels.find(x.device_id); it != out.device_labels.end()) o["device_label"] = it->second;
      return o;
    });
  });

  r.add(Verb::get, "/api/v1/exemptions", Access::read, [&s](Request& req) -> Result<Response> {
    FW_TRY_STATUS(check_query(req, {"policy_id"}));
    std::vector<store::Exemption> xs;
    FW_TRY_STATUS(s.store.read([&](store::Tx& tx) -> Status {
      FW_TRY(xs, tx.list_exemptions(req.query_value("policy_id").value_or("")));
      return {};
    }));
    json::array items;
    for (const auto& e : xs) items.push_back(exemption_json(e));
    return json_response(200, json::object{{"items", std::move(items)}});
  });

  // {"person_id"|"device_id", "policy_id", "rule_id"?, "reason", "approver", "expires_at"}; then
  // re-evaluates the document so the exemption shows at once.
  r.add(Verb::post, "/api/v1/exemptions", Access::write, [&s](Request& req) -> Result<Response> {
    FW_TRY_STATUS(check_query(req, {}));
    FW_TRY(auto body, parse_body(req));
    if (!body.is_object()) return fail(Errc::invalid_argument, "expected an object", "body");
    const auto& o = body.as_object();
    for (const auto& kv : o)
      if (kv.key() != "id" && kv.key() != "person_id" && kv.key() != "device_id" && kv.key() != "policy_id" &&
          kv.key() != "rule_id" && kv.key() != "reason" && kv.key() != "approver" && kv.key() != "expires_at")
        return fail(Errc::invalid_argument, "unknown field", std::string(kv.key()));
    store::Exemption e;
    FW_TRY(e.id, string_field(o, "id", false));
    FW_TRY(e.person_id, string_field(o, "person_id", false));
    FW_TRY(e.device_id, string_field(o, "device_id", false));
    FW_TRY(e.policy_id, string_field(o, "policy_id", true));
    FW_TRY(e.rule_id, string_field(o, "rule_id", false));
    FW_TRY(e.reason, string_field(o, "reason", true));
    FW_TRY(e.approver, string_field(o, "approver", true));
    FW_TRY(auto exp, string_field(o, "expires_at", true));
    auto t = parse_time(exp);
    if (!t) return fail(Errc::invalid_argument, t.error().message, "expires_at");
    e.expires_at = *t;
    FW_TRY(auto created, service::create_exemption(s.store, s.clock, req.actor(), std::move(e)));
    FW_TRY_STATUS(service::evaluate_all(s.store, s.clock, created.policy_id));
    if (s.eval) s.eval->replan();  // its expiry is a new time point
    auto res = json_response(201, exemption_json(created));
    res.headers.emplace_back("Location", "/api/v1/exemptions/" + created.id);
    return res;
  });

  r.add(Verb::delete_, "/api/v1/exemptions/{id}", Access::write, [&s](Request& req) -> Result<Response> {
    FW_TRY_STATUS(check_query(req, {}));
    std::string policy_id;
    FW_TRY_STATUS(s.store.read([&](store::Tx& tx) -> Status {
      FW_TRY(auto e, tx.get_exemption(req.param("id")));
      policy_id = e.policy_id;
      return {};
    }));
    FW_TRY_STATUS(service::delete_exemption(s.store, s.clock, req.actor(), req.param("id")));
    FW_TRY_STATUS(service::evaluate_all(s.store, s.clock, policy_id));
    if (s.eval) s.eval->replan();
    return no_content();
  });

  // The report of a campaign or policy: ?format=json (default)|html|csv|table&lang=ru|en; a CSV
  // holds one table: &table=units (default)|rules|platforms|burndown|overdue, &bom=1 for Excel.
  r.add(Verb::get, "/api/v1/reports/{id}", Access::read, [&s](Request& req) -> Result<Response> {
    FW_TRY_STATUS(check_query(req, {"format", "lang", "table", "bom"}));
    std::string format(req.query_value("format").value_or("json"));
    std::string lang(req.query_value("lang").value_or(""));
    policy::CsvOptions csv;
    if (auto t = req.query_value("table")) {
      auto table = policy::parse_csv_table(*t);
      if (!table) return fail(Errc::invalid_argument, "table must be units, rules, platforms, burndown or overdue", "table");
      if (format != "csv") return fail(Errc::invalid_argument, "table chooses the table of a CSV: add format=csv", "table");
      csv.table = *table;
    }
    if (auto b = req.query_value("bom")) {
      if (*b != "0" && *b != "1") return fail(Errc::invalid_argument, "bom must be 0 or 1", "bom");
      if (format != "csv") return fail(Errc::invalid_argument, "bom is for format=csv only", "bom");
      csv.bom = *b == "1";
    }
    FW_TRY(auto rep, service::report(s.store, s.clock, req.param("id"), format, lang, csv));
    Response res;
    res.status = 200;
    res.content_type = rep.content_type;
    res.body = std::move(rep.body);
    return res;
  });
}

}  // namespace fw::server
