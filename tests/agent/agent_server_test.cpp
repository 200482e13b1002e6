// The whole pipeline: the real fleetward HTTP server (SQLite store, AgentService with its
// group-commit writer) on 127.0.0.1:0 and the real fleetward-agent executable with
// `run --once`: enrolment, a full report, a delta, refusals; the device appears in the
// inventory with its OS and packages. Also the per-route request body limits over real HTTP
// (BodyLimits.*): bulk uploads take the upload limit, every other route 1 MiB.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>

#include "service/service_test_util.h"
#include "service/tokens.h"
#include "support/run_cli.h"
#include "support/test_server.h"

namespace fw {
namespace {

namespace json = boost::json;

std::string fixture(const std::string& name) { return std::string(FW_SOURCE_DIR) + "/tests/agent/fixtures/" + name; }

// Runs the agent executable (this test does not link the agent library: the server and
// the agent each carry their own Boost.JSON).
testing::CliOutcome run_agent(const std::vector<std::string>& args) {
  return testing::run_argv(FW_AGENT_BIN, args);
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
  ASSERT_EQ(r.code, 0) << r.out;
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
  ASSERT_EQ(r2.code, 0) << r2.out;
  EXPECT_EQ(s.devices().size(), 1u);
  EXPECT_EQ(s.srv.services().agents.stats().checkins, 2u);

  // A wrong secret: exit 3 with the server's reason.
  auto bad = run_agent({"run", "--server", s.srv.url(), "--enroll-secret", "es_wrong", "--state-dir", s.dir() + "/other",
                        "--once", "--insecure-http", "--root", fixture("debian")});
  EXPECT_EQ(bad.code, 3) << bad.out;
  EXPECT_NE(bad.out.find("enrolment secret unknown"), std::string::npos) << bad.out;
}

TEST(AgentServer, ReportsThisMachine) {
  Server s;
  auto r = run_agent({"run", "--server", s.srv.url(), "--enroll-secret", s.secret, "--state-dir", s.dir() + "/st",
                      "--once", "--insecure-http"});
  ASSERT_EQ(r.code, 0) << r.out;
  auto devs = s.devices();
  ASSERT_EQ(devs.size(), 1u);
  EXPECT_EQ(devs[0].os_family, "Linux");  // this build machine runs Debian
  EXPECT_GT(devs[0].apps.size(), 10u);
}

// ---- per-route body limits ----

struct Reply {
  int status = 0;
  std::string body;
};

// One HTTP/1.1 POST on a fresh connection (Connection: close); reads to EOF.
Reply post(uint16_t port, const std::string& path, const std::string& bearer, const std::string& type,
           const std::string& body) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  Reply r;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return r;
  }
  std::string req = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!bearer.empty()) req += "Authorization: Bearer " + bearer + "\r\n";
  req += "Content-Type: " + type + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  for (size_t off = 0; off < req.size();) {
    ssize_t n = ::send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server answered early and stopped reading: read its answer
    off += size_t(n);
  }
  std::string in;
  char buf[8192];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) in.append(buf, size_t(n));
  ::close(fd);
  if (in.size() < 12) return r;
  r.status = std::atoi(in.c_str() + 9);
  auto end = in.find("\r\n\r\n");
  if (end != std::string::npos) r.body = in.substr(end + 4);
  return r;
}

// NDJSON sightings of about `bytes` bytes: lines of ~600 bytes (a long User-Agent), 50 users.
std::string sightings_ndjson(size_t bytes) {
  std::string out;
  std::string pad(420, 'x');
  for (size_t i = 0; out.size() < bytes; ++i) {
    out += R"({"time": "2026-11-27T10:00:00Z", "user": "user)" + std::to_string(i % 50) +
           R"(@example.org", "ip": "10.0.0.)" + std::to_string(i % 250) +
           R"(", "user_agent": "Mozilla/5.0 (Linux; Android 13; SM-G991B) AppleWebKit/537.36 (KHTML, like Gecko) )"
           R"(Chrome/119.0.0.0 Mobile Safari/537.36 )" + pad + "\"}\n";
  }
  return out;
}

struct LimitServer {
  Server base;  // store, services (its server is replaced by one with a small upload limit)
  std::unique_ptr<server::Server> srv;
  std::string token;
  explicit LimitServer(size_t upload_limit) {
    EXPECT_TRUE(base.srv.store().write([&](store::Tx& tx) -> Status {
      FW_TRY(auto t, service::create_token(tx, "ops", model::Role::operator_, "test", base.clock.now()));
      token = t.secret;
      return {};
    }));
    server::ServerOptions o;
    o.port = 0;
    o.threads = 2;
    o.upload_limit = upload_limit;
    auto started = server::Server::start(o, base.srv.services());
    EXPECT_TRUE(started) << started.error().to_string();
    srv = std::move(*started);
  }
  ~LimitServer() {
    srv->stop();
    srv->wait();
  }
  uint16_t port() const { return srv->port(); }
};

TEST(BodyLimits, UploadRouteTakesFiveMebibytes) {
  LimitServer s(6u << 20);
  std::string body = sightings_ndjson(5u << 20);
  ASSERT_GT(body.size(), 5u << 20);
  auto r = post(s.port(), "/api/v1/sightings", s.token, "application/x-ndjson", body);
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 500);
  auto v = json::parse(r.body);
  EXPECT_EQ(v.at("lines").as_int64(), v.at("accepted").as_int64()) << r.body.substr(0, 500);
  EXPECT_GT(v.at("accepted").as_int64(), 8000);
}

TEST(BodyLimits, OverTheRouteLimitIs413NamingIt) {
  LimitServer s(6u << 20);
  struct Case {
    const char* path;
    const char* type;
    size_t bytes;
    const char* want;  // in the error message
  } cases[] = {
      {"/api/v1/sightings", "application/x-ndjson", 7u << 20, "larger than 6291456 bytes (the limit of POST /api/v1/sightings)"},
      {"/api/v1/exchange-devices", "text/csv", 7u << 20, "larger than 6291456 bytes (the limit of POST /api/v1/exchange-devices)"},
      // Every other route keeps the server-wide 1 MiB, also above the largest route limit.
      {"/api/v1/agent/checkin", "application/json", 2u << 20, "larger than 1048576 bytes (the limit of POST /api/v1/agent/checkin)"},
      {"/api/v1/agent/enroll", "application/json", 9u << 20, "larger than 1048576 bytes (the limit of POST /api/v1/agent/enroll)"},
  };
  for (const auto& c : cases) {
    auto r = post(s.port(), c.path, s.token, c.type, std::string(c.bytes, ' '));
    EXPECT_EQ(r.status, 413) << c.path << ": " << r.body;
    EXPECT_NE(r.body.find(c.want), std::string::npos) << c.path << ": " << r.body;
  }
  // A body just under a limit is read and handed to the route (which finds it malformed).
  auto ok = post(s.port(), "/api/v1/agent/checkin", "", "application/json", std::string((1u << 20) - 10, ' '));
  EXPECT_EQ(ok.status, 401) << ok.body;
}

}  // namespace
}  // namespace fw
