// Per-evaluation cost of four policy expressions, each measured beside a hand-written C++
// function that computes the same answer from the same fw::model::Device, in the same run.
// Prints the CEL/hand-written ratios at the end. Single-threaded.
// Run: build-<you>/bench/cel/cel_bench   (Release build, -DCMAKE_BUILD_TYPE=Release)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string>

#include "cel/cel.h"
#include "model/model.h"

namespace {

using fw::cel::Value;
using fw::model::Device;

Device make_device() {
  Device d;
  d.id = "dev-000123";
  d.owner_id = "p-000042";
  d.source = fw::model::DeviceSource::agent;
  d.os_family = "Android";
  d.os_version = "13.0.1";
  d.vendor = "Samsung";
  d.model = "SM-S911B";
  d.type = fw::model::DeviceType::phone;
  d.managed = true;
  d.first_seen = fw::from_unix(1670000000);
  d.last_seen = fw::from_unix(1700000000);
  for (int i = 0; i < 80; ++i)
    d.apps.push_back({"com.example.app" + std::to_string(i), "App " + std::to_string(i), "1." + std::to_string(i)});
  return d;
}

// The device value the way a host builds it (the policies module has its own builder).
Value device_value(const Device& d) {
  std::vector<Value> apps;
  apps.reserve(d.apps.size());
  for (const auto& a : d.apps)
    apps.push_back(Value::record({{"id", Value::string(a.id)}, {"name", Value::string(a.name)},
                                  {"version", Value::string(a.version)}}));
  return Value::record({
      {"id", Value::string(d.id)},
      {"owner_id", Value::string(d.owner_id)},
      {"source", Value::string(fw::model::to_string(d.source))},
      {"os", Value::record({{"family", Value::string(d.os_family)}, {"version", Value::string(d.os_version)}})},
      {"vendor", Value::string(d.vendor)},
      {"model", Value::string(d.model)},
      {"type", Value::string(fw::model::to_string(d.type))},
      {"managed", Value::boolean(d.managed)},
      {"first_seen", Value::timestamp(d.first_seen)},
      {"last_seen", Value::timestamp(d.last_seen)},
      {"apps", Value::list(std::move(apps))},
  });
}

const Device kDevice = make_device();
const fw::Time kNow = fw::from_unix(1700100000);
const fw::Version kV13 = *fw::Version::parse("13");

const char* const kExpr[] = {
    R"(device.os.family in ["iOS", "iPadOS"])",
    R"(version(device.os.version) >= version("13"))",
    R"(device.apps.exists(a, a.id.startsWith("us.zoom.")))",
    R"(device.managed && device.os.family == "Android" && device.type == "phone" && )"
    R"(version(device.os.version) >= version("12") && device.last_seen > now - duration("72h"))",
};

// Hand-written equivalents.
bool hand_a(const Device& d) { return d.os_family == "iOS" || d.os_family == "iPadOS"; }
bool hand_b(const Device& d) {
  auto v = fw::Version::parse(d.os_version);
  return v && *v >= kV13;
}
bool hand_c(const Device& d) {
  return std::any_of(d.apps.begin(), d.apps.end(), [](const auto& a) { return a.id.starts_with("us.zoom."); });
}
bool hand_d(const Device& d, fw::Time now) {
  static const fw::Version v12 = *fw::Version::parse("12");
  if (!(d.managed && d.os_family == "Android" && d.type == fw::model::DeviceType::phone)) return false;
  auto v = fw::Version::parse(d.os_version);
  return v && *v >= v12 && d.last_seen > now - std::chrono::hours(72);
}

// Hand-written over the same device Value that CEL sees (map lookups by hand).
const Value* path(const Value& v, std::string_view a, std::string_view b = {}) {
  const Value* x = v.find(a);
  return x && !b.empty() ? x->find(b) : x;
}
bool is_str(const Value* v) { return v && v->kind() == fw::cel::Kind::string; }
bool hv_a(const Value& d) {
  const Value* f = path(d, "os", "family");
  return is_str(f) && (f->as_string() == "iOS" || f->as_string() == "iPadOS");
}
bool hv_version_ge(const Value& d, const fw::Version& min) {
  const Value* v = path(d, "os", "version");
  if (!is_str(v)) return false;
  auto p = fw::Version::parse(v->as_string());
  return p && *p >= min;
}
bool hv_b(const Value& d) { return hv_version_ge(d, kV13); }
bool hv_c(const Value& d) {
  const Value* apps = d.find("apps");
  if (!apps || apps->kind() != fw::cel::Kind::list) return false;
  for (const auto& a : apps->as_list()) {
    const Value* id = a.find("id");
    if (is_str(id) && id->as_string().starts_with("us.zoom.")) return true;
  }
  return false;
}
bool hv_d(const Value& d, const Value& now) {
  static const fw::Version v12 = *fw::Version::parse("12");
  const Value* m = d.find("managed");
  if (!m || m->kind() != fw::cel::Kind::bool_ || !m->as_bool()) return false;
  const Value* f = path(d, "os", "family");
  if (!is_str(f) || f->as_string() != "Android") return false;
  const Value* t = d.find("type");
  if (!is_str(t) || t->as_string() != "phone") return false;
  if (!hv_version_ge(d, v12)) return false;
  const Value* ls = d.find("last_seen");
  return ls && ls->kind() == fw::cel::Kind::timestamp &&
         ls->timestamp_seconds() > now.timestamp_seconds() - 72 * 3600;
}

template <int Which>
void run_hand_value(benchmark::State& st) {
  Value d = device_value(kDevice), now = Value::timestamp(kNow);
  const Value* dp = &d;
  for (auto _ : st) {
    benchmark::DoNotOptimize(dp);
    bool r = Which == 0 ? hv_a(*dp) : Which == 1 ? hv_b(*dp) : Which == 2 ? hv_c(*dp) : hv_d(*dp, now);
    benchmark::DoNotOptimize(r);
  }
}

void run_cel(benchmark::State& st, int which) {
  fw::cel::CompileOptions opt;
  opt.variables = {"device", "now"};
  auto prog = fw::cel::compile(kExpr[which], opt);
  if (!prog) {
    st.SkipWithError(prog.error().to_string().c_str());
    return;
  }
  auto act = prog->make_activation();
  act.set(0, device_value(kDevice));
  act.set(1, Value::timestamp(kNow));
  bool expect[] = {hand_a(kDevice), hand_b(kDevice), hand_c(kDevice), hand_d(kDevice, kNow)};
  auto first = prog->eval_bool(act);
  if (!first || *first != expect[which]) {
    st.SkipWithError("CEL and hand-written results differ");
    return;
  }
  for (auto _ : st) {
    auto r = prog->eval_bool(act);
    benchmark::DoNotOptimize(r);
  }
}

template <int Which>
void run_hand(benchmark::State& st) {
  const Device* d = &kDevice;
  for (auto _ : st) {
    benchmark::DoNotOptimize(d);
    bool r = Which == 0 ? hand_a(*d) : Which == 1 ? hand_b(*d) : Which == 2 ? hand_c(*d) : hand_d(*d, kNow);
    benchmark::DoNotOptimize(r);
  }
}

void BM_a_cel(benchmark::State& st) { run_cel(st, 0); }
void BM_a_hand(benchmark::State& st) { run_hand<0>(st); }
void BM_b_cel(benchmark::State& st) { run_cel(st, 1); }
void BM_b_hand(benchmark::State& st) { run_hand<1>(st); }
void BM_c_cel(benchmark::State& st) { run_cel(st, 2); }
void BM_c_hand(benchmark::State& st) { run_hand<2>(st); }
void BM_d_cel(benchmark::State& st) { run_cel(st, 3); }
void BM_d_hand(benchmark::State& st) { run_hand<3>(st); }

// Building the device value itself (what the host pays per device before evaluating).
void BM_a_hand_value(benchmark::State& st) { run_hand_value<0>(st); }
void BM_b_hand_value(benchmark::State& st) { run_hand_value<1>(st); }
void BM_c_hand_value(benchmark::State& st) { run_hand_value<2>(st); }
void BM_d_hand_value(benchmark::State& st) { run_hand_value<3>(st); }

void BM_build_device_value(benchmark::State& st) {
  for (auto _ : st) {
    Value v = device_value(kDevice);
    benchmark::DoNotOptimize(v);
  }
}

BENCHMARK(BM_a_cel);
BENCHMARK(BM_a_hand);
BENCHMARK(BM_a_hand_value);
BENCHMARK(BM_b_cel);
BENCHMARK(BM_b_hand);
BENCHMARK(BM_b_hand_value);
BENCHMARK(BM_c_cel);
BENCHMARK(BM_c_hand);
BENCHMARK(BM_c_hand_value);
BENCHMARK(BM_d_cel);
BENCHMARK(BM_d_hand);
BENCHMARK(BM_d_hand_value);
BENCHMARK(BM_build_device_value);

class Collect : public benchmark::ConsoleReporter {
 public:
  std::map<std::string, double> ns;
  std::set<std::string> median;
  void ReportRuns(const std::vector<Run>& runs) override {
    // With --benchmark_repetitions the median is used, otherwise the single run.
    for (const auto& r : runs) {
      if (r.error_occurred) continue;
      double t = r.GetAdjustedCPUTime() / benchmark::GetTimeUnitMultiplier(r.time_unit) * 1e9;
      std::string name = r.run_name.function_name;
      if (r.run_type == Run::RT_Aggregate) {
        if (r.aggregate_name == "median") ns[name] = t, median.insert(name);
      } else if (!median.count(name)) {
        ns[name] = t;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  Collect rep;
  benchmark::RunSpecifiedBenchmarks(&rep);
  std::printf("\nCEL vs hand-written C++ in the same run (CPU time per evaluation).\n"
              "  struct = hand-written over fw::model::Device; value = hand-written over the same device Value\n");
  for (const char* k : {"a", "b", "c", "d"}) {
    std::string c = std::string("BM_") + k + "_cel", h = std::string("BM_") + k + "_hand", hv = h + "_value";
    if (!rep.ns.count(c) || !rep.ns.count(h) || !rep.ns.count(hv)) continue;
    double cel = rep.ns[c], hand = rep.ns[h], handv = rep.ns[hv];
    std::printf("  (%s) cel %8.1f ns (%5.1f M/s) | struct %7.1f ns ratio %5.2fx | value %7.1f ns ratio %5.2fx\n", k,
                cel, 1e3 / cel, hand, cel / hand, handv, cel / handv);
  }
  for (int i = 0; i < 4; ++i) std::printf("  (%c) %s\n", 'a' + i, kExpr[i]);
  if (rep.ns.count("BM_build_device_value"))
    std::printf("  building the device Value (80 apps): %.0f ns\n", rep.ns["BM_build_device_value"]);
  benchmark::Shutdown();
  return 0;
}
