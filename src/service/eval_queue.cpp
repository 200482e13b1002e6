// The background re-evaluation queue (see eval_queue.h). One worker thread; producers only
// touch the sets under mu_. The worker never holds mu_ while it reads or writes the store.
#include "service/eval_queue.h"

#include <algorithm>
#include <cstdlib>
#include <exception>

#include <spdlog/spdlog.h>

#include "service/evaluate.h"
#include "service/policies.h"

namespace fw::service {

namespace {

using SteadyClock = std::chrono::steady_clock;

void consider(std::optional<Time>& best, std::string* label, Time t, Time after, const std::string& what) {
  if (t <= after) return;
  if (best && *best <= t) return;
  best = t;
  if (label) *label = what;
}

}  // namespace

Result<std::optional<Time>> next_time_point(store::Tx& tx, Time after, std::string* label) {
  std::optional<Time> best;
  FW_TRY(auto loaded, load_policies(tx));
  for (const auto& lp : loaded) {
    const auto& d = lp.compiled.document();
    if (!d.is_campaign()) continue;
    Time start = policy::campaign_start(d);
    Time deadline = d.deadline.value_or(start);
    consider(best, label, start, after, d.id + " start");
    consider(best, label, deadline, after, d.id + " deadline");
    if (d.grace.count() > 0) consider(best, label, deadline + d.grace, after, d.id + " deadline+grace");
    for (const auto& p : policy::schedule_points(d, start, deadline, policy::Level::mandatory))
      consider(best, label, p.at, after, d.id + " " + p.label);
  }
  FW_TRY(auto exemptions, tx.list_exemptions(""));
  for (const auto& e : exemptions) consider(best, label, e.expires_at, after, "exemption " + e.id + " expires");
  return best;
}

namespace {
constexpr std::string_view kRequestsKey = "eval.full_requests";
}  // namespace

Status request_full_evaluation(store::Store& s) {
  return s.write([](store::Tx& tx) -> Status {
    int64_t n = 0;
    if (auto v = tx.get_setting(kRequestsKey); v) n = std::strtoll(v->c_str(), nullptr, 10);
    return tx.put_setting(kRequestsKey, std::to_string(n + 1));
  });
}

EvalQueue::EvalQueue(store::Store& store, const Clock& clock, EvalQueueOptions opts)
    : store_(store), clock_(clock), opts_(opts) {
  if (opts_.full_at_start) full_ = true;
}

EvalQueue::~EvalQueue() { stop(); }

void EvalQueue::start() {
  std::lock_guard lock(mu_);
  if (started_) return;
  started_ = true;
  worker_ = std::thread([this] { run(); });
}

void EvalQueue::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  std::lock_guard lock(mu_);
  int64_t dropped = int64_t(devices_.size() + people_.size());
  if (dropped) {
    stats_.abandoned += dropped;
    spdlog::info("evaluation queue: stopped with {} ids queued (abandoned)", dropped);
  }
  devices_.clear();
  people_.clear();
  idle_cv_.notify_all();
}

void EvalQueue::mark(std::span<const std::string> ids, std::unordered_set<std::string>& into) {
  if (ids.empty()) return;
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    for (const auto& id : ids) {
      if (full_) break;  // a full run covers every device; nothing to remember
      if (devices_.size() + people_.size() >= opts_.max_pending) {
        // Degrade: one full run instead of an unbounded set.
        devices_.clear();
        people_.clear();
        full_ = true;
        ++stats_.overflows;
        break;
      }
      if (into.insert(id).second) ++stats_.marked;
    }
    if (!first_mark_) first_mark_ = SteadyClock::now();
  }
  cv_.notify_one();
}

void EvalQueue::mark_dirty(std::span<const std::string> device_ids) { mark(device_ids, devices_); }

void EvalQueue::mark_dirty(std::string_view device_id) {
  std::string id(device_id);
  mark(std::span<const std::string>(&id, 1), devices_);
}

void EvalQueue::mark_people_dirty(std::span<const std::string> person_ids) { mark(person_ids, people_); }

void EvalQueue::request_full() {
  {
    std::lock_guard lock(mu_);
    full_ = true;
    devices_.clear();
    people_.clear();
  }
  cv_.notify_one();
}

void EvalQueue::replan() {
  {
    std::lock_guard lock(mu_);
    replan_ = true;
    kicked_ = true;
  }
  cv_.notify_one();
}

void EvalQueue::wake() {
  {
    std::lock_guard lock(mu_);
    kicked_ = true;
  }
  cv_.notify_one();
}

EvalQueueStats EvalQueue::stats() const {
  std::lock_guard lock(mu_);
  EvalQueueStats s = stats_;
  s.queued = int64_t(devices_.size());
  s.people_queued = int64_t(people_.size());
  s.full_pending = full_;
  return s;
}

bool EvalQueue::idle_locked() const {
  return devices_.empty() && people_.empty() && !full_ && !stats_.running;
}

bool EvalQueue::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return idle_cv_.wait_for(lock, timeout, [this] { return idle_locked() || (stop_ && !stats_.running); });
}

void EvalQueue::note_error(const std::string& what, const Error& e) {
  spdlog::error("evaluation queue: {}: {}", what, e.to_string());
  std::lock_guard lock(mu_);
  ++stats_.errors;
  stats_.last_error = what + ": " + e.to_string();
  stats_.last_error_at = clock_.now();
}

void EvalQueue::plan(Time after) {
  {
    std::lock_guard lock(mu_);
    replan_ = false;
  }
  std::string label;
  std::optional<Time> next;
  auto st = store_.read([&](store::Tx& tx) -> Status {
    FW_TRY(next, next_time_point(tx, after, &label));
    return {};
  });
  if (!st) {
    note_error("planning the next time point", st.error());
    return;
  }
  std::lock_guard lock(mu_);
  stats_.next_point = next;
  stats_.next_point_label = next ? label : "";
}

bool EvalQueue::evaluate_full(bool scheduled) {
  auto t0 = SteadyClock::now();
  auto r = evaluate_all(store_, clock_);
  double secs = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  if (!r) {
    note_error("full evaluation", r.error());
    return false;
  }
  spdlog::info("evaluation queue: full run{}: {} devices, {} written, {} status changes in {:.3f} s",
               scheduled ? " (time point)" : "", r->devices, r->written, r->changes, secs);
  std::lock_guard lock(mu_);
  ++stats_.full_runs;
  if (scheduled) ++stats_.scheduled_runs;
  stats_.full_devices += r->devices;
  stats_.last_full_run = stats_.last_run = clock_.now();
  stats_.last_full_seconds = secs;
  return true;
}

void EvalQueue::evaluate_batch(std::vector<std::string> devices, std::vector<std::string> people) {
  if (!people.empty()) {
    std::unordered_set<std::string> seen(devices.begin(), devices.end());
    auto st = store_.read([&](store::Tx& tx) -> Status {
      for (const auto& p : people) {
        store::DeviceFilter f;
        f.owner_id = p;
        FW_TRY_STATUS(tx.scan_devices(f, [&](const model::Device& d) -> Status {
          if (seen.insert(d.id).second) devices.push_back(d.id);
          return {};
        }));
      }
      return {};
    });
    if (!st) note_error("finding the devices of " + std::to_string(people.size()) + " people", st.error());
  }
  std::sort(devices.begin(), devices.end());  // stable order: neighbouring rows, repeatable runs
  int64_t done = 0;
  for (size_t i = 0; i < devices.size(); i += opts_.batch) {
    {
      std::lock_guard lock(mu_);
      if (stop_) {
        stats_.abandoned += int64_t(devices.size() - i);
        spdlog::info("evaluation queue: stopping; {} devices of the batch abandoned", devices.size() - i);
        break;
      }
    }
    size_t end = std::min(devices.size(), i + opts_.batch);
    // One policy load per chunk; a device deleted since it was marked is skipped.
    std::vector<std::string> chunk(devices.begin() + long(i), devices.begin() + long(end));
    if (auto r = evaluate_devices(store_, clock_, chunk); r) {
      done += r->devices;
    } else {
      std::string what = "evaluating device " + chunk.front();
      if (chunk.size() > 1) what += " and " + std::to_string(chunk.size() - 1) + " more";
      note_error(what, r.error());
    }
  }
  std::lock_guard lock(mu_);
  ++stats_.batches;
  stats_.devices_evaluated += done;
  stats_.last_run = clock_.now();
}

void EvalQueue::run() {
  auto next_plan = SteadyClock::now();
  Time last_full_clock = clock_.now();
  // Policy time and the cross-process request counter (request_full_evaluation), one read.
  std::string requests, seen_requests;
  auto look = [&]() -> Time {
    Time t = clock_.now();
    (void)store_.read([&](store::Tx& tx) -> Status {
      t = policy_now(tx, clock_);
      if (auto v = tx.get_setting(kRequestsKey); v) requests = std::move(*v);
      return {};
    });
    return t;
  };
  // Policy time of the last full evaluation (or of the start): time points after it are due.
  Time evaluated_at = look();
  seen_requests = requests;
  for (;;) {
    bool want_plan;
    {
      std::lock_guard lock(mu_);
      if (stop_) break;
      want_plan = replan_ || SteadyClock::now() >= next_plan;
    }
    try {
      if (want_plan) {
        plan(evaluated_at);
        next_plan = SteadyClock::now() + opts_.replan;
      }
      Time pnow = look();
      Time cnow = clock_.now();
      bool requested = requests != seen_requests;
      seen_requests = requests;

      std::unique_lock lock(mu_);
      if (stop_) break;
      kicked_ = false;
      bool time_point = stats_.next_point && pnow >= *stats_.next_point;
      bool interval_due = opts_.interval.count() > 0 && cnow >= last_full_clock + opts_.interval;
      if (requested) spdlog::info("evaluation queue: a full evaluation was requested (eval.full_requests)");
      if (full_ || time_point || interval_due || requested) {
        full_ = false;
        devices_.clear();  // marked before this run starts: the full run covers them
        people_.clear();
        first_mark_.reset();
        stats_.running = true;
        if (time_point) spdlog::info("evaluation queue: time point {} arrived", stats_.next_point_label);
        lock.unlock();
        last_full_clock = cnow;
        bool ok = evaluate_full(time_point);
        if (ok) evaluated_at = pnow;  // read before the run: points after it still count
        plan(evaluated_at);
        next_plan = SteadyClock::now() + opts_.replan;
        lock.lock();
        stats_.running = false;
        if (idle_locked()) idle_cv_.notify_all();
        // A failed run is retried (a time point stays due) after `poll`, not in a tight loop.
        if (!ok) cv_.wait_for(lock, opts_.poll, [&] { return stop_; });
        continue;
      }
      auto now_steady = SteadyClock::now();
      if (first_mark_ && now_steady >= *first_mark_ + opts_.coalesce) {
        std::vector<std::string> devices(devices_.begin(), devices_.end());
        std::vector<std::string> people(people_.begin(), people_.end());
        devices_.clear();
        people_.clear();
        first_mark_.reset();
        stats_.running = true;
        lock.unlock();
        evaluate_batch(std::move(devices), std::move(people));
        lock.lock();
        stats_.running = false;
        if (idle_locked()) idle_cv_.notify_all();
        continue;
      }
      if (idle_locked()) idle_cv_.notify_all();
      // Sleep until the first of: the batch's coalescing moment, the next time point, the
      // interval, the next replan, the poll bound; or until something is marked.
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(opts_.poll);
      auto cap = [&](std::chrono::milliseconds d) { wait = std::max(std::chrono::milliseconds(1), std::min(wait, d)); };
      if (first_mark_) cap(std::chrono::duration_cast<std::chrono::milliseconds>(*first_mark_ + opts_.coalesce - now_steady));
      if (stats_.next_point) cap(std::chrono::duration_cast<std::chrono::milliseconds>(*stats_.next_point - pnow));
      if (opts_.interval.count() > 0)
        cap(std::chrono::duration_cast<std::chrono::milliseconds>(last_full_clock + opts_.interval - cnow));
      cap(std::chrono::duration_cast<std::chrono::milliseconds>(next_plan - now_steady));
      bool had_mark = first_mark_.has_value();
      cv_.wait_for(lock, wait, [&] { return stop_ || kicked_ || full_ || replan_ || (!had_mark && first_mark_); });
    } catch (const std::exception& e) {
      // Nothing below should throw; if it does, count it and keep serving.
      note_error("evaluation queue", Error{Errc::internal, e.what(), "eval_queue"});
      std::unique_lock lock(mu_);
      stats_.running = false;
      cv_.wait_for(lock, opts_.poll, [&] { return stop_; });
    }
  }
  std::lock_guard lock(mu_);
  stats_.running = false;
  idle_cv_.notify_all();
}

}  // namespace fw::service
