// Benchmark (a) of issue 5: classification of every distinct User-Agent of the uap-core
// test suite (../shared/corpus/uap-core/tests/*.yaml), single thread, cache off, against
// the baseline, uap-core's rules (same pinned regexes.yaml) tried one by one in order with
// RE2, for UA, OS and device, as uap-cpp does.
// The goal's figure is the PAIRED measurement printed first: each round runs both sides
// over the same slices of the corpus, interleaved slice by slice (ABBA order), and timed by
// thread CPU time, so that a drift of the machine (other processes, steal) hits both sides
// of a pair alike; it prints each round's rates and ratio, then the median and worst ratio.
// The Google Benchmark entries follow (BM_Classifier, BM_NaiveRE2; items/s = strings/s).
// Flags: --paired_rounds=N (default 7, 0 skips), then Google Benchmark's own flags
// (--benchmark_filter=NONE skips those). Single-threaded; Release build (docs/PERFORMANCE.md).
#include <benchmark/benchmark.h>
#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <time.h>

#include "detect/detect.h"

namespace {

const std::vector<std::string>& corpus() {
  static std::vector<std::string> uas = [] {
    std::set<std::string> set;
    for (const char* f : {"test_ua.yaml", "test_os.yaml", "test_device.yaml"}) {
      auto root = YAML::LoadFile(std::string(FW_SHARED_DIR) + "/corpus/uap-core/tests/" + f);
      for (const auto& tc : root["test_cases"]) set.insert(tc["user_agent_string"].as<std::string>());
    }
    return std::vector<std::string>(set.begin(), set.end());
  }();
  return uas;
}

// ---- the naive baseline ------------------------------------------------------------------
struct NaiveRule {
  std::unique_ptr<RE2> re;
  std::string repl[5];
  bool has[5] = {false, false, false, false, false};
};

struct Naive {
  std::vector<NaiveRule> kinds[3];

  Naive() {
    auto root = YAML::LoadFile(fw::detect::find_uap_regexes());
    const char* sections[] = {"user_agent_parsers", "os_parsers", "device_parsers"};
    const char* keys[3][5] = {
        {"family_replacement", "v1_replacement", "v2_replacement", "v3_replacement", "v4_replacement"},
        {"os_replacement", "os_v1_replacement", "os_v2_replacement", "os_v3_replacement", "os_v4_replacement"},
        {"device_replacement", "brand_replacement", "model_replacement", nullptr, nullptr}};
    for (int k = 0; k < 3; ++k) {
      for (const auto& r : root[sections[k]]) {
        RE2::Options o;
        o.set_log_errors(false);
        if (r["regex_flag"] && r["regex_flag"].as<std::string>() == "i") o.set_case_sensitive(false);
        NaiveRule nr;
        nr.re = std::make_unique<RE2>(r["regex"].as<std::string>(), o);
        if (!nr.re->ok()) continue;
        for (int s = 0; s < 5; ++s)
          if (keys[k][s] && r[keys[k][s]]) {
            nr.repl[s] = r[keys[k][s]].as<std::string>();
            nr.has[s] = true;
          }
        kinds[k].push_back(std::move(nr));
      }
    }
  }

  static std::string subst(const std::string& t, const re2::StringPiece* g, int ng) {
    std::string out;
    for (size_t i = 0; i < t.size(); ++i) {
      if (t[i] == '$' && i + 1 < t.size() && t[i + 1] >= '1' && t[i + 1] <= '9') {
        int k = t[i + 1] - '0';
        if (k <= ng && g[k].data()) out.append(g[k].data(), g[k].size());
        ++i;
      } else {
        out.push_back(t[i]);
      }
    }
    return out;
  }

  // Returns the fields of the first matching rule of each kind, like uap-cpp.
  std::vector<std::string> parse(const std::string& ua) const {
    std::vector<std::string> out;
    re2::StringPiece text(ua), g[10];
    for (int k = 0; k < 3; ++k) {
      for (const auto& r : kinds[k]) {
        int ng = std::min(r.re->NumberOfCapturingGroups(), 9);
        if (!r.re->Match(text, 0, text.size(), RE2::UNANCHORED, g, ng + 1)) continue;
        for (int s = 0; s < 5; ++s) {
          if (r.has[s]) out.push_back(subst(r.repl[s], g, ng));
          else if (s + 1 <= ng && g[s + 1].data()) out.emplace_back(g[s + 1].data(), g[s + 1].size());
        }
        break;
      }
    }
    return out;
  }
};

void BM_Classifier(benchmark::State& state) {
  fw::detect::ClassifierOptions o;
  o.cache_entries = 0;
  auto cl = fw::detect::Classifier::load(o);
  if (!cl) {
    state.SkipWithError(cl.error().to_string().c_str());
    return;
  }
  const auto& uas = corpus();
  // One untimed pass first, for both sides: the classifier compiles each rule's RE2 on its
  // first use and RE2 builds its DFAs lazily; a server pays that once, not per pass.
  for (const auto& ua : uas) benchmark::DoNotOptimize((*cl)->classify(ua));
  for (auto _ : state)
    for (const auto& ua : uas) benchmark::DoNotOptimize((*cl)->classify(ua));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * uas.size()));
  state.counters["strings"] = static_cast<double>(uas.size());
}
BENCHMARK(BM_Classifier)->Unit(benchmark::kMillisecond)->MinTime(3);

void BM_NaiveRE2(benchmark::State& state) {
  static Naive naive;
  const auto& uas = corpus();
  for (const auto& ua : uas) benchmark::DoNotOptimize(naive.parse(ua));  // untimed, as above
  for (auto _ : state)
    for (const auto& ua : uas) benchmark::DoNotOptimize(naive.parse(ua));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * uas.size()));
}
BENCHMARK(BM_NaiveRE2)->Unit(benchmark::kMillisecond)->MinTime(3);

// ---- paired measurement --------------------------------------------------------------------

double now(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Jiffies the hypervisor gave to others while this VM wanted the CPU, and all jiffies.
std::pair<long long, long long> steal_jiffies() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  long long v[10] = {}, total = 0;
  in >> cpu;
  for (auto& x : v) in >> x, total += x;
  return {v[7], total};
}

std::string loadavg() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

struct Side {
  double cpu = 0, wall = 0;
  long strings = 0, nivcsw = 0;
};

template <class F>
void timed(Side& side, F&& pass) {
  rusage r0{}, r1{};
  getrusage(RUSAGE_THREAD, &r0);
  double c0 = now(CLOCK_THREAD_CPUTIME_ID), w0 = now(CLOCK_MONOTONIC);
  side.strings += pass();
  side.cpu += now(CLOCK_THREAD_CPUTIME_ID) - c0;
  side.wall += now(CLOCK_MONOTONIC) - w0;
  getrusage(RUSAGE_THREAD, &r1);
  side.nivcsw += r1.ru_nivcsw - r0.ru_nivcsw;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Each round: the corpus in kSlices contiguous slices; per slice the classifier makes
// kClassifierRepeats passes (it is ~10x faster, so its share of a round is not too short
// to time) and the naive loop one, in ABBA order across slices, each side after an untimed
// re-warm on the quarter-slice of strings before the slice. Both sides had one untimed pass over the corpus
// before (RE2 compiles lazily and builds its DFAs lazily on both sides).
void run_paired(int rounds, int kSlices) {
  constexpr int kClassifierRepeats = 3;
  fw::detect::ClassifierOptions o;
  o.cache_entries = 0;
  auto cl = fw::detect::Classifier::load(o);
  if (!cl) {
    std::fprintf(stderr, "detect_classify_bench: %s\n", cl.error().to_string().c_str());
    std::exit(1);
  }
  static Naive naive;
  const auto& uas = corpus();
  auto classify = [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) benchmark::DoNotOptimize((*cl)->classify(uas[i]));
    return static_cast<long>(e - b);
  };
  auto naive_parse = [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) benchmark::DoNotOptimize(naive.parse(uas[i]));
    return static_cast<long>(e - b);
  };
  Side warm_c, warm_n;
  timed(warm_c, [&] { return classify(0, uas.size()); });
  timed(warm_n, [&] { return naive_parse(0, uas.size()); });
  std::printf("paired: %zu strings, %d rounds of %d slices (classifier x%d, naive x1 per slice, ABBA, "
              "each after an untimed re-warm on the quarter-slice before it), thread CPU time; load average %s\n",
              uas.size(), rounds, kSlices, kClassifierRepeats, loadavg().c_str());
  std::printf("untimed warm-up pass: classifier %.0f/s, naive %.0f/s (CPU)\n", warm_c.strings / warm_c.cpu,
              warm_n.strings / warm_n.cpu);
  std::printf("%5s %14s %14s %8s %8s %7s %9s\n", "round", "classifier/s", "naive/s", "ratio", "wall-r", "steal%",
              "invol.cs");
  std::vector<double> ratios, rate_c, rate_n;
  for (int round = 0; round < rounds; ++round) {
    Side c, n;
    auto st0 = steal_jiffies();
    for (int s = 0; s < kSlices; ++s) {
      size_t b = uas.size() * static_cast<size_t>(s) / kSlices, e = uas.size() * static_cast<size_t>(s + 1) / kSlices;
      // Each side first re-warms its caches, untimed, on the quarter-slice of strings just
      // BEFORE the slice (the other side's pass in between evicted them; symmetric). Not
      // on the slice itself: RE2's DFA states would then be fresh for exactly the strings
      // timed next, which flattered the naive loop (+11%) more than the classifier (+6%).
      size_t q = (e - b) / 4, wb = b >= q ? b - q : uas.size() - q, we = wb + q;
      auto do_c = [&] {
        classify(wb, we);
        timed(c, [&] {
          long k = 0;
          for (int r = 0; r < kClassifierRepeats; ++r) k += classify(b, e);
          return k;
        });
      };
      auto do_n = [&] {
        naive_parse(wb, we);
        timed(n, [&] { return naive_parse(b, e); });
      };
      if ((s + round) % 2 == 0) do_c(), do_n();
      else do_n(), do_c();
    }
    auto st1 = steal_jiffies();
    double rc = c.strings / c.cpu, rn = n.strings / n.cpu;
    double steal = st1.second > st0.second ? 100.0 * double(st1.first - st0.first) / double(st1.second - st0.second) : 0;
    ratios.push_back(rc / rn), rate_c.push_back(rc), rate_n.push_back(rn);
    std::printf("%5d %14.0f %14.0f %7.2fx %7.2fx %7.1f %9ld\n", round + 1, rc, rn, rc / rn,
                (c.strings / c.wall) / (n.strings / n.wall), steal, c.nivcsw + n.nivcsw);
    std::fflush(stdout);
  }
  if (rounds > 0) {
    std::printf("PAIRED RATIO (classifier/naive, CPU): median %.2fx, worst %.2fx, best %.2fx over %d rounds\n",
                median(ratios), *std::min_element(ratios.begin(), ratios.end()),
                *std::max_element(ratios.begin(), ratios.end()), rounds);
    std::printf("classifier %.0f strings/s median (%.0f-%.0f); naive %.0f strings/s median (%.0f-%.0f); "
                "load average %s\n\n",
                median(rate_c), *std::min_element(rate_c.begin(), rate_c.end()),
                *std::max_element(rate_c.begin(), rate_c.end()), median(rate_n),
                *std::min_element(rate_n.begin(), rate_n.end()), *std::max_element(rate_n.begin(), rate_n.end()),
                loadavg().c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 7, slices = 8;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--paired_rounds=", 16) == 0) rounds = std::atoi(argv[i] + 16);
    else if (std::strncmp(argv[i], "--paired_slices=", 16) == 0) slices = std::max(1, std::atoi(argv[i] + 16));
    else argv[out++] = argv[i];
  }
  argc = out;
  if (rounds > 0) run_paired(rounds, slices);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
