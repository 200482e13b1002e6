// The read-and-aggregate half of `fleetward discover --dry-run` on its own, for profiling
// scan_logs without the CLI (docs/PERFORMANCE.md, "Detection"): prints lines, wall and CPU
// seconds, lines/s and sightings; with "sightings", then the wall and CPU time of
// ScanResult::sightings() (the classification and the sorted list that discover builds after
// the scan; the classifier is loaded before). Usage: fw_scan_bench FILE [THREADS [sightings]].
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "detect/detect.h"

namespace {
double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE [THREADS]\n", argv[0]);
    return 2;
  }
  fw::detect::ScanOptions o;
  o.threads = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 0;
  o.strip_domains = {"example.org"};
  double c0 = cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  auto r = fw::detect::scan_logs({argv[1]}, o);
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cpu = cpu_seconds() - c0;
  if (!r) {
    std::fprintf(stderr, "%s\n", r.error().to_string().c_str());
    return 1;
  }
  std::printf("threads %u: lines %llu, unparsed %llu, sightings %zu; wall %.3f s (%.2f M lines/s), CPU %.3f s (%.2f M lines/s)\n",
              o.threads, static_cast<unsigned long long>(r->lines), static_cast<unsigned long long>(r->unparsed),
              r->sighting_count(), wall, static_cast<double>(r->lines) / wall / 1e6, cpu,
              static_cast<double>(r->lines) / cpu / 1e6);
  if (argc < 4 || std::string_view(argv[3]) != "sightings") return 0;
  auto cl = fw::detect::Classifier::load({});
  if (!cl) {
    std::fprintf(stderr, "%s\n", cl.error().to_string().c_str());
    return 1;
  }
  c0 = cpu_seconds();
  t0 = std::chrono::steady_clock::now();
  auto list = r->sightings(**cl);
  wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  cpu = cpu_seconds() - c0;
  std::printf("sightings(): %zu in %.1f ms wall, %.1f ms CPU\n", list.size(), wall * 1e3, cpu * 1e3);
  return 0;
}
