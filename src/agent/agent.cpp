// Enrolment and the check-in loop of fleetward-agent (docs/agent-protocol.md).
// An Agent is driven from one thread; all I/O goes through the injected AgentDeps.
#include "agent/agent.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>

#include "util/strings.h"

namespace fw::agent {

namespace json = boost::json;

// ---- pure pieces ----

FactsDelta diff_facts(const json::object& old, const json::object& now) {
  FactsDelta d;
  for (const auto& kv : now) {
    auto* prev = old.if_contains(kv.key());
    if (!prev || *prev != kv.value()) d.changed[kv.key()] = kv.value();
  }
  // With "apps_error" the app list is unknown, not gone: the server keeps the last one.
  const bool apps_unknown = now.contains("apps_error") && !now.contains("apps");
  for (const auto& kv : old)
    if (!now.contains(kv.key()) && !(apps_unknown && kv.key() == "apps")) d.removed.emplace_back(kv.key());
  return d;
}

namespace {
constexpr size_t kMaxString = 4096;
constexpr size_t kMaxApps = 5000;

void cut_strings(json::value& v, int depth) {
  if (depth > 16) return;
  if (v.is_string()) {
    auto& s = v.get_string();
    if (s.size() > kMaxString) {
      size_t n = kMaxString;
      while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // UTF-8 boundary
      s.resize(n);
    }
  } else if (v.is_array()) {
    for (auto& e : v.get_array()) cut_strings(e, depth + 1);
  } else if (v.is_object()) {
    for (auto& kv : v.get_object()) cut_strings(kv.value(), depth + 1);
  }
}

std::string str_of(const json::object& o, const char* k) {
  auto* v = o.if_contains(k);
  return (v && v->is_string()) ? std::string(v->get_string()) : std::string();
}
}  // namespace

void apply_fact_limits(json::object& facts) {
  if (auto* apps = facts.if_contains("apps"); apps && apps->is_array() && apps->get_array().size() > kMaxApps) {
    apps->get_array().resize(kMaxApps);
    facts["apps_truncated"] = true;
  }
  for (auto& kv : facts) cut_strings(kv.value(), 0);
}

Result<CheckinAnswer> parse_checkin_answer(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return fail(Errc::parse_error, "check-in answer: " + ec.message());
  if (!v.is_object()) return fail(Errc::parse_error, "check-in answer is not an object");
  const auto& o = v.get_object();
  CheckinAnswer a;
  auto* ack = o.if_contains("ack_seq");
  if (!ack || !(ack->is_int64() || ack->is_uint64())) return fail(Errc::parse_error, "missing or not an integer", "ack_seq");
  a.ack_seq = ack->is_uint64() ? ack->get_uint64() : uint64_t(std::max<int64_t>(0, ack->get_int64()));
  if (auto* n = o.if_contains("next_checkin_s"); n && !n->is_null()) {
    if (!n->is_int64()) return fail(Errc::parse_error, "not an integer", "next_checkin_s");
    a.next_checkin_s = int(std::clamp<int64_t>(n->get_int64(), 0, 1'000'000));
  }
  if (auto* f = o.if_contains("full_report"); f && f->is_bool()) a.full_report = f->get_bool();
  if (auto* cs = o.if_contains("commands"); cs && !cs->is_null()) {
    if (!cs->is_array()) return fail(Errc::parse_error, "not an array", "commands");
    if (cs->get_array().size() > 100) return fail(Errc::too_large, "more than 100 commands", "commands");
    size_t i = 0;
    for (const auto& c : cs->get_array()) {
      std::string where = "commands[" + std::to_string(i++) + "]";
      if (!c.is_object()) return fail(Errc::parse_error, "not an object", where);
      Command cmd;
      cmd.id = str_of(c.get_object(), "id");
      cmd.type = str_of(c.get_object(), "type");
      if (cmd.id.empty() || cmd.id.size() > 128) return fail(Errc::parse_error, "missing or too long", where + ".id");
      if (auto* args = c.get_object().if_contains("args"); args && args->is_object())
        for (const auto& kv : args->get_object())
          if (kv.value().is_string()) cmd.args[std::string(kv.key())] = std::string(kv.value().get_string());
      a.commands.push_back(std::move(cmd));
    }
  }
  return a;
}

std::string error_message(long status, std::string_view body) {
  std::string msg;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (!ec && v.is_object())
    if (auto* e = v.get_object().if_contains("error"); e && e->is_object()) msg = str_of(e->get_object(), "message");
  if (msg.empty()) msg = std::string(trim(body.substr(0, 200)));
  return "HTTP " + std::to_string(status) + (msg.empty() ? "" : ": " + msg);
}

Seconds backoff_delay(int failures, double rand01, Seconds base, Seconds cap) {
  double d = double(base.count()) * std::pow(2.0, std::clamp(failures - 1, 0, 30));
  d = std::min(d, double(cap.count()));
  d *= 0.5 + 0.5 * std::clamp(rand01, 0.0, 1.0);
  return Seconds(std::max<int64_t>(1, int64_t(d)));
}

Seconds jittered_interval(int interval_s, double rand01) {
  double base = std::clamp(interval_s, 30, 86400);
  double d = base * (0.9 + 0.2 * std::clamp(rand01, 0.0, 1.0));
  return Seconds(int64_t(d));
}

// ---- the agent ----

Agent::Agent(AgentOptions opts, AgentDeps deps) : opts_(std::move(opts)), deps_(std::move(deps)) {
  while (!opts_.server.empty() && opts_.server.back() == '/') opts_.server.pop_back();
}

void Agent::log(std::string_view s) const {
  if (deps_.log) deps_.log(s);
}

Status Agent::load() {
  if (loaded_) return {};
  FW_TRY_STATUS(deps_.state_dir->ensure());
  FW_TRY(auto cred, deps_.state_dir->load_credential());
  if (cred && cred->server != opts_.server)
    return fail(Errc::invalid_argument,
                "this state directory is enrolled with " + cred->server + "; remove " + deps_.state_dir->dir() +
                    "/credential.json to enrol with " + opts_.server,
                "--server");
  FW_TRY(auto st, deps_.state_dir->load_state());
  cred_ = std::move(cred);
  state_ = std::move(st);
  loaded_ = true;
  return {};
}

Result<CycleOutcome> Agent::enroll() {
  FW_TRY_STATUS(load());
  if (cred_) return CycleOutcome::ok;
  if (opts_.enroll_secret.empty())
    return fail(Errc::invalid_argument, "not enrolled yet and no --enroll-secret given", "--enroll-secret");
  FW_TRY(auto hwid, deps_.state_dir->hardware_id(opts_.root));
  json::object facts = deps_.collect();
  json::object req;
  req["protocol"] = 1;
  req["enroll_secret"] = opts_.enroll_secret;
  req["hardware_id"] = hwid;
  req["hostname"] = str_of(facts, "hostname");
  req["agent_version"] = std::string(kAgentVersion);
  if (auto* os = facts.if_contains("os"); os && os->is_object()) req["os_family"] = str_of(os->get_object(), "family");
  auto resp = deps_.transport->post_json("/api/v1/agent/enroll", json::serialize(req), "");
  if (!resp) {
    last_error_ = resp.error().to_string();
    return CycleOutcome::retry;
  }
  long st = resp->status;
  if (st == 401 || st == 403) {
    last_error_ = error_message(st, resp->body);
    return CycleOutcome::rejected;
  }
  if (st == 429 || st >= 500 || st == 408) {
    retry_after_s_ = resp->retry_after_s;
    last_error_ = error_message(st, resp->body);
    return CycleOutcome::retry;
  }
  if (st < 200 || st > 299) return fail(Errc::invalid_argument, "enrolment refused: " + error_message(st, resp->body));
  boost::system::error_code ec;
  json::value v = json::parse(resp->body, ec);
  if (ec || !v.is_object()) return fail(Errc::parse_error, "enrolment answer is not a JSON object");
  Credential c{opts_.server, str_of(v.get_object(), "device_id"), str_of(v.get_object(), "credential")};
  if (c.device_id.empty() || c.credential.empty())
    return fail(Errc::parse_error, "enrolment answer lacks device_id or credential");
  if (auto* n = v.get_object().if_contains("checkin_interval_s"); n && n->is_int64())
    state_.interval_s = int(std::clamp<int64_t>(n->get_int64(), 30, 86400));
  FW_TRY_STATUS(deps_.state_dir->save_credential(c));
  state_.force_full = true;
  FW_TRY_STATUS(deps_.state_dir->save_state(state_));
  log("enrolled as device " + c.device_id);
  cred_ = std::move(c);
  enrol_facts_ = std::move(facts);  // the first report uses them: collected once per run --once
  return CycleOutcome::ok;
}

Status Agent::build_and_enqueue() {
  json::object facts = enrol_facts_ ? std::move(*enrol_facts_) : deps_.collect();
  enrol_facts_.reset();
  apply_fact_limits(facts);
  uint64_t seq = state_.next_seq;
  bool full = state_.force_full || !state_.have_last || state_.reports_since_full + 1 >= deps_.config.full_report_every;
  json::object r;
  r["protocol"] = 1;
  r["device_id"] = cred_->device_id;
  r["seq"] = seq;
  r["kind"] = full ? "full" : "delta";
  r["collected_at"] = format_time(deps_.clock->now());
  if (full) {
    r["facts"] = facts;
    state_.reports_since_full = 0;
    state_.force_full = false;
  } else {
    r["base_seq"] = seq - 1;
    FactsDelta d = diff_facts(state_.last_facts, facts);
    r["facts"] = std::move(d.changed);
    json::array removed;
    for (auto& k : d.removed) removed.emplace_back(k);
    r["removed"] = std::move(removed);
    ++state_.reports_since_full;
  }
  json::array results;
  for (auto& p : state_.pending) {
    results.emplace_back(to_json(p.result));
    if (p.included_in == 0) p.included_in = seq;
  }
  r["command_results"] = std::move(results);
  std::string body = json::serialize(r);
  state_.next_seq = seq + 1;
  state_.last_facts = std::move(facts);
  state_.have_last = true;
  state_.last_built_at = to_unix(deps_.clock->now());
  // State first: a crash before the queue write loses this seq, which the server detects
  // (the next delta's base_seq does not match -> 409 -> full report).
  FW_TRY_STATUS(deps_.state_dir->save_state(state_));
  FW_TRY(size_t dropped, deps_.state_dir->enqueue(seq, body, opts_.queue));
  if (dropped > 0) {
    log("report queue full: dropped the " + std::to_string(dropped) + " oldest unsent report(s)");
    state_.force_full = true;
    FW_TRY_STATUS(deps_.state_dir->save_state(state_));
  }
  return {};
}

Status Agent::handle_answer(uint64_t seq, const CheckinAnswer& a) {
  std::erase_if(state_.pending, [&](const PendingResult& p) { return p.included_in != 0 && p.included_in <= seq; });
  if (a.next_checkin_s) state_.interval_s = std::clamp(*a.next_checkin_s, 30, 86400);
  if (a.full_report) state_.force_full = true;
  for (const auto& cmd : a.commands) {
    auto done = std::find_if(state_.done.begin(), state_.done.end(), [&](const CommandResult& r) { return r.id == cmd.id; });
    if (done != state_.done.end()) {
      // Already run: report the stored result again unless it is still waiting to go out.
      bool pending = std::any_of(state_.pending.begin(), state_.pending.end(),
                                 [&](const PendingResult& p) { return p.result.id == cmd.id; });
      if (!pending) {
        state_.pending.push_back({*done, 0});
        followup_ = true;
      }
      continue;
    }
    CommandResult res = execute_command(deps_.config, cmd, *deps_.clock);
    if (cmd.type == "refresh" && res.status == "ok") state_.force_full = true;
    log("command " + cmd.id + " (" + cmd.type + "): " + res.status);
    state_.done.push_back(res);
    if (state_.done.size() > AgentState::kDoneKept) state_.done.erase(state_.done.begin());
    state_.pending.push_back({std::move(res), 0});
    followup_ = true;
  }
  return deps_.state_dir->save_state(state_);
}

Result<CycleOutcome> Agent::flush() {
  int conflicts = 0;
  for (;;) {
    FW_TRY(auto seqs, deps_.state_dir->queued());
    if (seqs.empty()) return CycleOutcome::ok;
    uint64_t seq = seqs.front();
    FW_TRY(auto body, deps_.state_dir->read_queued(seq));
    auto resp = deps_.transport->post_json("/api/v1/agent/checkin", body, cred_->credential);
    if (!resp) {
      last_error_ = resp.error().to_string();
      return CycleOutcome::retry;
    }
    long st = resp->status;
    if (st >= 200 && st <= 299) {
      auto ans = parse_checkin_answer(resp->body);
      if (!ans) {
        last_error_ = "malformed check-in answer: " + ans.error().to_string();
        return CycleOutcome::retry;  // resent later; the server treats it as a duplicate
      }
      FW_TRY_STATUS(deps_.state_dir->remove_queued(seq));
      FW_TRY_STATUS(handle_answer(seq, *ans));
      continue;
    }
    if (st == 401 || st == 403) {
      last_error_ = error_message(st, resp->body);
      return CycleOutcome::rejected;
    }
    if (st == 409) {
      if (++conflicts > 1) {
        last_error_ = error_message(st, resp->body);
        return CycleOutcome::retry;
      }
      log("server is out of step with the queued reports (" + error_message(st, resp->body) +
          "): discarding the queue, sending a full report");
      FW_TRY_STATUS(deps_.state_dir->clear_queue());
      for (auto& p : state_.pending) p.included_in = 0;
      state_.force_full = true;
      FW_TRY_STATUS(build_and_enqueue());
      continue;
    }
    if (st == 400 || st == 413 || st == 422) {
      log("server refused report " + std::to_string(seq) + ", dropping it: " + error_message(st, resp->body));
      FW_TRY_STATUS(deps_.state_dir->remove_queued(seq));
      for (auto& p : state_.pending)
        if (p.included_in == seq) p.included_in = 0;
      state_.force_full = true;
      FW_TRY_STATUS(deps_.state_dir->save_state(state_));
      followup_ = true;
      continue;
    }
    retry_after_s_ = resp->retry_after_s;
    last_error_ = error_message(st, resp->body);
    return CycleOutcome::retry;
  }
}

Result<CycleOutcome> Agent::cycle() {
  FW_TRY_STATUS(load());
  if (!cred_) return fail(Errc::invalid_argument, "not enrolled");
  FW_TRY(auto seqs, deps_.state_dir->queued());
  int64_t now = to_unix(deps_.clock->now());
  // While reports wait in the queue (server down), a new one is built once per interval.
  if (seqs.empty() || now - state_.last_built_at >= state_.interval_s)
    FW_TRY_STATUS(build_and_enqueue());
  followup_ = false;
  for (int pass = 0; pass < 4; ++pass) {
    FW_TRY(auto o, flush());
    if (o != CycleOutcome::ok) return o;
    if (!followup_) break;
    followup_ = false;
    FW_TRY_STATUS(build_and_enqueue());
  }
  return CycleOutcome::ok;
}

Seconds Agent::next_delay(CycleOutcome o) {
  double r = deps_.rand01 ? deps_.rand01() : 0.5;
  if (o == CycleOutcome::ok) {
    failures_ = 0;
    return jittered_interval(state_.interval_s, r);
  }
  ++failures_;
  Seconds d = backoff_delay(failures_, r);
  if (retry_after_s_) d = std::max(d, Seconds(std::min(*retry_after_s_, 86400)));
  retry_after_s_.reset();
  return d;
}

int Agent::run() {
  if (auto st = load(); !st) {
    log("error: " + st.error().to_string());
    return kExitError;
  }
  for (;;) {
    auto r = enroll();
    if (!r) {
      log("error: enrolment: " + r.error().to_string());
      return kExitError;
    }
    if (*r == CycleOutcome::rejected) {
      log("error: the server rejected the enrolment secret (" + last_error_ + "); stopping");
      return kExitRejected;
    }
    if (*r == CycleOutcome::ok) break;
    log("enrolment failed (" + last_error_ + ")");
    if (opts_.once) return kExitError;
    Seconds d = next_delay(*r);
    log("retrying enrolment in " + std::to_string(d.count()) + " s");
    if (!deps_.sleep(d)) return kExitOk;
  }
  for (;;) {
    auto r = cycle();
    CycleOutcome o = CycleOutcome::retry;
    if (!r) {
      log("error: check-in: " + r.error().to_string());
      if (opts_.once) return kExitError;
    } else {
      o = *r;
    }
    if (o == CycleOutcome::rejected) {
      log("error: the server rejected this device's credential (" + last_error_ +
          "); the device was probably revoked. Stopping; re-enrol to report again");
      return kExitRejected;
    }
    if (o == CycleOutcome::ok) log("checked in (next report seq " + std::to_string(state_.next_seq) + ")");
    if (o == CycleOutcome::retry && r) log("check-in failed (" + last_error_ + "); the report stays queued");
    if (opts_.once) return o == CycleOutcome::ok ? kExitOk : kExitError;
    Seconds d = next_delay(o);
    if (!deps_.sleep(d)) return kExitOk;
  }
}

}  // namespace fw::agent
