// End-to-end tests of the server's HTTP framing as bytes on the wire: a real server on
// 127.0.0.1:0 over a real SQLite file, driven by raw sockets. "Expect: 100-continue" (the
// go-ahead, or 413 without it), the response header the server writes itself (one
// Content-Length, Server, Connection: close, HEAD without a body), header names in any case,
// per-series metrics counted over one keep-alive connection, the coarse deadlines of stalled
// and idle connections, a thousand keep-alive connections at once, and plain and
// percent-encoded request targets. Single-threaded test code.
#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include "support/http_client.h"
#include "support/test_server.h"

namespace fw {
namespace {

namespace net = boost::asio;
using net::ip::tcp;

// One raw connection: writes bytes, reads one response (header, then Content-Length bytes).
class Wire {
 public:
  explicit Wire(uint16_t port) : sock_(ioc_) { sock_.connect({net::ip::make_address("127.0.0.1"), port}); }
  void send(const std::string& bytes) { net::write(sock_, net::buffer(bytes)); }
  struct Answer {
    std::string head;  // status line and fields, up to and including the blank line
    std::string body;
    int status() const { return std::stoi(head.substr(9, 3)); }
    int count(std::string_view field) const {  // occurrences of "\r\n<field>:" (case-sensitive)
      int n = 0;
      std::string needle = "\r\n" + std::string(field) + ":";
      for (size_t at = head.find(needle); at != std::string::npos; at = head.find(needle, at + 1)) ++n;
      return n;
    }
  };
  // Reads one response; `body` false for answers that have none (HEAD, 100, 204).
  Answer read(bool body = true) {
    Answer a;
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) fill();
    a.head = buf_.substr(0, end + 4);
    buf_.erase(0, end + 4);
    size_t len = 0;
    if (auto at = a.head.find("\r\nContent-Length: "); at != std::string::npos) len = std::stoul(a.head.substr(at + 18));
    if (body) {
      while (buf_.size() < len) fill();
      a.body = buf_.substr(0, len);
      buf_.erase(0, len);
    }
    return a;
  }
  // True when nothing more arrives within `ms` (the server waits for the body).
  bool quiet_for(int ms) {
    sock_.non_blocking(true);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    char c;
    boost::system::error_code ec;
    size_t n = sock_.read_some(net::buffer(&c, 1), ec);
    sock_.non_blocking(false);
    if (n == 1) buf_ += c;
    return n == 0 && ec == net::error::would_block;
  }

 private:
  void fill() {
    char tmp[4096];
    size_t n = sock_.read_some(net::buffer(tmp));
    buf_.append(tmp, n);
  }
  net::io_context ioc_;
  tcp::socket sock_;
  std::string buf_;
};

class HttpWireTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto st = srv_.open_with_admin("fw-http-wire");
    ASSERT_TRUE(st) << st.error().to_string();
    token_ = srv_.admin_token();
    server::ServerOptions o;
    o.threads = 2;
    o.body_limit = 4096;
    ASSERT_TRUE(srv_.start(o));
    port_ = srv_.port();
  }
  std::string post_org_unit(const std::string& body, std::string_view extra = "") {
    return "POST /api/v1/org-units HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token_ +
           "\r\nContent-Type: application/json\r\n" + std::string(extra) +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  }

  FixedClock clock_{from_unix(1677650400)};
  testing::TestServer srv_{clock_};
  uint16_t port_ = 0;
  std::string token_;
};

TEST_F(HttpWireTest, ExpectContinueGetsTheGoAheadThenTheAnswer) {
  Wire w(port_);
  std::string body = R"({"path":"/cont","name":"Continue"})";
  w.send(post_org_unit(body, "Expect: 100-continue\r\n"));
  auto go = w.read(false);
  EXPECT_EQ(go.head, "HTTP/1.1 100 Continue\r\n\r\n");
  w.send(body);
  auto a = w.read();
  EXPECT_EQ(a.status(), 201) << a.head << a.body;
  // The same connection goes on (keep-alive), and a request without Expect gets no 100.
  w.send("GET /api/v1/org-units HTTP/1.1\r\nHost: x\r\nauthorization: Bearer " + token_ + "\r\n\r\n");
  auto g = w.read();
  EXPECT_EQ(g.status(), 200) << g.head << g.body;
  EXPECT_NE(g.body.find("Continue"), std::string::npos) << g.body;
}

TEST_F(HttpWireTest, ExpectContinueWithATooLargeBodyGets413WithoutTheGoAhead) {
  Wire w(port_);
  std::string head = "POST /api/v1/org-units HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token_ +
                     "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n";
  w.send(head);
  auto a = w.read();
  EXPECT_EQ(a.status(), 413) << a.head;
  EXPECT_NE(a.body.find("larger than 4096 bytes (the limit of POST /api/v1/org-units)"), std::string::npos) << a.body;
  EXPECT_EQ(a.count("Connection"), 1) << a.head;
  EXPECT_NE(a.head.find("Connection: close\r\n"), std::string::npos) << a.head;
}

TEST_F(HttpWireTest, WithoutExpectTheServerWaitsForTheBodySilently) {
  Wire w(port_);
  std::string body = R"({"path":"/quiet","name":"Quiet"})";
  w.send(post_org_unit(body));
  EXPECT_TRUE(w.quiet_for(200));
  w.send(body);
  EXPECT_EQ(w.read().status(), 201);
}

TEST_F(HttpWireTest, ResponseHeaderIsWrittenOnceWithItsFraming) {
  Wire w(port_);
  w.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  auto a = w.read();
  EXPECT_EQ(a.status(), 200);
  EXPECT_TRUE(a.head.starts_with("HTTP/1.1 200 OK\r\n")) << a.head;
  EXPECT_EQ(a.count("Content-Length"), 1) << a.head;
  EXPECT_EQ(a.count("Content-Type"), 1) << a.head;
  EXPECT_EQ(a.count("Server"), 1) << a.head;
  EXPECT_EQ(a.count("Connection"), 0) << a.head;  // HTTP/1.1 keep-alive is the default
  EXPECT_EQ(std::to_string(a.body.size()), a.head.substr(a.head.find("Content-Length: ") + 16,
                                                         a.head.find("\r\n", a.head.find("Content-Length: ")) -
                                                             a.head.find("Content-Length: ") - 16));
  // HEAD: the header only.
  w.send("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  auto h = w.read(false);
  EXPECT_EQ(h.status(), 200) << h.head;
  // A 401 carries the handler's own header (WWW-Authenticate) once.
  w.send("GET /api/v1/devices HTTP/1.1\r\nHost: x\r\n\r\n");
  auto u = w.read();
  EXPECT_EQ(u.status(), 401) << u.head;
  EXPECT_EQ(u.count("WWW-Authenticate"), 1) << u.head;
  // "Connection: close" from the client: answered with Connection: close, then closed.
  w.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  auto c = w.read();
  EXPECT_EQ(c.status(), 200);
  EXPECT_NE(c.head.find("\r\nConnection: close\r\n"), std::string::npos) << c.head;
}

TEST_F(HttpWireTest, MetricsCountEveryAnswerOfAKeepAliveConnection) {
  Wire w(port_);
  for (int i = 0; i < 7; ++i) {
    w.send("GET /api/v1/devices HTTP/1.1\r\nHost: x\r\nAUTHORIZATION: Bearer " + token_ + "\r\n\r\n");
    EXPECT_EQ(w.read().status(), 200);
  }
  for (int i = 0; i < 3; ++i) {
    w.send("GET /api/v1/devices HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(w.read().status(), 401);
  }
  w.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  auto m = w.read();
  EXPECT_NE(m.body.find("fleetward_http_requests_total{route=\"/api/v1/devices\",method=\"GET\",status=\"200\"} 7\n"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("fleetward_http_requests_total{route=\"/api/v1/devices\",method=\"GET\",status=\"401\"} 3\n"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("fleetward_http_request_duration_seconds_count{route=\"/api/v1/devices\"} 10\n"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("fleetward_http_request_duration_seconds_bucket{route=\"/api/v1/devices\",le=\"+Inf\"} 10\n"),
            std::string::npos)
      << m.body;
}

// Deadlines are coarse (one sweep per loop and second; a timeout T closes after T to T + 2 s),
// not a timer per read: a request that stalls half-way and a keep-alive connection left idle
// are both closed once their time is up, and a connection that keeps talking is not.
TEST(HttpWireDeadlines, StalledRequestAndIdleConnectionAreClosedByTheSweep) {
  FixedClock clock{from_unix(1677650400)};
  testing::TestServer srv{clock};
  ASSERT_TRUE(srv.open("fw-http-deadline"));
  server::ServerOptions o;
  o.threads = 2;
  o.request_timeout = std::chrono::seconds(1);
  o.idle_timeout = std::chrono::seconds(2);
  ASSERT_TRUE(srv.start(o));
  auto closed_within = [](tcp::socket& s, std::chrono::milliseconds limit) {
    auto t0 = std::chrono::steady_clock::now();
    char c;
    boost::system::error_code ec;
    s.read_some(net::buffer(&c, 1), ec);  // blocks until the server closes
    return ec && std::chrono::steady_clock::now() - t0 < limit;
  };
  net::io_context ioc;
  tcp::endpoint ep{net::ip::make_address("127.0.0.1"), srv.port()};
  tcp::socket stalled(ioc), idle(ioc);
  stalled.connect(ep);
  idle.connect(ep);
  net::write(stalled, net::buffer(std::string("GET /healthz HTTP/1.1\r\nHo")));
  net::write(idle, net::buffer(std::string("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")));
  Wire live(srv.port());
  auto t0 = std::chrono::steady_clock::now();
  // A connection that sends a request every half second stays open past both deadlines.
  while (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(4500)) {
    live.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_EQ(live.read().status(), 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  EXPECT_TRUE(closed_within(stalled, std::chrono::milliseconds(1000)));  // after 1-3 s: long closed
  char buf[512];
  size_t n = idle.read_some(net::buffer(buf));  // the answer, then the idle deadline (2-4 s)
  EXPECT_NE(std::string_view(buf, n).find("200 OK"), std::string_view::npos);
  EXPECT_TRUE(closed_within(idle, std::chrono::milliseconds(1500)));
}

// Many keep-alive connections at once (spread over both loops), each answered in turn and
// again on the same connection.
TEST_F(HttpWireTest, AThousandKeepAliveConnectionsAreEachAnswered) {
  net::io_context ioc;
  tcp::endpoint ep{net::ip::make_address("127.0.0.1"), port_};
  std::vector<tcp::socket> ss;
  for (int i = 0; i < 1000; ++i) {
    ss.emplace_back(ioc);
    ss.back().connect(ep);
  }
  const std::string req = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  for (int round = 0; round < 2; ++round) {
    for (auto& s : ss) net::write(s, net::buffer(req));
    int ok = 0;
    for (auto& s : ss) {
      std::string got;
      char buf[512];
      size_t end = std::string::npos;
      while ((end = got.find("\r\n\r\n")) == std::string::npos) got.append(buf, s.read_some(net::buffer(buf)));
      size_t len = std::stoul(got.substr(got.find("Content-Length: ") + 16));
      while (got.size() < end + 4 + len) got.append(buf, s.read_some(net::buffer(buf)));
      ok += got.starts_with("HTTP/1.1 200 ") && got.size() == end + 4 + len;
    }
    EXPECT_EQ(ok, 1000) << "round " << round;
  }
}

// A target of plain path characters is taken as the path as it is (server.cpp, plain_path);
// any other goes through Boost.URL as before: percent-encoded paths are decoded, queries
// are read, and a target Boost.URL refuses gets 400 naming the target. All on one keep-alive
// connection (the per-loop operation pool serves every request of it).
TEST_F(HttpWireTest, PlainAndEncodedTargetsReachTheSameRoute) {
  Wire w(port_);
  auto get = [&](const std::string& target) {
    w.send("GET " + target + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token_ + "\r\n\r\n");
    return w.read();
  };
  struct Case {
    std::string target;
    int status;
    std::string in_body;  // a part of the answer's body
  };
  const std::vector<Case> cases = {
      {"/api/v1/org-units", 200, "\"items\""},
      {"/api/v1/org%2Dunits", 200, "\"items\""},           // decoded: the same route
      {"/api/v1/org-units?limit=1", 200, "\"items\""},     // a query: Boost.URL
      {"/api/v1/org-units?limit=0", 400, "limit"},          // and the query is read
      {"/api/v1/org-units?bogus=1", 400, "bogus"},
      {"/api/v1/org-units/", 404, ""},                      // a trailing slash is another path
      {"/api/v1/no-such-thing", 404, "no such endpoint"},
      {"/api/v1/org-units|x", 400, "target"},               // '|' is no path character
      {"/healthz", 200, ""},
  };
  for (const auto& c : cases) {
    auto a = get(c.target);
    EXPECT_EQ(a.status(), c.status) << c.target << "\n" << a.head << a.body;
    EXPECT_NE(a.body.find(c.in_body), std::string::npos) << c.target << ": " << a.body;
  }
}

}  // namespace
}  // namespace fw
