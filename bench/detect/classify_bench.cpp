// Benchmark (a) of issue 5: classification of every distinct User-Agent of the uap-core
// test suite (../shared/corpus/uap-core/tests/*.yaml), single thread, cache off:
//   BM_Classifier: fleetward's classifier (one Hyperscan scan + RE2 captures on candidates)
//   BM_NaiveRE2:   the baseline, uap-core's rules (same pinned regexes.yaml) tried one by
//                  one in order with RE2, for UA, OS and device, as uap-cpp does.
// Items/s = strings/s. Single-threaded; run in a Release build (docs/PERFORMANCE.md).
#include <benchmark/benchmark.h>
#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

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

}  // namespace

BENCHMARK_MAIN();
