// A tiny blocking HTTP/1.1 client for end-to-end tests (Boost.Beast): one request per
// connection by default, or several over one kept-alive Connection. A body is sent as
// application/json unless `extra` names another Content-Type; an answer's JSON and its
// error's code and place are read back from the HttpResult. Test code only; a Connection
// belongs to one thread.
#pragma once

#include <map>
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

namespace fw::testing {

struct HttpResult {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  boost::json::value json() const { return boost::json::parse(body); }
  // The "code" and "where" of an error answer ({"error": {"code", "message", "where"}});
  // "" when the body is not one.
  std::string error_code() const { return error_field("code"); }
  std::string error_where() const { return error_field("where"); }

 private:
  std::string error_field(const char* name) const {
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    if (ec || !v.is_object()) return "";
    const auto* e = v.as_object().if_contains("error");
    if (!e || !e->is_object()) return "";
    const auto* f = e->as_object().if_contains(name);
    return f && f->is_string() ? std::string(f->as_string()) : "";
  }
};

class HttpConnection {
 public:
  HttpConnection(const std::string& host, uint16_t port) : stream_(ioc_) {
    boost::asio::ip::tcp::resolver r(ioc_);
    stream_.connect(r.resolve(host, std::to_string(port)));
  }
  ~HttpConnection() {
    boost::beast::error_code ec;
    stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
  }

  HttpResult request(boost::beast::http::verb method, const std::string& target, const std::string& body = "",
                     const std::string& token = "", const std::map<std::string, std::string>& extra = {}) {
    namespace http = boost::beast::http;
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    for (const auto& [k, v] : extra) req.set(k, v);
    if (!body.empty()) {
      if (req.find(http::field::content_type) == req.end()) req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    req.prepare_payload();
    req.keep_alive(true);
    http::write(stream_, req);
    boost::beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(256u << 20);
    http::read(stream_, buf, parser);
    HttpResult out;
    out.status = static_cast<int>(parser.get().result_int());
    out.body = parser.get().body();
    for (const auto& f : parser.get()) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers[name] = std::string(f.value());
    }
    return out;
  }

  boost::beast::tcp_stream& stream() { return stream_; }

 private:
  boost::asio::io_context ioc_;
  boost::beast::tcp_stream stream_;
};

inline HttpResult http_request(uint16_t port, boost::beast::http::verb method, const std::string& target,
                               const std::string& body = "", const std::string& token = "",
                               const std::map<std::string, std::string>& extra = {}) {
  HttpConnection c("127.0.0.1", port);
  return c.request(method, target, body, token, extra);
}

}  // namespace fw::testing
