// Prometheus text exposition of request metrics (see metrics.h).
#include "server/metrics.h"

#include <fmt/format.h>

#include "util/strings.h"

namespace fw::server {

void Metrics::Series::observe(double seconds) {
  count.fetch_add(1, std::memory_order_relaxed);
  size_t i = 0;
  while (i < kBuckets.size() && seconds > kBuckets[i]) ++i;
  latency->buckets[i].fetch_add(1, std::memory_order_relaxed);
  latency->sum_ns.fetch_add(seconds > 0 ? static_cast<uint64_t>(seconds * 1e9) : 0, std::memory_order_relaxed);
}

Metrics::Series* Metrics::series(std::string_view route, std::string_view method, unsigned status) {
  std::lock_guard lock(mu_);
  auto key = std::make_tuple(std::string(route), std::string(method), status);
  auto it = counts_.find(key);
  if (it != counts_.end()) return &it->second;
  auto h = latency_.find(route);
  if (h == latency_.end()) h = latency_.try_emplace(std::string(route)).first;
  auto& s = counts_.try_emplace(std::move(key)).first->second;
  s.latency = &h->second;
  return &s;
}

std::string Metrics::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  out += "# HELP fleetward_http_requests_total HTTP requests by route, method and status.\n";
  out += "# TYPE fleetward_http_requests_total counter\n";
  for (const auto& [k, n] : counts_) {
    out += fmt::format("fleetward_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}\n",
                       json_escape(std::get<0>(k)), json_escape(std::get<1>(k)), std::get<2>(k),
                       n.count.load(std::memory_order_relaxed));
  }
  out += "# HELP fleetward_http_request_duration_seconds HTTP request latency by route.\n";
  out += "# TYPE fleetward_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    auto r = json_escape(route);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += h.buckets[i].load(std::memory_order_relaxed);
      out += fmt::format("fleetward_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n", r,
                         kBuckets[i], cumulative);
    }
    cumulative += h.buckets[kBuckets.size()].load(std::memory_order_relaxed);
    out += fmt::format("fleetward_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n", r,
                       cumulative);
    out += fmt::format("fleetward_http_request_duration_seconds_sum{{route=\"{}\"}} {}\n", r,
                       static_cast<double>(h.sum_ns.load(std::memory_order_relaxed)) / 1e9);
    out += fmt::format("fleetward_http_request_duration_seconds_count{{route=\"{}\"}} {}\n", r, cumulative);
  }
  return out;
}

std::string render_eval_queue(const service::EvalQueueStats& s) {
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, auto value) {
    out += fmt::format("# HELP fleetward_eval_{} {}\n# TYPE fleetward_eval_{} {}\nfleetward_eval_{} {}\n", name, help,
                       name, type, name, value);
  };
  auto unix_or_zero = [](const std::optional<Time>& t) { return t ? to_unix(*t) : int64_t(0); };
  metric("queued_devices", "gauge", "Device ids waiting for evaluation.", s.queued);
  metric("queued_people", "gauge", "Person ids whose devices wait for evaluation.", s.people_queued);
  metric("full_pending", "gauge", "1 when a full evaluation is requested or due.", s.full_pending ? 1 : 0);
  metric("running", "gauge", "1 while an evaluation runs.", s.running ? 1 : 0);
  metric("marked_total", "counter", "Ids accepted by the queue (after deduplication).", s.marked);
  metric("batches_total", "counter", "Batch evaluations of changed devices.", s.batches);
  metric("batch_devices_total", "counter", "Devices evaluated by batches.", s.devices_evaluated);
  metric("full_runs_total", "counter", "Full evaluations.", s.full_runs);
  metric("full_devices_total", "counter", "Devices evaluated by full evaluations.", s.full_devices);
  metric("scheduled_runs_total", "counter", "Full evaluations started by a campaign time point or expiry.",
         s.scheduled_runs);
  metric("overflows_total", "counter", "Times the queue bound was reached (degraded to a full run).", s.overflows);
  metric("abandoned_total", "counter", "Queued ids dropped at shutdown.", s.abandoned);
  metric("errors_total", "counter", "Failed evaluations.", s.errors);
  metric("last_run_timestamp_seconds", "gauge", "End of the last evaluation (0 = none yet).", unix_or_zero(s.last_run));
  metric("last_full_run_timestamp_seconds", "gauge", "End of the last full evaluation (0 = none yet).",
         unix_or_zero(s.last_full_run));
  metric("last_full_run_duration_seconds", "gauge", "Wall time of the last full evaluation.", s.last_full_seconds);
  metric("last_error_timestamp_seconds", "gauge", "Time of the last error (0 = none).", unix_or_zero(s.last_error_at));
  metric("next_time_point_timestamp_seconds", "gauge", "Next campaign time point or expiry (0 = none).",
         unix_or_zero(s.next_point));
  return out;
}

}  // namespace fw::server
