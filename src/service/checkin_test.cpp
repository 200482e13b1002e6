// Tests of AgentService: enrolment secrets, check-ins (full, delta, duplicate, conflict),
// the limits on outside input, rate limiting, and group commit under concurrent check-ins,
// against a real SQLite store in a temporary directory.
#include "service/checkin.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <future>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "service/crypto.h"
#include "service/inventory.h"
#include "service/service_test_util.h"
#include "support/test_store.h"

namespace fw::service {
namespace {

namespace json = boost::json;

struct Fixture {
  fw::testing::TestStore store;
  FixedClock clock{from_unix(1'800'000'000)};
  std::unique_ptr<AgentService> svc;

  explicit Fixture(AgentLimits lim = {}) {
    auto s = store.open("fw-checkin-test");
    EXPECT_TRUE(s) << s.error().to_string();
    EXPECT_TRUE(store->write([&](store::Tx& tx) -> Status {
      return fw::testing::put_org_units(tx, Change{"test", clock.now()}, {"/field"});
    }));
    svc = std::make_unique<AgentService>(*store, clock, lim);
  }

  std::string secret(int64_t uses = 10) {
    auto s = svc->create_enroll_secret("admin", "/field", clock.now() + Seconds(3600), uses);
    EXPECT_TRUE(s) << s.error().to_string();
    return s ? s->secret : "";
  }
  std::pair<std::string, std::string> enroll(const std::string& sec, const std::string& hw = "hw-0001") {
    auto a = svc->enroll(json::serialize(json::object{{"protocol", 1}, {"enroll_secret", sec}, {"hardware_id", hw},
                                                      {"hostname", "phone"}, {"os_family", "Aurora OS"}}));
    EXPECT_TRUE(a) << a.error().to_string();
    if (!a) return {};
    return {std::string(a->at("device_id").as_string()), std::string(a->at("credential").as_string())};
  }
  model::Device device(const std::string& id) {
    model::Device d;
    EXPECT_TRUE(store->read([&](store::Tx& tx) -> Status {
      FW_TRY(d, tx.get_device(id));
      return {};
    }));
    return d;
  }
};

json::object facts(int napps = 3, const std::string& kernel = "4.19") {
  json::array apps;
  for (int i = 0; i < napps; ++i)
    apps.push_back(json::object{{"id", "app." + std::to_string(i)}, {"name", "App"}, {"version", "1.0"}});
  return json::object{{"os", {{"family", "Aurora OS"}, {"version", "4.0.2"}}},
                      {"kernel", {{"release", kernel}}},
                      {"hardware", {{"vendor", "OMP"}, {"model", "R-FON"}, {"type", "phone"}}},
                      {"screen_lock", {{"configured", true}}},
                      {"apps", std::move(apps)}};
}

std::string report(const std::string& dev, int64_t seq, const json::object& f, bool full = true,
                   json::array removed = {}) {
  json::object r{{"protocol", 1}, {"device_id", dev}, {"seq", seq}, {"kind", full ? "full" : "delta"},
                 {"collected_at", "2027-01-15T08:00:00Z"}, {"facts", f}, {"command_results", json::array()}};
  if (!full) {
    r["base_seq"] = seq - 1;
    r["removed"] = std::move(removed);
  }
  return json::serialize(r);
}

TEST(AgentEnroll, SecretRules) {
  Fixture fx;
  std::string sec = fx.secret(2);
  ASSERT_EQ(sec.rfind("es_", 0), 0u);
  auto [dev, cred] = fx.enroll(sec);
  EXPECT_EQ(dev.rfind("dev-", 0), 0u);
  EXPECT_EQ(cred.rfind("dc_", 0), 0u);
  auto d = fx.device(dev);
  EXPECT_EQ(d.source, model::DeviceSource::agent);
  EXPECT_TRUE(d.managed);
  EXPECT_EQ(d.os_family, "Aurora OS");
  fx.enroll(sec, "hw-0002");
  struct Case {
    std::string secret, message;
  } cases[] = {{sec, "used up"}, {"es_unknown", "unknown"}};
  for (const auto& c : cases) {
    auto r = fx.svc->enroll(json::serialize(json::object{{"enroll_secret", c.secret}, {"hardware_id", "hw-x"}}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::unauthenticated);
    EXPECT_NE(r.error().message.find(c.message), std::string::npos) << r.error().message;
  }
  std::string soon = fx.secret(5);
  fx.clock.advance(Seconds(3601));
  auto r = fx.svc->enroll(json::serialize(json::object{{"enroll_secret", soon}, {"hardware_id", "hw-x"}}));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("expired"), std::string::npos);
  auto bad = fx.svc->enroll(R"({"enroll_secret": 5})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().where, "enroll_secret");
  EXPECT_FALSE(fx.svc->create_enroll_secret("admin", "/nowhere", fx.clock.now() + Seconds(60), 1));
  EXPECT_FALSE(fx.svc->create_enroll_secret("admin", "/field", fx.clock.now() - Seconds(60), 1));
}

// Enrolments go through the group-commit writer: 40 concurrent enrolments against a secret
// with 25 uses give exactly 25 devices (one secret row counted by one writer), and they
// share transactions.
TEST(AgentEnroll, ConcurrentEnrolmentsAreBatchedAndTheUseLimitIsExact) {
  Fixture fx;
  std::string sec = fx.secret(25);
  constexpr int kN = 40;
  std::vector<std::future<Result<json::object>>> futs;
  std::vector<std::promise<Result<json::object>>> promises(kN);
  for (int i = 0; i < kN; ++i) {
    futs.push_back(promises[size_t(i)].get_future());
    fx.svc->enroll_async(json::serialize(json::object{{"protocol", 1}, {"enroll_secret", sec},
                                                      {"hardware_id", "hw-" + std::to_string(i)}}),
                         [&promises, i](Result<json::object> r) { promises[size_t(i)].set_value(std::move(r)); });
  }
  int ok = 0, used_up = 0;
  std::set<std::string> ids;
  for (auto& f : futs) {
    auto r = f.get();
    if (r) {
      ++ok;
      ids.insert(std::string(r->at("device_id").as_string()));
    } else {
      EXPECT_EQ(r.error().code, Errc::unauthenticated);
      EXPECT_NE(r.error().message.find("used up"), std::string::npos) << r.error().message;
      ++used_up;
    }
  }
  EXPECT_EQ(ok, 25);
  EXPECT_EQ(used_up, kN - 25);
  EXPECT_EQ(ids.size(), 25u);
  auto st = fx.svc->stats();
  EXPECT_EQ(st.enrolments, 25u);
  EXPECT_LT(st.batches, 25u);  // several enrolments per transaction
  int64_t devices = 0, used = 0;
  ASSERT_TRUE(fx.store->read([&](store::Tx& tx) -> Status {
    FW_TRY_STATUS(tx.scan_devices({}, [&](const model::Device&) -> Status {
      ++devices;
      return {};
    }));
    FW_TRY(auto s, tx.get_agent_secret(sha256_hex(sec)));
    used = s.used;
    return {};
  }));
  EXPECT_EQ(devices, 25);
  EXPECT_EQ(used, 25);
}

TEST(AgentCheckin, FullDeltaDuplicateConflict) {
  Fixture fx;
  auto [dev, cred] = fx.enroll(fx.secret());
  auto a1 = fx.svc->checkin(cred, report(dev, 1, facts(3)));
  ASSERT_TRUE(a1) << a1.error().to_string();
  EXPECT_EQ(a1->at("ack_seq"), 1);
  EXPECT_EQ(a1->at("next_checkin_s"), 900);
  auto d = fx.device(dev);
  EXPECT_EQ(d.os_family, "Aurora OS");
  EXPECT_EQ(d.os_version, "4.0.2");
  EXPECT_EQ(d.vendor, "OMP");
  EXPECT_EQ(d.type, model::DeviceType::phone);
  EXPECT_EQ(d.apps.size(), 3u);
  EXPECT_EQ(d.facts_json.find("\"apps\""), std::string::npos);
  EXPECT_NE(d.facts_json.find("\"kernel\""), std::string::npos);

  // Delta: kernel changed, screen_lock removed; apps untouched.
  json::object delta{{"kernel", {{"release", "5.4"}}}};
  auto a2 = fx.svc->checkin(cred, report(dev, 2, delta, false, json::array{"screen_lock"}));
  ASSERT_TRUE(a2) << a2.error().to_string();
  d = fx.device(dev);
  EXPECT_NE(d.facts_json.find("5.4"), std::string::npos);
  EXPECT_EQ(d.facts_json.find("screen_lock"), std::string::npos);
  EXPECT_EQ(d.apps.size(), 3u);

  // The same report again (its answer was lost): acknowledged, not applied twice.
  auto dup = fx.svc->checkin(cred, report(dev, 1, facts(1)));
  ASSERT_TRUE(dup);
  EXPECT_EQ(dup->at("ack_seq"), 1);
  EXPECT_EQ(fx.device(dev).apps.size(), 3u);
  EXPECT_EQ(fx.svc->stats().duplicates, 1u);

  // A delta on a base the server does not have: 409, nothing applied.
  auto c = fx.svc->checkin(cred, report(dev, 5, json::object{{"kernel", {{"release", "9"}}}}, false));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, Errc::conflict);
  EXPECT_EQ(c.error().where, "base_seq");
  EXPECT_NE(fx.device(dev).facts_json.find("5.4"), std::string::npos);
  // The agent's answer to 409: a full report with the next seq.
  ASSERT_TRUE(fx.svc->checkin(cred, report(dev, 6, facts(5))));
  EXPECT_EQ(fx.device(dev).apps.size(), 5u);
}

TEST(AgentCheckin, AFullReportWithoutAppsKeepsTheStoredList) {
  // The agent could not read its package database (facts.apps_error, no "apps"): an empty
  // list would read as "nothing installed" and pass every no-app rule.
  Fixture fx;
  auto [dev, cred] = fx.enroll(fx.secret());
  ASSERT_TRUE(fx.svc->checkin(cred, report(dev, 1, facts(3))));
  auto f = facts(0);
  f.erase("apps");
  f["apps_error"] = "rpm: cannot open Packages database";
  auto a = fx.svc->checkin(cred, report(dev, 2, f));
  ASSERT_TRUE(a) << a.error().to_string();
  auto d = fx.device(dev);
  EXPECT_EQ(d.apps.size(), 3u);
  EXPECT_NE(d.facts_json.find("apps_error"), std::string::npos);
  // A later full report with a list replaces it again.
  ASSERT_TRUE(fx.svc->checkin(cred, report(dev, 3, facts(1))));
  EXPECT_EQ(fx.device(dev).apps.size(), 1u);
}

TEST(AgentCheckin, RefusesBadInputAndChangesNothing) {
  Fixture fx;
  auto [dev, cred] = fx.enroll(fx.secret());
  ASSERT_TRUE(fx.svc->checkin(cred, report(dev, 1, facts(2))));
  auto before = fx.device(dev);

  json::object huge_field = facts(1);
  huge_field["kernel"] = json::object{{"release", std::string(10 << 20, 'x')}};
  json::object long_string = facts(1);
  long_string["kernel"] = json::object{{"release", std::string(5000, 'x')}};
  json::object deep = facts(1);
  deep["x"] = json::array{json::array{json::array{json::array{json::array{json::array{json::array{1}}}}}}};
  struct Case {
    std::string name, cred, body;
    Errc code;
    std::string where;
  } cases[] = {
      {"bad credential", "dc_wrong", report(dev, 2, facts(1)), Errc::unauthenticated, "Authorization"},
      {"other device", cred, report("dev-other", 2, facts(1)), Errc::unauthenticated, "device_id"},
      {"100,000 apps", cred, report(dev, 2, facts(100000)), Errc::too_large, ""},
      {"10 MB field", cred, report(dev, 2, huge_field), Errc::too_large, ""},
      {"5,000-byte string", cred, report(dev, 2, long_string), Errc::too_large, "facts.kernel.release"},
      {"too deep", cred, report(dev, 2, deep), Errc::invalid_argument, ""},
      {"malformed", cred, "{\"device_id\": ", Errc::parse_error, ""},
      {"not an object", cred, "[1,2]", Errc::invalid_argument, ""},
      {"no seq", cred, R"({"device_id":")" + dev + R"(","kind":"full","collected_at":"2027-01-01T00:00:00Z","facts":{}})",
       Errc::invalid_argument, "seq"},
      {"bad kind", cred, R"({"device_id":")" + dev + R"(","seq":2,"kind":"some","collected_at":"2027-01-01T00:00:00Z","facts":{}})",
       Errc::invalid_argument, "kind"},
      {"bad time", cred, R"({"device_id":")" + dev + R"(","seq":2,"kind":"full","collected_at":"yesterday","facts":{}})",
       Errc::invalid_argument, "collected_at"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = fx.svc->checkin(c.cred, c.body);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, c.code) << r.error().to_string();
    if (!c.where.empty()) {
      EXPECT_EQ(r.error().where, c.where);
    }
  }
  // 5001 apps names the field (within the body limit).
  auto many = fx.svc->checkin(cred, report(dev, 2, facts(5001)));
  ASSERT_FALSE(many);
  EXPECT_EQ(many.error().where, "facts.apps");
  auto after = fx.device(dev);
  EXPECT_EQ(after.facts_json, before.facts_json);
  EXPECT_EQ(after.apps.size(), 2u);
  EXPECT_EQ(after.last_seen, before.last_seen);
}

TEST(AgentCheckin, RateLimitPerDevice) {
  AgentLimits lim;
  lim.burst = 3;
  lim.rate_per_s = 0.1;
  Fixture fx(lim);
  auto [dev, cred] = fx.enroll(fx.secret());
  int64_t seq = 0;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(fx.svc->checkin(cred, report(dev, ++seq, facts(1))));
  auto r = fx.svc->checkin(cred, report(dev, ++seq, facts(1)));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::rate_limited);
  fx.clock.advance(Seconds(10));
  EXPECT_TRUE(fx.svc->checkin(cred, report(dev, seq, facts(1))));
}

TEST(AgentCheckin, GroupCommitBatchesConcurrentCheckins) {
  Fixture fx;
  std::string sec = fx.secret(1000);
  constexpr int kThreads = 8, kPerThread = 40;
  std::vector<std::pair<std::string, std::string>> devs;
  for (int i = 0; i < kThreads; ++i) devs.push_back(fx.enroll(sec, "hw-" + std::to_string(i)));
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int s = 1; s <= kPerThread; ++s) {
        // Each device tries 40 check-ins at once: the first five (the burst) pass, the
        // rest are rate limited (the fixed clock does not move).
        auto r = fx.svc->checkin(devs[t].second, report(devs[t].first, s, facts(s % 7 + 1)));
        if (r) {
          ++ok;
        } else if (r.error().code != Errc::rate_limited) {
          ADD_FAILURE() << r.error().to_string();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  auto st = fx.svc->stats();
  EXPECT_EQ(st.checkins, uint64_t(ok.load()));
  EXPECT_GE(ok.load(), kThreads * 5);
  EXPECT_LE(st.batches, st.checkins);
  for (const auto& [dev, cred] : devs) EXPECT_TRUE(fx.device(dev).managed);
}

TEST(AgentCheckin, ManyDevicesConcurrentlyAreBatched) {
  Fixture fx;
  std::string sec = fx.secret(1000);
  constexpr int kDevices = 64;
  std::vector<std::pair<std::string, std::string>> devs;
  for (int i = 0; i < kDevices; ++i) devs.push_back(fx.enroll(sec, "hw-" + std::to_string(i)));
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < kDevices; ++t)
    threads.emplace_back([&, t] {
      for (int s = 1; s <= 5; ++s)
        if (fx.svc->checkin(devs[t].second, report(devs[t].first, s, facts(50)))) ++ok;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), kDevices * 5);
  auto st = fx.svc->stats();
  EXPECT_EQ(st.checkins, uint64_t(kDevices * 5));
  EXPECT_LT(st.batches, st.checkins) << "concurrent check-ins should share transactions";
  for (const auto& [dev, cred] : devs) EXPECT_EQ(fx.device(dev).apps.size(), 50u);
}

// The writer logs its batch figures (size, SQL and commit times, queue wait) per window and
// when it stops: what bench/checkin_load/run.sh prints per phase.
TEST(AgentCheckin, WriterLogsItsBatchFigures) {
  std::ostringstream out;
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>("checkin-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  logger->set_level(spdlog::level::info);
  spdlog::set_default_logger(logger);
  {
    Fixture fx;
    std::string sec = fx.secret(100);
    std::vector<std::pair<std::string, std::string>> devs;
    for (int i = 0; i < 4; ++i) devs.push_back(fx.enroll(sec, "hw-" + std::to_string(i)));
    for (const auto& [dev, cred] : devs) ASSERT_TRUE(fx.svc->checkin(cred, report(dev, 1, facts(2))));
    fx.svc.reset();  // stops the writer: the last window is logged
  }
  spdlog::set_default_logger(previous);
  std::string text = out.str();
  ASSERT_NE(text.find("check-in writer: "), std::string::npos) << text;
  // 4 enrolments and 4 check-ins, each batch alone (nothing ran concurrently), in one
  // window or several on a slow machine.
  uint64_t batches = 0, items = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    auto at = line.find(" s: ");
    if (line.find("check-in writer: ") == std::string::npos || at == std::string::npos) continue;
    unsigned long long b = 0, i = 0;
    ASSERT_EQ(std::sscanf(line.c_str() + at, " s: %llu batches, %llu items", &b, &i), 2) << line;
    batches += b;
    items += i;
  }
  EXPECT_EQ(batches, 8u);
  EXPECT_EQ(items, 8u);
  for (const char* part : {"apply mean ", "commit mean ", " p99 ", "busy ", "queue wait p50 "})
    EXPECT_NE(text.find(part), std::string::npos) << part << " in " << text;
}

// Apps as a set of "id name version" for comparisons that ignore row order.
std::multiset<std::string> app_set(const model::Device& d) {
  std::multiset<std::string> out;
  for (const auto& a : d.apps) out.insert(a.id + " " + a.name + " " + a.version);
  return out;
}

store::AgentDevice agent_row(Fixture& fx, const std::string& dev) {
  store::AgentDevice ad;
  EXPECT_TRUE(fx.store->read([&](store::Tx& tx) -> Status {
    FW_TRY(ad, tx.get_agent_device(dev));
    return {};
  }));
  return ad;
}

TEST(AgentCheckin, UnchangedReportsWriteOnlyTheAgentRow) {
  Fixture fx;
  auto [dev, cred] = fx.enroll(fx.secret());
  ASSERT_TRUE(fx.svc->checkin(cred, report(dev, 1, facts(4))));
  auto before = fx.device(dev);
  // The same full report, a heartbeat delta, and a delta that re-sends an unchanged key.
  ASSERT_TRUE(fx.svc->checkin(cred, report(dev, 2, facts(4))));
  ASSERT_TRUE(fx.svc->checkin(cred, report(dev, 3, json::object{}, false)));
  ASSERT_TRUE(fx.svc->checkin(cred, report(dev, 4, json::object{{"kernel", {{"release", "4.19"}}}}, false)));
  EXPECT_EQ(fx.svc->stats().unchanged, 3u);
  auto after = fx.device(dev);
  EXPECT_EQ(after.facts_json, before.facts_json);
  EXPECT_EQ(app_set(after), app_set(before));
  EXPECT_EQ(after.last_seen, before.last_seen) << "last_seen is refreshed at most once a minute";
  // The heartbeats went to the check-in log; a clean stop folds it into the agent row.
  fx.svc = std::make_unique<AgentService>(*fx.store, fx.clock);
  EXPECT_EQ(agent_row(fx, dev).last_seq, 4);
  // A minute later an unchanged report moves last_seen (and nothing else).
  fx.clock.advance(Seconds(61));
  ASSERT_TRUE(fx.svc->checkin(cred, report(dev, 5, json::object{}, false)));
  EXPECT_EQ(fx.device(dev).last_seen, fx.clock.now());
  EXPECT_EQ(fx.svc->stats().unchanged, 1u);  // of the new service
}

TEST(AgentCheckin, AppsAreWrittenByDifference) {
  AgentLimits lim;
  lim.burst = 100;
  Fixture fx(lim);
  auto [dev, cred] = fx.enroll(fx.secret());
  auto with_apps = [](std::vector<std::array<const char*, 3>> apps) {
    json::object f = facts(0);
    json::array a;
    for (const auto& x : apps) a.push_back(json::object{{"id", x[0]}, {"name", x[1]}, {"version", x[2]}});
    f["apps"] = std::move(a);
    return f;
  };
  struct Step {
    const char* name;
    bool full;
    std::vector<std::array<const char*, 3>> apps;
  } steps[] = {
      {"first", true, {{"a", "A", "1"}, {"b", "B", "1"}, {"c", "C", "1"}}},
      {"b updated, c removed, d added", true, {{"a", "A", "1"}, {"b", "B", "2"}, {"d", "D", "1"}}},
      {"delta with a new app list", false, {{"d", "D", "1"}, {"e", "E", "1"}}},
      {"two versions of one package", true, {{"k", "K", "1"}, {"k", "K", "2"}, {"d", "D", "1"}}},
      {"one version removed", true, {{"k", "K", "2"}, {"d", "D", "1"}}},
      {"none", true, {}},
  };
  int64_t seq = 0;
  for (const auto& st : steps) {
    SCOPED_TRACE(st.name);
    json::object f = with_apps(st.apps);
    if (!st.full) f = json::object{{"apps", f["apps"]}};
    auto r = fx.svc->checkin(cred, report(dev, ++seq, f, st.full));
    ASSERT_TRUE(r) << r.error().to_string();
    std::multiset<std::string> want;
    for (const auto& x : st.apps) want.insert(std::string(x[0]) + " " + x[1] + " " + x[2]);
    EXPECT_EQ(app_set(fx.device(dev)), want);
  }
  // Removing the key "apps" in a delta empties the list too.
  ASSERT_TRUE(fx.svc->checkin(cred, report(dev, ++seq, with_apps({{"z", "Z", "1"}}))));
  ASSERT_TRUE(fx.svc->checkin(cred, report(dev, ++seq, json::object{}, false, json::array{"apps"})));
  EXPECT_TRUE(fx.device(dev).apps.empty());
}

TEST(AgentCheckin, CommittedHookNamesChangedDevicesOnly) {
  Fixture fx;
  std::mutex mu;
  std::vector<std::string> seen;
  fx.svc->set_on_committed([&](const std::vector<std::string>& ids) {
    std::lock_guard lk(mu);
    seen.insert(seen.end(), ids.begin(), ids.end());
  });
  auto [dev, cred] = fx.enroll(fx.secret());
  ASSERT_TRUE(fx.svc->checkin(cred, report(dev, 1, facts(2))));
  ASSERT_TRUE(fx.svc->checkin(cred, report(dev, 2, json::object{}, false)));  // heartbeat
  ASSERT_TRUE(fx.svc->checkin(cred, report(dev, 2, json::object{}, false)));  // duplicate
  ASSERT_TRUE(fx.svc->checkin(cred, report(dev, 3, json::object{{"kernel", {{"release", "6"}}}}, false)));
  std::lock_guard lk(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{dev, dev}));
}

TEST(AgentCheckin, AsyncAnswersAfterCommitWithoutBlocking) {
  Fixture fx;
  auto [dev, cred] = fx.enroll(fx.secret());
  std::promise<Result<json::object>> ok, refused;
  auto f_ok = ok.get_future(), f_refused = refused.get_future();
  fx.svc->checkin_async(cred, report(dev, 1, facts(2)), [&](Result<json::object> r) { ok.set_value(std::move(r)); });
  // A refusal found before queuing answers on the calling thread, before checkin_async returns.
  fx.svc->checkin_async("dc_nope", report(dev, 2, facts(2)),
                        [&](Result<json::object> r) { refused.set_value(std::move(r)); });
  ASSERT_EQ(f_refused.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_EQ(f_refused.get().error().code, Errc::unauthenticated);
  auto r = f_ok.get();
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->at("ack_seq"), 1);
  EXPECT_EQ(fx.device(dev).apps.size(), 2u);
}

TEST(AgentCommands, QueuedDeliveredAndResultRecorded) {
  Fixture fx;
  auto [dev, cred] = fx.enroll(fx.secret());
  auto msg = fx.svc->queue_command("token:ops", false, dev, "message", json::object{{"text", "Replace this phone"}});
  ASSERT_TRUE(msg) << msg.error().to_string();
  EXPECT_EQ(msg->state, "queued");

  auto a1 = fx.svc->checkin(cred, report(dev, 1, facts(1)));
  ASSERT_TRUE(a1) << a1.error().to_string();
  const auto& cmds = a1->at("commands").as_array();
  ASSERT_EQ(cmds.size(), 1u);
  EXPECT_EQ(std::string(cmds[0].at("id").as_string()), msg->id);
  EXPECT_EQ(cmds[0].at("type"), "message");
  EXPECT_EQ(cmds[0].at("args").at("text"), "Replace this phone");
  auto list = fx.svc->list_commands(dev);
  ASSERT_TRUE(list);
  EXPECT_EQ(list->at(0).state, "sent");

  // Until the result arrives the command is repeated (at-least-once delivery).
  auto a2 = fx.svc->checkin(cred, report(dev, 2, json::object{}, false));
  ASSERT_TRUE(a2);
  EXPECT_EQ(a2->at("commands").as_array().size(), 1u);

  json::object rep = json::parse(report(dev, 3, json::object{}, false)).as_object();
  rep["command_results"] = json::array{json::object{{"id", msg->id}, {"status", "ok"}, {"exit_code", 0},
                                                    {"output", ""}, {"finished_at", "2027-01-15T08:00:00Z"}},
                                       json::object{{"id", "cmd-unknown"}, {"status", "failed"}}};
  auto a3 = fx.svc->checkin(cred, json::serialize(rep));
  ASSERT_TRUE(a3) << a3.error().to_string();
  EXPECT_TRUE(a3->at("commands").as_array().empty());
  list = fx.svc->list_commands(dev);
  ASSERT_TRUE(list);
  EXPECT_EQ(list->at(0).state, "done");
  EXPECT_NE(list->at(0).result_json.find("\"exit_code\":0"), std::string::npos) << list->at(0).result_json;
  // A second result for the same id is ignored.
  rep = json::parse(report(dev, 4, json::object{}, false)).as_object();
  rep["command_results"] = json::array{json::object{{"id", msg->id}, {"status", "failed"}}};
  ASSERT_TRUE(fx.svc->checkin(cred, json::serialize(rep)));
  EXPECT_EQ(fx.svc->list_commands(dev)->at(0).state, "done");
  // A malformed result refuses the report.
  rep = json::parse(report(dev, 5, json::object{}, false)).as_object();
  rep["command_results"] = json::array{json::object{{"id", msg->id}, {"status", "maybe"}}};
  auto bad = fx.svc->checkin(cred, json::serialize(rep));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().where, "command_results[0].status");
}

TEST(AgentCommands, ArgumentsRightsAndAudit) {
  Fixture fx;
  auto [dev, cred] = fx.enroll(fx.secret());
  struct Case {
    const char* name;
    bool admin;
    std::string device, type;
    json::object args;
    std::optional<Errc> code;
    std::string where;
  } cases[] = {
      {"refresh", false, dev, "refresh", {}, std::nullopt, ""},
      {"install-app", false, dev, "install-app", {{"app_id", "ru.trueconf.client"}, {"version", "3.2"}}, std::nullopt, ""},
      {"remove-app without app_id", false, dev, "remove-app", {}, Errc::invalid_argument, "args.app_id"},
      {"message with an unknown arg", false, dev, "message", {{"text", "hi"}, {"x", 1}}, Errc::invalid_argument, "args.x"},
      {"unknown type", true, dev, "format", {}, Errc::invalid_argument, "type"},
      {"lock by an operator", false, dev, "lock", {}, Errc::permission_denied, "type"},
      {"wipe by an operator", false, dev, "wipe", {}, Errc::permission_denied, "type"},
      {"lock by an admin", true, dev, "lock", {}, std::nullopt, ""},
      {"wipe by an admin", true, dev, "wipe", {}, std::nullopt, ""},
      {"unknown device", true, "dev-nope", "refresh", {}, Errc::not_found, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = fx.svc->queue_command("token:t", c.admin, c.device, c.type, c.args);
    if (!c.code) {
      EXPECT_TRUE(r) << r.error().to_string();
      continue;
    }
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, *c.code) << r.error().to_string();
    if (!c.where.empty()) {
      EXPECT_EQ(r.error().where, c.where);
    }
  }
  std::vector<std::string> actions;
  ASSERT_TRUE(fx.store->read([&](store::Tx& tx) -> Status {
    FW_TRY(auto page, tx.list_audit(store::PageRequest{.limit = 1000}));
    for (const auto& e : page.items) actions.push_back(e.action);
    return {};
  }));
  auto count = [&](std::string_view a) { return std::count(actions.begin(), actions.end(), a); };
  EXPECT_EQ(count("device.command"), 2);
  EXPECT_EQ(count("device.command.lock"), 1);
  EXPECT_EQ(count("device.command.wipe"), 1);
  EXPECT_EQ(fx.svc->list_commands(dev)->size(), 4u);
}

TEST(AgentRevoke, NextCheckinIsRefused) {
  Fixture fx;
  auto [dev, cred] = fx.enroll(fx.secret());
  ASSERT_TRUE(fx.svc->checkin(cred, report(dev, 1, facts(1))));  // the credential is now cached
  ASSERT_TRUE(fx.svc->revoke("token:admin", dev));
  ASSERT_TRUE(fx.svc->revoke("token:admin", dev)) << "revoking twice is not an error";
  auto r = fx.svc->checkin(cred, report(dev, 2, facts(1)));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unauthenticated);
  EXPECT_NE(r.error().message.find("revoked"), std::string::npos) << r.error().message;
  auto q = fx.svc->queue_command("token:admin", true, dev, "refresh", {});
  ASSERT_FALSE(q);
  EXPECT_EQ(q.error().code, Errc::conflict);
  auto nf = fx.svc->revoke("token:admin", "dev-nope");
  ASSERT_FALSE(nf);
  EXPECT_EQ(nf.error().code, Errc::not_found);
  int revokes = 0;
  ASSERT_TRUE(fx.store->read([&](store::Tx& tx) -> Status {
    FW_TRY(auto page, tx.list_audit(store::PageRequest{.limit = 1000}));
    for (const auto& e : page.items) revokes += e.action == "device.revoke";
    return {};
  }));
  EXPECT_EQ(revokes, 1);
}

// The writer keeps each device's agent row in memory on SQLite (a heartbeat is one UPDATE).
// Changes made by another process on the same file (the CLI: revoke, command) and a device
// deleted through the inventory must still be seen by the next check-in.
TEST(AgentCheckin, KeptStateSeesOtherProcessesAndDeletions) {
  Fixture fx;
  auto sec = fx.secret();
  auto [dev, cred] = fx.enroll(sec, "hw-a");
  auto [dev2, cred2] = fx.enroll(sec, "hw-b");
  ASSERT_TRUE(fx.svc->checkin(cred, report(dev, 1, facts(2))));
  ASSERT_TRUE(fx.svc->checkin(cred, report(dev, 2, json::object{}, false)));  // state now kept
  ASSERT_TRUE(fx.svc->checkin(cred2, report(dev2, 1, facts(2))));

  // "Another process": its own store and service on the same database file.
  auto other = store::Store::open((fx.store.dir() / "fleetward.db").string());
  ASSERT_TRUE(other) << other.error().to_string();
  {
    AgentService cli(**other, fx.clock);
    auto c = cli.queue_command("token:admin", true, dev, "refresh", {});
    ASSERT_TRUE(c) << c.error().to_string();
    auto a = fx.svc->checkin(cred, report(dev, 3, json::object{}, false));
    ASSERT_TRUE(a) << a.error().to_string();
    ASSERT_EQ(a->at("commands").as_array().size(), 1u) << "a command queued by another process goes out";
    EXPECT_EQ(a->at("commands").as_array()[0].at("id").as_string(), c->id);
    ASSERT_TRUE(cli.revoke("token:admin", dev));
  }
  auto r = fx.svc->checkin(cred, report(dev, 4, json::object{}, false));
  ASSERT_FALSE(r) << "revoked by another process";
  EXPECT_EQ(r.error().code, Errc::unauthenticated);
  EXPECT_NE(r.error().message.find("revoked"), std::string::npos) << r.error().message;

  // Deleted in this process (the rows cascade): the next heartbeat is refused, and nothing
  // is written for the device.
  ASSERT_TRUE(fx.store->write([&](store::Tx& tx) { return tx.delete_device(dev2); }));
  auto d = fx.svc->checkin(cred2, report(dev2, 2, json::object{}, false));
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, Errc::unauthenticated);
}

// A command queued in this process while the writer keeps the device's state goes out in
// the next answer (queue_command drops the kept copy inside its transaction).
TEST(AgentCommands, QueuedWhileStateIsKeptGoesOut) {
  Fixture fx;
  auto [dev, cred] = fx.enroll(fx.secret());
  ASSERT_TRUE(fx.svc->checkin(cred, report(dev, 1, facts(1))));
  for (int64_t seq = 2; seq <= 3; ++seq) {  // 5 check-ins in all: the rate limit's burst
    auto a = fx.svc->checkin(cred, report(dev, seq, json::object{}, false));
    ASSERT_TRUE(a) << a.error().to_string();
    EXPECT_TRUE(a->at("commands").as_array().empty());
  }
  ASSERT_TRUE(fx.svc->queue_command("token:admin", false, dev, "refresh", {}));
  auto a = fx.svc->checkin(cred, report(dev, 4, json::object{}, false));
  ASSERT_TRUE(a) << a.error().to_string();
  EXPECT_EQ(a->at("commands").as_array().size(), 1u);
  auto again = fx.svc->checkin(cred, report(dev, 5, json::object{}, false));
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->at("commands").as_array().size(), 1u) << "sent, not yet done: it goes out again";
}

// The check-in log (SQLite): heartbeats are appended to agent_checkin_log and folded into
// agent_devices later. With the default fold period (30 s) the agent row lags behind the
// heartbeats while the writer runs; a clean stop folds it; a new writer continues the seqs.
TEST(AgentCheckinLog, HeartbeatsAreLoggedAndFoldedAtStop) {
  Fixture fx;
  auto [dev, cred] = fx.enroll(fx.secret());
  ASSERT_TRUE(fx.svc->checkin(cred, report(dev, 1, facts(2))));
  for (int64_t seq = 2; seq <= 4; ++seq) ASSERT_TRUE(fx.svc->checkin(cred, report(dev, seq, json::object{}, false)));
  EXPECT_EQ(agent_row(fx, dev).last_seq, 1) << "heartbeats are in the log, not yet in the row";
  fx.clock.advance(Seconds(30));
  fx.svc.reset();  // a clean stop folds the log
  auto ad = agent_row(fx, dev);
  EXPECT_EQ(ad.last_seq, 4);
  EXPECT_EQ(ad.last_checkin.value_or(Time{}), fx.clock.now() - Seconds(30));
  fx.svc = std::make_unique<AgentService>(*fx.store, fx.clock);
  auto dup = fx.svc->checkin(cred, report(dev, 4, json::object{}, false));
  ASSERT_TRUE(dup) << dup.error().to_string();
  EXPECT_EQ(fx.svc->stats().duplicates, 1u);
  ASSERT_TRUE(fx.svc->checkin(cred, report(dev, 5, json::object{}, false)));
}

// A log left by a crash (rows never folded): the next writer folds it in its first batch,
// so duplicates and delta bases are judged by the logged seqs, and the row becomes exact.
TEST(AgentCheckinLog, ALogLeftByACrashIsFoldedByTheNextWriter) {
  Fixture fx;
  auto sec = fx.secret();
  auto [dev, cred] = fx.enroll(sec, "hw-a");
  auto [dev2, cred2] = fx.enroll(sec, "hw-b");
  ASSERT_TRUE(fx.svc->checkin(cred, report(dev, 1, facts(2))));
  ASSERT_TRUE(fx.svc->checkin(cred2, report(dev2, 1, facts(2))));
  fx.svc.reset();
  // What a killed writer leaves: log rows (ids from 1) above the agent rows' seqs, and a row
  // of a device that is gone.
  Time t = fx.clock.now() + Seconds(5);
  std::string gone = "dev-gone";
  std::vector<store::AgentHeartbeat> rows = {
      {1, dev, 2, t}, {2, dev2, 2, t}, {3, dev, 3, t + Seconds(1)}, {4, gone, 9, t}, {5, dev, 4, t + Seconds(2)}};
  ASSERT_TRUE(fx.store->write([&](store::Tx& tx) { return tx.log_agent_heartbeats(rows); }));
  EXPECT_EQ(agent_row(fx, dev).last_seq, 1);
  fx.svc = std::make_unique<AgentService>(*fx.store, fx.clock);
  auto dup = fx.svc->checkin(cred, report(dev, 4, json::object{}, false));
  ASSERT_TRUE(dup) << dup.error().to_string();
  EXPECT_EQ(fx.svc->stats().duplicates, 1u) << "seq 4 is in the log: a duplicate";
  EXPECT_EQ(agent_row(fx, dev).last_seq, 4) << "folded by the first batch";
  EXPECT_EQ(agent_row(fx, dev).last_checkin.value_or(Time{}), t + Seconds(2));
  EXPECT_EQ(agent_row(fx, dev2).last_seq, 2);
  auto next = fx.svc->checkin(cred, report(dev, 5, json::object{}, false));
  ASSERT_TRUE(next) << next.error().to_string();
  auto c = fx.svc->checkin(cred2, report(dev2, 3, json::object{}, false));
  ASSERT_TRUE(c) << "base_seq 2 comes from the log: " << c.error().to_string();
  // The new writer's own heartbeats (ids after the crashed one's) are folded at its stop,
  // and every row is deleted: a second fold finds no log.
  fx.svc.reset();
  EXPECT_EQ(agent_row(fx, dev).last_seq, 5);
  EXPECT_EQ(agent_row(fx, dev2).last_seq, 3);
  int64_t high = -1;
  ASSERT_TRUE(fx.store->write([&](store::Tx& tx) -> Status {
    FW_TRY(high, tx.fold_agent_log_all());
    return {};
  }));
  EXPECT_EQ(high, 0);
}

// With a fold period of 0 the writer folds while it runs: rows become exact without a stop,
// also after queue_command dropped the kept state (the re-read row is overlaid with what is
// logged but not folded, so a delta on the last heartbeat is not a conflict). Many devices
// in concurrent batches; the stats and every acknowledged seq agree at the end.
TEST(AgentCheckinLog, FoldedWhileRunningAndAfterTheKeptStateIsDropped) {
  AgentLimits lim;
  lim.log_fold_period_ms = 0;
  lim.burst = 100;
  Fixture fx(lim);
  auto sec = fx.secret(100);
  std::vector<std::pair<std::string, std::string>> devs;
  for (int i = 0; i < 20; ++i) devs.push_back(fx.enroll(sec, "hw-" + std::to_string(i)));
  for (const auto& [dev, cred] : devs) ASSERT_TRUE(fx.svc->checkin(cred, report(dev, 1, facts(1))));
  constexpr int64_t kBeats = 6;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (const auto& [dev, cred] : devs)
    threads.emplace_back([&, dev = dev, cred = cred] {
      for (int64_t seq = 2; seq <= 1 + kBeats; ++seq)
        if (!fx.svc->checkin(cred, report(dev, seq, json::object{}, false))) ++failures;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  // A command drops the kept state of devs[0]; its next delta is based on the last heartbeat.
  const auto& [dev0, cred0] = devs[0];
  ASSERT_TRUE(fx.svc->queue_command("token:admin", false, dev0, "refresh", {}));
  auto a = fx.svc->checkin(cred0, report(dev0, 2 + kBeats, json::object{}, false));
  ASSERT_TRUE(a) << a.error().to_string();
  EXPECT_EQ(a->at("commands").as_array().size(), 1u);
  // More batches fold the rest (each folds at least 32 devices of the last cut: all 20).
  for (int round = 0; round < 3; ++round)
    for (size_t i = 1; i < devs.size(); ++i)
      ASSERT_TRUE(fx.svc->checkin(devs[i].second, report(devs[i].first, 2 + kBeats + round, json::object{}, false)));
  EXPECT_EQ(agent_row(fx, dev0).last_seq, 2 + kBeats);
  for (size_t i = 1; i < devs.size(); ++i)
    EXPECT_GE(agent_row(fx, devs[i].first).last_seq, 1 + kBeats + 2) << "folded while running: " << devs[i].first;
  fx.svc.reset();
  for (size_t i = 1; i < devs.size(); ++i) EXPECT_EQ(agent_row(fx, devs[i].first).last_seq, 1 + kBeats + 3);
}

// A changed report rewrites only the device columns whose value changed (search_key, the
// indexed columns): the values read back are the same as with a full rewrite.
TEST(AgentCheckin, ChangedColumnsOnlyAreRewritten) {
  Fixture fx;
  auto [dev, cred] = fx.enroll(fx.secret());
  ASSERT_TRUE(fx.svc->checkin(cred, report(dev, 1, facts(1))));
  struct Case {
    json::object delta;
    std::string os_version, model;
  } cases[] = {
      {json::object{{"kernel", {{"release", "5.0"}}}}, "4.0.2", "R-FON"},
      {json::object{{"os", {{"family", "Aurora OS"}, {"version", "5.1"}}}}, "5.1", "R-FON"},
      {json::object{{"hardware", {{"vendor", "OMP"}, {"model", "R-FON 2"}, {"type", "phone"}}}}, "5.1", "R-FON 2"},
  };
  int64_t seq = 1;
  for (const auto& c : cases) {
    ++seq;
    fx.clock.advance(Seconds(1));
    ASSERT_TRUE(fx.svc->checkin(cred, report(dev, seq, c.delta, false)));
    auto d = fx.device(dev);
    EXPECT_EQ(d.os_version, c.os_version);
    EXPECT_EQ(d.model, c.model);
    EXPECT_EQ(d.last_seen, fx.clock.now()) << "a changed fact moves last_seen";
    EXPECT_EQ(d.os_family, "Aurora OS");
    EXPECT_EQ(d.vendor, "OMP");
    EXPECT_TRUE(d.managed);
  }
  // The search key follows the model (the dashboard's device search).
  store::DeviceFilter q;
  q.search = "r-fon 2";
  std::vector<model::Device> found;
  ASSERT_TRUE(fx.store->read([&](store::Tx& tx) -> Status {
    FW_TRY(auto page, tx.list_devices(q, store::PageRequest{}));
    found = std::move(page.items);
    return {};
  }));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].id, dev);
}

}  // namespace
}  // namespace fw::service
