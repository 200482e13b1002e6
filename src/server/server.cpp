// The HTTP server (see server.h): listener, connections, dispatch, and the central list
// of route areas. Threading: one io_context run by N threads; each connection lives on
// its own strand, so a Connection's members are touched by one thread at a time. The
// session registry is guarded by ServerImpl::mu_. Handlers run on the I/O threads;
// asynchronous handlers (Router::add_async) answer later from any thread: answers from
// other threads are queued (done_mu_) and handed over by one posted drain, then dispatched
// onto the connection's strand; a work guard keeps the io_context running until written.
// The route is matched when the request header is in, so the route's body limit applies.
#include "server/server.h"

#include <array>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "server/errors.h"
#include "service/tokens.h"
#include "util/strings.h"

namespace fw::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

// ---- The central list of route areas: each area adds one line. ----
void add_all_routes(Router& r, Services& s) {
  add_system_routes(r, s);
  add_inventory_routes(r, s);
  add_agent_routes(r, s);      // agent enrolment and check-ins (routes_agent.cpp)
  add_policy_routes(r, s);  // policies, campaigns, findings, exemptions, reports
  add_sightings_routes(r, s);  // log shippers and the Exchange device export (routes_sightings.cpp)
  add_token_routes(r, s);      // API tokens: list, create, revoke (routes_tokens.cpp)
  // (policies, sightings, agent check-in, reports: add_<area>_routes(r, s); here)
  add_web_routes(r, s);     // the dashboard: sessions, CSV export, embedded web/ files
  add_static_routes(r, s);  // last: the fallback for paths no API route matched
}

Status parse_listen(std::string_view text, ServerOptions& opts) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return fail(Errc::invalid_argument, "expected HOST:PORT", "listen");
  std::string_view host = text.substr(0, colon);
  std::string_view port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || p > 65535) {
    return fail(Errc::invalid_argument, "bad port", "listen");
  }
  opts.host = host.empty() ? "0.0.0.0" : std::string(host);
  opts.port = static_cast<uint16_t>(p);
  return {};
}

namespace {

class ServerImpl;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket&& socket, ServerImpl& srv) : stream_(std::move(socket)), srv_(srv) {}

  void start();
  // Posted to the strand at shutdown: closes the connection unless a request is under way.
  void close_if_idle();

 private:
  void do_read();
  void on_header(beast::error_code ec);
  void on_read(beast::error_code ec);
  // Answers a request that failed while being read (413, 431, malformed) and closes.
  void refuse(beast::error_code ec);
  // Builds the Request of a complete message and hands it to the server.
  void dispatch_request();
  void respond(Response res, bool keep_alive, const std::string& route, std::chrono::steady_clock::time_point t0,
               Verb method);
  void close();
  // After answering a request whose body was not read (413, malformed): stop sending, then
  // read and discard what the client is still sending, for at most a moment and a few MiB,
  // before closing. Closing with unread input would reset the connection, and the client
  // could lose the answer while it is still writing its body ("lingering close").
  void linger_then_close();
  void linger_read();

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http::response<http::string_body>> res_;
  ServerImpl& srv_;
  bool busy_ = false;     // a complete request is being handled or answered
  bool reading_ = false;  // waiting in async_read
  bool first_ = true;     // no request read yet on this connection
  bool linger_ = false;   // the current answer is to a request whose body was not read
  size_t lingered_ = 0;   // bytes discarded while lingering
  std::array<char, 16384> scratch_{};
  // Set from the request line once the header is read (the route decides the body limit).
  bool target_ok_ = false;
  std::string path_;
  std::vector<std::pair<std::string, std::string>> query_;
  Router::Match match_;
  std::size_t body_limit_ = 0;
  std::string remote_;  // the peer's address
};

class ServerImpl final : public Server {
 public:
  ServerImpl(const ServerOptions& opts, Services& services)
      : opts_(opts), services_(services), ioc_(opts.threads), acceptor_(net::make_strand(ioc_)),
        signals_(acceptor_.get_executor()), work_(net::make_work_guard(ioc_)) {
    add_all_routes(router_, services_);
    max_body_limit_ = opts_.body_limit;
    for (const auto& r : router_.routes()) max_body_limit_ = std::max(max_body_limit_, body_limit_for(&r));
  }

  ~ServerImpl() override {
    stop();
    wait();
  }

  Status listen() {
    try {
      auto addr = net::ip::make_address(opts_.host);
      tcp::endpoint ep(addr, opts_.port);
      acceptor_.open(ep.protocol());
      acceptor_.set_option(net::socket_base::reuse_address(true));
      acceptor_.bind(ep);
      acceptor_.listen(net::socket_base::max_listen_connections);
      port_ = acceptor_.local_endpoint().port();
    } catch (const std::exception& e) {
      return fail(Errc::io_error, fmt::format("cannot listen on {}:{}: {}", opts_.host, opts_.port, e.what()),
                  "listen");
    }
    if (opts_.handle_signals) {
      signals_.add(SIGINT);
      signals_.add(SIGTERM);
      signals_.async_wait([this](beast::error_code ec, int sig) {
        if (ec) return;
        spdlog::info("signal {}: shutting down", sig);
        stop();
      });
    }
    do_accept();
    int n = std::max(1, opts_.threads);
    for (int i = 0; i < n; ++i) {
      threads_.emplace_back([this] {
        for (;;) {
          try {
            ioc_.run();
            break;
          } catch (const std::exception& e) {
            spdlog::error("I/O thread: {}", e.what());
          }
        }
      });
    }
    return {};
  }

  uint16_t port() const override { return port_; }

  std::string url() const override {
    std::string host = opts_.host;
    if (host == "0.0.0.0") host = "127.0.0.1";
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    return fmt::format("http://{}:{}", host, port_);
  }

  void stop() override {
    if (stopping_.exchange(true)) return;
    net::post(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      acceptor_.close(ec);
      signals_.cancel(ec);
    });
    std::vector<std::shared_ptr<Connection>> live;
    {
      std::lock_guard lock(mu_);
      for (auto& w : sessions_) {
        if (auto s = w.lock()) live.push_back(std::move(s));
      }
    }
    for (auto& s : live) s->close_if_idle();
    work_.reset();
  }

  void wait() override {
    std::lock_guard lock(join_mu_);
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    threads_.clear();
  }

  bool stopping() const { return stopping_.load(); }
  const ServerOptions& options() const { return opts_; }

  void add_session(const std::shared_ptr<Connection>& s) {
    std::lock_guard lock(mu_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      if (it->expired()) it = sessions_.erase(it);
      else ++it;
    }
    sessions_.insert(s);
  }

  // Runs one request through auth, the router and the handler; never throws. Sets
  // route_label first, then calls finish exactly once with the response: before returning
  // for ordinary handlers, possibly later and from another thread for asynchronous ones.
  // `m` is the router's match for req.method and req.path (Router::match), found when the
  // header was read.
  void handle(Request& req, Router::Match& m, std::string& route_label, const std::function<void(Response)>& finish);
  Response handle_sync(Request& req, Router::Match& m, std::string& route_label, const Route*& async_route);

  const Router& router() const { return router_; }
  // The largest body limit of any route: the limit while the header is read (Beast refuses a
  // Content-Length above the parser's limit as soon as the header ends).
  std::size_t max_body_limit() const { return max_body_limit_; }
  // The request body limit of a route (null: no route matched): see Route::max_body.
  std::size_t body_limit_for(const Route* r) const {
    if (!r || r->max_body == kDefaultBody) return opts_.body_limit;
    return r->max_body == kUploadBody ? opts_.upload_limit : r->max_body;
  }

  net::io_context& io_context() { return ioc_; }

  // Answers of asynchronous routes that come from other threads (the group-commit writer
  // answers a whole batch at once) are queued here and handed to the I/O threads by one
  // posted drain, instead of one cross-thread wake-up per answer. Each queued answer holds
  // a work guard (see Connection::dispatch_request), so the drain runs before the
  // io_context ends.
  void post_completion(std::function<void()> fn) {
    bool post = false;
    {
      std::lock_guard lk(done_mu_);
      done_q_.push_back(std::move(fn));
      post = !drain_posted_;
      drain_posted_ = true;
    }
    if (post) net::post(ioc_, [this] { drain_completions(); });
  }
  void drain_completions() {
    std::vector<std::function<void()>> q;
    {
      std::lock_guard lk(done_mu_);
      q.swap(done_q_);
      drain_posted_ = false;
    }
    for (auto& f : q) f();
  }

  Metrics& metrics() { return services_.metrics; }

 private:
  void do_accept() {
    acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
        spdlog::warn("accept: {}", ec.message());
      } else if (!stopping()) {
        auto s = std::make_shared<Connection>(std::move(socket), *this);
        add_session(s);
        s->start();
      }
      if (!stopping()) do_accept();
    });
  }

  Status authenticate(Request& req, Access access);
  Status check_role(Request& req, model::ApiToken token, Access access);

  ServerOptions opts_;
  Services& services_;
  Router router_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  net::signal_set signals_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
  std::mutex join_mu_;
  std::atomic<bool> stopping_{false};
  uint16_t port_ = 0;
  std::size_t max_body_limit_ = 0;
  std::mutex done_mu_;
  std::vector<std::function<void()>> done_q_;  // guarded by done_mu_
  bool drain_posted_ = false;                  // guarded by done_mu_
  std::mutex mu_;
  std::set<std::weak_ptr<Connection>, std::owner_less<std::weak_ptr<Connection>>> sessions_;  // guarded by mu_
};

Status ServerImpl::authenticate(Request& req, Access access) {
  if (access == Access::public_) return {};
  auto h = req.header("authorization");
  if (h.empty() && services_.alt_auth) {
    FW_TRY(auto alt, services_.alt_auth(req));
    if (alt) return check_role(req, std::move(*alt), access);
  }
  if (h.empty()) return fail(Errc::unauthenticated, "missing bearer token", "Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (h.size() <= kBearer.size() || !std::equal(kBearer.begin(), kBearer.end(), h.begin(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
      })) {
    return fail(Errc::unauthenticated, "expected \"Bearer <token>\"", "Authorization");
  }
  auto secret = h.substr(kBearer.size());
  FW_TRY(auto token, service::authenticate(services_.store, secret, services_.clock.now()));
  return check_role(req, std::move(token), access);
}

Status ServerImpl::check_role(Request& req, model::ApiToken token, Access access) {
  using model::Role;
  bool ok = access == Access::read
                ? (token.role == Role::admin || token.role == Role::operator_ || token.role == Role::auditor)
                : (token.role == Role::admin || token.role == Role::operator_);
  if (!ok) return fail(Errc::permission_denied, "the token's role may not do this", "Authorization");
  req.token = std::move(token);
  return {};
}

void ServerImpl::handle(Request& req, Router::Match& m, std::string& route_label,
                        const std::function<void(Response)>& finish) {
  const Route* async_route = nullptr;
  Response res = handle_sync(req, m, route_label, async_route);
  if (!async_route) return finish(std::move(res));
  std::string what = std::string(http::to_string(req.method)) + " " + req.path;
  Respond respond = [this, finish, what](Result<Response> r) {
    Response res;
    if (r) {
      res = std::move(*r);
    } else {
      if (http_status(r.error().code) >= 500) spdlog::error("{}: {}", what, r.error().to_string());
      res = error_response(r.error());
    }
    if (ioc_.get_executor().running_in_this_thread()) return finish(std::move(res));
    post_completion([finish, res = std::move(res)]() mutable { finish(std::move(res)); });
  };
  try {
    async_route->async(req, std::move(respond));
  } catch (const std::exception& e) {  // the handler must not throw after responding
    spdlog::error("{}: unexpected exception: {}", what, e.what());
    finish(error_response(Error{Errc::internal, "internal error", ""}));
  }
}

// The synchronous part: matching, authentication, and the handler of an ordinary route.
// For an asynchronous route, sets async_route (after authentication) and returns nothing.
Response ServerImpl::handle_sync(Request& req, Router::Match& m, std::string& route_label, const Route*& async_route) {
  try {
    if (!m.route) {
      if (m.path_known) {
        route_label = "(method not allowed)";
        auto r = error_response(Error{Errc::invalid_argument, "method not allowed", "method"}, 405);
        r.headers.emplace_back("Allow", m.allowed);
        return r;
      }
      if (router_.fallback() && (req.method == Verb::get || req.method == Verb::head) &&
          !req.path.starts_with("/api/")) {
        route_label = "(static)";
        auto r = router_.fallback()(req);
        return r ? std::move(*r) : error_response(r.error());
      }
      route_label = "(not found)";
      return error_response(Error{Errc::not_found, "no such endpoint", req.path});
    }
    route_label = m.route->pattern;
    req.params = std::move(m.params);
    if (auto a = authenticate(req, m.route->access); !a) return error_response(a.error());
    if (m.route->async) {
      async_route = m.route;
      return {};
    }
    auto r = m.route->handler(req);
    if (!r) {
      if (http_status(r.error().code) >= 500) spdlog::error("{} {}: {}", std::string(http::to_string(req.method)), req.path, r.error().to_string());
      return error_response(r.error());
    }
    return std::move(*r);
  } catch (const std::exception& e) {
    spdlog::error("{} {}: unexpected exception: {}", std::string(http::to_string(req.method)), req.path, e.what());
    return error_response(Error{Errc::internal, "internal error", ""});
  }
}

void Connection::start() {
  beast::error_code ec;
  auto ep = stream_.socket().remote_endpoint(ec);  // once per connection, not per request
  if (!ec) remote_ = ep.address().to_string();
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_read(); });
}

void Connection::close_if_idle() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    bool started = self->buffer_.size() > 0 || (self->parser_ && self->parser_->got_some());
    if (!self->busy_ && !started) self->close();
  });
}

void Connection::close() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.socket().close(ec);
}

void Connection::linger_then_close() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) return close();
  stream_.expires_after(std::chrono::seconds(2));  // for the whole linger
  linger_read();
}

void Connection::linger_read() {
  constexpr size_t kMaxLinger = 8u << 20;
  stream_.async_read_some(net::buffer(scratch_), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
    self->lingered_ += n;
    if (ec || self->lingered_ > kMaxLinger) return self->close();  // eof: the client is done
    self->linger_read();
  });
}

void Connection::do_read() {
  if (srv_.stopping() && buffer_.size() == 0) return close();
  parser_.emplace();
  body_limit_ = srv_.max_body_limit();
  parser_->body_limit(body_limit_);
  parser_->header_limit(static_cast<uint32_t>(srv_.options().header_limit));
  stream_.expires_after(first_ ? srv_.options().request_timeout : srv_.options().idle_timeout);
  reading_ = true;
  http::async_read_header(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
    self->on_header(ec);
  });
}

// The header is in: match the route now, so that its own body limit applies to the body.
// A Content-Length above every route's limit fails here already (body_limit): the request
// line is parsed by then, so the answer still names the route's own limit.
void Connection::on_header(beast::error_code ec) {
  if (ec && ec != http::error::body_limit) {
    reading_ = false;
    return on_read(ec);
  }
  match_ = Router::Match{};
  path_.clear();
  query_.clear();
  auto url = boost::urls::parse_origin_form(parser_->get().target());
  target_ok_ = url.has_value();
  if (target_ok_) {
    path_ = url->path();
    for (auto p : url->params()) query_.emplace_back(p.key, p.value);
    match_ = srv_.router().match(parser_->get().method(), path_);
    body_limit_ = srv_.body_limit_for(match_.route);
    if (ec) {
      reading_ = false;
      return on_read(ec);
    }
    parser_->body_limit(body_limit_);
    if (auto len = parser_->content_length(); len && *len > body_limit_) {
      reading_ = false;
      return on_read(http::error::body_limit);
    }
  } else {
    body_limit_ = srv_.options().body_limit;
    if (ec) {
      reading_ = false;
      return on_read(ec);
    }
    parser_->body_limit(body_limit_);
  }
  if (parser_->is_done()) {
    reading_ = false;
    return on_read({});
  }
  http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
    self->reading_ = false;
    self->on_read(ec);
  });
}

void Connection::on_read(beast::error_code ec) {
  if (ec == http::error::end_of_stream || ec == net::error::operation_aborted || ec == beast::error::timeout ||
      ec == net::error::connection_reset || ec == net::error::eof || ec == http::error::partial_message) {
    return close();
  }
  first_ = false;
  if (ec) return refuse(ec);
  dispatch_request();
}

void Connection::refuse(beast::error_code ec) {
  auto t0 = std::chrono::steady_clock::now();
  {
    Response r;
    std::string label = "(bad request)";
    if (ec == http::error::body_limit) {
      std::string where = match_.route ? std::string(http::to_string(match_.route->method)) + " " + match_.route->pattern
                                       : std::string("this server");
      r = error_response(Error{Errc::too_large,
                               fmt::format("request body larger than {} bytes (the limit of {})", body_limit_, where),
                               "body"});
      label = "(too large)";
    } else if (ec == http::error::header_limit) {
      r = error_response(Error{Errc::too_large, "request header too large", "header"}, 431);
      label = "(too large)";
    } else {
      r = error_response(Error{Errc::parse_error, "malformed HTTP request: " + ec.message(), ""});
    }
    busy_ = true;
    linger_ = true;
    return respond(std::move(r), false, label, t0, Verb::unknown);
  }
}

void Connection::dispatch_request() {
  auto t0 = std::chrono::steady_clock::now();
  busy_ = true;
  auto& msg = parser_->get();
  Request req;
  req.method = msg.method();
  req.target = std::string(msg.target());
  req.remote = remote_;
  for (const auto& f : msg) req.headers[to_lower_ascii(std::string_view(f.name_string()))] = std::string(f.value());
  req.body = std::move(msg.body());
  bool keep_alive = msg.keep_alive();
  auto label = std::make_shared<std::string>();
  // Runs on the strand: inline when the handler answered at once, posted when it answered
  // from another thread (the work guard keeps the I/O threads alive until then).
  auto finish = [self = shared_from_this(), keep_alive, label, t0, method = req.method,
                 work = net::make_work_guard(srv_.io_context())](Response res) {
    net::dispatch(self->stream_.get_executor(),
                  [self, keep_alive, label, t0, method, res = std::move(res)]() mutable {
                    if (method == Verb::head) res.body.clear();
                    self->respond(std::move(res), keep_alive, *label, t0, method);
                  });
  };
  if (!target_ok_) {
    *label = "(bad request)";
    finish(error_response(Error{Errc::invalid_argument, "malformed request target", "target"}));
  } else {
    req.path = std::move(path_);
    req.query = std::move(query_);
    srv_.handle(req, match_, *label, finish);
  }
}

void Connection::respond(Response r, bool keep_alive, const std::string& route, std::chrono::steady_clock::time_point t0,
                      Verb method) {
  keep_alive = keep_alive && !srv_.stopping();
  res_ = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status), 11);
  res_->set(http::field::server, "fleetward");
  if (!r.content_type.empty()) res_->set(http::field::content_type, r.content_type);
  for (auto& [k, v] : r.headers) res_->set(k, v);
  res_->body() = std::move(r.body);
  res_->keep_alive(keep_alive);
  res_->prepare_payload();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::string m = method == Verb::unknown ? "-" : std::string(http::to_string(method));
  srv_.metrics().observe(route, m, r.status, secs);
  spdlog::debug("{} {} -> {} ({:.1f} ms)", m, route, r.status, secs * 1000);
  stream_.expires_after(srv_.options().request_timeout);
  http::async_write(stream_, *res_, [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
    self->busy_ = false;
    self->res_.reset();
    if (!ec && self->linger_) return self->linger_then_close();
    if (ec || !keep_alive) return self->close();
    self->do_read();
  });
}

}  // namespace

void log_to_stderr(std::string_view level) {
  auto logger = spdlog::stderr_color_mt("fleetward");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(std::string(level)));
}

Result<std::unique_ptr<Server>> Server::start(const ServerOptions& opts, Services& services) {
  auto s = std::make_unique<ServerImpl>(opts, services);
  if (auto st = s->listen(); !st) {
    s->stop();
    s->wait();
    return fail(st.error());
  }
  return std::unique_ptr<Server>(std::move(s));
}

}  // namespace fw::server
