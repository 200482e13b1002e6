// libcurl implementation of Transport. One easy handle per transport (keep-alive across
// requests); not thread-safe. curl_global_init is done once, on first use.
#include "agent/transport.h"

#include <curl/curl.h>

#include <charconv>
#include <mutex>

#include "util/strings.h"

namespace fw::agent {

namespace {

constexpr size_t kMaxAnswer = 1u << 20;

struct Sink {
  std::string body;
  bool too_large = false;
  std::optional<int> retry_after;
};

size_t on_body(char* ptr, size_t size, size_t n, void* ud) {
  auto* s = static_cast<Sink*>(ud);
  size_t len = size * n;
  if (s->body.size() + len > kMaxAnswer) {
    s->too_large = true;
    return 0;  // aborts the transfer
  }
  s->body.append(ptr, len);
  return len;
}

size_t on_header(char* ptr, size_t size, size_t n, void* ud) {
  auto* s = static_cast<Sink*>(ud);
  std::string_view line(ptr, size * n);
  if (istarts_with_ascii(line, "retry-after:")) {
    std::string_view v = trim(line.substr(12));
    int secs = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), secs);
    if (ec == std::errc() && secs >= 0) s->retry_after = secs;
  }
  return size * n;
}

class CurlTransport final : public Transport {
 public:
  CurlTransport(TransportOptions opts, CURL* h) : opts_(std::move(opts)), h_(h) {}
  ~CurlTransport() override { curl_easy_cleanup(h_); }

  Result<HttpResponse> post_json(std::string_view path, std::string_view body, std::string_view bearer) override {
    std::string url = opts_.server + std::string(path);
    Sink sink;
    curl_easy_reset(h_);
    curl_easy_setopt(h_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h_, CURLOPT_PROTOCOLS_STR, opts_.insecure_http ? "http,https" : "https");
    curl_easy_setopt(h_, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl_easy_setopt(h_, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h_, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h_, CURLOPT_TIMEOUT, opts_.timeout_s);
    curl_easy_setopt(h_, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h_, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!opts_.ca_file.empty()) curl_easy_setopt(h_, CURLOPT_CAINFO, opts_.ca_file.c_str());
    curl_easy_setopt(h_, CURLOPT_POST, 1L);
    curl_easy_setopt(h_, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(h_, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.size()));
    curl_easy_setopt(h_, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h_, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h_, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h_, CURLOPT_HEADERDATA, &sink);
    curl_easy_setopt(h_, CURLOPT_USERAGENT, "fleetward-agent/" FW_AGENT_VERSION);
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
    std::string auth;
    if (!bearer.empty()) {
      auth = "Authorization: Bearer " + std::string(bearer);
      headers = curl_slist_append(headers, auth.c_str());
    }
    curl_easy_setopt(h_, CURLOPT_HTTPHEADER, headers);
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(h_, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(h_);
    curl_slist_free_all(headers);
    if (sink.too_large) return fail(Errc::too_large, "answer larger than 1 MiB", url);
    if (rc != CURLE_OK) {
      std::string msg = errbuf[0] ? errbuf : curl_easy_strerror(rc);
      return fail(Errc::unavailable, msg, url);
    }
    HttpResponse r;
    curl_easy_getinfo(h_, CURLINFO_RESPONSE_CODE, &r.status);
    r.body = std::move(sink.body);
    r.retry_after_s = sink.retry_after;
    return r;
  }

 private:
  TransportOptions opts_;
  CURL* h_;
};

}  // namespace

Result<std::unique_ptr<Transport>> make_curl_transport(const TransportOptions& opts) {
  TransportOptions o = opts;
  while (!o.server.empty() && o.server.back() == '/') o.server.pop_back();
  std::string lower = to_lower_ascii(o.server);
  if (lower.starts_with("http://")) {
    if (!o.insecure_http)
      return fail(Errc::invalid_argument, "plain http:// needs --insecure-http; use https://", "--server");
  } else if (!lower.starts_with("https://")) {
    return fail(Errc::invalid_argument, "server URL must start with https://", "--server");
  }
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURL* h = curl_easy_init();
  if (!h) return fail(Errc::internal, "curl_easy_init failed");
  return std::unique_ptr<Transport>(new CurlTransport(std::move(o), h));
}

}  // namespace fw::agent
