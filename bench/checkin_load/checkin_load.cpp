// checkin_load: a load generator for the agent endpoints (docs/agent-protocol.md). Simulates
// N devices: enrols them (or reuses a devices file), then sends check-ins at a target rate
// over C keep-alive connections (one thread each, open-loop schedule so latency counts from
// the scheduled send time), and reports achieved check-ins/s and latency percentiles. Every
// acknowledged check-in is appended to --acked as "<device_id> <seq>" (flushed per batch).
// Also points at any HTTP server for a ceiling figure (--raw-post PATH: POST a fixed body).
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
  json::object f;
  if (!full && std::uniform_real_distribution<double>(0, 1)(rng) >= change) return "{}";
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
  int ndevices = 1000, connections = 32;
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

  // Check-ins: thread c owns devices c, c+C, ... and sends on its own connection.
  std::atomic<int64_t> sent{0};
  std::mutex out_mu;
  FILE* acked = acked_file.empty() ? nullptr : std::fopen(acked_file.c_str(), "a");
  std::vector<std::vector<double>> lat(static_cast<size_t>(connections));
  std::vector<std::map<int, int64_t>> statuses(static_cast<size_t>(connections));
  double per_thread_interval = rate > 0 ? double(connections) / rate : 0;
  auto t0 = Clock::now();
  auto end = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(duration));
  std::string raw_body(2048, 'x');
  std::vector<std::thread> ts;
  for (int c = 0; c < connections; ++c)
    ts.emplace_back([&, c] {
      Conn conn(host, port);
      std::mt19937 rng(uint32_t(c) + 1u);
      std::vector<size_t> mine;
      for (size_t i = size_t(c); i < devs.size(); i += size_t(connections)) mine.push_back(i);
      if (raw_path.empty() && mine.empty()) return;
      std::string acked_buf;
      size_t k = 0;
      for (int64_t n = 0;; ++n) {
        auto scheduled = per_thread_interval > 0
                             ? t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(double(n) * per_thread_interval))
                             : Clock::now();
        if (scheduled >= end) break;
        if (max_checkins > 0 && sent.fetch_add(1) >= max_checkins) break;
        std::this_thread::sleep_until(scheduled);
        Reply r;
        std::string dev_line;
        if (!raw_path.empty()) {
          r = conn.post(raw_path, raw_body, "");
        } else {
          Device& d = devs[mine[k++ % mine.size()]];
          bool full = full_every || d.seq == 0;
          int64_t seq = d.seq + 1;
          json::object rep{{"protocol", 1},
                           {"device_id", d.id},
                           {"seq", seq},
                           {"kind", full ? "full" : "delta"},
                           {"collected_at", "2026-11-27T19:00:00Z"},
                           {"command_results", json::array()}};
          rep["facts"] = json::parse(make_facts(d, rng, full, delta_change));
          if (!full) {
            rep["base_seq"] = d.seq;
            rep["removed"] = json::array();
          }
          r = conn.post("/api/v1/agent/checkin", json::serialize(rep), d.credential);
          if (r.status == 200) {
            d.seq = seq;
            dev_line = d.id + " " + std::to_string(seq) + "\n";
          } else if (r.status == 409) {
            d.seq = 0;  // next one full, as the agent does
          }
        }
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - scheduled).count();
        statuses[size_t(c)][r.status]++;
        if (r.status >= 200 && r.status < 300) lat[size_t(c)].push_back(ms);
        if (acked && !dev_line.empty()) {
          acked_buf += dev_line;
          if (acked_buf.size() > 4096) {
            std::lock_guard lk(out_mu);
            std::fputs(acked_buf.c_str(), acked);
            std::fflush(acked);
            acked_buf.clear();
          }
        }
      }
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
