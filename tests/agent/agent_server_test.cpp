// The whole pipeline: the real fleetward HTTP server (SQLite store, AgentService with its
// group-commit writer) on 127.0.0.1:0 and the real fleetward-agent executable with
// `run --once`: enrolment, a full report, a delta, refusals; the device appears in the
// inventory with its OS and packages.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <sys/wait.h>

#include <cstdio>

#include "service/service_test_util.h"
#include "support/test_server.h"

namespace fw {
namespace {

namespace json = boost::json;

std::string fixture(const std::string& name) { return std::string(FW_SOURCE_DIR) + "/tests/agent/fixtures/" + name; }

struct Run {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};
// Runs the agent executable (this test does not link the agent library: the server and
// the agent each carry their own Boost.JSON).
Run run_agent(const std::vector<std::string>& args) {
  std::string cmd = FW_AGENT_BIN;
  for (const auto& a : args) cmd += " '" + a + "'";  // test paths and URLs hold no quotes
  cmd += " 2>&1";
  Run r;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) r.output.append(buf, n);
  int st = ::pclose(f);
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

struct Server {
  SystemClock clock;
  testing::TestServer srv{clock};
  std::string secret;

  Server() {
    auto st = srv.open("fw-agent-server");
    EXPECT_TRUE(st) << st.error().to_string();
    EXPECT_TRUE(srv.store().write([&](store::Tx& tx) -> Status {
      return testing::put_org_units(tx, service::Change{"test", clock.now()}, {"/field"});
    }));
    st = srv.start();
    EXPECT_TRUE(st) << st.error().to_string();
    auto sec = srv.services().agents.create_enroll_secret("test", "/field", clock.now() + Seconds(3600), 5);
    EXPECT_TRUE(sec);
    secret = sec->secret;
  }
  std::string dir() const { return srv.dir().string(); }
  std::vector<model::Device> devices() {
    std::vector<model::Device> out;
    EXPECT_TRUE(srv.store().read([&](store::Tx& tx) {
      return tx.scan_devices({}, [&](const model::Device& d) -> Status {
        out.push_back(d);
        return {};
      });
    }));
    return out;
  }
};

TEST(AgentServer, EnrolReportDeltaAndRefusals) {
  Server s;
  std::string state = s.dir() + "/agent-state";
  auto r = run_agent({"run", "--server", s.srv.url(), "--enroll-secret", s.secret, "--state-dir", state, "--once",
                      "--insecure-http", "--root", fixture("debian")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto devs = s.devices();
  ASSERT_EQ(devs.size(), 1u);
  const auto& d = devs[0];
  EXPECT_EQ(d.source, model::DeviceSource::agent);
  EXPECT_TRUE(d.managed);
  EXPECT_EQ(d.os_family, "Linux");
  EXPECT_EQ(d.os_version, "12");
  EXPECT_EQ(d.vendor, "LENOVO");
  EXPECT_EQ(d.type, model::DeviceType::desktop);
  ASSERT_EQ(d.apps.size(), 3u);
  EXPECT_EQ(d.apps[2].id, "zoom");
  EXPECT_NE(d.facts_json.find("root_encrypted"), std::string::npos);

  // Second run: no enrolment, a delta (heartbeat) accepted.
  auto r2 = run_agent({"run", "--server", s.srv.url(), "--state-dir", state, "--once", "--insecure-http", "--root",
                       fixture("debian")});
  ASSERT_EQ(r2.exit_code, 0) << r2.output;
  EXPECT_EQ(s.devices().size(), 1u);
  EXPECT_EQ(s.srv.services().agents.stats().checkins, 2u);

  // A wrong secret: exit 3 with the server's reason.
  auto bad = run_agent({"run", "--server", s.srv.url(), "--enroll-secret", "es_wrong", "--state-dir", s.dir() + "/other",
                        "--once", "--insecure-http", "--root", fixture("debian")});
  EXPECT_EQ(bad.exit_code, 3) << bad.output;
  EXPECT_NE(bad.output.find("enrolment secret unknown"), std::string::npos) << bad.output;
}

TEST(AgentServer, ReportsThisMachine) {
  Server s;
  auto r = run_agent({"run", "--server", s.srv.url(), "--enroll-secret", s.secret, "--state-dir", s.dir() + "/st",
                      "--once", "--insecure-http"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto devs = s.devices();
  ASSERT_EQ(devs.size(), 1u);
  EXPECT_EQ(devs[0].os_family, "Linux");  // this build machine runs Debian
  EXPECT_GT(devs[0].apps.size(), 10u);
}

}  // namespace
}  // namespace fw
