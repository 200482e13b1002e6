// checkin_load: a load generator for the agent endpoints (docs/agent-protocol.md). Simulates
// N devices: enrols them (or reuses a devices file), then sends check-ins at a target rate
// over C keep-alive connections (spread over --threads epoll loops, one request in flight per
// connection; open-loop schedule so latency counts from the scheduled send time), and
// reports achieved check-ins/s and latency percentiles. Every
// acknowledged check-in is appended to --acked as "<device_id> <seq>" (flushed per batch).
// Also points at any HTTP server for a ceiling figure (--raw-post PATH: POST a fixed body).
// Cheap per request, since it shares the CPU with the server: requests are written into a
// reused per-connection buffer from a prebuilt prefix and sent with one send(); a response
// is read with one recv() (as a rule), parsed without allocating, and checked (status line,
// Content-Length, and "ack_seq" equal to the report's seq for a check-in's 200); only the
// connections with a due request are visited (a ready list and a timer heap), so thousands
// of connections cost no more per request than a few; between requests due at a fixed rate
// the loop sleeps to the microsecond (epoll_pwait2). The sockets are edge-triggered in
// epoll: a socket whose answer was read is not polled again at every wait (with
// level-triggered epoll the kernel re-polled every socket that had been ready).
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <fcntl.h>
#include <cerrno>
#include <cctype>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <queue>
#include <charconv>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

struct Reply {
  int status = 0;
  std::string body;
};

// One keep-alive HTTP/1.1 connection; reconnects on failure. One thread.
class Conn {
 public:
  Conn(std::string host, int port) : host_(std::move(host)), port_(port) {}
  ~Conn() { close(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buf_.clear();
  }
  bool connect() {
    close();
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port_));
    if (::inet_pton(AF_INET, host_.c_str(), &a.sin_addr) != 1) return false;
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close();
      return false;
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{30, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return true;
  }
  // status 0 = transport failure (connection refused/reset, timeout).
  Reply post(const std::string& path, const std::string& body, const std::string& bearer) {
    if (fd_ < 0 && !connect()) return {};
    std::string req = "POST " + path + " HTTP/1.1\r\nHost: " + host_ + "\r\nContent-Type: application/json\r\n";
    if (!bearer.empty()) req += "Authorization: Bearer " + bearer + "\r\n";
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    req += body;
    size_t off = 0;
    while (off < req.size()) {
      ssize_t n = ::send(fd_, req.data() + off, req.size() - off, MSG_NOSIGNAL);
      if (n <= 0) {
        close();
        return {};
      }
      off += size_t(n);
    }
    Reply r;
    size_t hdr_end;
    while ((hdr_end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return {};
    std::string head = buf_.substr(0, hdr_end);
    if (head.size() < 12) {
      close();
      return {};
    }
    r.status = std::atoi(head.c_str() + 9);
    size_t clen = 0;
    bool close_after = false;
    std::string lower = head;
    for (auto& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
    if (auto p = lower.find("\r\ncontent-length:"); p != std::string::npos) clen = std::stoul(lower.substr(p + 17));
    if (lower.find("\r\nconnection: close") != std::string::npos) close_after = true;
    buf_.erase(0, hdr_end + 4);
    while (buf_.size() < clen)
      if (!fill()) return {};
    r.body = buf_.substr(0, clen);
    buf_.erase(0, clen);
    if (close_after) close();
    return r;
  }

 private:
  bool fill() {
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) {
      close();
      return false;
    }
    buf_.append(tmp, size_t(n));
    return true;
  }
  std::string host_;
  int port_;
  int fd_ = -1;
  std::string buf_;
};

struct Device {
  std::string id, credential;
  int64_t seq = 0;  // last acknowledged
  int napps = 100;
};

// A full report's facts (deltas are written directly in the check-in loop).
std::string make_full_facts(const Device& d, std::mt19937& rng) {
  json::object f;
  f["kernel"] = json::object{{"release", "4.19." + std::to_string(rng() % 300)}};
  f["agent"] = json::object{{"version", "0.1.0"}};
  f["os"] = json::object{{"family", "Aurora OS"}, {"name", "Aurora OS"}, {"version", "4.0.2." + std::to_string(rng() % 300)}};
  f["hardware"] = json::object{{"vendor", "Open Mobile Platform"}, {"model", "R-FON"}, {"type", "phone"}};
  f["encryption"] = json::object{{"root_encrypted", true}, {"dm_crypt_devices", json::array{"dm-0"}}};
  f["security"] = json::object{{"rooted", false}, {"developer_mode", false}, {"indicators", json::array()}};
  f["hostname"] = "phone-" + d.id;
  json::array apps;
  for (int i = 0; i < d.napps; ++i)
    apps.push_back(json::object{{"id", "ru.example.app" + std::to_string(i)},
                                {"name", "Example application number " + std::to_string(i)},
                                {"version", std::to_string(1 + i % 9) + "." + std::to_string(i % 31) + ".0"}});
  f["apps"] = std::move(apps);
  return json::serialize(f);
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, size_t(p * double(v.size())));
  std::nth_element(v.begin(), v.begin() + long(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"checkin_load: simulated devices checking in to a fleetward server"};
  std::string server = "http://127.0.0.1:8080", secret, devices_file, acked_file, raw_path;
  int ndevices = 1000, connections = 32, loop_threads = 2;
  double rate = 0, duration = 10;
  int64_t max_checkins = 0;
  bool full_every = false;
  double delta_change = 0.1;
  app.add_option("--server", server, "http://HOST:PORT (IPv4 literal)")->capture_default_str();
  app.add_option("--enroll-secret", secret, "secret to enrol devices missing from --devices-file");
  app.add_option("--devices", ndevices, "simulated devices")->capture_default_str();
  app.add_option("--devices-file", devices_file, "enrolled devices (id credential seq napps), read and rewritten");
  app.add_option("--connections", connections, "keep-alive connections (one thread each)")->capture_default_str();
  app.add_option("--rate", rate, "target check-ins per second overall (0 = as fast as possible)")->capture_default_str();
  app.add_option("--duration", duration, "seconds of check-ins")->capture_default_str();
  app.add_option("--checkins", max_checkins, "stop after this many check-ins (0 = by duration)");
  app.add_option("--acked", acked_file, "append '<device_id> <seq>' for each acknowledged check-in");
  app.add_flag("--full", full_every, "every check-in is a full report (default: full first, then deltas)");
  app.add_option("--delta-change", delta_change, "fraction of deltas that change a fact (the rest are heartbeats)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--threads", loop_threads, "event-loop threads for the check-ins (connections are spread over them)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--raw-post", raw_path, "ceiling mode: POST a 2 KB body to this path, count 2xx (e.g. nginx)");
  CLI11_PARSE(app, argc, argv);

  // Thousands of connections (--connections 2048) need as many descriptors: raise the
  // soft limit to the hard one.
  if (rlimit rl{}; ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }

  std::string hostport = server.substr(server.find("://") + 3);
  std::string host = hostport.substr(0, hostport.rfind(':'));
  int port = std::stoi(hostport.substr(hostport.rfind(':') + 1));

  std::vector<Device> devs;
  if (raw_path.empty()) {
    if (!devices_file.empty()) {
      std::ifstream in(devices_file);
      Device d;
      while (in >> d.id >> d.credential >> d.seq >> d.napps) devs.push_back(d);
    }
    // Enrol the missing devices in parallel.
    size_t have = devs.size();
    if (int(have) < ndevices) {
      if (secret.empty()) {
        std::cerr << "checkin_load: --enroll-secret needed to enrol " << (ndevices - int(have)) << " devices\n";
        return 1;
      }
      devs.resize(size_t(ndevices));
      std::atomic<size_t> next{have};
      std::atomic<int> failed{0};
      auto t0 = Clock::now();
      std::vector<std::thread> ts;
      for (int c = 0; c < connections; ++c)
        ts.emplace_back([&, c] {
          Conn conn(host, port);
          std::mt19937 rng(uint32_t(c) * 7919u + 17u);
          for (size_t i; (i = next.fetch_add(1)) < devs.size();) {
            json::object req{{"protocol", 1}, {"enroll_secret", secret}, {"hardware_id", "load-" + std::to_string(i) + "-" + std::to_string(rng())}};
            Reply r = conn.post("/api/v1/agent/enroll", json::serialize(req), "");
            if (r.status != 200) {
              if (failed++ < 3) std::cerr << "enrol failed: HTTP " << r.status << " " << r.body << "\n";
              continue;
            }
            auto v = json::parse(r.body);
            devs[i].id = std::string(v.at("device_id").as_string());
            devs[i].credential = std::string(v.at("credential").as_string());
            devs[i].napps = 50 + int(rng() % 101);  // 50..150 apps
          }
        });
      for (auto& t : ts) t.join();
      double secs = std::chrono::duration<double>(Clock::now() - t0).count();
      std::erase_if(devs, [](const Device& d) { return d.id.empty(); });
      std::cout << "enrolled " << (devs.size() - have) << " devices in " << secs << " s ("
                << double(devs.size() - have) / secs << "/s), " << failed.load() << " failed\n";
    }
    if (devs.empty()) return 1;
  }

  // Check-ins: `--threads` event loops (epoll), each owning the connections c = t, t+T, ...;
  // connection c owns devices c, c+C, ... and has at most one request in flight. An event
  // loop costs a few system calls per request and no thread switch, so the generator takes
  // little of the CPU it shares with the server (and with nginx in --raw-post mode).
  std::atomic<int64_t> sent{0};
  std::mutex out_mu;
  FILE* acked = acked_file.empty() ? nullptr : std::fopen(acked_file.c_str(), "a");
  std::vector<std::vector<double>> lat(static_cast<size_t>(loop_threads));
  std::vector<std::map<int, int64_t>> statuses(static_cast<size_t>(loop_threads));
  double per_conn_interval = rate > 0 ? double(connections) / rate : 0;
  auto t0 = Clock::now();
  auto end = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(duration));
  std::string raw_body(2048, 'x');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    std::cerr << "checkin_load: --server needs an IPv4 literal\n";
    return 1;
  }
  // The constant parts of every request, built once: a request is the prefix, the device's
  // credential, the Content-Length and the body, put together in the connection's reused
  // buffer and sent with one send(); nothing is allocated per request once buffers have grown.
  const std::string checkin_prefix =
      "POST /api/v1/agent/checkin HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\nAuthorization: Bearer ";
  const std::string raw_prefix =
      "POST " + raw_path + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\nContent-Length: " +
      std::to_string(raw_body.size()) + "\r\n\r\n" + raw_body;
  std::vector<std::thread> ts;
  for (int t = 0; t < loop_threads; ++t)
    ts.emplace_back([&, t] {
      struct Slot {
        int fd = -1;
        std::vector<size_t> mine;  // device indexes
        size_t k = 0;
        int64_t n = 0;  // requests scheduled so far
        Clock::time_point scheduled;
        bool busy = false, done = false;
        std::string out, in;
        size_t off = 0;
        Device* dev = nullptr;
        int64_t seq = 0;
      };
      std::vector<Slot> slots;
      for (int c = t; c < connections; c += loop_threads) {
        Slot sl;
        for (size_t i = size_t(c); i < devs.size(); i += size_t(connections)) sl.mine.push_back(i);
        if (raw_path.empty() && sl.mine.empty()) continue;
        sl.scheduled = t0;
        slots.push_back(std::move(sl));
      }
      int ep = ::epoll_create1(EPOLL_CLOEXEC);
      auto& my_lat = lat[size_t(t)];
      auto& my_st = statuses[size_t(t)];
      my_lat.reserve(1 << 20);
      std::string acked_buf, body;
      std::mt19937 rng(uint32_t(t) + 1u);
      // Slots whose next request is due: `ready` (now) and `timers` (a min-heap by time, for
      // --rate). Only the slots that have something to do are looked at, so the cost per
      // request does not grow with the number of connections.
      std::vector<size_t> ready, ready_now;
      using Timer = std::pair<Clock::time_point, size_t>;
      std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers;
      size_t active = slots.size();  // slots not done
      for (size_t i = 0; i < slots.size(); ++i) ready.push_back(i);
      auto connect_slot = [&](size_t i) {
        Slot& sl = slots[i];
        if (sl.fd >= 0) {
          ::epoll_ctl(ep, EPOLL_CTL_DEL, sl.fd, nullptr);
          ::close(sl.fd);
        }
        sl.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (sl.fd < 0 || ::connect(sl.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
          if (sl.fd >= 0) ::close(sl.fd);
          sl.fd = -1;
          return false;
        }
        int one = 1;
        ::setsockopt(sl.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ::fcntl(sl.fd, F_SETFL, ::fcntl(sl.fd, F_GETFL) | O_NONBLOCK);
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLET;
        ev.data.u64 = i;
        ::epoll_ctl(ep, EPOLL_CTL_ADD, sl.fd, &ev);
        sl.in.clear();
        return true;
      };
      auto want_out = [&](size_t i, bool on) {
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLET | (on ? EPOLLOUT : 0u);
        ev.data.u64 = i;
        ::epoll_ctl(ep, EPOLL_CTL_MOD, slots[i].fd, &ev);
      };
      auto flush_out = [&](size_t i) -> bool {  // false: the connection failed
        Slot& sl = slots[i];
        while (sl.off < sl.out.size()) {
          ssize_t n = ::send(sl.fd, sl.out.data() + sl.off, sl.out.size() - sl.off, MSG_NOSIGNAL);
          if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            want_out(i, true);
            return true;
          }
          if (n <= 0) return false;
          sl.off += size_t(n);
        }
        return true;
      };
      auto append_int = [](std::string& out, int64_t v) {
        char d[24];
        auto [e, ec] = std::to_chars(d, d + sizeof d, v);
        out.append(d, e);
      };
      // A request ended (status 0 = transport failure, -2 = an answer that is not the
      // acknowledgement of this report): record it and schedule the next.
      auto finish = [&](size_t i, int status) {
        Slot& sl = slots[i];
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - sl.scheduled).count();
        my_st[status]++;
        if (status >= 200 && status < 300) my_lat.push_back(ms);
        if (sl.dev) {
          if (status == 200) {
            sl.dev->seq = sl.seq;
            if (acked) {
              acked_buf += sl.dev->id;
              acked_buf += ' ';
              append_int(acked_buf, sl.seq);
              acked_buf += '\n';
              if (acked_buf.size() > 4096) {
                std::lock_guard lk(out_mu);
                std::fputs(acked_buf.c_str(), acked);
                std::fflush(acked);
                acked_buf.clear();
              }
            }
          } else if (status == 409) {
            sl.dev->seq = 0;  // next one full, as the agent does
          }
        }
        sl.busy = false;
        sl.dev = nullptr;
        ++sl.n;
        sl.scheduled = per_conn_interval > 0
                           ? t0 + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(double(sl.n) * per_conn_interval))
                           : Clock::now();
        if (status == 0) connect_slot(i);
        if (per_conn_interval > 0) timers.emplace(sl.scheduled, i);
        else ready.push_back(i);
      };
      auto start_request = [&](size_t i) {
        Slot& sl = slots[i];
        if (sl.fd < 0 && !connect_slot(i)) return finish(i, 0);
        if (!raw_path.empty()) {
          sl.out.assign(raw_prefix);
        } else {
          Device& d = devs[sl.mine[sl.k++ % sl.mine.size()]];
          bool full = full_every || d.seq == 0;
          sl.dev = &d;
          sl.seq = d.seq + 1;
          // The report's text is put together directly (ids and numbers need no escaping).
          body.clear();
          body += R"({"protocol":1,"device_id":")";
          body += d.id;
          body += R"(","seq":)";
          append_int(body, sl.seq);
          if (full) {
            body += R"(,"kind":"full")";
          } else {
            body += R"(,"kind":"delta","base_seq":)";
            append_int(body, d.seq);
          }
          body += R"(,"collected_at":"2026-11-27T19:00:00Z","command_results":[],"facts":)";
          if (full) {
            body += make_full_facts(d, rng);
          } else if (std::uniform_real_distribution<double>(0, 1)(rng) >= delta_change) {
            body += "{}";  // a heartbeat
          } else {  // a changed fact
            body += R"({"kernel":{"release":"4.19.)";
            append_int(body, rng() % 300);
            body += R"("},"agent":{"version":"0.1.0"}})";
          }
          if (!full) body += R"(,"removed":[])";
          body += '}';
          sl.out.clear();
          sl.out += checkin_prefix;
          sl.out += d.credential;
          sl.out += "\r\nContent-Length: ";
          append_int(sl.out, int64_t(body.size()));
          sl.out += "\r\n\r\n";
          sl.out += body;
        }
        sl.off = 0;
        sl.busy = true;
        if (!flush_out(i)) finish(i, 0);
      };
      auto iequal = [](std::string_view a, std::string_view lower) {
        if (a.size() != lower.size()) return false;
        for (size_t k = 0; k < a.size(); ++k)
          if (char(std::tolower(static_cast<unsigned char>(a[k]))) != lower[k]) return false;
        return true;
      };
      // Takes one complete response from sl.in and checks it: the status line, the framing
      // (Content-Length; a response without one ends the connection) and, for a check-in's
      // 200, that the body acknowledges this report's seq. Returns the status, 0 for a
      // broken response, -2 for a 200 that does not acknowledge the report, and -1 while it
      // is still incomplete.
      auto take_response = [&](Slot& sl, bool& close_after) -> int {
        size_t hdr_end = sl.in.find("\r\n\r\n");
        if (hdr_end == std::string::npos) return -1;
        std::string_view head(sl.in.data(), hdr_end);
        if (hdr_end < 12 || !head.starts_with("HTTP/1.1 ")) return 0;
        int status = 0;
        if (std::from_chars(head.data() + 9, head.data() + 12, status).ec != std::errc()) return 0;
        size_t clen = 0;
        bool has_len = false;
        close_after = false;
        for (size_t p = 0; (p = head.find("\r\n", p)) != std::string_view::npos;) {
          p += 2;
          std::string_view line = head.substr(p, head.find("\r\n", p) - p);
          auto colon = line.find(':');
          if (colon == std::string_view::npos) return 0;
          std::string_view name = line.substr(0, colon), value = line.substr(colon + 1);
          while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
          if (iequal(name, "content-length")) {
            if (std::from_chars(value.data(), value.data() + value.size(), clen).ec != std::errc()) return 0;
            has_len = true;
          } else if (iequal(name, "connection") && iequal(value, "close")) {
            close_after = true;
          }
        }
        bool no_body = status == 204 || status == 304 || status / 100 == 1;
        if (!has_len && !no_body) return 0;
        if (sl.in.size() < hdr_end + 4 + clen) return -1;
        if (status == 200 && sl.dev) {
          std::string_view answer(sl.in.data() + hdr_end + 4, clen);
          char want[40] = "\"ack_seq\":";
          auto [e, ec] = std::to_chars(want + 10, want + sizeof want - 1, sl.seq);
          std::string_view w(want, size_t(e - want));
          auto at = answer.find(w);
          if (at == std::string_view::npos || (at + w.size() < answer.size() && std::isdigit(static_cast<unsigned char>(answer[at + w.size()]))))
            status = -2;
        }
        sl.in.erase(0, hdr_end + 4 + clen);
        return status;
      };
      auto schedule_done = [&](Slot& sl) {
        if (sl.done) return true;
        if (sl.scheduled >= end || (max_checkins > 0 && sent.load(std::memory_order_relaxed) >= max_checkins)) {
          sl.done = true;
          --active;
          return true;
        }
        return false;
      };
      std::vector<epoll_event> events(256);
      char buf[65536];
      while (active > 0) {
        auto now = Clock::now();
        while (!timers.empty() && timers.top().first <= now) {
          ready.push_back(timers.top().second);
          timers.pop();
        }
        ready_now.swap(ready);
        for (size_t i : ready_now) {
          Slot& sl = slots[i];
          if (sl.busy || schedule_done(sl)) continue;
          if (max_checkins > 0 && sent.fetch_add(1) >= max_checkins) {
            sl.done = true;
            --active;
            continue;
          }
          start_request(i);
        }
        ready_now.clear();
        if (active == 0) break;
        // Sleep until the next due request, to the microsecond (epoll_pwait2): a timeout in
        // whole milliseconds rounded a wait shorter than 1 ms down to 0, so at a fixed rate
        // (5,000/s: a request due every 200 µs) the loop spun instead of sleeping.
        std::chrono::nanoseconds wait = std::chrono::seconds(1);
        if (!ready.empty()) {
          wait = {};
        } else if (!timers.empty()) {
          wait = std::clamp<std::chrono::nanoseconds>(timers.top().first - Clock::now(), {}, std::chrono::seconds(1));
        }
        timespec ts{static_cast<time_t>(wait.count() / 1000000000), static_cast<long>(wait.count() % 1000000000)};
        int n = ::epoll_pwait2(ep, events.data(), int(events.size()), &ts, nullptr);
        if (n < 0 && errno == ENOSYS)  // a kernel before 5.11: milliseconds, rounded up
          n = ::epoll_wait(ep, events.data(), int(events.size()),
                           int((wait.count() + 999999) / 1000000));
        for (int e = 0; e < n; ++e) {
          size_t i = events[size_t(e)].data.u64;
          Slot& sl = slots[i];
          if (events[size_t(e)].events & EPOLLOUT) {
            if (!flush_out(i)) {
              finish(i, 0);
              continue;
            }
            if (sl.off == sl.out.size()) want_out(i, false);
          }
          if (!(events[size_t(e)].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) continue;
          bool failed = false;
          // Edge-triggered: read until the socket is empty (a short read or EAGAIN).
          for (;;) {
            ssize_t r = ::recv(sl.fd, buf, sizeof buf, 0);
            if (r > 0) {
              sl.in.append(buf, size_t(r));
              if (size_t(r) < sizeof buf) break;
              continue;
            }
            if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            failed = true;  // closed or reset
            break;
          }
          if (sl.busy) {
            bool close_after = false;
            int status = take_response(sl, close_after);
            if (status == 0) failed = true;
            if (status != -1) {
              if (close_after || failed) {
                finish(i, status);
                if (status != 0) connect_slot(i);  // finish() reconnected after a failure
              } else {
                finish(i, status);
              }
              continue;
            }
          }
          if (failed) {
            if (sl.busy) finish(i, 0);
            else connect_slot(i);
          }
        }
      }
      for (auto& sl : slots)
        if (sl.fd >= 0) ::close(sl.fd);
      ::close(ep);
      if (acked && !acked_buf.empty()) {
        std::lock_guard lk(out_mu);
        std::fputs(acked_buf.c_str(), acked);
        std::fflush(acked);
      }
    });
  for (auto& t : ts) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  if (acked) std::fclose(acked);

  std::vector<double> all;
  std::map<int, int64_t> st;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  for (auto& m : statuses)
    for (auto [k, v] : m) st[k] += v;
  std::cout << (raw_path.empty() ? "check-ins" : "requests") << ": " << all.size() << " ok in " << secs << " s = "
            << double(all.size()) / secs << "/s; latency ms p50 " << percentile(all, 0.50) << " p90 "
            << percentile(all, 0.90) << " p99 " << percentile(all, 0.99) << " max " << percentile(all, 1.0)
            << "; statuses:";
  for (auto [k, v] : st)
    std::cout << " " << (k == 0 ? std::string("conn-error") : k == -2 ? std::string("bad-ack") : std::to_string(k)) << "="
              << v;
  std::cout << "\n";

  if (!devices_file.empty() && raw_path.empty()) {
    std::ofstream out(devices_file, std::ios::trunc);
    for (const auto& d : devs) out << d.id << " " << d.credential << " " << d.seq << " " << d.napps << "\n";
  }
  return 0;
}
