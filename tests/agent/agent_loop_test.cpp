// End-to-end tests of enrolment and the check-in loop: a real Agent with the real HTTP
// transport against a loopback HTTP server running FakeFleet (docs/agent-protocol.md).
// Time and sleeping are injected: sleeps advance a FixedClock and are recorded.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "agent/agent.h"
#include "fake_fleet.h"
#include "support/test_dir.h"

namespace fw::agent {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using testing::FakeFleet;
using testing::LoopbackServer;

std::string fixture(const std::string& name) { return std::string(FW_SOURCE_DIR) + "/tests/agent/fixtures/" + name; }

// One agent under test with its server, state dir, clock and recorded sleeps.
struct Harness {
  FakeFleet fleet;
  LoopbackServer server{[this](const testing::HttpRequest& r) { return fleet.handle(r); }};
  fw::testing::TestDir tmp{"fw-agent-test"};
  StateDir dir{tmp.file("state")};
  FixedClock clock{from_unix(1'800'000'000)};
  std::unique_ptr<Transport> transport;
  json::object facts;                  // what the collector returns; tests change it
  std::vector<Seconds> sleeps;
  size_t max_sleeps = 0;               // run() stops after this many sleeps
  std::function<void(size_t)> on_sleep;  // called after each sleep with its index
  std::vector<std::string> log;
  AgentConfig config;
  QueueLimits limits;

  Harness() {
    auto t = make_http_transport({server.url(), "", true, 10});
    EXPECT_TRUE(t);
    transport = std::move(*t);
    CollectOptions co;
    co.root = fixture("debian");
    co.agent_version = "test";
    facts = collect_facts(co);
  }

  Agent make(bool once = false, std::string secret = "s3cret") {
    AgentOptions o;
    o.server = server.url();
    o.enroll_secret = std::move(secret);
    o.root = fixture("debian");
    o.once = once;
    o.queue = limits;
    AgentDeps d;
    d.transport = transport.get();
    d.state_dir = &dir;
    d.config = config;
    d.collect = [this] { return facts; };
    d.clock = &clock;
    d.sleep = [this](Seconds s) {
      sleeps.push_back(s);
      clock.advance(s);
      if (on_sleep) on_sleep(sleeps.size() - 1);
      return sleeps.size() < max_sleeps;
    };
    d.rand01 = [] { return 1.0; };  // jitter at its upper bound: delays are exact
    d.log = [this](std::string_view l) { log.emplace_back(l); };
    return Agent(std::move(o), std::move(d));
  }
};

TEST(AgentLoop, EnrolsStoresCredential0600AndSendsFullReport) {
  Harness h;
  Agent a = h.make(true);
  ASSERT_EQ(a.run(), kExitOk) << a.last_error();
  ASSERT_EQ(h.fleet.requests.size(), 2u);
  EXPECT_EQ(h.fleet.requests[0].target, "/api/v1/agent/enroll");
  EXPECT_EQ(h.fleet.enrolled_hardware_id.size(), 32u);  // the fixture has no machine-id: generated
  EXPECT_EQ(h.fleet.requests[1].headers["authorization"], "Bearer cred-abc");

  struct stat st{};
  ASSERT_EQ(::stat((h.dir.dir() + "/credential.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto cred = h.dir.load_credential();
  ASSERT_TRUE(cred && *cred);
  EXPECT_EQ((*cred)->device_id, "d_1");
  EXPECT_EQ((*cred)->credential, "cred-abc");

  ASSERT_EQ(h.fleet.accepted.size(), 1u);
  const auto& r = h.fleet.accepted[0];
  EXPECT_EQ(r.at("kind"), "full");
  EXPECT_EQ(r.at("seq"), 1);
  EXPECT_EQ(r.at("device_id"), "d_1");
  EXPECT_EQ(r.at("protocol"), 1);
  EXPECT_EQ(r.at("collected_at"), "2027-01-15T08:00:00Z");
  EXPECT_EQ(h.fleet.facts, h.facts);
  EXPECT_EQ(h.fleet.facts.at("os").at("name"), "Debian GNU/Linux");
  EXPECT_EQ(a.state().interval_s, 600);
  auto q = h.dir.queued();
  ASSERT_TRUE(q);
  EXPECT_TRUE(q->empty());
}

TEST(AgentLoop, DeltasAfterFirstFullReportAndPeriodicFull) {
  Harness h;
  h.config.full_report_every = 3;
  {
    Agent a = h.make(true);
    ASSERT_EQ(a.run(), kExitOk);
  }
  // A second process on the same state dir: no re-enrolment, seq continues, delta.
  h.facts["kernel"] = json::object{{"release", "6.1.0-14-amd64"}};
  h.facts.erase("screen_lock");
  {
    Agent a = h.make(true);
    ASSERT_EQ(a.run(), kExitOk);
  }
  ASSERT_EQ(h.fleet.accepted.size(), 2u);
  const auto& d = h.fleet.accepted[1];
  EXPECT_EQ(d.at("kind"), "delta");
  EXPECT_EQ(d.at("seq"), 2);
  EXPECT_EQ(d.at("base_seq"), 1);
  EXPECT_EQ(d.at("facts").as_object().size(), 1u);
  EXPECT_EQ(d.at("facts").at("kernel").at("release"), "6.1.0-14-amd64");
  EXPECT_EQ(d.at("removed"), json::array{"screen_lock"});
  EXPECT_EQ(h.fleet.facts, h.facts);  // the server's view equals the device's facts

  Agent a = h.make(true);
  ASSERT_EQ(a.run(), kExitOk);  // report 3: a heartbeat delta with no changes
  EXPECT_EQ(h.fleet.accepted[2].at("kind"), "delta");
  EXPECT_TRUE(h.fleet.accepted[2].at("facts").as_object().empty());
  ASSERT_EQ(a.run(), kExitOk);  // report 4: full again (every 3rd report)
  EXPECT_EQ(h.fleet.accepted[3].at("kind"), "full");
  int enrolments = 0;
  for (const auto& req : h.fleet.requests) enrolments += req.target == "/api/v1/agent/enroll";
  EXPECT_EQ(enrolments, 1);
}

TEST(AgentLoop, RevokedDeviceStopsWithReason) {
  Harness h;
  {
    Agent a = h.make(true);
    ASSERT_EQ(a.run(), kExitOk);
  }
  h.fleet.revoked = true;
  h.max_sleeps = 100;
  Agent a = h.make(false);
  EXPECT_EQ(a.run(), kExitRejected);
  EXPECT_TRUE(h.sleeps.empty()) << "must not retry after 401";
  EXPECT_NE(a.last_error().find("device credential revoked by admin"), std::string::npos) << a.last_error();
  ASSERT_FALSE(h.log.empty());
  EXPECT_NE(h.log.back().find("revoked"), std::string::npos) << h.log.back();
}

TEST(AgentLoop, WrongEnrolSecretIsRejected) {
  Harness h;
  Agent a = h.make(false, "wrong");
  h.max_sleeps = 100;
  EXPECT_EQ(a.run(), kExitRejected);
  EXPECT_NE(a.last_error().find("enrolment secret unknown or expired"), std::string::npos);
  auto cred = h.dir.load_credential();
  ASSERT_TRUE(cred);
  EXPECT_FALSE(*cred);
}

TEST(AgentLoop, ExponentialBackoffWithCapThenQueuedReportsGoInOrder) {
  Harness h;
  {
    Agent a = h.make(true);
    ASSERT_EQ(a.run(), kExitOk);
  }
  h.fleet.down_status = 503;
  h.max_sleeps = 14;
  // Facts change during the outage, so queued deltas carry data; the server comes back
  // before the last sleep ends.
  h.on_sleep = [&](size_t i) {
    if (i < 12) h.facts["hostname"] = "host-" + std::to_string(i);
    if (i == 12) h.fleet.down_status = 0;
  };
  Agent a = h.make(false);
  EXPECT_EQ(a.run(), kExitOk);
  // Backoff doubles from 5 s to the 900 s cap; the last sleep follows the successful cycle:
  // the server's interval (600 s) + 10 % jitter.
  std::vector<int64_t> want = {5, 10, 20, 40, 80, 160, 320, 640, 900, 900, 900, 900, 900, 660};
  std::vector<int64_t> got;
  for (auto s : h.sleeps) got.push_back(s.count());
  EXPECT_EQ(got, want);
  // One report at the start of the outage, then one per elapsed interval (600 s) while down.
  ASSERT_GE(h.fleet.accepted.size(), 5u);
  for (size_t i = 1; i < h.fleet.accepted.size(); ++i)
    EXPECT_EQ(h.fleet.accepted[i].at("seq").to_number<int64_t>(), h.fleet.accepted[i - 1].at("seq").to_number<int64_t>() + 1);
  EXPECT_EQ(h.fleet.facts, h.facts);
  EXPECT_EQ(h.fleet.duplicates, 0);
}

TEST(AgentLoop, QueueIsBoundedAndRecoversWithFullReport) {
  Harness h;
  h.limits.max_files = 3;
  {
    Agent a = h.make(true);
    ASSERT_EQ(a.run(), kExitOk);
  }
  h.fleet.down_status = 503;
  Agent a = h.make(true);
  for (int i = 0; i < 5; ++i) {
    h.facts["hostname"] = "offline-" + std::to_string(i);
    h.clock.advance(Seconds(601));
    auto r = a.cycle();
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(*r, CycleOutcome::retry);
    auto q = h.dir.queued();
    ASSERT_TRUE(q);
    EXPECT_LE(q->size(), 3u);
  }
  // Reports 2..6 were built; only the newest 3 are on disk. Dropping 2 forced report 6 full.
  auto q = h.dir.queued();
  EXPECT_EQ(*q, (std::vector<uint64_t>{4, 5, 6}));
  h.fleet.down_status = 0;
  auto r = a.cycle();
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, CycleOutcome::ok);
  // The oldest kept delta (4, base 3) does not fit the server's last seq (1): 409; the agent
  // discards its queue and sends a fresh full report (7).
  ASSERT_EQ(h.fleet.accepted.size(), 2u);
  EXPECT_EQ(h.fleet.accepted[1].at("kind"), "full");
  EXPECT_EQ(h.fleet.accepted[1].at("seq"), 7);
  EXPECT_EQ(h.fleet.facts, h.facts);
  EXPECT_TRUE(h.dir.queued()->empty());
}

TEST(AgentLoop, RateLimitHonoursRetryAfter) {
  Harness h;
  {
    Agent a = h.make(true);
    ASSERT_EQ(a.run(), kExitOk);
  }
  h.fleet.down_status = 429;
  h.fleet.retry_after_s = 120;
  h.max_sleeps = 2;
  Agent a = h.make(false);
  a.run();
  ASSERT_GE(h.sleeps.size(), 1u);
  EXPECT_EQ(h.sleeps[0].count(), 120);
}

TEST(AgentLoop, CommandsRunOnceAndResultsAreReported) {
  Harness h;
  std::string marker = h.tmp.file("ran.txt");
  h.config.executors["message"] = "/bin/sh -c \"echo \\\"$1\\\" >> " + marker + "; echo shown\" sh {text}";
  h.config.executors["remove-app"] = "/bin/echo {app_id}";
  h.fleet.queue_command("c1", "message", {{"text", "Replace this phone by 31 March; $(rm -rf /)"}});
  h.fleet.queue_command("c2", "wipe");
  h.fleet.queue_command("c3", "refresh");
  h.fleet.queue_command("c4", "remove-app", {{"app_id", "--all"}});
  Agent a = h.make(true);
  ASSERT_EQ(a.run(), kExitOk) << a.last_error();
  // enrol, report 1 (answer carries the commands), report 2 (full, after refresh) with results.
  ASSERT_EQ(h.fleet.accepted.size(), 2u);
  EXPECT_EQ(h.fleet.accepted[1].at("kind"), "full");
  ASSERT_EQ(h.fleet.results.size(), 4u);
  std::map<std::string, std::string> status;
  for (const auto& r : h.fleet.results) status[std::string(r.at("id").as_string())] = std::string(r.at("status").as_string());
  EXPECT_EQ(status["c1"], "ok");
  EXPECT_EQ(status["c2"], "not_configured");
  EXPECT_EQ(status["c3"], "ok");
  EXPECT_EQ(status["c4"], "rejected");
  EXPECT_EQ(h.fleet.results[0].at("output"), "shown\n");
  EXPECT_TRUE(h.fleet.pending_commands.empty());
  std::ifstream in(marker);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "Replace this phone by 31 March; $(rm -rf /)");

  // The server redelivers c1 (say its result was lost): the agent reports the stored result
  // and does not run it again.
  h.fleet.queue_command("c1", "message", {{"text", "again"}});
  ASSERT_EQ(a.run(), kExitOk);
  std::ifstream in2(marker);
  int lines = 0;
  while (std::getline(in2, line)) ++lines;
  EXPECT_EQ(lines, 1);
  EXPECT_EQ(h.fleet.results.size(), 5u);
  EXPECT_EQ(h.fleet.results.back().at("id"), "c1");
  EXPECT_TRUE(h.fleet.pending_commands.empty());
}

TEST(AgentLoop, OnceWithServerDownKeepsReportQueued) {
  Harness h;
  {
    Agent a = h.make(true);
    ASSERT_EQ(a.run(), kExitOk);
  }
  h.fleet.down_status = 503;
  {
    Agent a = h.make(true);
    EXPECT_EQ(a.run(), kExitError);
  }
  EXPECT_EQ(h.dir.queued()->size(), 1u);
  h.fleet.down_status = 0;
  Agent a = h.make(true);
  EXPECT_EQ(a.run(), kExitOk);
  EXPECT_EQ(h.fleet.accepted.size(), 2u);
  EXPECT_TRUE(h.dir.queued()->empty());
}

TEST(AgentLoop, DamagedStateFileIsAClearError) {
  Harness h;
  ASSERT_TRUE(h.dir.ensure());
  std::ofstream(h.dir.dir() + "/state.json") << "{not json";
  Agent a = h.make(true);
  EXPECT_EQ(a.run(), kExitError);
  ASSERT_FALSE(h.log.empty());
  EXPECT_NE(h.log.back().find("state.json"), std::string::npos) << h.log.back();
}

}  // namespace
}  // namespace fw::agent
