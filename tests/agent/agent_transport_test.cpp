// The agent's HTTP client (make_http_transport) against a real server on 127.0.0.1:
// tests/agent/stub_server.py over plain http and over https with certificates made here by
// the openssl command: a pinned CA that matches and one that does not, host name and IP
// mismatches, a certificate for clients only, the system trust store, chunked and Content-Length answers, a server that
// closes mid-answer, oversized answers, a redirect, a timeout and kept-alive connections.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "agent/executor.h"
#include "agent/transport.h"

namespace fw::agent {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/fw-agent-transport-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

// A self-signed certificate (key + cert PEM) with the given subjectAltName.
void make_cert(const std::string& dir, const std::string& name, const std::string& san, const std::string& extra = "") {
  std::vector<std::string> argv{"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                                "/CN=" + name, "-addext", "subjectAltName=" + san, "-keyout", dir + "/" + name + ".key",
                                "-out", dir + "/" + name + ".pem"};
  if (!extra.empty()) argv.insert(argv.end(), {"-addext", extra});
  auto r = run_process(argv, std::chrono::seconds(60), 1 << 16);
  ASSERT_TRUE(r && r->exit_code == 0) << (r ? r->output : r.error().to_string());
}

// stub_server.py in a child process; http, or https with dir/<cert>.pem.
struct Stub {
  pid_t pid = -1;
  int port = 0;
  Stub(const std::string& dir, const std::string& cert = "") {
    std::string port_file = dir + "/port-" + (cert.empty() ? "http" : cert);
    std::string script = std::string(FW_SOURCE_DIR) + "/tests/agent/stub_server.py";
    pid = ::fork();
    if (pid == 0) {
      if (cert.empty()) {
        ::execlp("python3", "python3", script.c_str(), port_file.c_str(), nullptr);
      } else {
        std::string c = dir + "/" + cert + ".pem", k = dir + "/" + cert + ".key";
        ::execlp("python3", "python3", script.c_str(), port_file.c_str(), c.c_str(), k.c_str(), nullptr);
      }
      ::_exit(127);
    }
    for (int i = 0; i < 100 && port == 0; ++i) {
      std::ifstream in(port_file);
      if (!(in >> port)) port = 0;
      if (port == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~Stub() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

struct Env {
  TempDir tmp;
  std::unique_ptr<Stub> http, https, https_dns, https_client_only;
  Env() {
    make_cert(tmp.path, "ip", "IP:127.0.0.1,DNS:localhost");
    make_cert(tmp.path, "dns", "DNS:fleet.example");
    make_cert(tmp.path, "stranger", "IP:127.0.0.1");
    make_cert(tmp.path, "client", "IP:127.0.0.1", "extendedKeyUsage=clientAuth");
    http = std::make_unique<Stub>(tmp.path);
    https = std::make_unique<Stub>(tmp.path, "ip");
    https_dns = std::make_unique<Stub>(tmp.path, "dns");
    https_client_only = std::make_unique<Stub>(tmp.path, "client");
  }
  std::string pem(const std::string& n) const { return tmp.path + "/" + n + ".pem"; }
};

Env& env() {
  static Env e;  // one set of servers for the whole test binary, stopped at exit
  return e;
}

std::unique_ptr<Transport> transport(const std::string& url, const std::string& ca = "", long timeout = 10) {
  auto t = make_http_transport({url, ca, url.starts_with("http://"), timeout});
  EXPECT_TRUE(t) << t.error().to_string();
  return t ? std::move(*t) : nullptr;
}
std::string http_url() { return "http://127.0.0.1:" + std::to_string(env().http->port); }
std::string https_url(const std::string& host = "127.0.0.1") {
  return "https://" + host + ":" + std::to_string(env().https->port);
}

TEST(AgentTransport, RefusesBadOptions) {
  struct Case {
    TransportOptions o;
    const char* has;
  } cases[] = {
      {{"http://127.0.0.1:1", "", false, 5}, "--insecure-http"},
      {{"ftp://x", "", false, 5}, "must start with https://"},
      {{"https://:443", "", false, 5}, "no host"},
      {{"https://a:99999", "", false, 5}, "invalid port"},
      {{"https://u:p@a", "", false, 5}, "user:password"},
      {{"https://a", "/nonexistent/ca.pem", false, 5}, "cannot read the CA file"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.o.server);
    auto t = make_http_transport(c.o);
    ASSERT_FALSE(t);
    EXPECT_NE(t.error().to_string().find(c.has), std::string::npos) << t.error().to_string();
  }
}

TEST(AgentTransport, PostsJsonWithHeadersOverHttpAndHttps) {
  for (auto [url, ca] : {std::pair{http_url(), std::string()}, std::pair{https_url(), env().pem("ip")},
                         std::pair{https_url("localhost"), env().pem("ip")}}) {
    SCOPED_TRACE(url);
    auto t = transport(url, ca);
    auto r = t->post_json("/t/echo", R"({"a":1})", "tok-123");
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->status, 200);
    json::object o = json::parse(r->body).as_object();
    EXPECT_EQ(o.at("body"), R"({"a":1})");
    EXPECT_EQ(o.at("headers").at("authorization"), "Bearer tok-123");
    EXPECT_EQ(o.at("headers").at("content-type"), "application/json");
    EXPECT_EQ(o.at("headers").at("host").as_string(), url.substr(url.find("//") + 2));
    // The connection is kept: the second request comes on the same one.
    auto r2 = t->post_json("/t/echo", "{}", "");
    ASSERT_TRUE(r2) << r2.error().to_string();
    json::object o2 = json::parse(r2->body).as_object();
    EXPECT_EQ(o2.at("conn"), o.at("conn"));
    EXPECT_EQ(o2.at("n"), 2);
    EXPECT_FALSE(o2.at("headers").as_object().contains("authorization"));
  }
}

TEST(AgentTransport, PinnedCaThatDoesNotMatchIsRefused) {
  auto t = transport(https_url(), env().pem("stranger"));
  auto r = t->post_json("/t/echo", "{}", "secret");
  ASSERT_FALSE(r);
  std::string e = r.error().to_string();
  EXPECT_NE(e.find(https_url() + "/t/echo"), std::string::npos) << e;  // names the server
  EXPECT_NE(e.find("certificate verification failed"), std::string::npos) << e;
  EXPECT_NE(e.find("not correctly signed by the trusted CA"), std::string::npos) << e;
  EXPECT_NE(e.find("stranger.pem"), std::string::npos) << e;
}

TEST(AgentTransport, SystemTrustStoreRefusesASelfSignedServer) {
  auto t = transport(https_url());
  auto r = t->post_json("/t/echo", "{}", "");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().to_string().find("no CA in /etc/ssl/certs/ca-certificates.crt"), std::string::npos)
      << r.error().to_string();
}

TEST(AgentTransport, HostNameMismatchIsRefused) {
  std::string port = std::to_string(env().https_dns->port);
  // A DNS name the certificate does not carry.
  auto t = transport("https://localhost:" + port, env().pem("dns"));
  auto r = t->post_json("/t/echo", "{}", "");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().to_string().find("does not match"), std::string::npos) << r.error().to_string();
  EXPECT_NE(r.error().to_string().find("https://localhost:" + port), std::string::npos);
  // An IP address the certificate does not carry.
  auto t2 = transport("https://127.0.0.1:" + port, env().pem("dns"));
  auto r2 = t2->post_json("/t/echo", "{}", "");
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.error().to_string().find("not valid for IP address 127.0.0.1"), std::string::npos)
      << r2.error().to_string();
}

TEST(AgentTransport, CertificateNotForServersIsRefused) {
  // Trusted (pinned) and valid for 127.0.0.1, but its extendedKeyUsage allows only clients.
  auto t = transport("https://127.0.0.1:" + std::to_string(env().https_client_only->port), env().pem("client"));
  auto r = t->post_json("/t/echo", "{}", "");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().to_string().find("extendedKeyUsage"), std::string::npos) << r.error().to_string();
}

TEST(AgentTransport, AwkwardAnswers) {
  struct Case {
    const char* path;
    bool ok;
    Errc code;
    const char* has;
  } cases[] = {
      {"/t/chunked", true, Errc::internal, R"({"ok":true,"n":42})"},
      {"/t/close-mid", false, Errc::unavailable, "closed in the middle of the answer"},
      {"/t/oversized", false, Errc::too_large, "larger than 1048576"},
      {"/t/big-length", false, Errc::too_large, "Content-Length 5000000"},
      {"/t/redirect", false, Errc::unavailable, "redirects are not followed"},
      {"/t/nothing-here", true, Errc::internal, ""},
  };
  for (auto [url, ca] : {std::pair{http_url(), std::string()}, std::pair{https_url(), env().pem("ip")}}) {
    auto t = transport(url, ca);
    for (const auto& c : cases) {
      SCOPED_TRACE(url + c.path);
      auto r = t->post_json(c.path, "{}", "");
      ASSERT_EQ(bool(r), c.ok) << (r ? r->body : r.error().to_string());
      if (r) {
        EXPECT_EQ(r->body, c.has);
      } else {
        EXPECT_EQ(r.error().code, c.code) << r.error().to_string();
        EXPECT_NE(r.error().to_string().find(c.has), std::string::npos) << r.error().to_string();
        EXPECT_NE(r.error().to_string().find(url + c.path), std::string::npos) << r.error().to_string();
      }
    }
    // The transport recovers from every one of these on the next request.
    auto again = t->post_json("/t/echo", "{}", "");
    EXPECT_TRUE(again) << again.error().to_string();
  }
}

TEST(AgentTransport, TimesOut) {
  auto t = transport(http_url(), "", 1);
  auto r = t->post_json("/t/slow", "{}", "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::timeout) << r.error().to_string();
}

TEST(AgentTransport, ReconnectsWhenTheServerClosedAKeptConnection) {
  for (auto [url, ca] : {std::pair{http_url(), std::string()}, std::pair{https_url(), env().pem("ip")}}) {
    SCOPED_TRACE(url);
    auto t = transport(url, ca);
    auto a = t->post_json("/t/then-close", "{}", "");
    ASSERT_TRUE(a) << a.error().to_string();
    auto b = t->post_json("/t/echo", "{}", "");
    ASSERT_TRUE(b) << b.error().to_string();
    EXPECT_NE(json::parse(a->body).at("conn"), json::parse(b->body).at("conn"));
  }
}

TEST(AgentTransport, ConnectionRefusedNamesTheServer) {
  auto t = transport("http://127.0.0.1:1");
  auto r = t->post_json("/api/v1/agent/checkin", "{}", "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_NE(r.error().to_string().find("http://127.0.0.1:1/api/v1/agent/checkin"), std::string::npos);
  EXPECT_NE(r.error().to_string().find("refused"), std::string::npos) << r.error().to_string();
}

}  // namespace
}  // namespace fw::agent
