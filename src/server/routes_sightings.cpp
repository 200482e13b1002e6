// Bulk ingestion for log shippers: POST /api/v1/sightings (NDJSON: raw log lines or parsed
// sightings) and POST /api/v1/exchange-devices (Get-MobileDevice | Export-Csv). Both record
// devices exactly as `fleetward discover` / `fleetward import-exchange` do (through
// service/sightings.h and service/exchange.h) and then evaluate the devices they touched.
// A bad line is reported in the answer with its line number and field; the good ones are
// stored. Handlers run on I/O threads; the classifier is loaded once, under a mutex.
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "server/errors.h"
#include "server/routes.h"
#include "service/exchange.h"
#include "service/model_json.h"
#include "service/sightings.h"
#include "util/strings.h"

namespace fw::server {

namespace {

namespace json = boost::json;

// Limits on one POST /api/v1/sightings request (the body itself is bounded by the server's
// body_limit, 1 MiB by default).
constexpr size_t kMaxLines = 10000;
constexpr size_t kMaxUser = 256, kMaxIp = 64, kMaxUserAgent = 4096, kMaxAsField = 256, kMaxFields = 4096;
constexpr size_t kMaxListedRejects = 100;

// The classifier, loaded on first use and shared by every request.
class SharedClassifier {
 public:
  Result<std::shared_ptr<const detect::Classifier>> get() {
    std::lock_guard lock(mu_);
    if (!c_) {
      auto r = detect::Classifier::load({});
      if (!r) return fail(r.error());
      c_ = std::move(*r);
    }
    return c_;
  }

 private:
  std::mutex mu_;
  std::shared_ptr<const detect::Classifier> c_;  // guarded by mu_
};

struct Reject {
  size_t line;
  std::string field, message;
};

// The media type without parameters, lower-cased.
std::string media_type(const Request& req) {
  std::string_view ct = req.header("content-type");
  if (auto semi = ct.find(';'); semi != std::string_view::npos) ct = ct.substr(0, semi);
  return to_lower_ascii(trim(ct));
}

Status check_media_type(const Request& req, std::initializer_list<std::string_view> allowed) {
  std::string mt = media_type(req);
  for (auto a : allowed)
    if (mt == a) return {};
  std::string list;
  for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  return fail(Errc::invalid_argument, fmt::format("Content-Type '{}' not accepted (use {})", mt, list),
              "Content-Type");
}

std::vector<std::string> strip_domains(const Request& req) {
  std::vector<std::string> out;
  for (const auto& [k, v] : req.query)
    if (k == "strip_domain")
      for (auto part : split(v, ','))
        if (auto t = trim(part); !t.empty()) out.emplace_back(t);
  return out;
}

// A string member: absent -> "", wrong type or too long -> an error naming it.
Result<std::string> member(const json::object& o, std::string_view name, size_t max, std::string_view path) {
  auto it = o.find(name);
  if (it == o.end() || it->value().is_null()) return std::string();
  if (!it->value().is_string()) return fail(Errc::invalid_argument, "must be a string", std::string(path));
  const auto& s = it->value().get_string();
  if (s.size() > max) return fail(Errc::invalid_argument, fmt::format("longer than {} bytes", max), std::string(path));
  return std::string(s.data(), s.size());
}

Status only_members(const json::object& o, std::initializer_list<std::string_view> allowed, std::string_view prefix) {
  for (const auto& kv : o) {
    bool ok = false;
    for (auto a : allowed) ok = ok || kv.key() == a;
    if (!ok) return fail(Errc::invalid_argument, "unknown member", std::string(prefix) + std::string(kv.key()));
  }
  return {};
}

// What a parsed sighting adds beyond LogRecord: the device's own DeviceOS/DeviceModel.
struct DeviceSays {
  std::string device_id, device_os, device_model, device_type;
};

class Batch {
 public:
  Batch(std::shared_ptr<const detect::Classifier> cl, std::vector<std::string> strip, const Request& req)
      : agg_(cl, strip), strip_(std::move(strip)), req_(req) {}

  // One NDJSON line; a rejection is recorded, never thrown.
  void add(size_t line_no, std::string_view text) {
    auto st = add_line(text);
    if (!st) {
      rejects.push_back({line_no, st.error().where, st.error().message});
    } else {
      ++accepted;
    }
  }

  std::vector<model::Sighting> sightings() const {
    auto out = agg_.sightings();
    for (auto& s : out) {
      auto it = says_.find(detect::normalize_user(s.user, strip_) + '\x1f' + s.fingerprint);
      if (it == says_.end()) continue;
      service::ExchangeRow row;
      row.device_id = it->second.device_id;
      row.device_os = it->second.device_os;
      row.device_model = it->second.device_model;
      row.device_type = it->second.device_type;
      auto r = service::read_exchange_row(row, nullptr);
      if (!r.os_family.empty()) {
        s.os_family = r.os_family;
        s.os_version = r.os_version;
      }
      if (!r.vendor.empty()) s.vendor = r.vendor;
      if (!r.model.empty()) s.model = r.model;
      if (r.type != model::DeviceType::other) s.type = r.type;
    }
    return out;
  }

  size_t accepted = 0;
  std::vector<Reject> rejects;

 private:
  Status add_line(std::string_view text) {
    auto v = service::parse_json(text, {.max_bytes = detect::kMaxLogLine + 8192, .max_depth = 4});
    if (!v) return fail(Errc::parse_error, v.error().message, "json " + v.error().where);
    if (!v->is_object()) return fail(Errc::invalid_argument, "each line must be a JSON object", "line");
    const auto& o = v->get_object();
    if (o.contains("line")) return add_raw(o);
    return add_parsed(o);
  }

  Status add_raw(const json::object& o) {
    FW_TRY_STATUS(only_members(o, {"line", "format", "fields", "log_format"}, ""));
    FW_TRY(std::string line, member(o, "line", detect::kMaxLogLine, "line"));
    FW_TRY(std::string format, member(o, "format", 32, "format"));
    FW_TRY(std::string fields, member(o, "fields", kMaxFields, "fields"));
    FW_TRY(std::string log_format, member(o, "log_format", kMaxFields, "log_format"));
    if (format.empty()) format = std::string(req_.query_value("format").value_or("auto"));
    if (fields.empty()) fields = std::string(req_.query_value("fields").value_or(""));
    if (log_format.empty()) log_format = std::string(req_.query_value("log_format").value_or(""));
    auto fmt = detect::parse_log_format(format);
    if (!fmt) return fail(Errc::invalid_argument, "unknown format (auto, combined, common, nginx, w3c)", "format");
    if (*fmt == detect::LogFormat::nginx && log_format.empty())
      return fail(Errc::invalid_argument, "format nginx needs log_format", "log_format");
    std::string key = format + '\x1f' + fields + '\x1f' + log_format;
    auto it = parsers_.find(key);
    if (it == parsers_.end()) {
      auto p = detect::LineParser::make(*fmt, log_format);
      if (!p) return fail(Errc::invalid_argument, p.error().message, "log_format");
      if (!fields.empty()) {
        auto r = p->parse("#Fields: " + fields);
        if (!r) return fail(Errc::invalid_argument, r.error().message, "fields");
      }
      it = parsers_.emplace(key, std::move(*p)).first;
    }
    auto r = it->second.parse(line);
    if (!r) return fail(Errc::parse_error, r.error().message, "line " + r.error().where);
    if (*r) agg_.add(**r);  // a directive ("#Fields: ...") only updates the layout
    return {};
  }

  Status add_parsed(const json::object& o) {
    FW_TRY_STATUS(only_members(o, {"time", "user", "ip", "user_agent", "activesync"}, ""));
    FW_TRY(std::string time_text, member(o, "time", 64, "time"));
    FW_TRY(std::string user, member(o, "user", kMaxUser, "user"));
    FW_TRY(std::string ip, member(o, "ip", kMaxIp, "ip"));
    FW_TRY(std::string ua, member(o, "user_agent", kMaxUserAgent, "user_agent"));
    if (time_text.empty()) return fail(Errc::invalid_argument, "required (RFC 3339)", "time");
    auto t = parse_time(time_text);
    if (!t) return fail(Errc::invalid_argument, "not an RFC 3339 time", "time");
    detect::LogRecord rec;
    rec.time = *t;
    DeviceSays says;
    if (auto it = o.find("activesync"); it != o.end() && !it->value().is_null()) {
      if (!it->value().is_object()) return fail(Errc::invalid_argument, "must be an object", "activesync");
      const auto& a = it->value().get_object();
      FW_TRY_STATUS(only_members(a, {"device_id", "device_type", "device_model", "device_os", "user"}, "activesync."));
      FW_TRY(says.device_id, member(a, "device_id", service::kMaxExchangeDeviceId, "activesync.device_id"));
      FW_TRY(says.device_type, member(a, "device_type", kMaxAsField, "activesync.device_type"));
      FW_TRY(says.device_model, member(a, "device_model", kMaxAsField, "activesync.device_model"));
      FW_TRY(says.device_os, member(a, "device_os", kMaxAsField, "activesync.device_os"));
      FW_TRY(rec.activesync.user, member(a, "user", kMaxUser, "activesync.user"));
      for (unsigned char c : says.device_id)
        if (c <= 0x20 || c >= 0x7f)
          return fail(Errc::invalid_argument, "not an ActiveSync device id (printable ASCII, no spaces)",
                      "activesync.device_id");
      rec.activesync.device_id = says.device_id;
      rec.activesync.device_type = says.device_type;
    }
    if (ua.empty() && says.device_id.empty())
      return fail(Errc::invalid_argument, "a sighting needs a user_agent or an activesync.device_id", "user_agent");
    rec.user = user;
    rec.client_ip = ip;
    rec.user_agent = ua;
    agg_.add(rec);
    if (!says.device_os.empty() || !says.device_model.empty()) {
      std::string_view raw_user = user.empty() ? std::string_view(rec.activesync.user) : std::string_view(user);
      says_[detect::normalize_user(raw_user, strip_) + '\x1f' + detect::fingerprint(ua, says.device_id)] = says;
    }
    return {};
  }

  detect::Aggregator agg_;
  std::vector<std::string> strip_;
  const Request& req_;
  std::map<std::string, detect::LineParser> parsers_;  // per (format, fields, log_format)
  std::map<std::string, DeviceSays> says_;             // per (normalized user, fingerprint)
};

json::array rejects_json(const std::vector<Reject>& rs) {
  json::array a;
  for (size_t i = 0; i < rs.size() && i < kMaxListedRejects; ++i)
    a.push_back(json::object{{"line", rs[i].line}, {"field", rs[i].field}, {"message", rs[i].message}});
  return a;
}

json::array strings_json(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.push_back(json::string(s));
  return a;
}

// Evaluates what an ingest touched (findings for the campaigns): handed to the background
// queue when the server runs one (returns 0: evaluated a moment later), else evaluated here
// before the answer. The campaign report aggregates follow at the next full evaluation.
Result<int64_t> evaluate(Services& s, const std::vector<std::string>& ids) {
  if (s.eval) {
    s.eval->mark_dirty(ids);
    return int64_t{0};
  }
  FW_TRY(auto st, service::evaluate_ingested(s.store, s.clock, ids, /*full=*/false));
  return st.devices;
}

}  // namespace

void add_sightings_routes(Router& r, Services& s) {
  auto classifier = std::make_shared<SharedClassifier>();

  r.add(Verb::post, "/api/v1/sightings", Access::write, kUploadBody, [&s, classifier](Request& req) -> Result<Response> {
    FW_TRY_STATUS(check_query(req, {"format", "fields", "log_format", "strip_domain"}));
    FW_TRY_STATUS(check_media_type(req, {"application/x-ndjson", "application/ndjson", "application/jsonl"}));
    FW_TRY(auto cl, classifier->get());
    Batch batch(cl, strip_domains(req), req);
    size_t line_no = 0, lines = 0;
    std::string_view body = req.body;
    while (!body.empty()) {
      size_t nl = body.find('\n');
      std::string_view line = body.substr(0, nl);
      body = nl == std::string_view::npos ? std::string_view() : body.substr(nl + 1);
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (trim(line).empty()) continue;
      if (++lines > kMaxLines)
        return fail(Errc::too_large, fmt::format("more than {} lines in one request; send smaller batches", kMaxLines),
                    fmt::format("line {}", line_no));
      batch.add(line_no, line);
    }
    service::SightingOptions opts;
    opts.strip_domains = strip_domains(req);
    opts.actor = req.actor();
    opts.classifier = cl;
    opts.now = s.clock.now();
    auto sightings = batch.sightings();
    service::SightingResult res;
    if (!sightings.empty()) {
      FW_TRY(res, service::ingest_sightings(s.store, std::move(sightings), opts));
    }
    FW_TRY(int64_t evaluated, evaluate(s, res.device_ids));
    return json_response(200, json::object{{"lines", lines},
                                           {"accepted", batch.accepted},
                                           {"rejected_count", batch.rejects.size()},
                                           {"rejected", rejects_json(batch.rejects)},
                                           {"sightings", res.sightings_stored},
                                           {"devices_created", res.devices_created},
                                           {"devices_updated", res.devices_updated},
                                           {"resolved_by_exchange", res.resolved_by_exchange},
                                           {"evaluated", evaluated},
                                           {"unattributed_users", strings_json(res.unattributed_users)}});
  });

  r.add(Verb::post, "/api/v1/exchange-devices", Access::write, kUploadBody, [&s, classifier](Request& req) -> Result<Response> {
    FW_TRY_STATUS(check_query(req, {"strip_domain"}));
    FW_TRY_STATUS(check_media_type(req, {"text/csv", "application/csv"}));
    FW_TRY(auto csv, service::parse_exchange_csv(req.body, "body"));
    FW_TRY(auto cl, classifier->get());
    service::ExchangeImportOptions opts;
    opts.strip_domains = strip_domains(req);
    opts.actor = req.actor();
    opts.classifier = cl;
    FW_TRY(auto res, service::import_exchange_devices(s.store, csv.rows, opts, s.clock.now()));
    FW_TRY(int64_t evaluated, evaluate(s, res.device_ids));
    std::vector<Reject> rejects;
    for (const auto& e : csv.errors) rejects.push_back({e.line, e.field, e.reason});
    return json_response(200, json::object{{"rows", res.rows},
                                           {"rejected_count", rejects.size()},
                                           {"rejected", rejects_json(rejects)},
                                           {"devices_resolved", res.devices_resolved},
                                           {"devices_created", res.devices_created},
                                           {"unresolved", res.unresolved},
                                           {"evaluated", evaluated},
                                           {"unattributed_users", strings_json(res.unattributed_users)}});
  });
}

}  // namespace fw::server
