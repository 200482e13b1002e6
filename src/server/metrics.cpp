// Prometheus text exposition of request metrics (see metrics.h).
#include "server/metrics.h"

#include <fmt/format.h>

#include "util/strings.h"

namespace fw::server {

void Metrics::observe(const std::string& route, const std::string& method, unsigned status, double seconds) {
  std::lock_guard lock(mu_);
  ++counts_[{route, method, status}];
  auto& h = latency_[route];
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

std::string Metrics::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  out += "# HELP fleetward_http_requests_total HTTP requests by route, method and status.\n";
  out += "# TYPE fleetward_http_requests_total counter\n";
  for (const auto& [k, n] : counts_) {
    out += fmt::format("fleetward_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}\n",
                       json_escape(std::get<0>(k)), json_escape(std::get<1>(k)), std::get<2>(k), n);
  }
  out += "# HELP fleetward_http_request_duration_seconds HTTP request latency by route.\n";
  out += "# TYPE fleetward_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    auto r = json_escape(route);
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      out += fmt::format("fleetward_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n", r,
                         kBuckets[i], h.buckets[i]);
    }
    out += fmt::format("fleetward_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n", r, h.count);
    out += fmt::format("fleetward_http_request_duration_seconds_sum{{route=\"{}\"}} {}\n", r, h.sum);
    out += fmt::format("fleetward_http_request_duration_seconds_count{{route=\"{}\"}} {}\n", r, h.count);
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
