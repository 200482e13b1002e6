// Agent enrolment and check-in with a group-commit writer (see checkin.h).
// Threads: any caller thread validates and enqueues; the one writer thread owns every
// store write of check-ins and calls each Pending's `done` once, after its batch ended.
// cred_mu guards the credential cache; mu guards the queue; state_mu the writer's copy of
// agent_devices (see AgentState).
#include "service/checkin.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "model/model.h"
#include "service/crypto.h"
#include "service/inventory.h"
#include "service/model_json.h"
#include "util/strings.h"

namespace fw::service {

namespace json = boost::json;

namespace {

// ---- limits on outside JSON ----

// The path of a value, built only when an error needs it (the hot path allocates nothing).
struct PathPart {
  const PathPart* parent;
  std::string_view key;  // object member, or "" for an array element
  size_t index;
};

std::string path_text(const PathPart* p) {
  std::vector<const PathPart*> parts;
  for (; p; p = p->parent) parts.push_back(p);
  std::string out;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    if ((*it)->key.empty()) {
      out += '[';
      out += std::to_string((*it)->index);
      out += ']';
    } else {
      if (!out.empty()) out += '.';
      out += (*it)->key;
    }
  }
  return out;
}

Status check_limits(const json::value& v, const AgentLimits& lim, const PathPart* where, int depth) {
  if (depth > lim.max_depth)
    return fail(Errc::invalid_argument, "nested deeper than " + std::to_string(lim.max_depth), path_text(where));
  if (v.is_string()) {
    if (v.get_string().size() > lim.max_string)
      return fail(Errc::too_large, "string longer than " + std::to_string(lim.max_string) + " bytes", path_text(where));
  } else if (v.is_array()) {
    size_t i = 0;
    for (const auto& e : v.get_array()) {
      PathPart here{where, {}, i++};
      FW_TRY_STATUS(check_limits(e, lim, &here, depth + 1));
    }
  } else if (v.is_object()) {
    for (const auto& kv : v.get_object()) {
      if (kv.key().size() > 256) return fail(Errc::too_large, "key longer than 256 bytes", path_text(where));
      PathPart here{where, kv.key(), 0};
      FW_TRY_STATUS(check_limits(kv.value(), lim, &here, depth + 1));
    }
  }
  return {};
}

Result<json::object> parse_object(std::string_view body, const AgentLimits& lim) {
  if (body.size() > lim.max_body) return fail(Errc::too_large, "body larger than " + std::to_string(lim.max_body) + " bytes");
  FW_TRY(auto v, parse_json(body, JsonLimits{lim.max_body, lim.max_depth + 1}));
  if (!v.is_object()) return fail(Errc::invalid_argument, "body must be a JSON object");
  FW_TRY_STATUS(check_limits(v, lim, nullptr, 1));
  return std::move(v.get_object());
}

// A check-in body is parsed on the I/O thread into per-thread memory that every parse on
// the thread reuses (the parser's own stack, and a 64 KiB buffer for the tree under a
// monotonic resource), so a small report allocates almost nothing; parse_report copies out
// what outlives it. Errors as parse_json's (service/model_json.h), for the same limits.
Result<json::value> parse_reused(std::string_view body, const AgentLimits& lim, json::storage_ptr sp) {
  if (body.size() > lim.max_body) return fail(Errc::too_large, "body larger than " + std::to_string(lim.max_body) + " bytes");
  const int max_depth = lim.max_depth + 1;
  thread_local std::optional<json::stream_parser> parser;
  thread_local int parser_depth = 0;
  if (!parser || parser_depth != max_depth) {
    json::parse_options opt;
    opt.max_depth = static_cast<std::size_t>(max_depth);
    parser.emplace(json::storage_ptr(), opt);
    parser_depth = max_depth;
  }
  json::stream_parser& p = *parser;
  p.reset(std::move(sp));
  boost::system::error_code ec;
  std::size_t n = p.write_some(body.data(), body.size(), ec);
  if (!ec && n == body.size()) p.finish(ec);
  if (ec) {
    p.reset();
    if (ec == json::error::too_deep)
      return fail(Errc::invalid_argument, "JSON nesting deeper than " + std::to_string(max_depth) + " levels",
                  "byte " + std::to_string(n));
    return fail(Errc::parse_error, "malformed JSON: " + ec.message(), "byte " + std::to_string(n));
  }
  for (std::size_t i = n; i < body.size(); ++i) {
    char c = body[i];
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
      p.reset();
      return fail(Errc::parse_error, "malformed JSON: extra data after the value", "byte " + std::to_string(i));
    }
  }
  return p.release();
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
// The app list is mapped only when `with_apps` (a delta without "apps" keeps the stored rows).
void apply_facts(model::Device& d, const json::object& facts, bool with_apps = true) {
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
  if (auto* apps = facts.if_contains("apps"); with_apps && apps && apps->is_array()) {
    d.apps.reserve(apps->get_array().size());
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

// agent_devices.facts_hash: "<fnv of facts_json>:<fnv of the app list>" in hex. A change
// detector for the device's own reports, not a security check (a collision only skips one
// rewrite of the reporting device's own row).
std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}
uint64_t apps_hash(const std::vector<model::App>& apps) {
  uint64_t h = kFnv1aSeed;
  for (const auto& a : apps) {
    h = fnv1a64(a.id, h);
    h = fnv1a64(std::string_view("\x1f", 1), h);
    h = fnv1a64(a.name, h);
    h = fnv1a64(std::string_view("\x1f", 1), h);
    h = fnv1a64(a.version, h);
    h = fnv1a64(std::string_view("\x1e", 1), h);
  }
  return h;
}
std::string facts_hash_text(uint64_t rest, uint64_t apps) { return hex64(rest) + ":" + hex64(apps); }
// The two halves of a stored facts_hash; false for "" (no report yet) or another format
// (then the next report rewrites everything, as for a first one).
bool parse_facts_hash(std::string_view text, uint64_t& rest, uint64_t& apps) {
  if (text.size() != 33 || text[16] != ':') return false;
  auto a = std::from_chars(text.data(), text.data() + 16, rest, 16);
  auto b = std::from_chars(text.data() + 17, text.data() + 33, apps, 16);
  return a.ec == std::errc() && a.ptr == text.data() + 16 && b.ec == std::errc() && b.ptr == text.data() + 33;
}

// What the writer needs of a device's agent_devices row to apply a check-in. The writer is
// the only writer of these columns in this process but for queue_command and revoke, which
// drop the device's copy inside their own transaction (see Impl::drop_state).
struct AgentState {
  int64_t last_seq = 0;
  Time seen_at{};
  uint64_t rest_hash = 0, apps_hash = 0;
  bool has_facts = false;  // a report was stored (facts_hash not "")
  bool has_commands = false;
  bool revoked = false;
};

AgentState state_of(const store::AgentDevice& ad) {
  AgentState st;
  st.last_seq = ad.last_seq;
  st.seen_at = ad.seen_at;
  st.has_facts = parse_facts_hash(ad.facts_hash, st.rest_hash, st.apps_hash);
  if (!st.has_facts && !ad.facts_hash.empty()) st.has_facts = true, st.rest_hash = st.apps_hash = 0;
  st.has_commands = ad.has_commands;
  st.revoked = ad.revoked_at.has_value();
  return st;
}

struct Result1 {  // one command result from a report
  std::string id;
  bool ok = false;
  std::string json;
};

struct Report {
  std::string device_id;
  int64_t seq = 0;
  bool full = false;
  int64_t base_seq = 0;
  json::object facts;              // delta: the changed keys
  std::vector<std::string> removed;
  std::vector<Result1> results;
  model::Device mapped;            // full: the facts mapped and validated on the caller's thread
  bool full_has_apps = true;       // full: false when "apps" is missing (facts.apps_error): keep the stored list
};

constexpr std::string_view kResultStatuses[] = {"ok", "failed", "timeout", "not_configured", "rejected"};

Result<Report> parse_report(std::string_view body, const AgentLimits& lim) {
  constexpr size_t kScratch = 64 * 1024;
  thread_local std::unique_ptr<unsigned char[]> scratch(new unsigned char[kScratch]);
  json::monotonic_resource mr(scratch.get(), kScratch);  // declared before the tree it holds
  FW_TRY(json::value v, parse_reused(body, lim, json::storage_ptr(&mr)));
  if (!v.is_object()) return fail(Errc::invalid_argument, "body must be a JSON object");
  FW_TRY_STATUS(check_limits(v, lim, nullptr, 1));
  const json::object& o = v.get_object();
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
  auto* facts_v = o.if_contains("facts");
  if (!facts_v || !facts_v->is_object()) return fail(Errc::invalid_argument, "must be an object", "facts");
  const json::object& facts = facts_v->get_object();
  if (auto* apps = facts.if_contains("apps")) {
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
    size_t i = 0;
    for (const auto& e : cr->get_array()) {
      std::string where = "command_results[" + std::to_string(i++) + "]";
      if (!e.is_object()) return fail(Errc::invalid_argument, "must be an object", where);
      Result1 res;
      auto id = req_string(e.get_object(), "id", 64);
      if (!id) return fail(Errc::invalid_argument, id.error().message, where + ".id");
      auto st = req_string(e.get_object(), "status", 32);
      if (!st) return fail(Errc::invalid_argument, st.error().message, where + ".status");
      bool known = false;
      for (auto k : kResultStatuses) known = known || k == *st;
      if (!known) return fail(Errc::invalid_argument, "unknown status \"" + *st + "\"", where + ".status");
      res.id = std::move(*id);
      res.ok = *st == "ok";
      res.json = json::serialize(e);
      r.results.push_back(std::move(res));
    }
  }
  // A full report must map onto a valid device now, so the writer never meets a bad one;
  // a delta's changed keys are copied out of the per-thread memory for the writer.
  if (r.full) {
    r.mapped.id = r.device_id;
    apply_facts(r.mapped, facts);
    r.full_has_apps = facts.contains("apps");
    FW_TRY_STATUS(validate(r.mapped));
  } else if (!facts.empty()) {
    r.facts = json::object(facts, json::storage_ptr());
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

constexpr std::string_view kCommandTypes[] = {"refresh", "message", "remove-app", "install-app", "lock", "wipe"};
constexpr size_t kMaxAnswerCommands = 100;  // the agent refuses answers with more
constexpr size_t kMaxCredCache = 2'000'000;  // entries (~150 MB at most); cleared when full

json::object command_json(const store::AgentCommand& c) {
  json::object o{{"id", c.id}, {"type", c.type}};
  auto args = parse_json(c.payload_json);
  o["args"] = (args && args->is_object()) ? std::move(*args) : json::value(json::object());
  return o;
}

// The writer's timings over a window of batches, logged (info) every kWindow and at stop:
// batch sizes, the time spent applying the batch (SQL), committing it (BEGIN, the store's
// write lock and COMMIT with its WAL fsync) and handing out the answers (the `done`
// callbacks), the share of the window the writer was busy, and how long check-ins waited in
// the queue before their batch started. Writer thread only.
class WriterTimings {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr auto kWindow = std::chrono::seconds(5);

  void batch(size_t items, Clock::duration apply, Clock::duration commit, Clock::duration ack,
             const std::vector<Clock::duration>& waits) {
    if (batches_ == 0) start_ = Clock::now() - apply - commit - ack;
    ++batches_;
    items_ += items;
    max_items_ = std::max(max_items_, items);
    apply_ += apply;
    ack_ += ack;
    commit_us_.push_back(us(commit));
    for (auto w : waits) waits_.push_back(us(w));
    if (Clock::now() - start_ >= kWindow) flush();
  }
  // The check-in log's work in a committed batch: heartbeats appended, devices folded into
  // agent_devices, log rows deleted.
  void log_step(size_t logged, size_t folded, int64_t deleted) {
    logged_ += logged;
    folded_ += folded;
    deleted_ += uint64_t(deleted);
  }
  // Logs the window (if it holds a batch) and starts a new one.
  void flush() {
    if (batches_ == 0) return;
    double secs = std::chrono::duration<double>(Clock::now() - start_).count();
    uint64_t commit_sum = 0;
    for (auto c : commit_us_) commit_sum += c;
    double apply_ms = std::chrono::duration<double, std::milli>(apply_).count();
    double ack_ms = std::chrono::duration<double, std::milli>(ack_).count();
    double busy = (apply_ms + commit_sum / 1000.0 + ack_ms) / (secs * 1000.0);
    uint32_t c50 = pct(commit_us_, 0.50), c99 = pct(commit_us_, 0.99), cmax = pct(commit_us_, 1.0);
    uint32_t w50 = pct(waits_, 0.50), w99 = pct(waits_, 0.99);
    spdlog::info("check-in writer: {:.1f} s: {} batches, {} items ({:.0f}/s), batch mean {:.0f} max {}; "
                 "apply mean {:.2f} ms; commit mean {:.2f} p50 {:.2f} p99 {:.2f} max {:.2f} ms; "
                 "answers mean {:.2f} ms; busy {:.0f}%; queue wait p50 {:.2f} p99 {:.2f} ms; "
                 "heartbeats logged {}, folded {}, log rows deleted {}",
                 secs, batches_, items_, items_ / secs, double(items_) / batches_, max_items_, apply_ms / batches_,
                 commit_sum / 1000.0 / batches_, c50 / 1000.0, c99 / 1000.0, cmax / 1000.0, ack_ms / batches_,
                 busy * 100, w50 / 1000.0, w99 / 1000.0, logged_, folded_, deleted_);
    batches_ = items_ = max_items_ = 0;
    logged_ = folded_ = deleted_ = 0;
    apply_ = ack_ = {};
    commit_us_.clear();
    waits_.clear();
  }

 private:
  static uint32_t us(Clock::duration d) {
    auto v = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
    return v < 0 ? 0u : uint32_t(std::min<int64_t>(v, UINT32_MAX));
  }
  static uint32_t pct(std::vector<uint32_t>& v, double q) {
    if (v.empty()) return 0;
    size_t k = std::min(v.size() - 1, size_t(q * double(v.size())));
    std::nth_element(v.begin(), v.begin() + ptrdiff_t(k), v.end());
    return v[k];
  }
  Clock::time_point start_{};
  uint64_t batches_ = 0, items_ = 0, logged_ = 0, folded_ = 0, deleted_ = 0;
  size_t max_items_ = 0;
  Clock::duration apply_{}, ack_{};
  std::vector<uint32_t> commit_us_, waits_;
};

}  // namespace

struct AgentService::Impl {
  store::Store& store;
  const Clock& clock;
  AgentLimits lim;
  RateLimiter rate;

  // An enrolment, checked on the caller's thread and written by the writer (in the batch
  // of check-ins and other enrolments, so many devices enrol per transaction).
  struct Enrolment {
    std::string secret_hash, hardware_id, hostname, family;
    std::string device_id, credential;  // new, made on the caller's thread
  };
  struct Pending {
    bool is_enrolment = false;
    Enrolment enrolment;   // is_enrolment
    Report report;         // else
    Result<json::object> result = fail(Errc::internal, "not processed");
    bool changed = false;  // the device's facts changed (for on_committed)
    CheckinDone done;
    WriterTimings::Clock::time_point queued{};  // set by enqueue
  };
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::unique_ptr<Pending>> queue;  // guarded by mu
  bool stopping = false;                       // guarded by mu
  std::atomic<uint64_t> n_checkins{0}, n_batches{0}, n_duplicates{0}, n_unchanged{0}, n_enrolments{0};
  std::mutex cred_mu;
  std::unordered_map<std::string, std::string> cred_cache;  // credential hash -> device id; guarded by cred_mu
  std::function<void(const std::vector<std::string>&)> on_committed;  // set before traffic

  // The writer's copy of agent_devices (SQLite only, where this process's one writer
  // connection makes every in-process write pass through the store's write lock, and
  // PRAGMA data_version reveals commits by other processes: the copy is dropped then). A
  // heartbeat then costs one UPDATE and no SELECT. Entries are merged after their batch
  // committed, unless queue_command/revoke dropped a device meanwhile (state_epoch moved).
  // On PostgreSQL (several server nodes may share the database) every check-in reads the row.
  const bool keep_state;
  std::mutex state_mu;
  std::unordered_map<std::string, AgentState> state;  // guarded by state_mu
  uint64_t state_epoch = 0;                            // guarded by state_mu
  int64_t data_version = -1;                           // writer thread only
  static constexpr size_t kMaxState = 2'000'000;       // entries (~150 bytes each); cleared when full
  using Staged = std::unordered_map<std::string_view, AgentState>;  // a batch's new states
  // The check-in log (SQLite, with keep_state; migration 0013). A heartbeat — a check-in
  // that changes nothing but last_seq and last_checkin: no fact, no seen_at refresh, no
  // command or result — is appended to agent_checkin_log instead of rewriting its device's
  // agent_devices row (~80 rows per page on consecutive pages instead of one page per
  // device). The writer folds the log into agent_devices from memory: every
  // AgentLimits::log_fold_period_ms it
  // cuts the devices logged since the last cut (`unfolded`) into `folding`, sorted by device
  // id, and folds a chunk of them into their rows in each batch transaction (sorted, so a
  // chunk touches few pages); when a cut is folded, the log rows up to its high id are
  // deleted, a chunk per batch. In its first batch (a log left by a crash) and at stop (if
  // it ran a batch) the writer folds the whole log in SQL. Fold = the larger of the row's and the log's last_seq / last_checkin, so order
  // against direct row updates does not matter. Writer thread only; the values change only
  // after the transaction that wrote them committed (a failed batch leaves them as they were).
  struct Beat {
    int64_t seq = 0;
    Time at{};
  };
  bool log_started = false;     // the log was folded when this writer started
  int64_t log_next_id = 1;      // the next log row's id
  std::unordered_map<std::string, Beat> unfolded;        // logged since the last cut
  std::vector<std::pair<std::string, Beat>> folding;     // the cut being folded, by device id
  size_t fold_pos = 0;          // folding[0, fold_pos) is folded
  int64_t fold_high = 0;        // the largest log id the cut covers
  int64_t log_deletable = 0;    // log ids <= this are folded
  int64_t log_deleted = 0;      // log ids <= this are deleted
  std::chrono::steady_clock::time_point last_cut = std::chrono::steady_clock::now();
  std::vector<store::AgentHeartbeat> batch_beats;  // the running transaction's heartbeats

  // The device's newest logged seq/time not yet folded into its row (seq 0: none).
  Beat logged_beat(const std::string& device_id) const {
    Beat b;
    if (auto it = unfolded.find(device_id); it != unfolded.end()) b = it->second;
    auto it = std::lower_bound(folding.begin(), folding.end(), device_id,
                               [](const auto& e, const std::string& k) { return e.first < k; });
    if (it != folding.end() && it->first == device_id && it->second.seq > b.seq) b = it->second;
    return b;
  }

  WriterTimings timings;  // writer thread only
  WriterTimings::Clock::duration last_apply{};  // of the last apply_batch: SQL until COMMIT (writer thread)
  std::thread writer;

  Impl(store::Store& s, const Clock& c, AgentLimits l)
      : store(s), clock(c), lim(l), rate(l.rate_per_s, l.burst), keep_state(s.backend() == "sqlite") {
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

  void forget_device(std::string_view device_id) {
    std::lock_guard lk(cred_mu);
    std::erase_if(cred_cache, [&](const auto& kv) { return kv.second == device_id; });
  }

  // Drops the writer's copy of a device's agent row. Called inside any other transaction
  // that writes agent_devices (on SQLite the batch cannot run meanwhile), so the next batch
  // reads the row and a batch that ran before does not merge its older copy.
  void drop_state(std::string_view device_id) {
    std::lock_guard lk(state_mu);
    state.erase(std::string(device_id));
    ++state_epoch;
  }

  // The device's agent state: this batch's own newer one, the kept copy, or the row.
  // unauthenticated when the device is not enrolled.
  Result<AgentState> agent_state(store::Tx& tx, const std::string& device_id, const Staged& staged) {
    if (auto it = staged.find(device_id); it != staged.end()) return it->second;
    if (keep_state) {
      std::lock_guard lk(state_mu);
      if (auto it = state.find(device_id); it != state.end()) return it->second;
    }
    auto agent = tx.get_agent_device(device_id);
    if (!agent) {
      if (agent.error().code == Errc::not_found) return fail(Errc::unauthenticated, "device is not enrolled");
      return fail(agent.error());
    }
    AgentState st = state_of(*agent);
    if (keep_state) st.last_seq = std::max(st.last_seq, logged_beat(device_id).seq);  // the row may lag the log
    return st;
  }

  // The answer: ack, interval, and the device's open commands (queued ones become sent).
  // has_commands false (the agent row says none were queued since the last empty answer):
  // no lookup. *open_count: the commands in the answer.
  Result<json::object> answer(store::Tx& tx, const Report& r, Time now, bool write, bool has_commands,
                              size_t* open_count = nullptr) {
    json::object a;
    a["ack_seq"] = r.seq;
    a["next_checkin_s"] = lim.checkin_interval_s;
    a["full_report"] = false;
    json::array cmds;
    if (!has_commands) {
      a["commands"] = std::move(cmds);
      if (open_count) *open_count = 0;
      return a;
    }
    FW_TRY(auto open, tx.list_agent_commands(r.device_id, /*open_only=*/true, int(kMaxAnswerCommands)));
    if (open_count) *open_count = open.size();
    for (auto& c : open) {
      if (write && c.state == "queued") {
        c.state = "sent";
        c.sent_at = now;
        FW_TRY_STATUS(tx.put_agent_command(c));
      }
      cmds.push_back(command_json(c));
    }
    a["commands"] = std::move(cmds);
    return a;
  }

  // Applies one report inside the batch transaction. Logical refusals (duplicate, conflict,
  // revoked) are found by reads before any write, so they never doom the transaction.
  Result<json::object> apply(store::Tx& tx, Pending& p, Time now, Staged& staged) {
    if (p.is_enrolment) return apply_enrolment(tx, p.enrolment, now);
    const Report& r = p.report;
    FW_TRY(AgentState st, agent_state(tx, r.device_id, staged));
    if (st.revoked) return fail(Errc::unauthenticated, "device credential revoked");
    if (r.seq <= st.last_seq) {
      ++n_duplicates;
      return answer(tx, r, now, /*write=*/false, st.has_commands);
    }
    if (!r.full && r.base_seq != st.last_seq)
      return fail(Errc::conflict, "delta base_seq " + std::to_string(r.base_seq) + " does not match the last stored report " +
                                      std::to_string(st.last_seq) + "; send a full report",
                  "base_seq");
    if (!r.full && !st.has_facts)
      return fail(Errc::conflict, "no stored facts for this device; send a full report", "kind");

    // What changed: compare hashes of the mapped facts with the stored ones.
    store::AgentReportWrite w;
    model::Device merged;
    const model::Device* d = &r.mapped;
    uint64_t new_rest = st.rest_hash, new_apps = st.apps_hash;  // a heartbeat
    if (r.full) {
      new_rest = fnv1a64(r.mapped.facts_json);
      if (r.full_has_apps || !st.has_facts) new_apps = apps_hash(r.mapped.apps);
    } else if (!r.facts.empty() || !r.removed.empty()) {
      FW_TRY(auto old_text, tx.get_device_facts_json(r.device_id));
      FW_TRY(auto old, parse_json(old_text));
      json::object facts = old.is_object() ? std::move(old.get_object()) : json::object();
      bool apps_in = r.facts.contains("apps");
      bool apps_removed = false;
      for (const auto& kv : r.facts) facts[kv.key()] = kv.value();
      for (const auto& k : r.removed) {
        facts.erase(k);
        apps_removed = apps_removed || k == "apps";
      }
      merged.id = r.device_id;
      apply_facts(merged, facts, apps_in);
      FW_TRY_STATUS(validate(merged));
      d = &merged;
      new_rest = fnv1a64(merged.facts_json);
      if (apps_in || apps_removed) new_apps = apps_hash(merged.apps);
    }
    w.device = d;
    w.facts_changed = !st.has_facts || new_rest != st.rest_hash;
    w.apps_changed = !st.has_facts || new_apps != st.apps_hash;
    w.touch_seen = now - st.seen_at >= std::chrono::seconds(60);
    p.changed = w.facts_changed || w.apps_changed;
    if (p.changed || w.touch_seen) {
      // not_found: the device was deleted since its state was kept (the rows cascade).
      if (auto done = tx.apply_agent_report(w, r.device_id, now); !done)
        return done.error().code == Errc::not_found ? fail(Errc::unauthenticated, "device is not enrolled")
                                                    : fail(done.error());
      if (w.facts_changed || w.touch_seen) st.seen_at = now;
    }
    // Command results: idempotent by id; only this device's open commands take one.
    for (const auto& res : r.results) {
      auto c = tx.get_agent_command(res.id);
      if (!c) {
        if (c.error().code == Errc::not_found) continue;
        return fail(c.error());
      }
      if (c->device_id != r.device_id || (c->state != "queued" && c->state != "sent")) continue;
      c->state = res.ok ? "done" : "failed";
      c->finished_at = now;
      c->result_json = res.json;
      FW_TRY_STATUS(tx.put_agent_command(*c));
    }
    size_t open = 0;
    FW_TRY(auto a, answer(tx, r, now, /*write=*/true, st.has_commands || !r.results.empty(), &open));
    store::AgentDevice ad;
    ad.device_id = r.device_id;
    ad.has_commands = open > 0;
    ad.last_seq = r.seq;
    ad.last_checkin = now;
    ad.seen_at = st.seen_at;
    ad.facts_hash = facts_hash_text(new_rest, new_apps);
    if (keep_state && !p.changed && !w.touch_seen && r.results.empty() && open == 0 && !st.has_commands) {
      // A heartbeat: only last_seq and last_checkin change; appended to the log, folded later.
      batch_beats.push_back(store::AgentHeartbeat{0, r.device_id, r.seq, now});
    } else if (auto done = tx.update_agent_device_report(ad); !done) {
      return done.error().code == Errc::not_found ? fail(Errc::unauthenticated, "device is not enrolled")
                                                  : fail(done.error());
    }
    if (!p.changed) ++n_unchanged;
    st.last_seq = r.seq;
    st.has_commands = ad.has_commands;
    st.rest_hash = new_rest;
    st.apps_hash = new_apps;
    st.has_facts = true;
    staged[r.device_id] = st;
    return a;
  }

  // One enrolment inside the batch transaction. The secret's row is read in this transaction
  // (and written by this one thread), so its use limit is exact however many enrolments
  // share a batch or race. Refusals are found by reads before any write.
  Result<json::object> apply_enrolment(store::Tx& tx, const Enrolment& en, Time now) {
    auto sec = tx.get_agent_secret(en.secret_hash);
    if (!sec) {
      if (sec.error().code == Errc::not_found) return fail(Errc::unauthenticated, "enrolment secret unknown", "enroll_secret");
      return fail(sec.error());
    }
    if (now >= sec->expires_at) return fail(Errc::unauthenticated, "enrolment secret expired", "enroll_secret");
    if (sec->used >= sec->max_uses) return fail(Errc::unauthenticated, "enrolment secret used up", "enroll_secret");
    ++sec->used;
    FW_TRY_STATUS(tx.put_agent_secret(*sec));
    model::Device d;
    d.id = en.device_id;
    d.source = model::DeviceSource::agent;
    d.org_unit_path = sec->org_unit_path;  // no owner is known: the device is in the secret's unit
    d.managed = true;
    d.os_family = is_canonical_os_family(en.family) ? en.family : "Other";
    d.first_seen = d.last_seen = now;
    d.facts_json = json::serialize(json::object{{"hostname", en.hostname}});
    FW_TRY(auto created, put_device(tx, Change{"agent:" + en.device_id, now}, std::move(d), PutMode::create));
    (void)created;
    store::AgentDevice ad;
    ad.device_id = en.device_id;
    ad.hardware_id = en.hardware_id;
    ad.org_unit_path = sec->org_unit_path;
    ad.enrolled_at = now;
    ad.seen_at = now;
    FW_TRY_STATUS(tx.put_agent_device(ad));
    FW_TRY_STATUS(tx.put_agent_credential(sha256_hex(en.credential), en.device_id, now));
    return json::object{{"device_id", en.device_id}, {"credential", en.credential},
                        {"checkin_interval_s", lim.checkin_interval_s}};
  }

  // Queues a validated request for the writer; answers "shutting down" once stopping.
  void enqueue(std::unique_ptr<Pending> p) {
    {
      std::unique_lock lk(mu);
      if (stopping) {
        lk.unlock();
        return p->done(fail(Errc::unavailable, "server is shutting down"));
      }
      p->queued = WriterTimings::Clock::now();
      queue.push_back(std::move(p));
    }
    cv.notify_one();
  }

  // One transaction for the batch; the states it wrote are kept once it committed.
  Status apply_batch(const std::vector<Pending*>& batch) {
    Time now = clock.now();
    Staged staged;
    uint64_t epoch = 0;
    if (keep_state) {
      staged.reserve(batch.size());
      std::lock_guard lk(state_mu);
      epoch = state_epoch;
    }
    // A new cut of the log when the last one is folded (memory only: every entry of
    // `unfolded` and every log id below log_next_id is committed).
    if (keep_state && log_started && fold_pos == folding.size() && !unfolded.empty() &&
        std::chrono::steady_clock::now() - last_cut >= std::chrono::milliseconds(lim.log_fold_period_ms)) {
      folding.assign(std::make_move_iterator(unfolded.begin()), std::make_move_iterator(unfolded.end()));
      std::sort(folding.begin(), folding.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      unfolded.clear();
      fold_pos = 0;
      fold_high = log_next_id - 1;
      last_cut = std::chrono::steady_clock::now();
    }
    // What the transaction did to the log; kept only once it committed.
    bool started = log_started;
    int64_t next_id = log_next_id, deleted = log_deleted, deletable = log_deletable;
    size_t fold_to = fold_pos;
    std::vector<store::AgentHeartbeat> fold_rows;
    auto t0 = WriterTimings::Clock::now();
    FW_TRY_STATUS(store.write([&](store::Tx& tx) -> Status {
      t0 = WriterTimings::Clock::now();
      staged.clear();  // a retried transaction starts again
      batch_beats.clear();
      started = log_started;
      next_id = log_next_id, deleted = log_deleted, deletable = log_deletable;
      fold_to = fold_pos;
      if (keep_state) {
        // Another process (the CLI) committed since the last batch: what is kept may be old.
        FW_TRY(int64_t v, tx.sqlite_data_version());
        if (v != data_version) {
          std::lock_guard lk(state_mu);
          state.clear();
          data_version = v;
        }
        if (!started) {  // a log left by the last run (a crash): fold it all first
          FW_TRY(int64_t high, tx.fold_agent_log_all());
          next_id = high + 1;
          deleted = deletable = high;
          started = true;
        }
      }
      for (Pending* p : batch) p->result = apply(tx, *p, now, staged);
      if (keep_state) {
        for (auto& b : batch_beats) b.id = next_id++;
        FW_TRY_STATUS(tx.log_agent_heartbeats(batch_beats));
        // Fold a chunk of the cut: as many devices as the batch has check-ins (at least 32),
        // so a cut (at most one device per heartbeat of its period) is folded in about one
        // period of the same traffic, and a small batch is not slowed down by a big chunk.
        fold_to = std::min(folding.size(), fold_pos + std::max<size_t>(32, batch.size()));
        fold_rows.clear();
        for (size_t i = fold_pos; i < fold_to; ++i)
          fold_rows.push_back(store::AgentHeartbeat{0, folding[i].first, folding[i].second.seq, folding[i].second.at});
        FW_TRY_STATUS(tx.fold_agent_heartbeats(fold_rows));
        if (fold_to == folding.size() && fold_to > 0) deletable = std::max(deletable, fold_high);
        // Delete folded rows from the head of the log, twice as fast as it grows.
        int64_t upto = std::min(deletable, deleted + int64_t(std::max<size_t>(256, 2 * batch.size())));
        FW_TRY_STATUS(tx.delete_agent_log(deleted, upto));
        deleted = std::max(deleted, upto);
      }
      last_apply = WriterTimings::Clock::now() - t0;
      return {};
    }));
    if (keep_state) {  // committed: the log's state moves on
      timings.log_step(batch_beats.size(), fold_to - fold_pos, deleted - log_deleted);
      log_started = started;
      log_next_id = next_id;
      log_deleted = deleted;
      log_deletable = deletable;
      fold_pos = fold_to;
      if (fold_pos == folding.size() && !folding.empty()) {
        folding.clear();
        fold_pos = 0;
      }
      for (const auto& b : batch_beats) {
        Beat& u = unfolded[std::string(b.device_id)];
        if (b.seq > u.seq) u = Beat{b.seq, b.at};
      }
      batch_beats.clear();
    }
    if (keep_state) {
      std::lock_guard lk(state_mu);
      if (epoch != state_epoch) {
        for (const auto& [id, st] : staged) state.erase(std::string(id));  // dropped meanwhile: read again
      } else {
        if (state.size() + staged.size() > kMaxState) state.clear();
        for (const auto& [id, st] : staged) state.insert_or_assign(std::string(id), st);
      }
    }
    return {};
  }

  // A clean stop leaves agent_devices exact: the whole log is folded in SQL.
  void fold_log_at_stop() {
    if (!keep_state || !log_started) return;
    auto done = store.write([&](store::Tx& tx) -> Status {
      FW_TRY(int64_t high, tx.fold_agent_log_all());
      (void)high;
      return {};
    });
    if (!done) spdlog::warn("check-in writer: folding the check-in log at stop: {} (folded at the next start)",
                            done.error().message);
  }

  // Group commit: every check-in queued while the previous transaction ran goes into the
  // next one (at most max_batch), so the batch grows with the load and a lone check-in
  // waits for nothing but its own commit.
  void run_writer() {
    for (;;) {
      std::vector<std::unique_ptr<Pending>> owned;
      {
        std::unique_lock lk(mu);
        // Idle for a window: log the last one now, so that it does not span the idle time.
        if (!cv.wait_for(lk, WriterTimings::kWindow, [&] { return stopping || !queue.empty(); })) {
          lk.unlock();
          timings.flush();
          continue;
        }
        if (queue.empty()) {  // stopping, and every queued check-in was answered
          lk.unlock();
          timings.flush();
          fold_log_at_stop();
          return;
        }
        while (!queue.empty() && owned.size() < lim.max_batch) {
          owned.push_back(std::move(queue.front()));
          queue.pop_front();
        }
      }
      std::vector<Pending*> batch;
      batch.reserve(owned.size());
      auto started = WriterTimings::Clock::now();
      std::vector<WriterTimings::Clock::duration> waits;
      waits.reserve(owned.size());
      for (auto& p : owned) {
        batch.push_back(p.get());
        waits.push_back(started - p->queued);
      }
      Status st = apply_batch(batch);
      auto committed = WriterTimings::Clock::now();
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
      std::vector<std::string> changed;
      for (Pending* p : batch) {
        if (p->is_enrolment) {
          if (p->result) ++n_enrolments;
        } else if (p->result) {
          ++n_checkins;
          if (p->changed) changed.push_back(p->report.device_id);
        } else if (p->result.error().code == Errc::unauthenticated) {
          forget_device(p->report.device_id);  // revoked or deleted: the next request reads the store
          if (keep_state) drop_state(p->report.device_id);
        }
      }
      if (on_committed && !changed.empty()) on_committed(changed);
      for (Pending* p : batch) p->done(std::move(p->result));
      if (st)
        timings.batch(batch.size(), last_apply, committed - started - last_apply,
                      WriterTimings::Clock::now() - committed, waits);
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
      auto v = tx.find_agent_credential(h);
      if (!v) {
        if (v.error().code == Errc::not_found) return fail(Errc::unauthenticated, "unknown or revoked device credential", "Authorization");
        return fail(v.error());
      }
      dev = *v;
      return {};
    }));
    std::lock_guard lk(cred_mu);
    if (cred_cache.size() >= kMaxCredCache) cred_cache.clear();
    cred_cache[h] = dev;
    return dev;
  }
};

AgentService::AgentService(store::Store& store, const Clock& clock, AgentLimits limits)
    : impl_(std::make_unique<Impl>(store, clock, limits)) {}

AgentService::~AgentService() = default;

AgentService::Stats AgentService::stats() const {
  return Stats{impl_->n_checkins.load(), impl_->n_batches.load(), impl_->n_duplicates.load(), impl_->n_unchanged.load(),
               impl_->n_enrolments.load()};
}

void AgentService::set_on_committed(std::function<void(const std::vector<std::string>&)> fn) {
  impl_->on_committed = std::move(fn);
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
    store::AgentSecret s{h, unit.path, std::string(actor), now, expires_at, max_uses, 0};
    FW_TRY_STATUS(tx.put_agent_secret(s));
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

void AgentService::enroll_async(std::string_view body, CheckinDone done) {
  auto o = parse_object(body, impl_->lim);
  if (!o) return done(fail(o.error()));
  if (auto* p = o->if_contains("protocol"); p && !(p->is_int64() && p->get_int64() == 1))
    return done(fail(Errc::invalid_argument, "unsupported protocol version (this server speaks 1)", "protocol"));
  auto secret = req_string(*o, "enroll_secret", 256);
  if (!secret) return done(fail(secret.error()));
  auto hwid = req_string(*o, "hardware_id", 128);
  if (!hwid) return done(fail(hwid.error()));
  auto p = std::make_unique<Impl::Pending>();
  p->is_enrolment = true;
  p->enrolment.secret_hash = sha256_hex(*secret);
  p->enrolment.hardware_id = std::move(*hwid);
  p->enrolment.hostname = field_text(opt_string(*o, "hostname"), 256);
  p->enrolment.family = opt_string(*o, "os_family");
  p->enrolment.device_id = new_id("dev");
  p->enrolment.credential = "dc_" + random_hex(32);
  p->done = std::move(done);
  impl_->enqueue(std::move(p));
}

Result<json::object> AgentService::enroll(std::string_view body) {
  std::promise<Result<json::object>> promise;
  auto fut = promise.get_future();
  enroll_async(body, [&promise](Result<json::object> r) { promise.set_value(std::move(r)); });
  return fut.get();
}

void AgentService::checkin_async(std::string_view bearer, std::string_view body, CheckinDone done) {
  auto device = impl_->device_for_credential(bearer);
  if (!device) return done(fail(device.error()));
  auto report = parse_report(body, impl_->lim);
  if (!report) return done(fail(report.error()));
  if (report->device_id != *device)
    return done(fail(Errc::unauthenticated, "device_id does not belong to this credential", "device_id"));
  if (!impl_->rate.allow(*device, double(to_unix(impl_->clock.now()))))
    return done(fail(Errc::rate_limited, "too many check-ins from this device; retry later"));
  auto p = std::make_unique<Impl::Pending>();
  p->report = std::move(*report);
  p->done = std::move(done);
  impl_->enqueue(std::move(p));
}

Result<json::object> AgentService::checkin(std::string_view bearer, std::string_view body) {
  std::promise<Result<json::object>> promise;
  auto fut = promise.get_future();
  checkin_async(bearer, body, [&promise](Result<json::object> r) { promise.set_value(std::move(r)); });
  return fut.get();
}

static Status check_command_args(std::string_view type, const json::object& args) {
  auto str = [&](const char* k, bool required, size_t max) -> Status {
    auto* v = args.if_contains(k);
    std::string where = std::string("args.") + k;
    if (!v) return required ? fail(Errc::invalid_argument, "is required", where) : Status{};
    if (!v->is_string() || v->get_string().empty() || v->get_string().size() > max)
      return fail(Errc::invalid_argument, "must be a string of 1.." + std::to_string(max) + " bytes", where);
    return {};
  };
  std::vector<std::string_view> allowed;
  if (type == "message") {
    FW_TRY_STATUS(str("text", true, 1024));
    allowed = {"text"};
  } else if (type == "remove-app") {
    FW_TRY_STATUS(str("app_id", true, 256));
    allowed = {"app_id"};
  } else if (type == "install-app") {
    FW_TRY_STATUS(str("app_id", true, 256));
    FW_TRY_STATUS(str("version", false, 64));
    allowed = {"app_id", "version"};
  }
  for (const auto& kv : args) {
    bool ok = false;
    for (auto a : allowed) ok = ok || a == kv.key();
    if (!ok) return fail(Errc::invalid_argument, "unknown argument for " + std::string(type), "args." + std::string(kv.key()));
  }
  return {};
}

Result<store::AgentCommand> AgentService::queue_command(std::string_view actor, bool may_lock_wipe,
                                                        std::string_view device_id, std::string_view type,
                                                        const json::object& args) {
  bool known = false;
  for (auto t : kCommandTypes) known = known || t == type;
  if (!known)
    return fail(Errc::invalid_argument, "unknown command type (refresh, message, remove-app, install-app, lock, wipe)",
                "type");
  bool destructive = type == "lock" || type == "wipe";
  if (destructive && !may_lock_wipe)
    return fail(Errc::permission_denied, "lock and wipe need an admin token", "type");
  FW_TRY_STATUS(check_command_args(type, args));
  Time now = impl_->clock.now();
  store::AgentCommand c;
  c.id = new_id("cmd");
  c.device_id = std::string(device_id);
  c.type = std::string(type);
  c.payload_json = json::serialize(args);
  c.created_by = std::string(actor);
  c.created_at = now;
  FW_TRY_STATUS(impl_->store.write([&](store::Tx& tx) -> Status {
    FW_TRY(auto ad, tx.get_agent_device(device_id));
    if (ad.revoked_at) return fail(Errc::conflict, "the device's credential is revoked", "device");
    impl_->drop_state(device_id);  // has_commands changes under the writer's copy
    FW_TRY_STATUS(tx.put_agent_command(c));
    if (!ad.has_commands) {
      ad.has_commands = true;
      FW_TRY_STATUS(tx.put_agent_device(ad));
    }
    model::AuditEvent e;
    e.at = now;
    e.actor = std::string(actor);
    e.action = destructive ? "device.command." + c.type : "device.command";
    e.entity = "device/" + c.device_id;
    e.after_json = json::serialize(json::object{{"command_id", c.id}, {"type", c.type}, {"args", args}});
    FW_TRY(auto ev, tx.append_audit(std::move(e)));
    (void)ev;
    return {};
  }));
  return c;
}

Result<std::vector<store::AgentCommand>> AgentService::list_commands(std::string_view device_id) {
  std::vector<store::AgentCommand> out;
  FW_TRY_STATUS(impl_->store.read([&](store::Tx& tx) -> Status {
    FW_TRY(auto ad, tx.get_agent_device(device_id));
    (void)ad;
    FW_TRY(out, tx.list_agent_commands(device_id, /*open_only=*/false, 1000));
    return {};
  }));
  return out;
}

Status AgentService::revoke(std::string_view actor, std::string_view device_id) {
  Time now = impl_->clock.now();
  FW_TRY_STATUS(impl_->store.write([&](store::Tx& tx) -> Status {
    impl_->drop_state(device_id);
    FW_TRY(auto n, tx.revoke_agent_device(device_id, now));
    if (n == 0) return {};  // already revoked: nothing to audit
    model::AuditEvent e;
    e.at = now;
    e.actor = std::string(actor);
    e.action = "device.revoke";
    e.entity = "device/" + std::string(device_id);
    e.after_json = json::serialize(json::object{{"credentials_revoked", n}});
    FW_TRY(auto ev, tx.append_audit(std::move(e)));
    (void)ev;
    return {};
  }));
  impl_->forget_device(device_id);
  return {};
}

}  // namespace fw::service
