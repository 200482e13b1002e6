// JSON form of the inventory model types (see model_json.h). Pure; thread-safe.
#include "service/model_json.h"

#include <fmt/format.h>
#include <functional>
#include <map>

namespace fw::service {

namespace json = boost::json;

Result<json::value> parse_json(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return fail(Errc::too_large, fmt::format("JSON text is larger than {} bytes", limits.max_bytes),
                fmt::format("byte {}", limits.max_bytes));
  }
  json::parse_options opt;
  opt.max_depth = static_cast<std::size_t>(limits.max_depth);
  json::stream_parser p({}, opt);
  boost::system::error_code ec;
  std::size_t n = p.write_some(text.data(), text.size(), ec);
  if (!ec && n == text.size()) p.finish(ec);
  if (ec) {
    if (ec == json::error::too_deep) {
      return fail(Errc::invalid_argument,
                  fmt::format("JSON nesting deeper than {} levels", limits.max_depth),
                  fmt::format("byte {}", n));
    }
    return fail(Errc::parse_error, "malformed JSON: " + ec.message(), fmt::format("byte {}", n));
  }
  if (n != text.size()) {
    // write_some stops after one complete value; anything but whitespace after it is garbage.
    for (std::size_t i = n; i < text.size(); ++i) {
      char c = text[i];
      if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
        return fail(Errc::parse_error, "malformed JSON: extra data after the value",
                    fmt::format("byte {}", i));
      }
    }
  }
  return p.release();
}

std::string to_json_text(const json::value& v) { return json::serialize(v); }

json::object to_json(const model::OrgUnit& u) {
  return {{"id", u.id}, {"path", u.path}, {"name", u.name}, {"kind", u.kind}, {"timezone", u.timezone}};
}

json::object to_json(const model::Person& p) {
  return {{"id", p.id},       {"name", p.name},
          {"email", p.email}, {"login", p.login},
          {"org_unit", p.org_unit_path}, {"manager_id", p.manager_id},
          {"title", p.title}};
}

json::object to_json(const model::App& a) {
  return {{"id", a.id}, {"name", a.name}, {"version", a.version}};
}

json::object to_json(const model::Device& d) {
  json::array apps;
  for (const auto& a : d.apps) apps.push_back(to_json(a));
  json::array may_be;
  for (const auto& m : d.may_be) may_be.push_back(json::string(m));
  json::value facts = json::object{};
  if (!d.facts_json.empty()) {
    boost::system::error_code ec;
    auto v = json::parse(d.facts_json, ec);
    if (!ec) facts = std::move(v);
  }
  return {{"id", d.id},
          {"owner_id", d.owner_id},
          {"org_unit", d.org_unit_path},
          {"source", std::string(model::to_string(d.source))},
          {"os_family", d.os_family},
          {"os_version", d.os_version},
          {"vendor", d.vendor},
          {"model", d.model},
          {"type", std::string(model::to_string(d.type))},
          {"managed", d.managed},
          {"first_seen", format_time(d.first_seen)},
          {"last_seen", format_time(d.last_seen)},
          {"apps", std::move(apps)},
          {"may_be", std::move(may_be)},
          {"facts", std::move(facts)}};
}

static json::value optional_json(const std::string& text) {
  if (text.empty()) return nullptr;
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) return json::string(text);
  return v;
}

json::object to_json(const model::AuditEvent& e) {
  return {{"seq", e.seq},
          {"at", format_time(e.at)},
          {"actor", e.actor},
          {"action", e.action},
          {"entity", e.entity},
          {"before", optional_json(e.before_json)},
          {"after", optional_json(e.after_json)},
          {"prev_hash", e.prev_hash},
          {"hash", e.hash}};
}

namespace {

// Decodes one object field by field; each field name maps to a setter that reports
// type errors against the full field path.
class FieldReader {
 public:
  using Setter = std::function<Status(const json::value&, const std::string& where)>;

  FieldReader(std::string_view prefix) : prefix_(prefix) {}

  FieldReader& on(std::string name, Setter s) {
    setters_.emplace(std::move(name), std::move(s));
    return *this;
  }

  Status read(const json::value& v, std::string_view what) const {
    if (!v.is_object()) {
      std::string where = prefix_.empty() ? std::string() : prefix_.substr(0, prefix_.size() - 1);
      return fail(Errc::invalid_argument, fmt::format("expected a JSON object ({})", what), where);
    }
    for (const auto& kv : v.get_object()) {
      std::string where = prefix_ + std::string(kv.key());
      auto it = setters_.find(std::string(kv.key()));
      if (it == setters_.end()) return fail(Errc::invalid_argument, "unknown field", where);
      FW_TRY_STATUS(it->second(kv.value(), where));
    }
    return {};
  }

 private:
  std::string prefix_;
  std::map<std::string, Setter, std::less<>> setters_;
};

FieldReader::Setter str(std::string& out) {
  return [&out](const json::value& v, const std::string& where) -> Status {
    if (v.is_null()) {
      out.clear();
      return {};
    }
    if (!v.is_string()) return fail(Errc::invalid_argument, "expected a string", where);
    out = std::string(v.get_string());
    return {};
  };
}

FieldReader::Setter boolean(bool& out) {
  return [&out](const json::value& v, const std::string& where) -> Status {
    if (!v.is_bool()) return fail(Errc::invalid_argument, "expected true or false", where);
    out = v.get_bool();
    return {};
  };
}

FieldReader::Setter time_field(Time& out) {
  return [&out](const json::value& v, const std::string& where) -> Status {
    if (!v.is_string()) return fail(Errc::invalid_argument, "expected an RFC 3339 time string", where);
    auto t = parse_time(v.get_string());
    if (!t) return fail(Errc::invalid_argument, "bad time: " + t.error().message, where);
    out = *t;
    return {};
  };
}

}  // namespace

Status from_json(const json::value& v, model::OrgUnit& out, std::string_view prefix) {
  FieldReader r(prefix);
  r.on("id", str(out.id))
      .on("path", str(out.path))
      .on("name", str(out.name))
      .on("kind", str(out.kind))
      .on("timezone", str(out.timezone));
  return r.read(v, "an org unit");
}

Status from_json(const json::value& v, model::Person& out, std::string_view prefix) {
  FieldReader r(prefix);
  r.on("id", str(out.id))
      .on("name", str(out.name))
      .on("email", str(out.email))
      .on("login", str(out.login))
      .on("org_unit", str(out.org_unit_path))
      .on("manager_id", str(out.manager_id))
      .on("title", str(out.title));
  return r.read(v, "a person");
}

Status from_json(const json::value& v, model::Device& out, std::string_view prefix) {
  FieldReader r(prefix);
  r.on("id", str(out.id))
      .on("owner_id", str(out.owner_id))
      .on("org_unit", str(out.org_unit_path))
      .on("os_family", str(out.os_family))
      .on("os_version", str(out.os_version))
      .on("vendor", str(out.vendor))
      .on("model", str(out.model))
      .on("managed", boolean(out.managed))
      .on("first_seen", time_field(out.first_seen))
      .on("last_seen", time_field(out.last_seen))
      .on("source",
          [&out](const json::value& x, const std::string& where) -> Status {
            auto s = x.is_string() ? model::parse_device_source(x.get_string()) : std::nullopt;
            if (!s) return fail(Errc::invalid_argument, "expected one of agent, log, import, exchange", where);
            out.source = *s;
            return {};
          })
      .on("type",
          [&out](const json::value& x, const std::string& where) -> Status {
            auto t = x.is_string() ? model::parse_device_type(x.get_string()) : std::nullopt;
            if (!t) return fail(Errc::invalid_argument, "expected one of phone, tablet, desktop, other", where);
            out.type = *t;
            return {};
          })
      .on("apps",
          [&out](const json::value& x, const std::string& where) -> Status {
            if (!x.is_array()) return fail(Errc::invalid_argument, "expected an array of apps", where);
            std::vector<model::App> apps;
            for (std::size_t i = 0; i < x.get_array().size(); ++i) {
              model::App a;
              FieldReader ar(fmt::format("{}[{}].", where, i));
              ar.on("id", str(a.id)).on("name", str(a.name)).on("version", str(a.version));
              FW_TRY_STATUS(ar.read(x.get_array()[i], "an app"));
              if (a.id.empty()) return fail(Errc::invalid_argument, "app id is required", fmt::format("{}[{}].id", where, i));
              apps.push_back(std::move(a));
            }
            out.apps = std::move(apps);
            return {};
          })
      .on("may_be",
          [&out](const json::value& x, const std::string& where) -> Status {
            if (!x.is_array()) return fail(Errc::invalid_argument, "expected an array of strings", where);
            std::vector<std::string> m;
            for (std::size_t i = 0; i < x.get_array().size(); ++i) {
              const auto& e = x.get_array()[i];
              if (!e.is_string()) return fail(Errc::invalid_argument, "expected a string", fmt::format("{}[{}]", where, i));
              m.emplace_back(e.get_string());
            }
            out.may_be = std::move(m);
            return {};
          })
      .on("facts", [&out](const json::value& x, const std::string& where) -> Status {
        if (!x.is_object()) return fail(Errc::invalid_argument, "expected a JSON object", where);
        out.facts_json = json::serialize(x);
        return {};
      });
  return r.read(v, "a device");
}

}  // namespace fw::service
