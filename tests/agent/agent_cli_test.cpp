// Tests of the fleetward-agent executable itself: `facts` over fixture trees and
// `run --once` against a loopback server (FakeFleet), including the refusal paths.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "agent/executor.h"
#include "fake_fleet.h"
#include "support/test_dir.h"

namespace fw::agent {
namespace {

namespace json = boost::json;
using testing::FakeFleet;
using testing::LoopbackServer;

std::string fixture(const std::string& name) { return std::string(FW_SOURCE_DIR) + "/tests/agent/fixtures/" + name; }

ProcessResult agent(std::vector<std::string> args) {
  args.insert(args.begin(), FW_AGENT_BIN);
  auto r = run_process(args, std::chrono::seconds(60), 1u << 20);
  EXPECT_TRUE(r) << r.error().to_string();
  return r ? *r : ProcessResult{};
}

TEST(AgentCli, FactsOverFixtureTrees) {
  struct Case {
    const char *distro, *family, *type;
  } cases[] = {{"sailfish", "Sailfish OS", "phone"},
               {"aurora", "Aurora OS", "phone"},
               {"debian", "Linux", "desktop"},
               {"postmarketos", "Linux", "phone"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.distro);
    auto r = agent({"facts", "--compact", "--root", fixture(c.distro)});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    json::value v = json::parse(r.output);
    EXPECT_EQ(v.at("os").at("family"), c.family);
    EXPECT_EQ(v.at("hardware").at("type"), c.type);
    EXPECT_EQ(v.at("agent").at("version"), FW_AGENT_VERSION);
  }
  auto pretty = agent({"facts", "--root", fixture("debian")});
  ASSERT_EQ(pretty.exit_code, 0);
  EXPECT_EQ(json::parse(pretty.output), json::parse(agent({"facts", "--compact", "--root", fixture("debian")}).output));
}

TEST(AgentCli, RunOnceEnrolsAndReports) {
  FakeFleet fleet;
  LoopbackServer server([&](const testing::HttpRequest& r) { return fleet.handle(r); });
  fw::testing::TestDir tmp("fw-agent-cli");
  auto r = agent({"run", "--server", server.url(), "--enroll-secret", "s3cret", "--state-dir", tmp.file("st"),
                  "--once", "--insecure-http", "--root", fixture("debian")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("enrolled as device d_1"), std::string::npos) << r.output;
  ASSERT_EQ(fleet.accepted.size(), 1u);
  EXPECT_EQ(fleet.facts.at("os").at("name"), "Debian GNU/Linux");
  EXPECT_EQ(fleet.facts.at("apps").as_array().size(), 3u);
  EXPECT_EQ(
      std::filesystem::status(tmp.file("st/credential.json")).permissions() & std::filesystem::perms::all,
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

  // Revoked: exit status 3 and the server's reason on stderr.
  fleet.revoked = true;
  auto rv = agent({"run", "--server", server.url(), "--state-dir", tmp.file("st"), "--once",
                   "--insecure-http", "--root", fixture("debian")});
  EXPECT_EQ(rv.exit_code, 3) << rv.output;
  EXPECT_NE(rv.output.find("device credential revoked by admin"), std::string::npos) << rv.output;
}

TEST(AgentCli, Refusals) {
  fw::testing::TestDir tmp("fw-agent-cli");
  // Plain http needs the explicit flag.
  auto r = agent({"run", "--server", "http://127.0.0.1:9", "--enroll-secret", "x", "--state-dir",
                  tmp.path().string(), "--once"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("--insecure-http"), std::string::npos) << r.output;
  // A bad config line is named by file:line.
  std::ofstream(tmp.file("agent.conf")) << "message = /bin/echo {text}\nwipe-all = /sbin/reboot\n";
  auto c = agent({"run", "--server", "https://127.0.0.1:9", "--enroll-secret", "x", "--state-dir",
                  tmp.path().string(), "--once"});
  EXPECT_EQ(c.exit_code, 1);
  EXPECT_NE(c.output.find("agent.conf:2"), std::string::npos) << c.output;
  // Server unreachable with --once: exit 1, nothing enrolled.
  std::filesystem::remove(tmp.file("agent.conf"));
  auto d = agent({"run", "--server", "http://127.0.0.1:9", "--enroll-secret", "x", "--state-dir",
                  tmp.path().string(), "--once", "--insecure-http"});
  EXPECT_EQ(d.exit_code, 1) << d.output;
  EXPECT_FALSE(std::filesystem::exists(tmp.file("credential.json")));
}

}  // namespace
}  // namespace fw::agent
