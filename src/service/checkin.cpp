// Agent enrolment and check-in with a group-commit writer (see checkin.h).
// Threads: any caller thread validates and enqueues; the one writer thread owns every
// store write of check-ins. Pending.done is the hand-off: set once by the writer.
#include "service/checkin.h"

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "model/model.h"
#include "service/crypto.h"
#include "service/inventory.h"
#include "service/model_json.h"
#include "util/strings.h"

namespace fw::service {

namespace json = boost::json;

namespace {

constexpr std::string_view kSecretKey = "agent.secret.";   // + sha256(secret) -> secret record
constexpr std::string_view kCredKey = "agent.cred.";       // + sha256(credential) -> device id
constexpr std::string_view kDeviceKey = "agent.device.";   // + device id -> device record

std::string key(std::string_view prefix, std::string_view rest) {
  std::string k(prefix);
  k += rest;
  return k;
}

// ---- limits on outside JSON ----

Status check_limits(const json::value& v, const AgentLimits& lim, const std::string& where, int depth) {
  if (depth > lim.max_depth) return fail(Errc::invalid_argument, "nested deeper than " + std::to_string(lim.max_depth), where);
  if (v.is_string()) {
    if (v.get_string().size() > lim.max_string)
      return fail(Errc::too_large, "string longer than " + std::to_string(lim.max_string) + " bytes", where);
  } else if (v.is_array()) {
    size_t i = 0;
    for (const auto& e : v.get_array()) FW_TRY_STATUS(check_limits(e, lim, where + "[" + std::to_string(i++) + "]", depth + 1));
  } else if (v.is_object()) {
    for (const auto& kv : v.get_object()) {
      if (kv.key().size() > 256) return fail(Errc::too_large, "key longer than 256 bytes", where);
      FW_TRY_STATUS(check_limits(kv.value(), lim, where.empty() ? std::string(kv.key()) : where + "." + std::string(kv.key()),
                                 depth + 1));
    }
  }
  return {};
}

Result<json::object> parse_object(std::string_view body, const AgentLimits& lim) {
  if (body.size() > lim.max_body) return fail(Errc::too_large, "body larger than " + std::to_string(lim.max_body) + " bytes");
  FW_TRY(auto v, parse_json(body, JsonLimits{lim.max_body, lim.max_depth + 1}));
  if (!v.is_object()) return fail(Errc::invalid_argument, "body must be a JSON object");
  FW_TRY_STATUS(check_limits(v, lim, "", 1));
  return std::move(v.get_object());
}

Result<std::string> req_string(const json::object& o, const char* name, size_t max = 4096) {
  auto* v = o.if_contains(name);
  if (!v) return fail(Errc::invalid_argument, "is required", name);
  if (!v->is_string()) return fail(Errc::invalid_argument, "must be a string", name);
  if (v->get_string().empty() || v->get_string().size() > max)
    return fail(Errc::invalid_argument, "must be 1.." + std::to_string(max) + " bytes", name);
  return std::string(v->get_string());
}

std::string opt_string(const json::object& o, const char* name) {
  auto* v = o.if_contains(name);
  return (v && v->is_string()) ? std::string(v->get_string()) : std::string();
}

Result<int64_t> req_seq(const json::object& o, const char* name) {
  auto* v = o.if_contains(name);
  if (!v) return fail(Errc::invalid_argument, "is required", name);
  int64_t n = 0;
  if (v->is_int64()) n = v->get_int64();
  else if (v->is_uint64() && v->get_uint64() < (uint64_t(1) << 53)) n = int64_t(v->get_uint64());
  else return fail(Errc::invalid_argument, "must be an integer", name);
  if (n < 1 || n > (int64_t(1) << 53)) return fail(Errc::invalid_argument, "must be 1..2^53", name);
  return n;
}

// Device text fields have limits of their own (256 bytes, versions 64): agent text is cut
// at a UTF-8 boundary and control characters become spaces, so odd package metadata
// cannot make a whole report fail.
std::string field_text(std::string_view s, size_t max) {
  std::string out;
  out.reserve(std::min(s.size(), max));
  for (unsigned char c : s) out.push_back(c < 0x20 || c == 0x7f ? ' ' : char(c));
  if (out.size() > max) {
    size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(out[n]) & 0xC0) == 0x80) --n;
    out.resize(n);
  }
  return out;
}

// Maps the agent's facts object onto the device record (docs/agent-protocol.md, "Facts").
void apply_facts(model::Device& d, const json::object& facts) {
  d.os_family = "Other";
  d.os_version.clear();
  if (auto* os = facts.if_contains("os"); os && os->is_object()) {
    std::string fam = opt_string(os->get_object(), "family");
    d.os_family = is_canonical_os_family(fam) ? fam : "Other";
    d.os_version = field_text(opt_string(os->get_object(), "version"), 64);
  }
  d.vendor.clear();
  d.model.clear();
  d.type = model::DeviceType::other;
  if (auto* hw = facts.if_contains("hardware"); hw && hw->is_object()) {
    d.vendor = field_text(opt_string(hw->get_object(), "vendor"), 256);
    d.model = field_text(opt_string(hw->get_object(), "model"), 256);
    if (auto t = model::parse_device_type(opt_string(hw->get_object(), "type"))) d.type = *t;
  }
  d.apps.clear();
  if (auto* apps = facts.if_contains("apps"); apps && apps->is_array()) {
    for (const auto& a : apps->get_array()) {
      if (!a.is_object()) continue;
      model::App app;
      app.id = field_text(opt_string(a.get_object(), "id"), 256);
      if (app.id.empty()) continue;
      app.name = field_text(opt_string(a.get_object(), "name"), 256);
      app.version = field_text(opt_string(a.get_object(), "version"), 64);
      d.apps.push_back(std::move(app));
    }
  }
  // facts_json keeps everything but the app list (stored as rows of its own).
  json::object rest;
  for (const auto& kv : facts)
    if (kv.key() != "apps") rest[kv.key()] = kv.value();
  d.facts_json = json::serialize(rest);
  d.source = model::DeviceSource::agent;
  d.managed = true;
}

struct Report {
  std::string device_id;
  int64_t seq = 0;
  bool full = false;
  int64_t base_seq = 0;
  json::object facts;
  std::vector<std::string> removed;
  size_t results = 0;
};

Result<Report> parse_report(std::string_view body, const AgentLimits& lim) {
  FW_TRY(auto o, parse_object(body, lim));
  Report r;
  if (auto* p = o.if_contains("protocol"); p && !(p->is_int64() && p->get_int64() == 1))
    return fail(Errc::invalid_argument, "unsupported protocol version (this server speaks 1)", "protocol");
  FW_TRY(r.device_id, req_string(o, "device_id", 128));
  FW_TRY(r.seq, req_seq(o, "seq"));
  FW_TRY(auto kind, req_string(o, "kind", 16));
  if (kind != "full" && kind != "delta") return fail(Errc::invalid_argument, "must be \"full\" or \"delta\"", "kind");
  r.full = kind == "full";
  if (!r.full) {
    FW_TRY(r.base_seq, req_seq(o, "base_seq"));
  }
  FW_TRY(auto collected, req_string(o, "collected_at", 64));
  if (!parse_time(collected)) return fail(Errc::invalid_argument, "must be an RFC 3339 time", "collected_at");
  auto* facts = o.if_contains("facts");
  if (!facts || !facts->is_object()) return fail(Errc::invalid_argument, "must be an object", "facts");
  r.facts = std::move(facts->get_object());
  if (auto* apps = r.facts.if_contains("apps")) {
    if (!apps->is_array()) return fail(Errc::invalid_argument, "must be an array", "facts.apps");
    if (apps->get_array().size() > lim.max_apps)
      return fail(Errc::too_large, "more than " + std::to_string(lim.max_apps) + " apps", "facts.apps");
  }
  if (auto* rm = o.if_contains("removed"); rm && !rm->is_null()) {
    if (!rm->is_array()) return fail(Errc::invalid_argument, "must be an array", "removed");
    for (const auto& k : rm->get_array()) {
      if (!k.is_string()) return fail(Errc::invalid_argument, "must hold strings", "removed");
      r.removed.emplace_back(k.get_string());
    }
  }
  if (auto* cr = o.if_contains("command_results"); cr && !cr->is_null()) {
    if (!cr->is_array()) return fail(Errc::invalid_argument, "must be an array", "command_results");
    if (cr->get_array().size() > lim.max_results) return fail(Errc::too_large, "too many entries", "command_results");
    r.results = cr->get_array().size();
  }
  // A full report must map onto a valid device now, so the writer never meets a bad one.
  if (r.full) {
    model::Device probe;
    probe.id = r.device_id;
    apply_facts(probe, r.facts);
    FW_TRY_STATUS(validate(probe));
  }
  return r;
}

// Per-device token bucket (in memory; a restarted server starts with full buckets).
class RateLimiter {
 public:
  RateLimiter(double rate, double burst) : rate_(rate), burst_(burst) {}
  bool allow(const std::string& id, double now_s) {
    std::lock_guard lk(mu_);
    auto& b = buckets_[id];
    if (b.last == 0) b.tokens = burst_;
    b.tokens = std::min(burst_, b.tokens + (now_s - b.last) * rate_);
    b.last = now_s;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

 private:
  struct Bucket {
    double tokens = 0, last = 0;
  };
  double rate_, burst_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;  // guarded by mu_
};

}  // namespace

struct AgentService::Impl {
  store::Store& store;
  const Clock& clock;
  AgentLimits lim;
  RateLimiter rate;

  struct Pending {
    Report report;
    Result<json::object> result = fail(Errc::internal, "not processed");
    std::promise<Result<json::object>> done;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Pending*> queue;  // guarded by mu
  bool stopping = false;       // guarded by mu
  std::atomic<uint64_t> n_checkins{0}, n_batches{0}, n_duplicates{0};
  std::mutex cred_mu;
  std::unordered_map<std::string, std::string> cred_cache;  // credential hash -> device id; guarded by cred_mu
  std::thread writer;

  Impl(store::Store& s, const Clock& c, AgentLimits l) : store(s), clock(c), lim(l), rate(l.rate_per_s, l.burst) {
    writer = std::thread([this] { run_writer(); });
  }
  ~Impl() {
    {
      std::lock_guard lk(mu);
      stopping = true;
    }
    cv.notify_all();
    writer.join();
  }

  json::object answer(int64_t seq) const {
    json::object a;
    a["ack_seq"] = seq;
    a["next_checkin_s"] = lim.checkin_interval_s;
    a["full_report"] = false;
    a["commands"] = json::array();
    return a;
  }

  // Applies one report inside the batch transaction. Logical refusals (duplicate, conflict,
  // revoked) are found by reads before any write, so they never doom the transaction.
  Result<json::object> apply(store::Tx& tx, const Report& r, Time now) {
    auto rec_text = tx.get_setting(key(kDeviceKey, r.device_id));
    if (!rec_text) {
      if (rec_text.error().code == Errc::not_found) return fail(Errc::unauthenticated, "device is not enrolled");
      return fail(rec_text.error());
    }
    FW_TRY(auto recv, parse_json(*rec_text));
    json::object rec = recv.is_object() ? recv.get_object() : json::object();
    if (auto* rv = rec.if_contains("revoked"); rv && rv->is_bool() && rv->get_bool())
      return fail(Errc::unauthenticated, "device credential revoked");
    int64_t last = 0;
    if (auto* l = rec.if_contains("last_seq"); l && l->is_int64()) last = l->get_int64();
    if (r.seq <= last) {
      ++n_duplicates;
      return answer(r.seq);
    }
    if (!r.full && r.base_seq != last)
      return fail(Errc::conflict, "delta base_seq " + std::to_string(r.base_seq) + " does not match the last stored report " +
                                      std::to_string(last) + "; send a full report",
                  "base_seq");
    model::Device d;
    auto existing = tx.get_device(r.device_id);
    if (existing) {
      d = std::move(*existing);
    } else if (existing.error().code == Errc::not_found) {
      if (!r.full) return fail(Errc::conflict, "no stored facts for this device; send a full report", "kind");
      d.id = r.device_id;
      d.first_seen = now;
    } else {
      return fail(existing.error());
    }
    json::object facts;
    if (r.full) {
      facts = r.facts;
    } else {
      FW_TRY(auto old, parse_json(d.facts_json));
      if (old.is_object()) facts = std::move(old.get_object());
      // facts_json has no apps; keep the stored ones unless the delta replaces them.
      json::array apps;
      for (const auto& a : d.apps) apps.push_back(json::object{{"id", a.id}, {"name", a.name}, {"version", a.version}});
      facts["apps"] = std::move(apps);
      for (const auto& kv : r.facts) facts[kv.key()] = kv.value();
      for (const auto& k : r.removed) facts.erase(k);
    }
    apply_facts(d, facts);
    d.last_seen = now;
    if (d.first_seen > now) d.first_seen = now;
    FW_TRY_STATUS(validate(d));
    FW_TRY_STATUS(tx.put_device(d));
    rec["last_seq"] = r.seq;
    rec["last_checkin"] = to_unix(now);
    FW_TRY_STATUS(tx.put_setting(key(kDeviceKey, r.device_id), json::serialize(rec)));
    return answer(r.seq);
  }

  Status apply_batch(const std::vector<Pending*>& batch) {
    Time now = clock.now();
    return store.write([&](store::Tx& tx) -> Status {
      for (Pending* p : batch) p->result = apply(tx, p->report, now);
      return {};
    });
  }

  void run_writer() {
    for (;;) {
      std::vector<Pending*> batch;
      {
        std::unique_lock lk(mu);
        cv.wait(lk, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) return;  // stopping, and every queued check-in was answered
        while (!queue.empty() && batch.size() < lim.max_batch) {
          batch.push_back(queue.front());
          queue.pop_front();
        }
      }
      Status st = apply_batch(batch);
      if (!st && batch.size() > 1) {
        // One report made the transaction fail: apply each alone, so only that one fails.
        for (Pending* p : batch) {
          Status one = apply_batch({p});
          if (!one) p->result = fail(one.error());
          else ++n_batches;
        }
      } else if (!st) {
        batch.front()->result = fail(st.error());
      } else {
        ++n_batches;
      }
      for (Pending* p : batch) {
        if (p->result) ++n_checkins;
        p->done.set_value(std::move(p->result));
      }
    }
  }

  Result<std::string> device_for_credential(std::string_view bearer) {
    if (bearer.empty() || bearer.size() > 256) return fail(Errc::unauthenticated, "missing or malformed device credential", "Authorization");
    std::string h = sha256_hex(bearer);
    {
      std::lock_guard lk(cred_mu);
      if (auto it = cred_cache.find(h); it != cred_cache.end()) return it->second;
    }
    std::string dev;
    FW_TRY_STATUS(store.read([&](store::Tx& tx) -> Status {
      auto v = tx.get_setting(key(kCredKey, h));
      if (!v) {
        if (v.error().code == Errc::not_found) return fail(Errc::unauthenticated, "unknown device credential", "Authorization");
        return fail(v.error());
      }
      dev = *v;
      return {};
    }));
    std::lock_guard lk(cred_mu);
    cred_cache[h] = dev;
    return dev;
  }
};

AgentService::AgentService(store::Store& store, const Clock& clock, AgentLimits limits)
    : impl_(std::make_unique<Impl>(store, clock, limits)) {}

AgentService::~AgentService() = default;

AgentService::Stats AgentService::stats() const {
  return Stats{impl_->n_checkins.load(), impl_->n_batches.load(), impl_->n_duplicates.load()};
}

Result<NewEnrollSecret> AgentService::create_enroll_secret(std::string_view actor, std::string_view org_unit_path,
                                                           Time expires_at, int64_t max_uses) {
  Time now = impl_->clock.now();
  if (expires_at <= now) return fail(Errc::invalid_argument, "must be in the future", "expires_at");
  if (max_uses < 1 || max_uses > 1'000'000) return fail(Errc::invalid_argument, "must be 1..1000000", "max_uses");
  NewEnrollSecret out;
  out.secret = "es_" + random_hex(24);
  out.org_unit_path = std::string(org_unit_path);
  out.expires_at = expires_at;
  out.max_uses = max_uses;
  std::string h = sha256_hex(out.secret);
  FW_TRY_STATUS(impl_->store.write([&](store::Tx& tx) -> Status {
    FW_TRY(auto unit, tx.get_org_unit_by_path(org_unit_path));
    json::object rec{{"org_unit_path", unit.path}, {"expires_at", to_unix(expires_at)}, {"uses_left", max_uses},
                     {"created_by", std::string(actor)}, {"created_at", to_unix(now)}};
    FW_TRY_STATUS(tx.put_setting(key(kSecretKey, h), json::serialize(rec)));
    model::AuditEvent e;
    e.at = now;
    e.actor = std::string(actor);
    e.action = "agent.enroll_secret.create";
    e.entity = "enroll-secret/" + h.substr(0, 16);
    e.after_json = json::serialize(json::object{{"org_unit_path", unit.path},
                                                {"expires_at", format_time(expires_at)},
                                                {"max_uses", max_uses}});
    FW_TRY(auto ev, tx.append_audit(std::move(e)));
    (void)ev;
    return {};
  }));
  return out;
}

Result<json::object> AgentService::enroll(std::string_view body) {
  FW_TRY(auto o, parse_object(body, impl_->lim));
  if (auto* p = o.if_contains("protocol"); p && !(p->is_int64() && p->get_int64() == 1))
    return fail(Errc::invalid_argument, "unsupported protocol version (this server speaks 1)", "protocol");
  FW_TRY(auto secret, req_string(o, "enroll_secret", 256));
  FW_TRY(auto hwid, req_string(o, "hardware_id", 128));
  std::string hostname = field_text(opt_string(o, "hostname"), 256);
  std::string family = opt_string(o, "os_family");
  Time now = impl_->clock.now();
  std::string device_id = new_id("dev");
  std::string credential = "dc_" + random_hex(32);
  FW_TRY_STATUS(impl_->store.write([&](store::Tx& tx) -> Status {
    std::string skey = key(kSecretKey, sha256_hex(secret));
    auto rec_text = tx.get_setting(skey);
    if (!rec_text) {
      if (rec_text.error().code == Errc::not_found) return fail(Errc::unauthenticated, "enrolment secret unknown", "enroll_secret");
      return fail(rec_text.error());
    }
    FW_TRY(auto recv, parse_json(*rec_text));
    if (!recv.is_object()) return fail(Errc::internal, "damaged enrolment secret record");
    auto& rec = recv.get_object();
    int64_t expires = rec.contains("expires_at") && rec["expires_at"].is_int64() ? rec["expires_at"].get_int64() : 0;
    int64_t uses = rec.contains("uses_left") && rec["uses_left"].is_int64() ? rec["uses_left"].get_int64() : 0;
    if (to_unix(now) >= expires) return fail(Errc::unauthenticated, "enrolment secret expired", "enroll_secret");
    if (uses <= 0) return fail(Errc::unauthenticated, "enrolment secret used up", "enroll_secret");
    rec["uses_left"] = uses - 1;
    FW_TRY_STATUS(tx.put_setting(skey, json::serialize(rec)));
    model::Device d;
    d.id = device_id;
    d.source = model::DeviceSource::agent;
    d.managed = true;
    d.os_family = is_canonical_os_family(family) ? family : "Other";
    d.first_seen = d.last_seen = now;
    d.facts_json = json::serialize(json::object{{"hostname", hostname}});
    FW_TRY(auto created, put_device(tx, Change{"agent:" + device_id, now}, std::move(d), PutMode::create));
    (void)created;
    FW_TRY_STATUS(tx.put_setting(key(kCredKey, sha256_hex(credential)), device_id));
    json::object drec{{"last_seq", 0},
                      {"revoked", false},
                      {"org_unit_path", opt_string(rec, "org_unit_path")},
                      {"hardware_id", hwid},
                      {"enrolled_at", to_unix(now)}};
    return tx.put_setting(key(kDeviceKey, device_id), json::serialize(drec));
  }));
  return json::object{{"device_id", device_id}, {"credential", credential},
                      {"checkin_interval_s", impl_->lim.checkin_interval_s}};
}

Result<json::object> AgentService::checkin(std::string_view bearer, std::string_view body) {
  FW_TRY(auto device, impl_->device_for_credential(bearer));
  FW_TRY(auto report, parse_report(body, impl_->lim));
  if (report.device_id != device)
    return fail(Errc::unauthenticated, "device_id does not belong to this credential", "device_id");
  if (!impl_->rate.allow(device, double(to_unix(impl_->clock.now()))))
    return fail(Errc::rate_limited, "too many check-ins from this device; retry later");
  Impl::Pending p;
  p.report = std::move(report);
  auto fut = p.done.get_future();
  {
    std::lock_guard lk(impl_->mu);
    if (impl_->stopping) return fail(Errc::unavailable, "server is shutting down");
    impl_->queue.push_back(&p);
  }
  impl_->cv.notify_one();
  return fut.get();
}

}  // namespace fw::service
