// The fleetward HTTP server for end-to-end tests: a real SQLite store in a fresh test
// directory (TestStore), the route Services over it, and the server on 127.0.0.1:0 with
// the port read back. In steps, so that a test can seed the store, make tokens and set
// services().eval before the server starts:
//   ASSERT_TRUE(srv.open("fw-api")); ...; ASSERT_TRUE(srv.start()); ... srv.port() ...
// open_with_admin() adds the admin token most API tests use; send() requests with it.
// The destructor stops the server, then closes the store and removes the directory.
// Header-only test code; one test thread drives it (the server's threads serve requests).
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "server/server.h"
#include "service/tokens.h"
#include "support/http_client.h"
#include "support/test_store.h"
#include "util/error.h"
#include "util/time.h"

namespace fw::testing {

class TestServer {
 public:
  // `clock` is what the Services and the tokens read; it must outlive this object.
  explicit TestServer(const Clock& clock) : clock_(clock) {}
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;
  ~TestServer() {
    stop();
    services_.reset();
    store_.close();
  }

  // Opens a new store in fresh_test_dir(prefix) and the Services over it.
  Status open(const std::string& prefix) {
    FW_TRY_STATUS(store_.open(prefix));
    services_ = std::make_unique<server::Services>(*store_, clock_);
    return {};
  }
  // open() and an admin token named "test" (admin_token()): the setup of most API tests.
  Status open_with_admin(const std::string& prefix) {
    FW_TRY_STATUS(open(prefix));
    FW_TRY(admin_, token("test", model::Role::admin));
    return {};
  }
  // Creates an API token with this name and role; returns its secret.
  Result<std::string> token(const std::string& name, model::Role role) {
    FW_TRY(auto t, service::create_token(*store_, name, role, "test", clock_.now()));
    return t.secret;
  }
  // Starts the server on 127.0.0.1:0 with `threads` I/O threads (after open()).
  Status start(int threads = 2) {
    server::ServerOptions o;
    o.threads = threads;
    return start(std::move(o));
  }
  // The same with other options (limits, timeouts); the address is always 127.0.0.1:0.
  Status start(server::ServerOptions o) {
    o.host = "127.0.0.1";
    o.port = 0;
    FW_TRY(server_, server::Server::start(o, *services_));
    return {};
  }
  // Stops the server and waits for its threads; the store stays open. Idempotent.
  void stop() {
    if (!server_) return;
    server_->stop();
    server_->wait();
    server_.reset();
  }

  // One request to the running server with the admin token of open_with_admin().
  HttpResult send(boost::beast::http::verb method, const std::string& target,
                  const std::string& body = "") const {
    return http_request(port(), method, target, body, admin_);
  }
  const std::string& admin_token() const { return admin_; }

  store::Store& store() { return *store_; }
  server::Services& services() { return *services_; }
  // The running server, for tests of shutdown (server().stop() begins it; stop() ends it).
  server::Server& server() { return *server_; }
  bool running() const { return server_ != nullptr; }
  // The port and "http://127.0.0.1:PORT" of the running server.
  uint16_t port() const { return server_->port(); }
  std::string url() const { return server_->url(); }
  const std::filesystem::path& dir() const { return store_.dir(); }

 private:
  const Clock& clock_;
  TestStore store_;
  std::unique_ptr<server::Services> services_;
  std::unique_ptr<server::Server> server_;
  std::string admin_;
};

}  // namespace fw::testing
