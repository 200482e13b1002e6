// Request metrics for GET /metrics (Prometheus text format): request counts by route,
// method and status, and a latency histogram by route. Thread-safe: series are created
// once under a mutex and never removed; counting into a series is relaxed atomics only, so
// a connection that keeps the Series* of its last answer counts without a lock.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

#include "service/eval_queue.h"

namespace fw::server {

class Metrics {
 public:
  static constexpr std::array<double, 12> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1.0,  2.5,   5.0};

  // The latency histogram of one route: per-bucket (not cumulative) counts; the last slot
  // counts answers slower than the largest bucket. The sum is kept in nanoseconds.
  struct Histogram {
    std::array<std::atomic<uint64_t>, kBuckets.size() + 1> buckets{};
    std::atomic<uint64_t> sum_ns{0};
  };
  // One (route, method, status) counter and its route's histogram. Stable address.
  struct Series {
    std::atomic<uint64_t> count{0};
    Histogram* latency = nullptr;
    void observe(double seconds);  // lock-free
  };

  // The series of (route, method, status), created on first use. Callers may keep the
  // pointer for as long as the Metrics lives.
  Series* series(std::string_view route, std::string_view method, unsigned status);
  void observe(std::string_view route, std::string_view method, unsigned status, double seconds) {
    series(route, method, status)->observe(seconds);
  }
  // fleetward_http_requests_total{route,method,status}, fleetward_http_request_duration_seconds.
  std::string render() const;

 private:
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, unsigned>, Series, std::less<>> counts_;  // guarded by mu_
  std::map<std::string, Histogram, std::less<>> latency_;                                 // guarded by mu_
};

// fleetward_eval_* gauges and counters of the background evaluation queue (queued ids,
// runs, devices evaluated, errors, last run and next time point as Unix seconds).
std::string render_eval_queue(const service::EvalQueueStats& s);

}  // namespace fw::server
