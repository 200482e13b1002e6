// The HTTP vocabulary route handlers use: Request, Response, Handler, Access, and helpers to
// read JSON bodies and query parameters with errors that name the field. Route files
// (routes_*.cpp) include this and router.h; they never touch sockets.
// Request/Response are plain values owned by one connection's I/O thread (the server reuses one
// Request per connection, so a handler must not keep references into it); helpers are pure.
#pragma once

#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/beast/http/verb.hpp>
#include <boost/json.hpp>

#include "model/model.h"
#include "store/store.h"
#include "util/error.h"
#include "util/time.h"

namespace fw::server {

using Verb = boost::beast::http::verb;

struct Request {
  Verb method = Verb::get;
  std::string target;                                    // raw request target
  std::string path;                                      // decoded path
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  std::map<std::string, std::string, std::less<>> params;  // path parameters ({id})
  // The header fields as sent (names in any case; header() matches them case-insensitively).
  // Views into the connection's parsed message: valid while the handler runs (an
  // asynchronous handler copies what it needs before returning; see AsyncHandler).
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::string body;
  std::string remote;                                    // peer address
  std::optional<model::ApiToken> token;                  // set when the route needs auth

  // The first value of a query parameter, or nullopt.
  std::optional<std::string_view> query_value(std::string_view name) const;
  // The value of a header field (the last one when it is repeated); "" when absent.
  std::string_view header(std::string_view lower_name) const;
  std::string_view param(std::string_view name) const;
  // The audit actor: "token:<name>" (or "anonymous").
  std::string actor() const;
};

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the body is this object serialised (plus a newline) by the I/O thread that
  // writes the answer, into its connection's reused buffer; `body` is then ignored. An
  // asynchronous route answering from another thread (the group-commit writer) uses it so
  // that the serialisation is not done on that thread (json_object_response).
  std::optional<boost::json::object> json;
};

// A handler returns a Response or an Error; the server turns errors into responses with
// error_response() (errors.h), so handlers never write error bodies themselves.
using Handler = std::function<Result<Response>(Request&)>;

// An asynchronous handler, for work that finishes on another thread (a check-in waits for
// its group commit): it must copy what it needs from the Request before returning (the
// Request dies then) and call `respond` exactly once, from any thread, when the answer is
// ready. No I/O thread is held meanwhile; the connection stays open until `respond` runs.
// Errors go through error_response() like a Handler's. Register with Router::add_async.
// Respond is two pointers, trivially copyable: a lambda that captures it (and one more
// pointer) fits in a std::function without a heap allocation.
class Respond {
 public:
  using Fn = void (*)(void* ctx, Result<Response>&& r);
  Respond(Fn fn, void* ctx) noexcept : fn_(fn), ctx_(ctx) {}
  void operator()(Result<Response> r) const { fn_(ctx_, std::move(r)); }

 private:
  Fn fn_;
  void* ctx_;
};
static_assert(std::is_trivially_copyable_v<Respond> && sizeof(Respond) <= 2 * sizeof(void*));
using AsyncHandler = std::function<void(Request&, Respond)>;

// Who may call a route. public_: anyone. read: any admin-API token (admin, operator,
// auditor). write: admin or operator tokens.
enum class Access { public_, read, write };

Response json_response(unsigned status, const boost::json::value& v);
// The same, serialised later by the I/O thread that sends it (see Response::json).
Response json_object_response(unsigned status, boost::json::object&& o);
Response no_content();

// Parses the body as JSON (1 MiB / depth 32 limits): parse_error "byte N" on bad text.
Result<boost::json::value> parse_body(const Request& req);

// Fails with invalid_argument naming the first query parameter not in `allowed`.
Status check_query(const Request& req, std::initializer_list<std::string_view> allowed);
// ?limit=&cursor= -> PageRequest; limit must be 1..1000 (default 100).
Result<store::PageRequest> page_request(const Request& req);
// Boolean parameter: "true"/"false"/"1"/"0"; nullopt when absent.
Result<std::optional<bool>> query_bool(const Request& req, std::string_view name);
// RFC 3339 parameter; nullopt when absent.
Result<std::optional<Time>> query_time(const Request& req, std::string_view name);
// The devices list's filters: ?org_unit=&owner_id=&os_family=&search=&type=&source=&managed=
// &last_seen_before=&last_seen_after= (each optional). invalid_argument names a bad one.
// Callers check which parameters they allow with check_query first.
Result<store::DeviceFilter> device_filter(const Request& req);

// {"items": [...], "next_cursor": "..." or null}
template <class T, class ToJson>
Response page_response(const store::Page<T>& page, ToJson to_json) {
  boost::json::array items;
  items.reserve(page.items.size());
  for (const auto& x : page.items) items.push_back(to_json(x));
  boost::json::value next = nullptr;
  if (!page.next_cursor.empty()) next = boost::json::string(page.next_cursor);
  return json_response(200, boost::json::object{{"items", std::move(items)}, {"next_cursor", std::move(next)}});
}

}  // namespace fw::server
