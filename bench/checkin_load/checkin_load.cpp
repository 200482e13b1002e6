// checkin_load: a load generator for the agent endpoints (docs/agent-protocol.md). Simulates
// N devices: enrols them (or reuses a devices file), then sends check-ins at a target rate
// over C keep-alive connections (spread over --threads epoll loops, one request in flight per
// connection; open-loop schedule so latency counts from the scheduled send time), and
// reports achieved check-ins/s and latency percentiles. Every
// acknowledged check-in is appended to --acked as "<device_id> <seq>" (flushed per batch).
// Also points at any HTTP server for a ceiling figure (--raw-post PATH: POST a fixed body).
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <fcntl.h>
#include <cerrno>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
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

// A full report's facts, or a delta's changed keys: with probability `change` a delta
// carries a new kernel release (a changed fact), else it is a heartbeat ({}).
std::string make_facts(const Device& d, std::mt19937& rng, bool full, double change = 1.0) {
  if (!full) {
    if (std::uniform_real_distribution<double>(0, 1)(rng) >= change) return "{}";
    return R"({"kernel":{"release":"4.19.)" + std::to_string(rng() % 300) + R"("},"agent":{"version":"0.1.0"}})";
  }
  json::object f;
  f["kernel"] = json::object{{"release", "4.19." + std::to_string(rng() % 300)}};
  f["agent"] = json::object{{"version", "0.1.0"}};
  if (full) {
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
  }
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
      std::string acked_buf, body;
      std::mt19937 rng(uint32_t(t) + 1u);
      auto connect_slot = [&](size_t i) {
        Slot& sl = slots[i];
        if (sl.fd >= 0) {
          ::epoll_ctl(ep, EPOLL_CTL_DEL, sl.fd, nullptr);
          ::close(sl.fd);
        }
        sl.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (::connect(sl.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
          ::close(sl.fd);
          sl.fd = -1;
          return false;
        }
        int one = 1;
        ::setsockopt(sl.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ::fcntl(sl.fd, F_SETFL, ::fcntl(sl.fd, F_GETFL) | O_NONBLOCK);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        ::epoll_ctl(ep, EPOLL_CTL_ADD, sl.fd, &ev);
        sl.in.clear();
        return true;
      };
      auto want_out = [&](size_t i, bool on) {
        epoll_event ev{};
        ev.events = EPOLLIN | (on ? EPOLLOUT : 0u);
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
      // A request ended (status 0 = transport failure): record it and schedule the next.
      auto finish = [&](size_t i, int status) {
        Slot& sl = slots[i];
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - sl.scheduled).count();
        my_st[status]++;
        if (status >= 200 && status < 300) my_lat.push_back(ms);
        if (sl.dev) {
          if (status == 200) {
            sl.dev->seq = sl.seq;
            if (acked) {
              acked_buf += sl.dev->id + " " + std::to_string(sl.seq) + "\n";
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
      };
      auto start_request = [&](size_t i) {
        Slot& sl = slots[i];
        if (sl.fd < 0 && !connect_slot(i)) return finish(i, 0);
        const std::string* path = &raw_path;
        const std::string* payload = &raw_body;
        std::string bearer_line;
        if (raw_path.empty()) {
          Device& d = devs[sl.mine[sl.k++ % sl.mine.size()]];
          bool full = full_every || d.seq == 0;
          sl.dev = &d;
          sl.seq = d.seq + 1;
          // The report's text is put together directly (ids and numbers need no escaping):
          // the generator's own CPU per request stays small next to the server's.
          body.clear();
          body += R"({"protocol":1,"device_id":")";
          body += d.id;
          body += R"(","seq":)";
          body += std::to_string(sl.seq);
          body += full ? R"(,"kind":"full")" : R"(,"kind":"delta","base_seq":)";
          if (!full) body += std::to_string(d.seq);
          body += R"(,"collected_at":"2026-11-27T19:00:00Z","command_results":[],"facts":)";
          body += make_facts(d, rng, full, delta_change);
          if (!full) body += R"(,"removed":[])";
          body += '}';
          static const std::string kCheckin = "/api/v1/agent/checkin";
          path = &kCheckin;
          payload = &body;
          bearer_line = "Authorization: Bearer " + d.credential + "\r\n";
        }
        sl.out.clear();
        sl.out += "POST ";
        sl.out += *path;
        sl.out += " HTTP/1.1\r\nHost: ";
        sl.out += host;
        sl.out += "\r\nContent-Type: application/json\r\n";
        sl.out += bearer_line;
        sl.out += "Content-Length: ";
        sl.out += std::to_string(payload->size());
        sl.out += "\r\n\r\n";
        sl.out += *payload;
        sl.off = 0;
        sl.busy = true;
        if (!flush_out(i)) finish(i, 0);
      };
      // Takes one complete response from sl.in: its status, 0 for a broken one, -1 when
      // it is still incomplete.
      auto take_response = [](Slot& sl, bool& close_after) -> int {
        size_t hdr_end = sl.in.find("\r\n\r\n");
        if (hdr_end == std::string::npos) return -1;
        if (hdr_end < 12) return 0;
        int status = std::atoi(sl.in.c_str() + 9);
        size_t clen = 0;
        close_after = false;
        std::string_view head(sl.in.data(), hdr_end);
        for (size_t p = 0; (p = head.find("\r\n", p)) != std::string_view::npos;) {
          p += 2;
          std::string_view line = head.substr(p, head.find("\r\n", p) - p);
          auto colon = line.find(':');
          if (colon == std::string_view::npos) continue;
          std::string name(line.substr(0, colon));
          for (auto& ch : name) ch = char(std::tolower(static_cast<unsigned char>(ch)));
          std::string_view value = line.substr(colon + 1);
          while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
          if (name == "content-length") clen = std::strtoul(std::string(value).c_str(), nullptr, 10);
          else if (name == "connection" && (value == "close" || value == "Close")) close_after = true;
        }
        if (sl.in.size() < hdr_end + 4 + clen) return -1;
        sl.in.erase(0, hdr_end + 4 + clen);
        return status;
      };
      std::vector<epoll_event> events(256);
      char buf[65536];
      for (;;) {
        auto now = Clock::now();
        bool any_active = false;
        Clock::time_point next = now + std::chrono::seconds(1);
        for (size_t i = 0; i < slots.size(); ++i) {
          Slot& sl = slots[i];
          if (sl.busy) {
            any_active = true;
            continue;
          }
          if (sl.done) continue;
          if (sl.scheduled >= end || (max_checkins > 0 && sent.load() >= max_checkins)) {
            sl.done = true;
            continue;
          }
          any_active = true;
          if (sl.scheduled <= now) {
            if (max_checkins > 0 && sent.fetch_add(1) >= max_checkins) {
              sl.done = true;
              continue;
            }
            start_request(i);
          } else {
            next = std::min(next, sl.scheduled);
          }
        }
        if (!any_active) break;
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - Clock::now()).count();
        int timeout_ms = int(std::clamp<int64_t>(wait, 0, 1000));
        int n = ::epoll_wait(ep, events.data(), int(events.size()), timeout_ms);
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
            if (status >= 0) {
              finish(i, status);
              if (close_after || failed) connect_slot(i);
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
  for (auto [k, v] : st) std::cout << " " << (k == 0 ? std::string("conn-error") : std::to_string(k)) << "=" << v;
  std::cout << "\n";

  if (!devices_file.empty() && raw_path.empty()) {
    std::ofstream out(devices_file, std::ios::trunc);
    for (const auto& d : devs) out << d.id << " " << d.credential << " " << d.seq << " " << d.napps << "\n";
  }
  return 0;
}
