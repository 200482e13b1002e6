// libcurl implementation of Transport. libcurl is loaded with dlopen on first use, so that
// `fleetward-agent facts` (and any run that never talks to a server) does not pay for mapping
// libcurl and its ~30 dependencies (about 6 MB resident). One easy handle per transport
// (keep-alive across requests); not thread-safe. Loading happens once, guarded by call_once.
#include "agent/transport.h"

#include <curl/curl.h>
#include <dlfcn.h>

#include <charconv>
#include <mutex>

#include "util/strings.h"

namespace fw::agent {

namespace {

// The libcurl entry points the agent uses, resolved from libcurl.so.4.
struct CurlApi {
  CURLcode (*global_init)(long);
  CURL* (*easy_init)();
  void (*easy_cleanup)(CURL*);
  void (*easy_reset)(CURL*);
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
  CURLcode (*easy_perform)(CURL*);
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...);
  const char* (*easy_strerror)(CURLcode);
  curl_slist* (*slist_append)(curl_slist*, const char*);
  void (*slist_free_all)(curl_slist*);
};

Result<const CurlApi*> curl_api() {
  static CurlApi api;
  static std::string error;
  static std::once_flag once;
  std::call_once(once, [] {
    void* h = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char* e = ::dlerror();
      error = std::string("cannot load libcurl.so.4 (install libcurl4): ") + (e ? e : "");
      return;
    }
    bool ok = true;
    auto sym = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(h, name));
      if (!fn) ok = false;
    };
    sym(api.global_init, "curl_global_init");
    sym(api.easy_init, "curl_easy_init");
    sym(api.easy_cleanup, "curl_easy_cleanup");
    sym(api.easy_reset, "curl_easy_reset");
    sym(api.easy_setopt, "curl_easy_setopt");
    sym(api.easy_perform, "curl_easy_perform");
    sym(api.easy_getinfo, "curl_easy_getinfo");
    sym(api.easy_strerror, "curl_easy_strerror");
    sym(api.slist_append, "curl_slist_append");
    sym(api.slist_free_all, "curl_slist_free_all");
    if (!ok) {
      error = "libcurl.so.4 lacks an expected function";
      return;
    }
    api.global_init(CURL_GLOBAL_DEFAULT);
  });
  if (!error.empty()) return fail(Errc::unavailable, error);
  return &api;
}

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
  CurlTransport(TransportOptions opts, const CurlApi* api, CURL* h) : opts_(std::move(opts)), api_(api), h_(h) {}
  ~CurlTransport() override { api_->easy_cleanup(h_); }

  Result<HttpResponse> post_json(std::string_view path, std::string_view body, std::string_view bearer) override {
    std::string url = opts_.server + std::string(path);
    Sink sink;
    api_->easy_reset(h_);
    api_->easy_setopt(h_, CURLOPT_URL, url.c_str());
    api_->easy_setopt(h_, CURLOPT_PROTOCOLS_STR, opts_.insecure_http ? "http,https" : "https");
    api_->easy_setopt(h_, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    api_->easy_setopt(h_, CURLOPT_FOLLOWLOCATION, 0L);
    api_->easy_setopt(h_, CURLOPT_NOSIGNAL, 1L);
    api_->easy_setopt(h_, CURLOPT_CONNECTTIMEOUT, 10L);
    api_->easy_setopt(h_, CURLOPT_TIMEOUT, opts_.timeout_s);
    api_->easy_setopt(h_, CURLOPT_SSL_VERIFYPEER, 1L);
    api_->easy_setopt(h_, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!opts_.ca_file.empty()) api_->easy_setopt(h_, CURLOPT_CAINFO, opts_.ca_file.c_str());
    api_->easy_setopt(h_, CURLOPT_POST, 1L);
    api_->easy_setopt(h_, CURLOPT_POSTFIELDS, body.data());
    api_->easy_setopt(h_, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.size()));
    api_->easy_setopt(h_, CURLOPT_WRITEFUNCTION, on_body);
    api_->easy_setopt(h_, CURLOPT_WRITEDATA, &sink);
    api_->easy_setopt(h_, CURLOPT_HEADERFUNCTION, on_header);
    api_->easy_setopt(h_, CURLOPT_HEADERDATA, &sink);
    api_->easy_setopt(h_, CURLOPT_USERAGENT, "fleetward-agent/" FW_AGENT_VERSION);
    curl_slist* headers = api_->slist_append(nullptr, "Content-Type: application/json");
    headers = api_->slist_append(headers, "Expect:");  // no 100-continue round trip
    std::string auth;
    if (!bearer.empty()) {
      auth = "Authorization: Bearer " + std::string(bearer);
      headers = api_->slist_append(headers, auth.c_str());
    }
    api_->easy_setopt(h_, CURLOPT_HTTPHEADER, headers);
    char errbuf[CURL_ERROR_SIZE] = {0};
    api_->easy_setopt(h_, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = api_->easy_perform(h_);
    api_->slist_free_all(headers);
    if (sink.too_large) return fail(Errc::too_large, "answer larger than 1 MiB", url);
    if (rc != CURLE_OK) {
      std::string msg = errbuf[0] ? errbuf : api_->easy_strerror(rc);
      return fail(Errc::unavailable, msg, url);
    }
    HttpResponse r;
    api_->easy_getinfo(h_, CURLINFO_RESPONSE_CODE, &r.status);
    r.body = std::move(sink.body);
    r.retry_after_s = sink.retry_after;
    return r;
  }

 private:
  TransportOptions opts_;
  const CurlApi* api_;
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
  FW_TRY(const CurlApi* api, curl_api());
  CURL* h = api->easy_init();
  if (!h) return fail(Errc::internal, "curl_easy_init failed");
  return std::unique_ptr<Transport>(new CurlTransport(std::move(o), api, h));
}

}  // namespace fw::agent
