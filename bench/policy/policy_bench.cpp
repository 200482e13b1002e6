// Policy benchmark (see docs/PERFORMANCE.md "## Policies"). Two parts:
//  memory: 1,000,000 devices x 10 rules evaluated from in-memory rows (1 and 2 threads),
//          beside a baseline of building the same CEL values without evaluating; and the
//          campaign report (build_report) over 1,000,000 devices / 300,000 people with their
//          findings and 60 days of history, beside a baseline that only walks the rows.
//  sqlite: the same organisation stored in SQLite; evaluate_all (first run, then re-runs: nothing
//          changed, 1% of the devices changed, and changed back), the campaign report from the
//          aggregates the evaluation keeps (and, for comparison, from scratch), and the campaign
//          actions; beside a baseline that reads the same rows from the store (people, devices
//          with apps and their digest rows, as the evaluation reads them) without evaluating,
//          and what a run without digests would read (devices with apps and all findings).
// Usage: policy_bench [--devices N] [--people P] [--sqlite] [--sqlite-only] [--no-scratch] [--keep] [--dir
// DIR] Times: wall, and CPU of the whole process (evaluation runs a reader and worker threads). Single
// process; writes its database under DIR (default: a temp directory), removed after unless --keep: then a
// later run with --keep and the same --dir (and sizes) skips loading and the first evaluation and measures
// the re-evaluation, report and actions again.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "policy/policy.h"
#include "service/evaluate.h"
#include "service/inventory.h"
#include "service/policies.h"
#include "service/reports.h"
#include "store/store.h"

namespace {

using namespace fw;
using SteadyClock = std::chrono::steady_clock;

double since(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

// CPU time of the calling thread: steadier than wall time on a shared, loaded machine.
double thread_cpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}
// CPU time of the whole process (all threads).
double process_cpu() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}
std::string loadavg() {
  FILE* f = std::fopen("/proc/loadavg", "r");
  if (!f) return "?";
  char buf[128] = {};
  if (!std::fgets(buf, sizeof buf, f)) buf[0] = 0;
  std::fclose(f);
  std::string s(buf);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "policy_bench: %s\n", what.c_str());
  std::exit(1);
}

const char* kPolicy = R"Y(kind: campaign
id: bench
scope: [/administration, {path: /regions, level: advisory}]
start: 2023-01-01T00:00:00+03:00
deadline: 2023-03-31T23:59:59+03:00
rules:
  - {id: no-ios, severity: critical, require: '!(device.os.family in ["iOS", "iPadOS"])'}
  - {id: no-zoom, require: '!device.apps.exists(a, a.id.startsWith("us.zoom."))'}
  - {id: android-min, when: 'device.os.family == "Android"', require: 'version(device.os.version) >= version("10")'}
  - {id: aurora-min, when: 'device.os.family == "Aurora OS"', require: 'version(device.os.version) >= version("4.0.2")'}
  - {id: harmony-min, when: 'device.os.family == "HarmonyOS"', require: 'version(device.os.version) >= version("2")'}
  - {id: seen-recently, require: 'device.last_seen > now - duration("2160h")'}
  - {id: managed-phones, when: 'device.type == "phone"', require: 'device.managed || device.source != "agent"'}
  - {id: trueconf, when: 'device.type == "phone" && person.org_unit.startsWith("/administration")', require: 'device.apps.exists(a, a.id == "ru.trueconf.client")'}
  - {id: no-telegram-desktop, when: 'device.type == "desktop"', require: '!device.apps.exists(a, a.id == "org.telegram.desktop")'}
  - {id: vendor-known, require: 'device.vendor != "" || device.source == "log"'}
)Y";

struct Org {
  std::vector<model::OrgUnit> units;
  std::vector<model::Person> people;
  std::vector<model::Device> devices;
};

Org make_org(size_t n_devices, size_t n_people) {
  Org o;
  const char* top[] = {"/administration", "/regions"};
  for (auto t : top) o.units.push_back(model::OrgUnit{"", t, t + 1, "group", ""});
  for (int i = 0; i < 20; ++i) {
    std::string p = std::string(i < 8 ? "/administration/dept-" : "/regions/office-") + std::to_string(i);
    o.units.push_back(model::OrgUnit{"", p, p.substr(p.rfind('/') + 1), "department", ""});
  }
  for (auto& u : o.units) {
    u.id = u.path.substr(1);
    for (auto& c : u.id)
      if (c == '/') c = '.';
  }
  uint64_t x = 42;
  auto rnd = [&] {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return x;
  };
  o.people.reserve(n_people);
  for (size_t i = 0; i < n_people; ++i) {
    model::Person p;
    p.id = "p" + std::to_string(i);
    p.name = "Person " + std::to_string(i);
    p.email = p.id + "@example.org";
    p.login = p.id;
    p.org_unit_path = o.units[2 + rnd() % 20].path;
    if (i >= 100) p.manager_id = "p" + std::to_string(rnd() % 100);
    o.people.push_back(std::move(p));
  }
  struct Plat {
    const char *family, *vendor, *model, *version;
    model::DeviceType type;
  } plats[] = {{"iOS", "Apple", "iPhone 13", "16.3", model::DeviceType::phone},
               {"Android", "Samsung", "Galaxy A52", "13", model::DeviceType::phone},
               {"Android", "Xiaomi", "Redmi Note 8", "9", model::DeviceType::phone},
               {"HarmonyOS", "Huawei", "P50", "3.0", model::DeviceType::phone},
               {"Aurora OS", "AYYA", "T1", "4.0.1", model::DeviceType::phone},
               {"iPadOS", "Apple", "iPad Air", "16.1", model::DeviceType::tablet},
               {"Windows", "", "PC", "10", model::DeviceType::desktop}};
  o.devices.reserve(n_devices);
  for (size_t i = 0; i < n_devices; ++i) {
    const auto& pl = plats[rnd() % 7];
    model::Device d;
    char id[32];
    std::snprintf(id, sizeof id, "d%07zu", i);
    d.id = id;
    d.owner_id = o.people[rnd() % n_people].id;
    d.source = rnd() % 3 == 0 ? model::DeviceSource::agent : model::DeviceSource::log;
    d.os_family = pl.family;
    d.os_version = pl.version;
    d.vendor = pl.vendor;
    d.model = pl.model;
    d.type = pl.type;
    d.managed = d.source == model::DeviceSource::agent;
    d.first_seen = from_unix(1672531200);
    d.last_seen = from_unix(1677600000 - int64_t(rnd() % (200 * 86400)));
    if (rnd() % 4 == 0) d.apps.push_back({"us.zoom.videomeetings", "Zoom", "5.13.3"});
    if (rnd() % 2 == 0) d.apps.push_back({"ru.trueconf.client", "TrueConf", "8.2"});
    o.devices.push_back(std::move(d));
  }
  return o;
}

void memory_part(const Org& o, const policy::CompiledPolicy& cp, Time now) {
  std::unordered_map<std::string, const model::Person*> people;
  for (const auto& p : o.people) people.emplace(p.id, &p);
  // Baseline: build the CEL values of every device and owner, no evaluation.
  auto t0 = SteadyClock::now();
  double c0 = thread_cpu();
  size_t sink = 0;
  for (const auto& d : o.devices) {
    auto dv = policy::device_value(d);
    auto pv = policy::person_value(people[d.owner_id]);
    sink += dv.kind() == cel::Kind::map;
  }
  double base = since(t0), base_cpu = thread_cpu() - c0;
  auto run = [&](size_t from, size_t to, size_t& fails) {
    policy::Evaluator ev;
    std::vector<policy::RuleResult> out;
    std::vector<const policy::Exemption*> none;
    for (size_t i = from; i < to; ++i) {
      const auto& d = o.devices[i];
      const model::Person* p = people.find(d.owner_id)->second;
      cp.evaluate_values(policy::device_value(d), policy::person_value(p), p->id, d.id, p->org_unit_path, now,
                         none, ev, out);
      for (auto& r : out) fails += r.status == policy::RuleStatus::fail;
    }
  };
  size_t fails1 = 0;
  t0 = SteadyClock::now();
  c0 = thread_cpu();
  run(0, o.devices.size(), fails1);
  double one = since(t0), one_cpu = thread_cpu() - c0;
  size_t fa = 0, fb = 0;
  t0 = SteadyClock::now();
  std::thread th([&] { run(0, o.devices.size() / 2, fa); });
  run(o.devices.size() / 2, o.devices.size(), fb);
  th.join();
  double two = since(t0);
  std::printf(
      "memory  evaluate %zu devices x %zu rules: 1 thread %.2f s wall / %.2f s CPU, 2 threads %.2f s wall "
      "(%zu fails); baseline (build values only) %.2f s wall / %.2f s CPU; evaluation/baseline (CPU) "
      "%.2fx%s\n",
      o.devices.size(), cp.rule_count(), one, one_cpu, two, fails1, base, base_cpu, one_cpu / base_cpu,
      sink ? "" : " ");
  if (fa + fb != fails1) die("threads disagree");
}

void report_memory(const Org& o, const policy::Document& doc, Time now) {
  policy::ReportInput in;
  in.campaign = doc;
  in.now = now;
  in.tz = TimeZone::load("Europe/Moscow").value_or(TimeZone::fixed(3 * 3600));
  for (const auto& u : o.units) in.units.push_back({u.path, u.name});
  std::unordered_map<std::string, uint32_t> pidx;
  for (const auto& p : o.people) {
    pidx.emplace(p.id, uint32_t(in.people.size()));
    in.people.push_back({p.id, p.name, p.email, p.org_unit_path, policy::kNone});
  }
  for (size_t i = 0; i < o.people.size(); ++i)
    if (!o.people[i].manager_id.empty()) in.people[i].manager = pidx[o.people[i].manager_id];
  Time start = *doc.start;
  uint64_t x = 7;
  auto rnd = [&] {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return x;
  };
  for (size_t i = 0; i < o.devices.size(); ++i) {
    const auto& d = o.devices[i];
    uint32_t p = pidx[d.owner_id];
    in.devices.push_back({d.id, p, d.os_family, d.os_version, d.model});
    bool ios = d.os_family == "iOS" || d.os_family == "iPadOS";
    bool fixed = ios && rnd() % 3 == 0;
    in.findings.push_back({uint32_t(i), p, 0,
                           ios && !fixed ? policy::RuleStatus::fail : policy::RuleStatus::pass,
                           ios && !fixed ? std::optional<Time>(start) : std::nullopt});
    if (ios) {
      in.history.push_back({uint32_t(i), p, 0, policy::RuleStatus::fail, start + Seconds{3600}});
      if (fixed)
        in.history.push_back({uint32_t(i), p, 0, policy::RuleStatus::pass,
                              start + Seconds{int64_t(86400 + rnd() % (58 * 86400))}});
    }
  }
  auto t0 = SteadyClock::now();
  size_t sink = 0;
  for (const auto& f : in.findings) sink += f.status == policy::RuleStatus::fail;
  for (const auto& c : in.history) sink += c.status == policy::RuleStatus::fail;
  double base = since(t0);
  t0 = SteadyClock::now();
  double c0 = thread_cpu();
  auto rep = policy::build_report(in);
  double build = since(t0), build_cpu = thread_cpu() - c0;
  t0 = SteadyClock::now();
  auto html = policy::render_html(rep, policy::Lang::en, in.tz);
  double render = since(t0);
  std::printf(
      "memory  report over %zu devices / %zu people (%zu findings, %zu changes, %zu days): build %.3f s wall "
      "/ %.3f s CPU, "
      "HTML %.3f s (%zu bytes); baseline (walk the rows) %.3f s [%zu]\n",
      in.devices.size(), in.people.size(), in.findings.size(), in.history.size(), rep.burndown.size(), build,
      build_cpu, render, html.size(), base, sink % 10);
}

void sqlite_part(const Org& o, const std::string& dir, Time now, bool scratch, bool keep) {
  std::filesystem::create_directories(dir);
  std::string db = dir + "/bench.db";
  bool reuse =
      keep && std::filesystem::exists(dir + "/loaded");  // loaded and evaluated by an earlier --keep run
  if (!reuse) std::filesystem::remove(db);
  auto st = store::Store::open(db);
  if (!st) die(st.error().to_string());
  auto& s = **st;
  auto t0 = SteadyClock::now();
  FixedClock clock(now);
  // Baseline: read the rows the evaluation reads (people; devices with apps and the digest
  // rows of their last results, slice by slice), without evaluating, on one thread. With
  // `findings`: devices with apps and all their findings instead (what a run without
  // digests reads).
  auto read_rows = [&](bool findings) {
    auto t = SteadyClock::now();
    double tc = process_cpu();
    size_t n = 0;
    auto r = s.read([&](store::Tx& tx) -> Status {
      std::vector<model::Person> people;  // as the evaluation reads them
      FW_TRY_STATUS(tx.read_eval_people(people));
      n += people.size();
      std::string after;
      std::vector<model::Device> ds;
      std::vector<store::Finding> fs;
      std::vector<store::EvalDigest> dg;
      for (;;) {
        if (findings)
          FW_TRY_STATUS(tx.read_eval_batch(after, 2000, "", ds, fs));
        else
          FW_TRY_STATUS(tx.read_eval_slice(after, 2000, "", ds, dg));
        if (ds.empty()) return {};
        n += ds.size() + fs.size() + dg.size();
        for (const auto& d : ds) n += d.apps.size();
        after = ds.back().id;
      }
    });
    if (!r) die(r.error().to_string());
    return std::tuple<double, double, size_t>{since(t), process_cpu() - tc, n};
  };
  double c0 = 0;
  Status ok;
  if (reuse) {
    std::printf("sqlite  reusing the database loaded and evaluated by an earlier --keep run in %s\n",
                dir.c_str());
  } else {
    ok = s.write([&](store::Tx& tx) -> Status {
      for (const auto& u : o.units) FW_TRY_STATUS(tx.put_org_unit(u));
      for (const auto& p : o.people) FW_TRY_STATUS(tx.put_person(p));
      return {};
    });
    if (!ok) die(ok.error().to_string());
    for (size_t i = 0; i < o.devices.size(); i += 50000) {
      ok = s.write([&](store::Tx& tx) -> Status {
        for (size_t k = i; k < std::min(o.devices.size(), i + 50000); ++k)
          FW_TRY_STATUS(tx.put_device(o.devices[k]));
        return {};
      });
      if (!ok) die(ok.error().to_string());
    }
    std::printf("sqlite  load %zu people, %zu devices: %.1f s\n", o.people.size(), o.devices.size(),
                since(t0));
    ok = s.write([&](store::Tx& tx) { return tx.put_setting("clock.now", format_time(now)); });
    if (auto ap = service::apply_policy_text(s, clock, "bench", kPolicy, "bench.yaml"); !ap)
      die(ap.error().to_string());
    t0 = SteadyClock::now();
    c0 = process_cpu();
    auto e1 = service::evaluate_all(s, clock);
    if (!e1) die(e1.error().to_string());
    std::printf(
        "sqlite  first evaluation (writes every finding, keeps the report aggregates, reconstructs the "
        "burn-down since the start): %.2f s wall / %.2f s CPU (%lld written, %lld changes) [load %s]\n",
        since(t0), process_cpu() - c0, (long long)e1->written, (long long)e1->changes, loadavg().c_str());
    if (keep) std::ofstream(dir + "/loaded") << "loaded and evaluated\n";
  }
  auto reeval = [&](const char* what) {
    clock.advance(std::chrono::hours{1});
    auto ok2 = s.write([&](store::Tx& tx) { return tx.put_setting("clock.now", format_time(clock.now())); });
    if (!ok2) die(ok2.error().to_string());
    auto t = SteadyClock::now();
    double c = process_cpu();
    auto e = service::evaluate_all(s, clock);
    if (!e) die(e.error().to_string());
    double w = since(t), cpu = process_cpu() - c;
    std::printf(
        "sqlite  full re-evaluation, %s (%lld devices x 10 rules; findings read for %lld devices, %lld written, "
        "%lld changes): %.2f s wall / %.2f s CPU [load %s]\n",
        what, (long long)e->devices, (long long)e->compared, (long long)e->written, (long long)e->changes, w, cpu,
        loadavg().c_str());
    return std::tuple<double, double, int64_t>{w, cpu, e->compared};
  };
  // A database evaluated before the digests existed (or by an older build): the first run
  // reads every device's findings and writes the digests; measured, then the real re-run.
  auto [re, re_cpu, compared] = reeval("nothing changed");
  if (compared * 2 > int64_t(o.devices.size())) std::tie(re, re_cpu, compared) = reeval("nothing changed, digests in place");
  auto [bw, bc, bn] = read_rows(false);
  std::printf(
      "sqlite  baseline: read people + devices with apps + digest rows (%zu rows): %.2f s wall / %.2f s CPU; "
      "re-evaluation/baseline %.2fx wall, %.2fx CPU [load %s]\n",
      bn, bw, bc, re / bw, re_cpu / bc, loadavg().c_str());
  auto [fw, fc, fn] = read_rows(true);
  std::printf(
      "sqlite  (comparison) read people + devices with apps + all their findings (%zu rows, what a run without "
      "digests reads): %.2f s wall / %.2f s CPU [load %s]\n",
      fn, fw, fc, loadavg().c_str());
  // About 1% of the devices change (a Zoom app installed or removed), then change back.
  std::vector<model::Device> before;
  ok = s.read([&](store::Tx& tx) -> Status {
    for (size_t i = 0; i < o.devices.size(); i += 100) {
      FW_TRY(auto d, tx.get_device(o.devices[i].id));
      before.push_back(std::move(d));
    }
    return {};
  });
  if (!ok) die(ok.error().to_string());
  ok = s.write([&](store::Tx& tx) -> Status {
    for (auto d : before) {
      auto zoom = std::find_if(d.apps.begin(), d.apps.end(), [](const model::App& a) { return a.id.starts_with("us.zoom."); });
      if (zoom != d.apps.end())
        d.apps.erase(zoom);
      else
        d.apps.push_back({"us.zoom.videomeetings", "Zoom", "5.13.3"});
      FW_TRY_STATUS(tx.put_device(d));
    }
    return {};
  });
  if (!ok) die(ok.error().to_string());
  reeval("1% of the devices changed");
  ok = s.write([&](store::Tx& tx) -> Status {
    for (const auto& d : before) FW_TRY_STATUS(tx.put_device(d));
    return {};
  });
  if (!ok) die(ok.error().to_string());
  reeval("the same 1% changed back");
  t0 = SteadyClock::now();
  c0 = process_cpu();
  auto rep = service::report(s, clock, "bench", "json", "en");
  if (!rep) die(rep.error().to_string());
  double rw = since(t0), rc = process_cpu() - c0;
  std::printf(
      "sqlite  campaign report (json, from the evaluation's aggregates, %zu bytes): %.3f s wall / %.3f s "
      "CPU; "
      "ratio to the baseline read: %.3fx wall [load %s]\n",
      rep->body.size(), rw, rc, rw / bw, loadavg().c_str());
  t0 = SteadyClock::now();
  c0 = process_cpu();
  auto acts = service::campaign_actions(s, clock, "bench");
  if (!acts) die(acts.error().to_string());
  std::printf(
      "sqlite  campaign actions (%zu non-compliant people, %zu due): %.3f s wall / %.3f s CPU [load %s]\n",
      acts->people.size(), acts->due.size(), since(t0), process_cpu() - c0, loadavg().c_str());
  if (scratch) {
    t0 = SteadyClock::now();
    c0 = process_cpu();
    policy::ReportInput in;
    ok = s.read([&](store::Tx& tx) -> Status {
      FW_TRY(in, service::load_report_input(tx, clock, "bench"));
      return {};
    });
    if (!ok) die(ok.error().to_string());
    double load = since(t0);
    t0 = SteadyClock::now();
    auto full = policy::build_report(in);
    double build = since(t0);
    std::printf(
        "sqlite  (comparison) report from scratch: load rows %.2f s + build %.3f s wall, %.2f s CPU "
        "(%zu findings, %zu changes); people %lld/%lld non-compliant in both: %s\n",
        load, build, process_cpu() - c0, in.findings.size(), in.history.size(),
        (long long)full.people_noncompliant, (long long)full.people,
        rep->body.find("\"people_noncompliant\":" + std::to_string(full.people_noncompliant)) !=
                std::string::npos
            ? "yes"
            : "NO");
  }
  st->reset();
  if (!keep) std::filesystem::remove_all(dir);
}

}  // namespace

int main(int argc, char** argv) {
  size_t n_devices = 1000000, n_people = 300000;
  bool sqlite = false, memory = true, scratch = true, keep = false;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--devices" && i + 1 < argc)
      n_devices = std::strtoul(argv[++i], nullptr, 10);
    else if (a == "--people" && i + 1 < argc)
      n_people = std::strtoul(argv[++i], nullptr, 10);
    else if (a == "--sqlite")
      sqlite = true;
    else if (a == "--sqlite-only")
      sqlite = true, memory = false;
    else if (a == "--no-scratch")
      scratch = false;
    else if (a == "--keep")
      keep = true;
    else if (a == "--dir" && i + 1 < argc)
      dir = argv[++i];
    else
      die("usage: policy_bench [--devices N] [--people P] [--sqlite] [--sqlite-only] [--no-scratch] [--keep] "
          "[--dir DIR]");
  }
  if (n_people == 0 || n_devices == 0) die("need at least one device and one person");
  if (dir.empty())
    dir = (std::filesystem::temp_directory_path() / ("fw-policy-bench-" + std::to_string(getpid()))).string();
  auto t0 = SteadyClock::now();
  Org o = make_org(n_devices, n_people);
  std::printf("generated %zu devices, %zu people in %.1f s\n", o.devices.size(), o.people.size(), since(t0));
  auto parsed = policy::parse_file(kPolicy, "bench.yaml");
  if (!parsed.ok()) die(parsed.errors[0].to_string());
  auto cp = policy::CompiledPolicy::compile(parsed.documents[0]);
  if (!cp) die(cp.error().to_string());
  Time now = *parse_time("2023-03-01T06:00:00Z");
  std::printf("machine: %u hardware threads; load average at start %s\n", std::thread::hardware_concurrency(),
              loadavg().c_str());
  if (memory) {
    memory_part(o, *cp, now);
    report_memory(o, parsed.documents[0], now);
  }
  if (sqlite) sqlite_part(o, dir, now, scratch, keep);
  return 0;
}
