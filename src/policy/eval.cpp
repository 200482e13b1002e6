// Evaluation of compiled rules against one device; the CEL values of a device and a person;
// exemptions; names of the enums. Pure; CompiledPolicy is immutable and thread-safe.
#include <algorithm>

#include "policy/policy.h"
#include "policy/rules_internal.h"
#include "util/strings.h"

namespace fw::policy {

std::string_view to_string(Severity s) noexcept {
  switch (s) {
    case Severity::low: return "low";
    case Severity::medium: return "medium";
    case Severity::high: return "high";
    case Severity::critical: return "critical";
  }
  return "medium";
}
std::string_view to_string(Level l) noexcept { return l == Level::mandatory ? "mandatory" : "advisory"; }
std::optional<Severity> parse_severity(std::string_view s) noexcept {
  for (auto v : {Severity::low, Severity::medium, Severity::high, Severity::critical})
    if (to_string(v) == s) return v;
  return std::nullopt;
}
std::optional<Level> parse_level(std::string_view s) noexcept {
  if (s == "mandatory") return Level::mandatory;
  if (s == "advisory") return Level::advisory;
  return std::nullopt;
}
std::string_view to_string(Recipient r) noexcept {
  switch (r) {
    case Recipient::owner: return "owner";
    case Recipient::manager: return "manager";
    case Recipient::admin: return "admin";
  }
  return "owner";
}
std::string_view to_string(RuleStatus s) noexcept {
  switch (s) {
    case RuleStatus::pass: return "pass";
    case RuleStatus::fail: return "fail";
    case RuleStatus::exempt: return "exempt";
    case RuleStatus::unknown: return "unknown";
    case RuleStatus::not_applicable: return "not_applicable";
  }
  return "unknown";
}
std::optional<RuleStatus> parse_rule_status(std::string_view s) noexcept {
  for (auto v : {RuleStatus::pass, RuleStatus::fail, RuleStatus::exempt, RuleStatus::unknown,
                 RuleStatus::not_applicable})
    if (to_string(v) == s) return v;
  return std::nullopt;
}

std::optional<Level> Document::level_for(std::string_view path) const {
  if (scope.empty()) return level;
  const ScopeEntry* best = nullptr;
  for (const auto& s : scope)
    if (model::OrgUnit::within(path, s.path) && (!best || s.path.size() > best->path.size())) best = &s;
  if (!best) return std::nullopt;
  return best->level;
}

bool exemption_applies(const Exemption& e, std::string_view person_id, std::string_view device_id,
                       std::string_view policy_id, std::string_view rule_id, Time now) noexcept {
  if (now < e.created_at || now >= e.expires_at) return false;
  if (e.policy_id != policy_id) return false;
  if (!e.rule_id.empty() && e.rule_id != rule_id) return false;
  if (!e.person_id.empty()) return !person_id.empty() && e.person_id == person_id;
  if (!e.device_id.empty()) return e.device_id == device_id;
  return false;
}

fw::Status validate_exemption(const Exemption& e) {
  if (e.person_id.empty() == e.device_id.empty())
    return fail(Errc::invalid_argument, "exactly one of person_id and device_id must be set", "person_id");
  if (e.policy_id.empty()) return fail(Errc::invalid_argument, "policy_id is required", "policy_id");
  if (e.reason.empty()) return fail(Errc::invalid_argument, "a reason is required", "reason");
  if (e.approver.empty()) return fail(Errc::invalid_argument, "an approver is required", "approver");
  if (e.expires_at <= e.created_at)
    return fail(Errc::invalid_argument, "expires_at must be after created_at", "expires_at");
  if (e.reason.size() > 4096) return fail(Errc::too_large, "reason is longer than 4096 bytes", "reason");
  return {};
}

namespace {

template <size_t N>
constexpr FieldMask field_bit(const std::string_view (&names)[N], std::string_view name) noexcept {
  for (size_t i = 0; i < N; ++i)
    if (names[i] == name) return FieldMask(1) << i;
  return 0;
}

// The bits of the fields `paths` (of cel::Program::paths for `variable`) read.
template <size_t N>
FieldMask fields_of(const std::vector<std::string>& paths, std::string_view variable,
                    const std::string_view (&names)[N]) {
  FieldMask m = 0;
  for (const auto& p : paths) {
    if (p.size() == variable.size()) return kAllFields;  // the whole value
    std::string_view rest = std::string_view(p).substr(variable.size() + 1);
    m |= field_bit(names, rest.substr(0, rest.find('.')));
  }
  return m;
}

consteval FieldMask dev(std::string_view name) { return field_bit(kDeviceFieldNames, name); }
consteval FieldMask per(std::string_view name) { return field_bit(kPersonFieldNames, name); }

}  // namespace

FieldMask device_field(std::string_view name) noexcept { return field_bit(kDeviceFieldNames, name); }

cel::Value device_value(const model::Device& d) { return device_value(d, kAllFields); }
cel::Value person_value(const model::Person* p) { return person_value(p, kAllFields); }

// The values are built as map entries directly (Value::record would copy its field list once
// more): a full evaluation builds one device value per device.
cel::Value device_value(const model::Device& d, FieldMask fields) {
  std::vector<cel::MapEntry> f;
  f.reserve(std::size(kDeviceFieldNames));
  auto add = [&f](std::string_view name, cel::Value v) { f.emplace_back(cel::Value::string(name), std::move(v)); };
  if (fields & dev("id")) add("id", cel::Value::string(d.id));
  if (fields & dev("owner_id")) add("owner_id", cel::Value::string(d.owner_id));
  if (fields & dev("org_unit")) add("org_unit", cel::Value::string(d.org_unit_path));
  if (fields & dev("source")) add("source", cel::Value::string(model::to_string(d.source)));
  if (fields & dev("type")) add("type", cel::Value::string(model::to_string(d.type)));
  if (fields & dev("os"))
    add("os", cel::Value::map({{cel::Value::string("family"), cel::Value::string(d.os_family)},
                               {cel::Value::string("version"), cel::Value::string(d.os_version)}}));
  if (fields & dev("vendor")) add("vendor", cel::Value::string(d.vendor));
  if (fields & dev("model")) add("model", cel::Value::string(d.model));
  if (fields & dev("managed")) add("managed", cel::Value::boolean(d.managed));
  if (fields & dev("first_seen")) add("first_seen", cel::Value::timestamp(d.first_seen));
  if (fields & dev("last_seen")) add("last_seen", cel::Value::timestamp(d.last_seen));
  if (fields & dev("apps")) {
    std::vector<cel::Value> apps;
    apps.reserve(d.apps.size());
    for (const auto& a : d.apps)
      apps.push_back(cel::Value::map({{cel::Value::string("id"), cel::Value::string(a.id)},
                                      {cel::Value::string("name"), cel::Value::string(a.name)},
                                      {cel::Value::string("version"), cel::Value::string(a.version)}}));
    add("apps", cel::Value::list(std::move(apps)));
  }
  if (fields & dev("may_be")) {
    std::vector<cel::Value> may_be;
    may_be.reserve(d.may_be.size());
    for (const auto& m : d.may_be) may_be.push_back(cel::Value::string(m));
    add("may_be", cel::Value::list(std::move(may_be)));
  }
  if (fields & dev("facts")) {
    cel::Value facts;
    if (d.facts_json.empty() || d.facts_json == "{}") {
      facts = cel::Value::map({});
    } else if (auto v = cel::value_from_json(d.facts_json); v && v->kind() == cel::Kind::map) {
      facts = std::move(*v);
    } else {
      facts = cel::Value::map({});  // unreadable facts: rules that need them see no such key
    }
    add("facts", std::move(facts));
  }
  return cel::Value::map(std::move(f));
}

cel::Value person_value(const model::Person* p, FieldMask fields) {
  if (!p) return cel::Value::null();
  std::vector<cel::MapEntry> f;
  f.reserve(std::size(kPersonFieldNames));
  auto add = [&f](std::string_view name, std::string_view v) {
    f.emplace_back(cel::Value::string(name), cel::Value::string(v));
  };
  if (fields & per("id")) add("id", p->id);
  if (fields & per("name")) add("name", p->name);
  if (fields & per("email")) add("email", p->email);
  if (fields & per("login")) add("login", p->login);
  if (fields & per("org_unit")) add("org_unit", p->org_unit_path);
  if (fields & per("manager_id")) add("manager_id", p->manager_id);
  if (fields & per("title")) add("title", p->title);
  return cel::Value::map(std::move(f));
}

namespace detail {

Result<cel::Program> compile_rule_expr(std::string_view expr) {
  static const cel::CompileOptions opts = [] {
    cel::CompileOptions o;
    o.variables = {"device", "person", "now"};
    o.source_name = "<expr>";
    o.caret = false;
    return o;
  }();
  return cel::compile(expr, opts);
}

size_t offset_of(std::string_view text, int line, int col) noexcept {
  size_t i = 0;
  for (int l = 1; l < line && i < text.size(); ++i)
    if (text[i] == '\n') ++l;
  for (int c = 1; c < col && i < text.size();) {
    ++i;
    while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) ++i;
    ++c;
  }
  return std::min(i, text.size());
}

}  // namespace detail

struct CompiledPolicy::Compiled {
  std::optional<cel::Program> when;
  cel::Program require;
};

Result<CompiledPolicy> CompiledPolicy::compile(Document doc) {
  auto rules = std::make_shared<std::vector<Compiled>>();
  rules->reserve(doc.rules.size());
  for (const auto& r : doc.rules) {
    Compiled c;
    if (!trim(r.when).empty()) {
      auto p = detail::compile_rule_expr(r.when);
      if (!p) return fail(p.error().code, "rule " + r.id + ": when: " + p.error().message, doc.source_name);
      c.when = std::move(*p);
    }
    auto p = detail::compile_rule_expr(r.require);
    if (!p) return fail(p.error().code, "rule " + r.id + ": require: " + p.error().message, doc.source_name);
    c.require = std::move(*p);
    rules->push_back(std::move(c));
  }
  CompiledPolicy out;
  out.device_fields_ = out.person_fields_ = 0;
  for (const auto& c : *rules)
    for (const cel::Program* p : {c.when ? &*c.when : nullptr, &c.require}) {
      if (!p) continue;
      out.device_fields_ |= fields_of(p->paths("device"), "device", kDeviceFieldNames);
      out.person_fields_ |= fields_of(p->paths("person"), "person", kPersonFieldNames);
    }
  out.doc_ = std::make_shared<const Document>(std::move(doc));
  out.rules_ = std::move(rules);
  return out;
}

size_t CompiledPolicy::rule_count() const noexcept { return rules_ ? rules_->size() : 0; }

void CompiledPolicy::evaluate(const model::Device& d, const model::Person* owner, Time now,
                              const std::vector<const Exemption*>& exemptions, Evaluator& ev,
                              std::vector<RuleResult>& out) const {
  // The owner's unit decides the scope; a device without one is in its own unit (if any).
  std::string_view path = owner ? std::string_view(owner->org_unit_path) : std::string_view(d.org_unit_path);
  if (!doc_->level_for(path)) {
    out.assign(rule_count(), RuleResult{});
    return;
  }
  evaluate_values(device_value(d), person_value(owner), owner ? std::string_view(owner->id) : "", d.id,
                  path, now, exemptions, ev, out);
}

void CompiledPolicy::evaluate_values(const cel::Value& device, const cel::Value& person,
                                     std::string_view person_id, std::string_view device_id,
                                     std::string_view org_unit_path, Time now,
                                     const std::vector<const Exemption*>& exemptions, Evaluator& ev,
                                     std::vector<RuleResult>& out) const {
  const size_t n = rule_count();
  out.resize(n);
  if (!doc_->level_for(org_unit_path)) {
    for (auto& r : out) r = RuleResult{};
    return;
  }
  if (ev.act_.size() < 3) ev.act_.resize(3);
  ev.act_.set(detail::kDeviceSlot, device);
  ev.act_.set(detail::kPersonSlot, person);
  ev.act_.set(detail::kNowSlot, cel::Value::timestamp(now));
  for (size_t i = 0; i < n; ++i) {
    const auto& c = (*rules_)[i];
    RuleResult& r = out[i];
    r.detail.clear();
    bool when_failed = false;
    if (c.when) {
      auto w = c.when->eval_bool(ev.act_);
      if (!w) {
        r.status = RuleStatus::unknown;
        r.detail = "when: " + w.error().to_string();
        when_failed = true;
      } else if (!*w) {
        r.status = RuleStatus::not_applicable;
        continue;
      }
    }
    if (!when_failed) {
      auto q = c.require.eval_bool(ev.act_);
      if (!q) {
        r.status = RuleStatus::unknown;
        r.detail = q.error().to_string();
      } else {
        r.status = *q ? RuleStatus::pass : RuleStatus::fail;
      }
    }
    if (r.status == RuleStatus::fail || r.status == RuleStatus::unknown) {
      for (const Exemption* e : exemptions) {
        if (e && exemption_applies(*e, person_id, device_id, doc_->id, doc_->rules[i].id, now)) {
          r.status = RuleStatus::exempt;
          r.detail = e->id;
          break;
        }
      }
    }
  }
}

}  // namespace fw::policy
