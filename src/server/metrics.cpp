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

}  // namespace fw::server
