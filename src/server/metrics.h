// Request metrics for GET /metrics (Prometheus text format): request counts by route,
// method and status, and a latency histogram by route. Thread-safe (one mutex).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "service/eval_queue.h"

namespace fw::server {

class Metrics {
 public:
  static constexpr std::array<double, 12> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1.0,  2.5,   5.0};

  void observe(const std::string& route, const std::string& method, unsigned status, double seconds);
  // fleetward_http_requests_total{route,method,status}, fleetward_http_request_duration_seconds.
  std::string render() const;

 private:
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, unsigned>, uint64_t> counts_;  // guarded by mu_
  std::map<std::string, Histogram> latency_;                                   // guarded by mu_
};

// fleetward_eval_* gauges and counters of the background evaluation queue (queued ids,
// runs, devices evaluated, errors, last run and next time point as Unix seconds).
std::string render_eval_queue(const service::EvalQueueStats& s);

}  // namespace fw::server
