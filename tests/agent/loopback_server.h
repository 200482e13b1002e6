// A minimal HTTP/1.1 server for agent tests: binds 127.0.0.1:0, serves one connection at a
// time on its own thread (keep-alive), hands each request to a handler. Test-only; the
// handler runs on the server thread, so shared test state must be guarded (see FakeFleet).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>

namespace fw::agent::testing {

struct HttpRequest {
  std::string method, target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};
struct HttpReply {
  int status = 200;
  std::string body;
  std::map<std::string, std::string> headers;
};

class LoopbackServer {
 public:
  using Handler = std::function<HttpReply(const HttpRequest&)>;
  explicit LoopbackServer(Handler h) : handler_(std::move(h)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0)
      throw std::runtime_error("bind/listen failed");
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~LoopbackServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  bool wait_readable(int fd) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      int n = ::poll(&p, 1, 50);
      if (n > 0) return true;
    }
    return false;
  }
  void loop() {
    while (!stop_) {
      if (!wait_readable(fd_)) return;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      serve(c);
      ::close(c);
    }
  }
  void serve(int c) {
    std::string buf;
    char tmp[16384];
    for (;;) {
      size_t hdr_end;
      while ((hdr_end = buf.find("\r\n\r\n")) == std::string::npos) {
        if (!wait_readable(c)) return;
        ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
        if (n <= 0) return;
        buf.append(tmp, size_t(n));
      }
      HttpRequest req;
      std::string head = buf.substr(0, hdr_end);
      size_t line_end = head.find("\r\n");
      std::string first = head.substr(0, line_end);
      size_t sp1 = first.find(' '), sp2 = first.rfind(' ');
      req.method = first.substr(0, sp1);
      req.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
      size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
      while (pos < head.size()) {
        size_t e = head.find("\r\n", pos);
        if (e == std::string::npos) e = head.size();
        std::string line = head.substr(pos, e - pos);
        size_t colon = line.find(':');
        if (colon != std::string::npos) {
          std::string name = line.substr(0, colon);
          for (auto& ch : name) ch = char(std::tolower(static_cast<unsigned char>(ch)));
          size_t vs = line.find_first_not_of(' ', colon + 1);
          req.headers[name] = vs == std::string::npos ? "" : line.substr(vs);
        }
        pos = e + 2;
      }
      size_t clen = req.headers.count("content-length") ? std::stoul(req.headers["content-length"]) : 0;
      buf.erase(0, hdr_end + 4);
      while (buf.size() < clen) {
        if (!wait_readable(c)) return;
        ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
        if (n <= 0) return;
        buf.append(tmp, size_t(n));
      }
      req.body = buf.substr(0, clen);
      buf.erase(0, clen);
      HttpReply rep = handler_(req);
      std::string out = "HTTP/1.1 " + std::to_string(rep.status) + " X\r\nContent-Type: application/json\r\n" +
                        "Content-Length: " + std::to_string(rep.body.size()) + "\r\n";
      for (const auto& [k, v] : rep.headers) out += k + ": " + v + "\r\n";
      out += "\r\n" + rep.body;
      size_t off = 0;
      while (off < out.size()) {
        ssize_t n = ::send(c, out.data() + off, out.size() - off, MSG_NOSIGNAL);
        if (n <= 0) return;
        off += size_t(n);
      }
    }
  }

  Handler handler_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace fw::agent::testing
