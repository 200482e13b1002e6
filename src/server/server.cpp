// The HTTP server (see server.h): listener, connections, dispatch, and the central list
// of route areas. Threading: N I/O threads, each running its own io_context (a "loop");
// the listener hands new connections to the loops in turn, and a connection lives on its
// loop's one thread, so its members need no lock and no strand. The session registry is
// guarded by ServerImpl::mu_. Handlers run on the I/O threads; asynchronous handlers
// (Router::add_async) answer later from any thread: answers from other threads are queued
// on the connection's loop (Loop::mu) and handed over by one posted drain per burst; a work
// guard keeps the loop running until written.
// The route is matched when the request header is in, so the route's body limit applies.
// Steady state without heap allocation per request on the I/O thread where it can be
// avoided: the parsed header lives in a per-connection arena, the Request is reused, the
// response header is written into a reused buffer and sent with the body in one gathered
// write, and metrics are counted into a cached series with relaxed atomics. The socket has
// the loop's concrete executor type, the body is read into a reused string, an asynchronous
// answer comes back through Respond (two pointers, no std::function allocation) and a JSON
// answer object is serialised here rather than on the thread that produced it. Timeouts are
// coarse deadlines checked by one sweep per loop and second (Loop::sweep), not timers. The
// memory of a connection's asynchronous operations comes from its loop's pool (OpPool), and
// a target of plain path characters is taken as the path without Boost.URL (plain_path).
#include "server/server.h"

#include <array>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <set>
#include <pthread.h>
#include <sys/resource.h>
#include <thread>

#include <boost/asio.hpp>
#include <boost/asio/bind_allocator.hpp>
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

// A bump allocator for one request's parsed header (Beast allocates every field): reset
// before each request, so a connection's steady state allocates nothing for its headers.
// Blocks that do not fit go to operator new. One connection (one strand) uses it.
class HeaderArena {
 public:
  void* allocate(std::size_t n, std::size_t align) {
    std::size_t at = (used_ + align - 1) & ~(align - 1);
    if (at + n <= buf_.size()) {
      used_ = at + n;
      return buf_.data() + at;
    }
    return ::operator new(n);
  }
  void deallocate(void* p) noexcept {
    auto* c = static_cast<char*>(p);
    if (c >= buf_.data() && c < buf_.data() + buf_.size()) return;
    ::operator delete(p);
  }
  void reset() { used_ = 0; }

 private:
  alignas(std::max_align_t) std::array<char, 4096> buf_{};
  std::size_t used_ = 0;
};

template <class T>
struct ArenaAllocator {
  using value_type = T;
  HeaderArena* arena;
  explicit ArenaAllocator(HeaderArena* a) noexcept : arena(a) {}
  template <class U>
  ArenaAllocator(const ArenaAllocator<U>& o) noexcept : arena(o.arena) {}
  T* allocate(std::size_t n) { return static_cast<T*>(arena->allocate(n * sizeof(T), alignof(T))); }
  void deallocate(T* p, std::size_t) noexcept { arena->deallocate(p); }
  template <class U>
  bool operator==(const ArenaAllocator<U>& o) const noexcept { return arena == o.arena; }
};

// Memory for the asynchronous operations of one loop's connections: asio allocates each
// operation's state (a read, a write, a posted completion) through the completion handler's
// associated allocator. Freed blocks are kept in lists by size class and reused, so the
// steady state of a keep-alive connection allocates nothing for its reads and writes (asio's
// own per-thread cache holds two blocks and often missed: 2.8 % of an I/O thread's time was
// in its allocate, mostly malloc, since a request takes operations of several sizes and a
// thousand connections interleave them). On the loop's
// thread only: every operation of a connection starts and ends there, and the io_context
// destroys what is left on the thread that destroys the Loop, after its thread ended.
class OpPool {
 public:
  OpPool() = default;
  OpPool(const OpPool&) = delete;
  OpPool& operator=(const OpPool&) = delete;
  ~OpPool() {
    for (Block* b : free_)
      while (b) {
        Block* next = b->next;
        ::operator delete(b);
        b = next;
      }
  }
  void* allocate(std::size_t n) {
    std::size_t c = (n + kGrain - 1) / kGrain;
    if (c >= kClasses) return ::operator new(n);
    if (Block* b = free_[c]) {
      free_[c] = b->next;
      --count_[c];
      return b;
    }
    return ::operator new(c * kGrain);
  }
  void deallocate(void* p, std::size_t n) noexcept {
    std::size_t c = (n + kGrain - 1) / kGrain;
    if (c >= kClasses || count_[c] >= kMaxFree) return ::operator delete(p);
    auto* b = static_cast<Block*>(p);
    b->next = free_[c];
    free_[c] = b;
    ++count_[c];
  }

 private:
  struct Block {
    Block* next;
  };
  static constexpr std::size_t kGrain = 64;     // size classes of 64 bytes...
  static constexpr std::size_t kClasses = 33;   // ...up to 2 KiB; larger ones go to operator new
  static constexpr std::size_t kMaxFree = 8192;  // blocks kept per class (one per connection)
  std::array<Block*, kClasses> free_{};
  std::array<std::size_t, kClasses> count_{};
};

template <class T>
struct OpAllocator {
  using value_type = T;
  OpPool* pool;
  explicit OpAllocator(OpPool* p) noexcept : pool(p) {}
  template <class U>
  OpAllocator(const OpAllocator<U>& o) noexcept : pool(o.pool) {}
  T* allocate(std::size_t n) {
    static_assert(alignof(T) <= alignof(std::max_align_t), "blocks are aligned for max_align_t only");
    return static_cast<T*>(pool->allocate(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept { pool->deallocate(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const OpAllocator<U>& o) const noexcept { return pool == o.pool; }
};

using RequestParser = http::request_parser<http::string_body, ArenaAllocator<char>>;
// The socket with the concrete executor of its loop: no type-erased executor (any_io_executor)
// in every operation, and no per-operation timer (see Loop::sweep for the deadlines).
using Socket = net::basic_stream_socket<tcp, net::io_context::executor_type>;
using Clock = std::chrono::steady_clock;
struct Loop;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Socket&& socket, ServerImpl& srv, size_t loop, Loop& l);
  ~Connection();
  size_t loop() const { return loop_; }

  void start();
  // At shutdown, on the loop's thread: closes the connection unless a request is under way.
  void close_if_idle();
  // Called by the loop's sweep (on its thread) with the coarse time: closes the connection
  // if a read or write is pending past its deadline.
  void sweep(Clock::time_point now);
  ServerImpl& server() { return srv_; }
  // The loop's list of its connections (for the sweep and shutdown); on the loop's thread.
  Connection* next = nullptr;
  Connection* prev = nullptr;

  // The request in flight (one at a time per connection): set on the strand before the
  // handler runs, read by the server to log and label its answer.
  Verb method() const { return method_; }
  std::string_view label() const { return label_; }
  // An asynchronous answer is pending: the connection keeps itself (and the io_context) alive
  // until deliver() runs. On the strand.
  void begin_async();
  // The answer of an asynchronous route (set by any thread before deliver()).
  Response& pending() { return pending_; }
  // Sends pending() on the connection's strand. Called once per begin_async(), from an I/O
  // thread (the drain) or from the strand itself.
  void deliver();
  // Sends a synchronous answer. On the strand.
  void respond(Response res);

 private:
  void do_read();
  void on_header(beast::error_code ec);
  void read_body();
  void on_read(beast::error_code ec);
  // Answers a request that failed while being read (413, 431, malformed) and closes.
  void refuse(beast::error_code ec);
  // Fills req_ from a complete message and hands it to the server.
  void dispatch_request();
  void close();
  // After answering a request whose body was not read (413, malformed): stop sending, then
  // read and discard what the client is still sending, for at most a moment and a few MiB,
  // before closing. Closing with unread input would reset the connection, and the client
  // could lose the answer while it is still writing its body ("lingering close").
  void linger_then_close();
  void linger_read();
  // Writes the response header of `r` into head_ (status line, Server, Content-Type, the
  // handler's headers, Content-Length, Connection: close when not keeping alive).
  void write_head(const Response& r, bool keep_alive);

  // Sets the deadline of the pending read or write to the loop's coarse time + `d`.
  void expires_after(Clock::duration d);
  // The completion handler `h` with the loop's OpPool as its allocator (see OpPool).
  template <class H>
  auto pooled(H&& h);

  Socket sock_;
  Loop& lp_;
  Clock::time_point deadline_ = Clock::time_point::max();
  bool writing_ = false;  // waiting in async_write
  beast::flat_buffer buffer_;
  HeaderArena arena_;
  std::optional<RequestParser> parser_;
  ServerImpl& srv_;
  size_t loop_;           // the index of the loop (I/O thread) the connection lives on
  bool busy_ = false;     // a complete request is being handled or answered
  bool reading_ = false;  // waiting in async_read
  bool first_ = true;     // no request read yet on this connection
  bool linger_ = false;   // the current answer is to a request whose body was not read
  size_t lingered_ = 0;   // bytes discarded while lingering
  // Where a lingering close discards input; allocated then only, so that an idle
  // connection does not carry it (thousands of keep-alive connections).
  std::unique_ptr<char[]> scratch_;
  static constexpr std::size_t kScratch = 16384;
  // Set from the request line once the header is read (the route decides the body limit).
  bool target_ok_ = false;
  Router::Match match_;
  std::size_t body_limit_ = 0;
  std::string remote_;  // the peer's address
  // The request being handled (reused: its strings keep their capacity).
  Request req_;
  Verb method_ = Verb::unknown;
  bool keep_alive_ = false;
  std::string_view label_;  // metrics label: a route pattern or a literal; stable storage
  std::chrono::steady_clock::time_point t0_;
  // While an asynchronous answer is pending: the connection itself and a work guard.
  std::shared_ptr<Connection> self_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  Response pending_;
  // The answer being written: header text and body, sent in one gathered write (both keep
  // their capacity up to kKeepBuffer between requests).
  std::string head_;
  std::string body_;
  static constexpr std::size_t kKeepBuffer = 64 * 1024;
  // The metrics series of the last answer (most answers of a connection share one).
  Metrics::Series* series_ = nullptr;
  const char* series_label_ = nullptr;
  Verb series_method_ = Verb::unknown;
  unsigned series_status_ = 0;
};

// One I/O thread's io_context, its connections and the queue of asynchronous answers
// waiting for it. Timeouts: a connection keeps a deadline computed from the loop's coarse
// time (`now`, updated once a second) and one periodic sweep per loop closes the connections
// past it, instead of a timer armed per read and per write.
struct Loop {
  // Declared before ioc: the handlers ioc destroys may hold the last connection, which
  // unlinks itself from this list.
  Connection* conns = nullptr;  // intrusive list; on the loop's thread (and after it ended)
  std::size_t n_conns = 0;
  Clock::time_point now = Clock::now();  // coarse, updated by the sweep; on the loop's thread
  OpPool ops;  // before ioc: outlives the operations ioc destroys
  net::io_context ioc{1};  // one thread runs it
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work{ioc.get_executor()};  // until stop()
  net::basic_waitable_timer<Clock, net::wait_traits<Clock>, net::io_context::executor_type> sweep_timer{ioc};
  std::mutex mu;
  std::vector<Connection*> done_q;  // guarded by mu
  std::vector<Connection*> spare;   // guarded by mu: the vector drained last, for reuse
  bool drain_posted = false;        // guarded by mu

  void link(Connection* c) {
    c->next = conns;
    if (conns) conns->prev = c;
    conns = c;
    ++n_conns;
  }
  void unlink(Connection* c) {
    if (c->prev) c->prev->next = c->next;
    else if (conns == c) conns = c->next;
    else return;  // not linked
    if (c->next) c->next->prev = c->prev;
    c->next = c->prev = nullptr;
    --n_conns;
  }
  // Every second until the server stops, then every 50 ms while connections remain (a
  // request under way at the stop is answered; a stalled one ends at its deadline): closes
  // the connections past their deadline.
  void sweep(const std::atomic<bool>& stopping) {
    if (stopping.load() && !conns) return;
    sweep_timer.expires_after(stopping.load() ? Clock::duration(std::chrono::milliseconds(50))
                                              : Clock::duration(std::chrono::seconds(1)));
    sweep_timer.async_wait([this, &stopping](beast::error_code ec) {
      if (ec) return;
      now = Clock::now();
      for (Connection* c = conns; c;) {
        Connection* next = c->next;  // closing posts the handlers; c stays linked for now
        c->sweep(now);
        c = next;
      }
      sweep(stopping);
    });
  }
};

class ServerImpl final : public Server {
 public:
  ServerImpl(const ServerOptions& opts, Services& services)
      : opts_(opts), services_(services), loops_(make_loops(opts.threads)), acceptor_(loops_[0]->ioc),
        signals_(loops_[0]->ioc) {
    add_all_routes(router_, services_);
    max_body_limit_ = opts_.body_limit;
    for (const auto& r : router_.routes()) max_body_limit_ = std::max(max_body_limit_, body_limit_for(&r));
  }

  ~ServerImpl() override {
    stop();
    wait();
  }

  Status listen() {
    // Thousands of keep-alive connections need as many descriptors: the soft limit is
    // raised to the hard one (an accept that still runs out waits and retries: do_accept).
    if (rlimit rl{}; ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
      rl.rlim_cur = rl.rlim_max;
      ::setrlimit(RLIMIT_NOFILE, &rl);
    }
    try {
      auto addr = net::ip::make_address(opts_.host);
      tcp::endpoint ep(addr, opts_.port);
      acceptor_.open(ep.protocol());
      acceptor_.set_option(net::socket_base::reuse_address(true));
      acceptor_.bind(ep);
      acceptor_.listen(net::socket_base::max_listen_connections);
      port_ = acceptor_.local_endpoint().port();
    } catch (const boost::system::system_error& e) {  // the OS's words, not Boost's source location
      return fail(Errc::io_error, fmt::format("cannot listen on {}:{}: {}", opts_.host, opts_.port, e.code().message()),
                  "listen");
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
    for (auto& loop : loops_) loop->sweep(stopping_);
    for (auto& loop : loops_) {
      threads_.emplace_back([this, l = loop.get(), name = fmt::format("fw-io-{}", threads_.size())] {
        pthread_setname_np(pthread_self(), name.c_str());  // for top -H and perf: "fw-io-0", ...
        for (;;) {
          try {
            l->ioc.run();
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
    for (auto& loop : loops_) {
      net::post(loop->ioc, [this, l = loop.get()] {
        for (Connection* c = l->conns; c;) {
          Connection* next = c->next;
          c->close_if_idle();
          c = next;
        }
        l->sweep_timer.cancel();  // its handler returns; sweeping goes on while connections remain
        l->sweep(stopping_);
      });
      loop->work.reset();
    }
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

  // Runs one request of `c` through auth, the router and the handler; never throws. Sets
  // route_label first, then answers exactly once: c.respond() before returning for ordinary
  // handlers; c.deliver() possibly later and from another thread for asynchronous ones.
  // `m` is the router's match for req.method and req.path (Router::match), found when the
  // header was read. On c's strand.
  void handle(Connection& c, Request& req, Router::Match& m, std::string_view& route_label);
  Response handle_sync(Request& req, Router::Match& m, std::string_view& route_label, const Route*& async_route);
  static void complete(void* ctx, Result<Response>&& r);

  const Router& router() const { return router_; }
  // The largest body limit of any route: the limit while the header is read (Beast refuses a
  // Content-Length above the parser's limit as soon as the header ends).
  std::size_t max_body_limit() const { return max_body_limit_; }
  // The request body limit of a route (null: no route matched): see Route::max_body.
  std::size_t body_limit_for(const Route* r) const {
    if (!r || r->max_body == kDefaultBody) return opts_.body_limit;
    return r->max_body == kUploadBody ? opts_.upload_limit : r->max_body;
  }

  net::io_context& io_context(size_t loop) { return loops_[loop]->ioc; }

  // Answers of asynchronous routes that come from other threads (the group-commit writer
  // answers a whole batch at once) are queued here and handed to the I/O threads by one
  // posted drain, instead of one cross-thread wake-up per answer. Each queued answer holds
  // a work guard (see Connection::dispatch_request), so the drain runs before the
  // io_context ends.
  // The connection's answer is in c.pending(): hand it to the connection's loop. The queue's
  // storage is reused (two vectors swapped), so a burst allocates nothing once they have grown.
  void post_completion(Connection* c) {
    Loop& l = *loops_[c->loop()];
    bool post = false;
    {
      std::lock_guard lk(l.mu);
      l.done_q.push_back(c);
      post = !l.drain_posted;
      l.drain_posted = true;
    }
    if (post) net::post(l.ioc, [this, &l] { drain_completions(l); });
  }
  void drain_completions(Loop& l) {
    std::vector<Connection*> q;
    {
      std::lock_guard lk(l.mu);
      q.swap(l.done_q);
      l.done_q.swap(l.spare);
      l.drain_posted = false;
    }
    for (auto* c : q) c->deliver();
    q.clear();
    std::lock_guard lk(l.mu);
    if (l.spare.capacity() < q.capacity()) l.spare.swap(q);
  }
  // True on the thread of the connection's loop.
  bool on_loop(const Connection& c) const { return loops_[c.loop()]->ioc.get_executor().running_in_this_thread(); }

  Metrics& metrics() { return services_.metrics; }

 private:
  // Accepts into a socket of the next loop (its own executor type), and starts the
  // connection on that loop's thread. Too many open files (EMFILE) is logged and retried
  // after a moment instead of spinning.
  void do_accept() {
    size_t loop = next_loop_++ % loops_.size();
    accepting_.emplace(loops_[loop]->ioc);
    acceptor_.async_accept(*accepting_, [this, loop](beast::error_code ec) {
      if (ec) {
        if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
        spdlog::warn("accept: {}", ec.message());
        if (ec == net::error::no_descriptors || ec == net::error::no_buffer_space) {
          accept_retry_.expires_after(std::chrono::milliseconds(100));
          return accept_retry_.async_wait([this](beast::error_code e) {
            if (!e && !stopping()) do_accept();
          });
        }
      } else if (!stopping()) {
        Loop& l = *loops_[loop];
        auto s = std::make_shared<Connection>(std::move(*accepting_), *this, loop, l);
        net::dispatch(l.ioc, [s = std::move(s)] { s->start(); });
      }
      if (!stopping()) do_accept();
    });
  }

  Status authenticate(Request& req, Access access);
  Status check_role(Request& req, model::ApiToken token, Access access);

  ServerOptions opts_;
  Services& services_;
  Router router_;
  static std::vector<std::unique_ptr<Loop>> make_loops(int threads) {
    std::vector<std::unique_ptr<Loop>> v;
    for (int i = 0; i < std::max(1, threads); ++i) v.push_back(std::make_unique<Loop>());
    return v;
  }

  std::vector<std::unique_ptr<Loop>> loops_;
  size_t next_loop_ = 0;  // the loop of the next accepted connection (the accept handler's)
  tcp::acceptor acceptor_;  // on loop 0
  std::optional<Socket> accepting_;  // the socket of the pending accept (the accept handler's)
  net::steady_timer accept_retry_{loops_[0]->ioc};
  net::signal_set signals_;
  std::vector<std::thread> threads_;
  std::mutex join_mu_;
  std::atomic<bool> stopping_{false};
  uint16_t port_ = 0;
  std::size_t max_body_limit_ = 0;
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

// The Respond of an asynchronous route (any thread): the answer goes into the connection's
// pending slot and to its loop.
void ServerImpl::complete(void* ctx, Result<Response>&& r) {
  auto* conn = static_cast<Connection*>(ctx);
  ServerImpl& srv = conn->server();
  Response& res = conn->pending();
  if (r) {
    res = std::move(*r);
  } else {
    if (http_status(r.error().code) >= 500)
      spdlog::error("{} {}: {}", std::string_view(http::to_string(conn->method())), conn->label(),
                    r.error().to_string());
    res = error_response(r.error());
  }
  if (srv.on_loop(*conn)) return conn->deliver();
  srv.post_completion(conn);
}

void ServerImpl::handle(Connection& c, Request& req, Router::Match& m, std::string_view& route_label) {
  const Route* async_route = nullptr;
  Response res = handle_sync(req, m, route_label, async_route);
  if (!async_route) return c.respond(std::move(res));
  c.begin_async();
  try {
    async_route->async(req, Respond(&ServerImpl::complete, &c));
  } catch (const std::exception& e) {  // the handler must not throw after responding
    spdlog::error("{} {}: unexpected exception: {}", std::string_view(http::to_string(req.method)), route_label,
                  e.what());
    c.pending() = error_response(Error{Errc::internal, "internal error", ""});
    c.deliver();
  }
}

// The synchronous part: matching, authentication, and the handler of an ordinary route.
// For an asynchronous route, sets async_route (after authentication) and returns nothing.
Response ServerImpl::handle_sync(Request& req, Router::Match& m, std::string_view& route_label,
                                 const Route*& async_route) {
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

Connection::Connection(Socket&& socket, ServerImpl& srv, size_t loop, Loop& l)
    : sock_(std::move(socket)), lp_(l), srv_(srv), loop_(loop) {}

Connection::~Connection() { lp_.unlink(this); }

// On the loop's thread.
void Connection::start() {
  lp_.link(this);
  beast::error_code ec;
  auto ep = sock_.remote_endpoint(ec);  // once per connection, not per request
  if (!ec) remote_ = ep.address().to_string();
  // Every answer is one gathered write; nothing is gained by Nagle's delay.
  sock_.set_option(tcp::no_delay(true), ec);
  do_read();
}

// lp_.now is up to one sweep period old: the period is added, so that a connection always
// gets at least `d` (and at most d + 2 s) before the sweep closes it.
void Connection::expires_after(Clock::duration d) { deadline_ = lp_.now + d + std::chrono::seconds(1); }

template <class H>
auto Connection::pooled(H&& h) {
  return net::bind_allocator(OpAllocator<void>(&lp_.ops), std::forward<H>(h));
}

void Connection::sweep(Clock::time_point now) {
  if ((reading_ || writing_) && deadline_ <= now) close();  // the pending operation ends
}

void Connection::close_if_idle() {
  bool started = buffer_.size() > 0 || (parser_ && parser_->got_some());
  if (!busy_ && !started) close();
}

void Connection::close() {
  beast::error_code ec;
  sock_.shutdown(tcp::socket::shutdown_both, ec);
  sock_.close(ec);
}

void Connection::linger_then_close() {
  beast::error_code ec;
  sock_.shutdown(tcp::socket::shutdown_send, ec);
  if (ec) return close();
  expires_after(std::chrono::seconds(2));  // for the whole linger
  reading_ = true;
  linger_read();
}

void Connection::linger_read() {
  constexpr size_t kMaxLinger = 8u << 20;
  if (!scratch_) scratch_ = std::make_unique<char[]>(kScratch);
  sock_.async_read_some(net::buffer(scratch_.get(), kScratch), pooled([self = shared_from_this()](beast::error_code ec, std::size_t n) {
    self->lingered_ += n;
    if (ec || self->lingered_ > kMaxLinger) {  // eof: the client is done
      self->reading_ = false;
      return self->close();
    }
    self->linger_read();
  }));
}

void Connection::do_read() {
  if (srv_.stopping() && buffer_.size() == 0) return close();
  parser_.reset();  // frees into the arena before it is reused
  arena_.reset();
  parser_.emplace(std::piecewise_construct, std::make_tuple(), std::make_tuple(ArenaAllocator<char>(&arena_)));
  // The body is read into the connection's reused string (its capacity is kept up to
  // kKeepBuffer): no allocation for a body of the usual size.
  req_.body.clear();
  parser_->get().body().swap(req_.body);
  body_limit_ = srv_.max_body_limit();
  parser_->body_limit(body_limit_);
  parser_->header_limit(static_cast<uint32_t>(srv_.options().header_limit));
  expires_after(first_ ? srv_.options().request_timeout : srv_.options().idle_timeout);
  reading_ = true;
  http::async_read_header(sock_, buffer_, *parser_, pooled([self = shared_from_this()](beast::error_code ec, std::size_t) {
    self->on_header(ec);
  }));
}

// True for an origin-form target made of path characters only (RFC 3986 pchar without '%',
// and '/'): no query, nothing to decode, so its decoded path is the target itself and Boost.URL
// (its parse and the decoded copy) is not needed. Anything else goes through Boost.URL.
static bool plain_path(std::string_view t) {
  static constexpr auto kPathChar = [] {
    std::array<bool, 256> a{};
    for (int c = 'a'; c <= 'z'; ++c) a[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) a[c] = true;
    for (int c = '0'; c <= '9'; ++c) a[c] = true;
    for (unsigned char c : std::string_view("/-._~!$&'()*+,;=:@")) a[c] = true;
    return a;
  }();
  if (t.empty() || t.front() != '/') return false;
  for (unsigned char c : t)
    if (!kPathChar[c]) return false;
  return true;
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
  req_.path.clear();
  req_.query.clear();
  std::string_view target = parser_->get().target();
  if (plain_path(target)) {  // most requests: the target is the decoded path itself
    target_ok_ = true;
    req_.path.assign(target);
  } else {
    auto url = boost::urls::parse_origin_form(target);
    target_ok_ = url.has_value();
    if (target_ok_) {
      req_.path = url->path();
      for (auto p : url->params()) req_.query.emplace_back(p.key, p.value);
    }
  }
  if (target_ok_) {
    match_ = srv_.router().match(parser_->get().method(), req_.path);
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
  // "Expect: 100-continue": the client waits for a go-ahead before sending the body. The
  // body limit was checked above (a 413 goes out instead of this), so it may come now.
  auto expect = parser_->get()[http::field::expect];
  if (beast::iequals(expect, "100-continue")) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    return net::async_write(sock_, net::buffer(kContinue.data(), kContinue.size()),
                            pooled([self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) {
                                self->reading_ = false;
                                return self->close();
                              }
                              self->read_body();
                            }));
  }
  read_body();
}

void Connection::read_body() {
  http::async_read(sock_, buffer_, *parser_, pooled([self = shared_from_this()](beast::error_code ec, std::size_t) {
    self->reading_ = false;
    self->on_read(ec);
  }));
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
  t0_ = std::chrono::steady_clock::now();
  method_ = Verb::unknown;
  keep_alive_ = false;
  Response r;
  label_ = "(bad request)";
  if (ec == http::error::body_limit) {
    std::string where = match_.route ? std::string(http::to_string(match_.route->method)) + " " + match_.route->pattern
                                     : std::string("this server");
    r = error_response(Error{Errc::too_large,
                             fmt::format("request body larger than {} bytes (the limit of {})", body_limit_, where),
                             "body"});
    label_ = "(too large)";
  } else if (ec == http::error::header_limit) {
    r = error_response(Error{Errc::too_large, "request header too large", "header"}, 431);
    label_ = "(too large)";
  } else {
    r = error_response(Error{Errc::parse_error, "malformed HTTP request: " + ec.message(), ""});
  }
  busy_ = true;
  linger_ = true;
  respond(std::move(r));
}

void Connection::dispatch_request() {
  t0_ = std::chrono::steady_clock::now();
  busy_ = true;
  auto& msg = parser_->get();
  method_ = msg.method();
  keep_alive_ = msg.keep_alive();
  label_ = {};
  req_.method = method_;
  req_.target.assign(msg.target());
  if (req_.remote != remote_) req_.remote = remote_;
  req_.headers.clear();
  for (const auto& f : msg) req_.headers.emplace_back(f.name_string(), f.value());
  req_.body = std::move(msg.body());
  req_.params.clear();
  req_.token.reset();
  if (!target_ok_) {
    label_ = "(bad request)";
    respond(error_response(Error{Errc::invalid_argument, "malformed request target", "target"}));
  } else {
    srv_.handle(*this, req_, match_, label_);
  }
  // The handler is done with the request (an asynchronous one copied what it needed): give
  // back a large body's memory rather than keep the largest body of the connection.
  if (req_.body.capacity() > kKeepBuffer) req_.body = std::string();
  req_.headers.clear();  // views into the parser's arena
}

void Connection::begin_async() {
  self_ = shared_from_this();
  work_.emplace(srv_.io_context(loop_).get_executor());
}

void Connection::deliver() {
  net::dispatch(sock_.get_executor(), [this] {
    auto self = std::move(self_);  // this lambda runs once; the connection lives to its end
    work_.reset();
    respond(std::move(pending_));  // every answer assigns pending_ whole before deliver()
  });
}

// Header field values come from handlers: a CR or LF in one would end the header early,
// so they are replaced by spaces.
static void append_field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  size_t at = out.size();
  out += value;
  for (size_t i = at; i < out.size(); ++i)
    if (out[i] == '\r' || out[i] == '\n') out[i] = ' ';
  out += "\r\n";
}

static void append_number(std::string& out, std::size_t n) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  out.append(digits, end);
}

void Connection::write_head(const Response& r, bool keep_alive) {
  head_.clear();
  head_ += "HTTP/1.1 ";
  append_number(head_, r.status);
  head_ += ' ';
  head_ += std::string_view(http::obsolete_reason(static_cast<http::status>(r.status)));
  head_ += "\r\nServer: fleetward\r\n";
  // A handler's header replaces an earlier one of the same name (and Content-Type), as
  // Beast's set() did; the server's own framing fields are never taken from a handler.
  auto same = [](std::string_view a, std::string_view b) { return beast::iequals(a, b); };
  std::string_view content_type = r.content_type;
  for (const auto& [k, v] : r.headers)
    if (same(k, "Content-Type")) content_type = v;
  if (!content_type.empty()) append_field(head_, "Content-Type", content_type);
  for (size_t i = 0; i < r.headers.size(); ++i) {
    std::string_view k = r.headers[i].first;
    if (same(k, "Content-Type") || same(k, "Content-Length") || same(k, "Connection") ||
        same(k, "Transfer-Encoding") || same(k, "Server"))
      continue;
    bool replaced = false;
    for (size_t j = i + 1; j < r.headers.size() && !replaced; ++j) replaced = same(k, r.headers[j].first);
    if (!replaced) append_field(head_, k, r.headers[i].second);
  }
  bool no_body = r.status / 100 == 1 || r.status == 204 || r.status == 304;
  if (!no_body) {
    head_ += "Content-Length: ";
    append_number(head_, body_.size());
    head_ += "\r\n";
  }
  if (!keep_alive) head_ += "Connection: close\r\n";
  head_ += "\r\n";
}

// Serialises `o` and a newline into `out` (cleared first), keeping out's capacity.
static void serialize_into(std::string& out, const boost::json::object& o) {
  out.clear();
  boost::json::serializer sr;
  sr.reset(&o);
  while (!sr.done()) {
    std::size_t at = out.size();
    out.resize(std::max<std::size_t>(out.capacity(), at + 512));
    out.resize(at + sr.read(out.data() + at, out.size() - at).size());
  }
  out += '\n';
}

void Connection::respond(Response r) {
  bool keep_alive = keep_alive_ && !srv_.stopping();
  if (r.json) {
    serialize_into(body_, *r.json);
    r.json.reset();  // frees the answer object here, while its memory is warm
  } else {
    body_ = std::move(r.body);
  }
  bool no_body = r.status / 100 == 1 || r.status == 204 || r.status == 304;
  if (method_ == Verb::head || no_body) body_.clear();
  write_head(r, keep_alive);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  std::string_view m = method_ == Verb::unknown ? std::string_view("-") : std::string_view(http::to_string(method_));
  if (!series_ || series_label_ != label_.data() || series_method_ != method_ || series_status_ != r.status) {
    series_ = srv_.metrics().series(label_, m, r.status);
    series_label_ = label_.data();
    series_method_ = method_;
    series_status_ = r.status;
  }
  series_->observe(secs);
  if (spdlog::should_log(spdlog::level::debug)) spdlog::debug("{} {} -> {} ({:.1f} ms)", m, label_, r.status, secs * 1000);
  expires_after(srv_.options().request_timeout);
  writing_ = true;
  std::array<net::const_buffer, 2> bufs{net::buffer(head_), net::buffer(body_)};
  net::async_write(sock_, bufs, pooled([self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
    self->writing_ = false;
    self->busy_ = false;
    if (self->body_.capacity() > kKeepBuffer) self->body_ = std::string();
    else self->body_.clear();
    if (!ec && self->linger_) return self->linger_then_close();
    if (ec || !keep_alive) return self->close();
    self->do_read();
  }));
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
