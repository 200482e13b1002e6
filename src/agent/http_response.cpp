// HTTP/1.1 response parser (see http_response.h). Strict on purpose: CRLF line ends only, no
// obsolete line folding, one framing (Content-Length or chunked, never both), and every part
// is bounded (head, line, header count, body), so that a hostile or broken server costs the
// agent at most the limits. Uses std only.
#include "agent/http_response.h"

#include <algorithm>
#include <charconv>

namespace fw::agent::http {

namespace {

bool is_tchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(char(c)) != std::string_view::npos;
}
bool is_field_char(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return out;
}
std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}
// Whether the comma-separated list holds token t (case-insensitive).
bool has_token(std::string_view list, std::string_view t) {
  std::string l = lower(list);
  size_t pos = 0;
  while (pos <= l.size()) {
    size_t comma = l.find(',', pos);
    if (comma == std::string::npos) comma = l.size();
    if (trim_ows(std::string_view(l).substr(pos, comma - pos)) == t) return true;
    pos = comma + 1;
  }
  return false;
}

}  // namespace

ResponseParser::ResponseParser(ResponseLimits limits, bool head_request)
    : limits_(limits), head_request_(head_request) {}

void ResponseParser::fail(Failure f, std::string msg) {
  state_ = State::error;
  failure_ = f;
  error_ = "byte " + std::to_string(offset_) + " of the answer: " + std::move(msg);
}

void ResponseParser::add_body(std::string_view data) {
  if (body_.size() + data.size() > limits_.max_body) {
    fail(Failure::too_large, "body larger than " + std::to_string(limits_.max_body) + " bytes");
    return;
  }
  body_.append(data);
}

bool ResponseParser::take_line(std::string_view& in, std::string& line, size_t limit, std::string_view what) {
  size_t nl = in.find('\n');
  size_t take = nl == std::string_view::npos ? in.size() : nl + 1;
  if (pending_.size() + take > limit + 2) {
    fail(Failure::too_large, std::string(what) + " longer than " + std::to_string(limit) + " bytes");
    return false;
  }
  pending_.append(in.substr(0, take));
  in.remove_prefix(take);
  offset_ += take;
  if (nl == std::string_view::npos) return false;
  if (pending_.size() < 2 || pending_[pending_.size() - 2] != '\r' ||
      pending_.find('\r') != pending_.size() - 2) {
    fail(Failure::malformed, std::string(what) + " does not end with CRLF");
    return false;
  }
  line.assign(pending_, 0, pending_.size() - 2);
  pending_.clear();
  return true;
}

bool ResponseParser::parse_head(std::string_view head) {
  // Status line.
  size_t eol = head.find("\r\n");
  std::string_view sl = head.substr(0, eol);
  if (sl.size() < 12 || !sl.starts_with("HTTP/1.") || (sl[7] != '0' && sl[7] != '1') || sl[8] != ' ' ||
      !all_digits(sl.substr(9, 3)) || (sl.size() > 12 && sl[12] != ' ')) {
    fail(Failure::malformed, "status line is not \"HTTP/1.x NNN reason\"");
    return false;
  }
  for (unsigned char c : sl.substr(12))
    if (!is_field_char(c)) {
      fail(Failure::malformed, "control character in the status line");
      return false;
    }
  status_ = (sl[9] - '0') * 100 + (sl[10] - '0') * 10 + (sl[11] - '0');
  if (status_ < 100 || status_ > 599) {
    fail(Failure::malformed, "status " + std::to_string(status_) + " out of range");
    return false;
  }
  keep_alive_ = sl[7] == '1';
  std::optional<uint64_t> content_length;
  bool chunked = false;
  size_t count = 0;
  size_t pos = eol == std::string_view::npos ? head.size() : eol + 2;
  while (pos < head.size()) {
    size_t e = head.find("\r\n", pos);
    if (e == std::string_view::npos) e = head.size();
    std::string_view line = head.substr(pos, e - pos);
    pos = e + 2;
    if (++count > limits_.max_headers) {
      fail(Failure::too_large, "more than " + std::to_string(limits_.max_headers) + " header lines");
      return false;
    }
    size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos ||
        !std::all_of(line.begin(), line.begin() + colon, [](char c) { return is_tchar((unsigned char)c); })) {
      fail(Failure::malformed, "header line " + std::to_string(count) + " is not \"name: value\"");
      return false;
    }
    std::string name = lower(line.substr(0, colon));
    std::string_view value = trim_ows(line.substr(colon + 1));
    if (!std::all_of(value.begin(), value.end(), [](char c) { return is_field_char((unsigned char)c); })) {
      fail(Failure::malformed, "control character in header " + name);
      return false;
    }
    if (name == "content-length") {
      uint64_t n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (!all_digits(value) || ec != std::errc() || p != value.data() + value.size()) {
        fail(Failure::malformed, "Content-Length is not a number");
        return false;
      }
      if (content_length && *content_length != n) {
        fail(Failure::malformed, "two different Content-Length headers");
        return false;
      }
      content_length = n;
    } else if (name == "transfer-encoding") {
      if (lower(value) != "chunked" || chunked) {
        fail(Failure::malformed, "unsupported Transfer-Encoding \"" + std::string(value.substr(0, 64)) + "\"");
        return false;
      }
      chunked = true;
    } else if (name == "connection") {
      if (has_token(value, "close")) keep_alive_ = false;
      else if (has_token(value, "keep-alive")) keep_alive_ = true;
    } else if (name == "retry-after") {
      if (all_digits(value)) {
        int secs = 0;
        auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), secs);
        retry_after_ = ec == std::errc() ? secs : 86400;
      }
    } else if (name == "location") {
      location_ = std::string(value.substr(0, 512));
    }
  }
  if (status_ < 200) return true;  // interim: the caller skips it
  if (chunked && content_length) {
    fail(Failure::malformed, "both Content-Length and Transfer-Encoding");
    return false;
  }
  if (head_request_ || status_ == 204 || status_ == 304) {
    phase_ = Phase::finished;
  } else if (chunked) {
    phase_ = Phase::chunk_size;
  } else if (content_length) {
    if (*content_length > limits_.max_body) {
      fail(Failure::too_large, "Content-Length " + std::to_string(*content_length) + " larger than " +
                                   std::to_string(limits_.max_body) + " bytes");
      return false;
    }
    remaining_ = size_t(*content_length);
    phase_ = remaining_ == 0 ? Phase::finished : Phase::body_length;
  } else {
    phase_ = Phase::body_close;
    keep_alive_ = false;
  }
  if (phase_ == Phase::finished) state_ = State::done;
  return true;
}

size_t ResponseParser::feed(std::string_view in) {
  const size_t total = in.size();
  std::string line;
  while (state_ == State::need_more && !in.empty()) {
    switch (phase_) {
      case Phase::head: {
        size_t old = pending_.size();
        size_t take = std::min(in.size(), limits_.max_head + 4 - std::min(old, limits_.max_head + 4));
        pending_.append(in.substr(0, take));
        size_t end = pending_.find("\r\n\r\n", old >= 3 ? old - 3 : 0);
        if (end == std::string::npos) {
          in.remove_prefix(take);
          offset_ += take;
          if (pending_.size() >= limits_.max_head + 4) {
            fail(Failure::too_large, "status line and headers longer than " + std::to_string(limits_.max_head) +
                                         " bytes");
          }
          break;
        }
        size_t used = end + 4 - old;
        in.remove_prefix(used);
        std::string head = pending_.substr(0, end);
        pending_.clear();
        size_t start = offset_;
        offset_ += used;
        head_bytes_ += head.size();
        if (head_bytes_ > limits_.max_head) {
          fail(Failure::too_large, "interim answers and headers longer than " + std::to_string(limits_.max_head) +
                                       " bytes");
          break;
        }
        for (size_t i = 0; i < head.size(); ++i) {
          bool bad = (head[i] == '\n' && (i == 0 || head[i - 1] != '\r')) ||
                     (head[i] == '\r' && (i + 1 >= head.size() || head[i + 1] != '\n'));
          if (bad) {
            offset_ = start + i;
            fail(Failure::malformed, "bare CR or LF in the head");
            break;
          }
        }
        if (state_ != State::need_more) break;
        if (!parse_head(head)) break;
        if (status_ < 200) {
          if (status_ == 101) fail(Failure::malformed, "unexpected 101 Switching Protocols");
          status_ = 0;
          retry_after_.reset();
          location_.clear();
        }
        break;
      }
      case Phase::body_length: {
        size_t take = std::min(remaining_, in.size());
        add_body(in.substr(0, take));
        in.remove_prefix(take);
        offset_ += take;
        remaining_ -= take;
        if (remaining_ == 0 && state_ == State::need_more) {
          phase_ = Phase::finished;
          state_ = State::done;
        }
        break;
      }
      case Phase::body_close:
        add_body(in);
        offset_ += in.size();
        in = {};
        break;
      case Phase::chunk_size: {
        if (!take_line(in, line, 1024, "chunk size line")) break;
        std::string_view v = line;
        size_t semi = v.find(';');
        std::string_view hex = trim_ows(v.substr(0, semi));
        uint64_t n = 0;
        auto [p, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), n, 16);
        if (hex.empty() || hex.size() > 15 || ec != std::errc() || p != hex.data() + hex.size()) {
          fail(Failure::malformed, "chunk size is not a hexadecimal number");
          break;
        }
        if (!std::all_of(v.begin(), v.end(), [](char c) { return is_field_char((unsigned char)c); })) {
          fail(Failure::malformed, "control character in a chunk extension");
          break;
        }
        if (n > limits_.max_body || body_.size() + n > limits_.max_body) {
          fail(Failure::too_large, "body larger than " + std::to_string(limits_.max_body) + " bytes");
          break;
        }
        remaining_ = size_t(n);
        phase_ = n == 0 ? Phase::trailers : Phase::chunk_data;
        break;
      }
      case Phase::chunk_data: {
        size_t take = std::min(remaining_, in.size());
        add_body(in.substr(0, take));
        in.remove_prefix(take);
        offset_ += take;
        remaining_ -= take;
        if (remaining_ == 0) phase_ = Phase::chunk_crlf;
        break;
      }
      case Phase::chunk_crlf:
        if (in.front() != "\r\n"[pending_.size()]) {
          fail(Failure::malformed, "end of chunk: the chunk data is not followed by CRLF");
          break;
        }
        pending_.push_back(in.front());
        in.remove_prefix(1);
        ++offset_;
        if (pending_.size() == 2) {
          pending_.clear();
          phase_ = Phase::chunk_size;
        }
        break;
      case Phase::trailers:
        if (!take_line(in, line, limits_.max_head, "trailer line")) break;
        if (line.empty()) {
          phase_ = Phase::finished;
          state_ = State::done;
          break;
        }
        head_bytes_ += line.size() + 2;
        if (head_bytes_ > limits_.max_head) {
          fail(Failure::too_large, "headers and trailers longer than " + std::to_string(limits_.max_head) + " bytes");
          break;
        }
        if (line.find(':') == std::string::npos || line.front() == ' ' || line.front() == '\t') {
          fail(Failure::malformed, "trailer line is not \"name: value\"");
        }
        break;
      case Phase::finished:
        state_ = State::done;
        break;
    }
  }
  return total - in.size();
}

void ResponseParser::eof() {
  if (state_ != State::need_more) return;
  if (phase_ == Phase::body_close) {
    phase_ = Phase::finished;
    state_ = State::done;
    return;
  }
  if (offset_ == 0) {
    fail(Failure::truncated, "connection closed before an answer");
  } else {
    fail(Failure::truncated, "connection closed in the middle of the answer");
  }
}

}  // namespace fw::agent::http
