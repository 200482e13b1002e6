// Strict, size-limited, incremental parser of one HTTP/1.1 response (status line, headers,
// a body framed by Content-Length, chunked transfer coding, or the end of the connection).
// Self-contained (std only) so that the fuzz target compiles it directly (fuzz/agent/).
// One parser per response; not thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace fw::agent::http {

struct ResponseLimits {
  size_t max_head = 16 * 1024;     // status line + headers (+ chunked trailers)
  size_t max_body = 1u << 20;      // decoded body
  size_t max_headers = 100;        // header lines
};

class ResponseParser {
 public:
  enum class State { need_more, done, error };
  enum class Failure { none, malformed, too_large, truncated };

  explicit ResponseParser(ResponseLimits limits = {}, bool head_request = false);

  // Consumes bytes; returns how many were used (fewer than n only once done or failed; the
  // rest would belong to a next response). 1xx interim answers are skipped.
  size_t feed(std::string_view bytes);
  // The connection ended: completes a body delimited by the end of the connection, otherwise
  // fails (truncated) unless already done.
  void eof();

  State state() const { return state_; }
  Failure failure() const { return failure_; }
  // What went wrong and where ("byte 123: ..."); empty unless state() == error.
  const std::string& error() const { return error_; }

  int status() const { return status_; }
  const std::string& body() const { return body_; }
  std::optional<int> retry_after_s() const { return retry_after_; }
  const std::string& location() const { return location_; }
  // Whether the connection may carry another request after this answer.
  bool keep_alive() const { return keep_alive_; }
  // Whether any byte of an answer arrived (a reused connection closed before that is stale).
  bool started() const { return offset_ > 0; }

 private:
  enum class Phase { head, body_length, body_close, chunk_size, chunk_data, chunk_crlf, trailers, finished };
  void fail(Failure f, std::string msg);
  bool parse_head(std::string_view head);  // status line and headers, without the final CRLF CRLF
  bool take_line(std::string_view& in, std::string& line, size_t limit, std::string_view what);
  void add_body(std::string_view data);

  ResponseLimits limits_;
  bool head_request_;
  State state_ = State::need_more;
  Failure failure_ = Failure::none;
  std::string error_;
  Phase phase_ = Phase::head;
  size_t offset_ = 0;        // bytes consumed so far (for error positions)
  std::string pending_;      // an incomplete head or line
  size_t head_bytes_ = 0;
  int status_ = 0;
  std::string body_;
  std::optional<int> retry_after_;
  std::string location_;
  bool keep_alive_ = true;
  size_t remaining_ = 0;     // of the Content-Length body or the current chunk
};

}  // namespace fw::agent::http
