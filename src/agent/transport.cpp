// The agent's HTTP/1.1 client (see transport.h): POST of a JSON body over TCP, or over TLS 1.2
// with mbed TLS, with one kept-alive connection per transport. Small on purpose: the whole
// check-in must fit in the agent's memory budget (docs/PERFORMANCE.md, ## Agent), which
// libcurl + OpenSSL 3 did not. The server certificate is verified after the handshake and
// before any request byte is sent: the CA file (pinned, or the system bundle) is scanned
// and only the CAs that can issue the server's chain are parsed, then the chain is checked
// (signatures, validity, key usage, default mbed TLS profile) and the name: DNS names by
// mbed TLS, IP literals against the certificate's iPAddress entries here.
// Not thread-safe: one transport per thread.
#include "agent/transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <mbedtls/base64.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <fstream>

#include "agent/http_response.h"
#include "util/strings.h"

namespace fw::agent {

namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr size_t kMaxAnswer = 1u << 20;
constexpr size_t kMaxCaFile = 8u << 20;

struct Url {
  bool tls = false;
  std::string host;       // without brackets
  std::string port;       // decimal
  std::string base_path;  // "" or "/prefix" (no trailing '/')
  std::string host_header;
};

Result<Url> parse_url(const std::string& s, bool insecure_http) {
  Url u;
  std::string lower = to_lower_ascii(s);
  std::string_view rest;
  if (lower.starts_with("https://")) {
    u.tls = true;
    rest = std::string_view(s).substr(8);
  } else if (lower.starts_with("http://")) {
    if (!insecure_http)
      return fail(Errc::invalid_argument, "plain http:// needs --insecure-http; use https://", "--server");
    rest = std::string_view(s).substr(7);
  } else {
    return fail(Errc::invalid_argument, "server URL must start with https://", "--server");
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) u.base_path = std::string(rest.substr(slash));
  while (!u.base_path.empty() && u.base_path.back() == '/') u.base_path.pop_back();
  if (authority.find('@') != std::string_view::npos)
    return fail(Errc::invalid_argument, "user:password@ in the server URL is not supported", "--server");
  std::string_view port;
  if (authority.starts_with("[")) {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail(Errc::invalid_argument, "unclosed '[' in the server URL", "--server");
    u.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return fail(Errc::invalid_argument, "junk after ']' in the server URL", "--server");
      port = after.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (u.host.empty()) return fail(Errc::invalid_argument, "no host in the server URL", "--server");
  for (char c : u.host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '_'))
      return fail(Errc::invalid_argument, "invalid character in the server host name", "--server");
  for (char c : u.base_path)
    if (c <= ' ' || c == 0x7f || c == '?' || c == '#')
      return fail(Errc::invalid_argument, "invalid character in the server URL path", "--server");
  int pnum = u.tls ? 443 : 80;
  if (!port.empty()) {
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), pnum);
    if (ec != std::errc() || p != port.data() + port.size() || pnum < 1 || pnum > 65535)
      return fail(Errc::invalid_argument, "invalid port in the server URL", "--server");
  }
  u.port = std::to_string(pnum);
  bool v6 = u.host.find(':') != std::string::npos;
  u.host_header = v6 ? "[" + u.host + "]" : u.host;
  if (pnum != (u.tls ? 443 : 80)) u.host_header += ":" + u.port;
  return u;
}

std::string mbed_error(int rc) {
  char buf[160];
  mbedtls_strerror(rc, buf, sizeof buf);
  return buf;
}

// Wait until fd is ready for `events` or the deadline passes.
Status wait_fd(int fd, short events, SteadyClock::time_point deadline, std::string_view what) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
    if (left <= 0) return fail(Errc::timeout, "timed out " + std::string(what));
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, int(std::min<long long>(left, 1000)));
    if (n > 0) return {};
    if (n < 0 && errno != EINTR) return fail(Errc::io_error, std::string("poll: ") + std::strerror(errno));
  }
}

// ---- trust: the CAs of a PEM file that can issue a given chain ----

// Appends to `out` every certificate of the PEM text whose subject is the issuer of a
// certificate in `chain` or of one appended before (so intermediates in the file are found).
// Only candidates whose DER contains a wanted name are parsed. Returns how many were added.
int load_issuers(std::string_view pem, const mbedtls_x509_crt* chain, mbedtls_x509_crt* out) {
  std::vector<std::string> wanted;
  for (const mbedtls_x509_crt* c = chain; c && c->raw.p; c = c->next)
    wanted.emplace_back(reinterpret_cast<const char*>(c->issuer_raw.p), c->issuer_raw.len);
  std::vector<std::string> added_der;
  std::vector<unsigned char> der;
  constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----", kEnd = "-----END CERTIFICATE-----";
  for (int pass = 0; pass < 4 && !wanted.empty(); ++pass) {
    std::vector<std::string> next;
    size_t pos = 0;
    while ((pos = pem.find(kBegin, pos)) != std::string_view::npos) {
      size_t body = pos + kBegin.size();
      size_t end = pem.find(kEnd, body);
      if (end == std::string_view::npos) break;
      pos = end + kEnd.size();
      std::string_view b64 = pem.substr(body, end - body);
      size_t n = 0;
      der.resize(b64.size());
      if (mbedtls_base64_decode(der.data(), der.size(), &n, reinterpret_cast<const unsigned char*>(b64.data()),
                                b64.size()) != 0)
        continue;
      std::string_view d(reinterpret_cast<const char*>(der.data()), n);
      bool maybe = false;
      for (const auto& w : wanted)
        if (d.find(w) != std::string_view::npos) maybe = true;
      if (!maybe) continue;
      mbedtls_x509_crt tmp;
      mbedtls_x509_crt_init(&tmp);
      if (mbedtls_x509_crt_parse_der(&tmp, der.data(), n) == 0) {
        std::string subject(reinterpret_cast<const char*>(tmp.subject_raw.p), tmp.subject_raw.len);
        std::string issuer(reinterpret_cast<const char*>(tmp.issuer_raw.p), tmp.issuer_raw.len);
        bool is_wanted = false;
        for (const auto& w : wanted)
          if (w == subject) is_wanted = true;
        bool dup = false;
        for (const auto& a : added_der)
          if (a == d) dup = true;
        if (is_wanted && !dup && mbedtls_x509_crt_parse_der(out, der.data(), n) == 0) {
          added_der.emplace_back(d);
          if (issuer != subject) next.push_back(issuer);
        }
      }
      mbedtls_x509_crt_free(&tmp);
    }
    wanted = std::move(next);
  }
  return int(added_der.size());
}

bool ip_in_san(const mbedtls_x509_crt* crt, const unsigned char* ip, size_t ip_len) {
  for (const mbedtls_x509_sequence* s = &crt->subject_alt_names; s && s->buf.p; s = s->next) {
    if (s->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && s->buf.len == ip_len &&
        std::memcmp(s->buf.p, ip, ip_len) == 0)
      return true;
  }
  return false;
}

// ---- TLS state shared by the connections of one transport ----

struct Tls {
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  mbedtls_ssl_config conf;
  Tls() {
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_ssl_config_init(&conf);
  }
  ~Tls() {
    mbedtls_ssl_config_free(&conf);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
  }
  Status setup() {
    static const char pers[] = "fleetward-agent";
    int rc = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
                                   reinterpret_cast<const unsigned char*>(pers), sizeof pers - 1);
    if (rc != 0) return fail(Errc::internal, "TLS random generator: " + mbed_error(rc));
    rc = mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                     MBEDTLS_SSL_PRESET_DEFAULT);
    if (rc != 0) return fail(Errc::internal, "TLS configuration: " + mbed_error(rc));
    mbedtls_ssl_conf_min_version(&conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);  // TLS 1.2
    // The chain is verified by verify_peer() after the handshake and before any request
    // byte; mbed TLS's own check (without CAs here) would only repeat it.
    mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
    mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
    mbedtls_ssl_conf_cert_profile(&conf, &mbedtls_x509_crt_profile_default);
    return {};
  }
};

int bio_send(void* ctx, const unsigned char* buf, size_t len) {
  int fd = *static_cast<int*>(ctx);
  ssize_t n = ::send(fd, buf, len, MSG_NOSIGNAL);
  if (n >= 0) return int(n);
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return MBEDTLS_ERR_SSL_WANT_WRITE;
  return MBEDTLS_ERR_NET_SEND_FAILED;
}
int bio_recv(void* ctx, unsigned char* buf, size_t len) {
  int fd = *static_cast<int*>(ctx);
  ssize_t n = ::recv(fd, buf, len, 0);
  if (n >= 0) return int(n);
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return MBEDTLS_ERR_SSL_WANT_READ;
  if (errno == ECONNRESET) return MBEDTLS_ERR_NET_CONN_RESET;
  return MBEDTLS_ERR_NET_RECV_FAILED;
}

// One TCP connection, optionally with TLS on it.
class Conn {
 public:
  Conn() = default;
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn() { close(); }

  bool open() const { return fd_ >= 0; }
  void close() {
    if (ssl_on_) {
      mbedtls_ssl_close_notify(&ssl_);  // best effort, non-blocking
      mbedtls_ssl_free(&ssl_);
      ssl_on_ = false;
    }
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // An idle kept-alive connection that became readable was closed (or spoken to) by the server.
  bool stale() const {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) != 0;
  }

  Status connect(const Url& u, SteadyClock::time_point deadline) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
    addrinfo* res = nullptr;
    int gai = ::getaddrinfo(u.host.c_str(), u.port.c_str(), &hints, &res);
    if (gai != 0) return fail(Errc::unavailable, "cannot resolve " + u.host + ": " + ::gai_strerror(gai));
    std::string last = "no address";
    auto connect_deadline = std::min(deadline, SteadyClock::now() + std::chrono::seconds(10));
    for (addrinfo* a = res; a; a = a->ai_next) {
      int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
      if (fd < 0) {
        last = std::string("socket: ") + std::strerror(errno);
        continue;
      }
      int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
      if (rc != 0 && errno == EINPROGRESS) {
        auto w = wait_fd(fd, POLLOUT, connect_deadline, "connecting");
        if (!w) {
          last = w.error().message;
          ::close(fd);
          continue;
        }
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        rc = err == 0 ? 0 : -1;
        errno = err;
      }
      if (rc != 0) {
        last = std::string("connect: ") + std::strerror(errno);
        ::close(fd);
        continue;
      }
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      fd_ = fd;
      break;
    }
    ::freeaddrinfo(res);
    if (fd_ < 0) return fail(Errc::unavailable, last);
    return {};
  }

  Status start_tls(Tls& tls, const Url& u, SteadyClock::time_point deadline) {
    mbedtls_ssl_init(&ssl_);
    ssl_on_ = true;
    int rc = mbedtls_ssl_setup(&ssl_, &tls.conf);
    if (rc != 0) return fail(Errc::internal, "TLS setup: " + mbed_error(rc));
    unsigned char ip[16];
    bool is_ip = ::inet_pton(AF_INET, u.host.c_str(), ip) == 1 || ::inet_pton(AF_INET6, u.host.c_str(), ip) == 1;
    if (!is_ip) {  // SNI; IP literals are not sent (RFC 6066)
      rc = mbedtls_ssl_set_hostname(&ssl_, u.host.c_str());
      if (rc != 0) return fail(Errc::internal, "TLS host name: " + mbed_error(rc));
    }
    mbedtls_ssl_set_bio(&ssl_, &fd_, bio_send, bio_recv, nullptr);
    for (;;) {
      rc = mbedtls_ssl_handshake(&ssl_);
      if (rc == 0) return {};
      if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
        FW_TRY_STATUS(wait_fd(fd_, rc == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT, deadline, "in the TLS handshake"));
        continue;
      }
      return fail(Errc::unavailable, "TLS handshake failed: " + mbed_error(rc));
    }
  }

  // Checks the server's chain against the CAs of ca_pem and the URL's host name.
  Status verify_peer(const Url& u, std::string_view ca_pem, const std::string& ca_name) {
    const mbedtls_x509_crt* peer = mbedtls_ssl_get_peer_cert(&ssl_);
    if (!peer) return fail(Errc::unavailable, "TLS: the server sent no certificate");
    mbedtls_x509_crt trusted;
    mbedtls_x509_crt_init(&trusted);
    int found = load_issuers(ca_pem, peer, &trusted);
    unsigned char ip[16];
    size_t ip_len = 0;
    if (::inet_pton(AF_INET, u.host.c_str(), ip) == 1) ip_len = 4;
    else if (::inet_pton(AF_INET6, u.host.c_str(), ip) == 1) ip_len = 16;
    uint32_t flags = 0;
    int rc = mbedtls_x509_crt_verify_with_profile(const_cast<mbedtls_x509_crt*>(peer), found ? &trusted : nullptr,
                                                  nullptr, &mbedtls_x509_crt_profile_default,
                                                  ip_len ? nullptr : u.host.c_str(), &flags, nullptr, nullptr);
    mbedtls_x509_crt_free(&trusted);
    // What only the handshake checks: the leaf's (extended) key usage fits a TLS server.
    flags |= mbedtls_ssl_get_verify_result(&ssl_) &
             (MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE | MBEDTLS_X509_BADCERT_NS_CERT_TYPE);
    std::string why;
    if (rc != 0 || flags != 0) {
      char buf[512];
      mbedtls_x509_crt_verify_info(buf, sizeof buf, "", flags);
      for (std::string_view line : split(buf, '\n')) {
        line = trim(line);
        if (line.empty()) continue;
        if (!why.empty()) why += "; ";
        why += line;
      }
      if (why.empty()) why = mbed_error(rc);
      if (!found) why += " (no CA in " + ca_name + " issued it)";
    } else if (ip_len && !ip_in_san(peer, ip, ip_len)) {
      why = "the certificate is not valid for IP address " + u.host + " (no matching iPAddress entry)";
    }
    if (!why.empty()) return fail(Errc::unavailable, "TLS: certificate verification failed: " + why);
    return {};
  }

  Status write_all(std::string_view data, SteadyClock::time_point deadline) {
    while (!data.empty()) {
      if (ssl_on_) {
        int rc = mbedtls_ssl_write(&ssl_, reinterpret_cast<const unsigned char*>(data.data()), data.size());
        if (rc > 0) {
          data.remove_prefix(size_t(rc));
        } else if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
          FW_TRY_STATUS(wait_fd(fd_, rc == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT, deadline, "sending"));
        } else {
          return fail(Errc::unavailable, "TLS send failed: " + mbed_error(rc));
        }
      } else {
        ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
        if (n > 0) {
          data.remove_prefix(size_t(n));
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
          FW_TRY_STATUS(wait_fd(fd_, POLLOUT, deadline, "sending"));
        } else {
          return fail(Errc::unavailable, std::string("send failed: ") + std::strerror(errno));
        }
      }
    }
    return {};
  }

  // Reads some bytes; 0 at the end of the connection.
  Result<size_t> read_some(char* buf, size_t cap, SteadyClock::time_point deadline) {
    for (;;) {
      if (ssl_on_) {
        int rc = mbedtls_ssl_read(&ssl_, reinterpret_cast<unsigned char*>(buf), cap);
        if (rc >= 0) return size_t(rc);
        if (rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || rc == MBEDTLS_ERR_SSL_CONN_EOF) return size_t(0);
        if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
          FW_TRY_STATUS(wait_fd(fd_, rc == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT, deadline, "waiting for the answer"));
          continue;
        }
        if (rc == MBEDTLS_ERR_NET_CONN_RESET) return size_t(0);
        return fail(Errc::unavailable, "TLS receive failed: " + mbed_error(rc));
      }
      ssize_t n = ::recv(fd_, buf, cap, 0);
      if (n >= 0) return size_t(n);
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        FW_TRY_STATUS(wait_fd(fd_, POLLIN, deadline, "waiting for the answer"));
        continue;
      }
      if (errno == ECONNRESET) return size_t(0);
      return fail(Errc::unavailable, std::string("receive failed: ") + std::strerror(errno));
    }
  }

 private:
  int fd_ = -1;
  bool ssl_on_ = false;
  mbedtls_ssl_context ssl_;
};

bool safe_header_value(std::string_view v) {
  for (unsigned char c : v)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

class HttpTransport final : public Transport {
 public:
  HttpTransport(TransportOptions opts, Url url) : opts_(std::move(opts)), url_(std::move(url)) {
    ca_name_ = opts_.ca_file.empty() ? std::string(kSystemCaBundle) : opts_.ca_file;
  }

  Result<HttpResponse> post_json(std::string_view path, std::string_view body, std::string_view bearer) override {
    std::string where = opts_.server + std::string(path);
    if (!path.starts_with("/") || !safe_header_value(path) || path.find(' ') != std::string_view::npos)
      return fail(Errc::invalid_argument, "request path must start with '/' and hold no spaces or controls", where);
    if (!safe_header_value(bearer)) return fail(Errc::invalid_argument, "credential holds control characters", where);
    std::string req;
    req.reserve(256 + body.size());
    req += "POST " + url_.base_path + std::string(path) + " HTTP/1.1\r\nHost: " + url_.host_header +
           "\r\nUser-Agent: fleetward-agent/" FW_AGENT_VERSION
           "\r\nAccept: application/json\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n";
    if (!bearer.empty()) req += "Authorization: Bearer " + std::string(bearer) + "\r\n";
    req += "\r\n";
    req += body;
    auto deadline = SteadyClock::now() + std::chrono::seconds(opts_.timeout_s);
    // A reused connection the server closed while idle fails before any answer byte: then
    // the request is sent once more on a new connection (check-ins are idempotent by seq).
    for (int attempt = 0;; ++attempt) {
      bool reused = conn_.open();
      if (reused && conn_.stale()) {
        conn_.close();
        reused = false;
      }
      if (!reused) {
        auto c = connect(deadline);
        if (!c) {
          conn_.close();
          return fail(c.error().code, c.error().message, where);
        }
      }
      http::ResponseParser parser(http::ResponseLimits{16 * 1024, kMaxAnswer, 100});
      auto r = exchange(req, parser, deadline);
      if (!r) {
        conn_.close();
        if (reused && attempt == 0 && !parser.started() && r.error().code != Errc::timeout) continue;
        return fail(r.error().code, r.error().message, where);
      }
      if (!parser.keep_alive()) conn_.close();
      int st = parser.status();
      if (st >= 300 && st <= 399) {
        return fail(Errc::unavailable,
                    "the server answered " + std::to_string(st) + " redirecting to \"" + parser.location() +
                        "\"; redirects are not followed: give the final URL in --server",
                    where);
      }
      HttpResponse out;
      out.status = st;
      out.body = parser.body();
      out.retry_after_s = parser.retry_after_s();
      return out;
    }
  }

 private:
  Status connect(SteadyClock::time_point deadline) {
    FW_TRY_STATUS(conn_.connect(url_, deadline));
    if (!url_.tls) return {};
    if (!tls_) {
      tls_ = std::make_unique<Tls>();
      FW_TRY_STATUS(tls_->setup());
    }
    FW_TRY_STATUS(conn_.start_tls(*tls_, url_, deadline));
    if (ca_pem_.empty()) FW_TRY_STATUS(load_ca_file());
    return conn_.verify_peer(url_, ca_pem_, ca_name_);
  }

  Status load_ca_file() {
    std::ifstream in(ca_name_, std::ios::binary);
    if (!in) return fail(Errc::io_error, "cannot read the CA file " + ca_name_);
    in.seekg(0, std::ios::end);
    auto size = in.tellg();
    if (size < 0 || size_t(size) > kMaxCaFile)
      return fail(Errc::too_large, "CA file " + ca_name_ + " larger than 8 MiB");
    in.seekg(0);
    ca_pem_.resize(size_t(size));
    in.read(ca_pem_.data(), size);
    if (ca_pem_.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
      return fail(Errc::invalid_argument, "no PEM certificate in the CA file " + ca_name_);
    return {};
  }

  Status exchange(const std::string& req, http::ResponseParser& parser, SteadyClock::time_point deadline) {
    FW_TRY_STATUS(conn_.write_all(req, deadline));
    char buf[16384];
    while (parser.state() == http::ResponseParser::State::need_more) {
      FW_TRY(size_t n, conn_.read_some(buf, sizeof buf, deadline));
      if (n == 0) parser.eof();
      else parser.feed(std::string_view(buf, n));
    }
    if (parser.state() == http::ResponseParser::State::error) {
      Errc code = parser.failure() == http::ResponseParser::Failure::too_large ? Errc::too_large : Errc::unavailable;
      return fail(code, "bad HTTP answer: " + parser.error());
    }
    return {};
  }

  TransportOptions opts_;
  Url url_;
  std::string ca_name_;
  std::string ca_pem_;  // read on the first TLS connection
  std::unique_ptr<Tls> tls_;
  Conn conn_;
};

}  // namespace

Result<std::unique_ptr<Transport>> make_http_transport(const TransportOptions& opts) {
  TransportOptions o = opts;
  while (!o.server.empty() && o.server.back() == '/') o.server.pop_back();
  FW_TRY(Url u, parse_url(o.server, o.insecure_http));
  if (u.tls && !o.ca_file.empty()) {
    std::ifstream in(o.ca_file);
    if (!in) return fail(Errc::invalid_argument, "cannot read the CA file", o.ca_file);
  }
  if (o.timeout_s <= 0) o.timeout_s = 30;
  return std::unique_ptr<Transport>(new HttpTransport(std::move(o), std::move(u)));
}

}  // namespace fw::agent
