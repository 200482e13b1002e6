// Tests of the agent's HTTP/1.1 response parser: a table of answers, each fed whole and one
// byte at a time (the result must not depend on how the bytes arrive).
#include "agent/http_response.h"

#include <gtest/gtest.h>

namespace fw::agent::http {
namespace {

using State = ResponseParser::State;
using Failure = ResponseParser::Failure;

struct Case {
  const char* name;
  std::string bytes;
  bool close_after = false;  // the connection ends after the bytes
  State state;
  Failure failure = Failure::none;
  int status = 0;
  std::string body;
  bool keep_alive = true;
  const char* error_has = "";
};

std::vector<Case> cases() {
  std::string big_chunk = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n100001\r\n" + std::string(100, 'x');
  return {
      {"content length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, State::done, Failure::none, 200,
       "hello"},
      {"zero length", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, State::done, Failure::none, 200, ""},
      {"no reason phrase", "HTTP/1.1 404\r\nContent-Length: 2\r\n\r\n{}", false, State::done, Failure::none, 404, "{}"},
      {"chunked with extension and trailer",
       "HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n5;x=y\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n"
       "X-Trailer: 1\r\n\r\n",
       false, State::done, Failure::none, 200, "helloabcdefghijklmnopqrstuvwxyz"},
      {"interim 100 skipped", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx", false,
       State::done, Failure::none, 201, "x"},
      {"204 has no body", "HTTP/1.1 204 No Content\r\n\r\n", false, State::done, Failure::none, 204, ""},
      {"body to end of connection", "HTTP/1.1 200 OK\r\n\r\nuntil close", true, State::done, Failure::none, 200,
       "until close", false},
      {"connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", false, State::done,
       Failure::none, 200, "x", false},
      {"http/1.0 closes", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", false, State::done, Failure::none, 200, "x",
       false},
      {"cut in the body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", true, State::error, Failure::truncated,
       200, "", true, "closed in the middle"},
      {"cut in the head", "HTTP/1.1 200 OK\r\nContent-Le", true, State::error, Failure::truncated, 0, "", true,
       "closed in the middle"},
      {"closed before an answer", "", true, State::error, Failure::truncated, 0, "", true, "before an answer"},
      {"cut between chunks", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", true, State::error,
       Failure::truncated},
      {"content length too large", "HTTP/1.1 200 OK\r\nContent-Length: 1048577\r\n\r\n", false, State::error,
       Failure::too_large, 200, "", true, "larger than 1048576"},
      {"chunk too large", big_chunk, false, State::error, Failure::too_large, 200, "", true, "larger than"},
      {"head too large", "HTTP/1.1 200 OK\r\nX: " + std::string(20000, 'a') + "\r\n\r\n", false, State::error,
       Failure::too_large, 0, "", true, "longer than 16384"},
      {"not http", "SSH-2.0-OpenSSH\r\n\r\n", false, State::error, Failure::malformed, 0, "", true, "status line"},
      {"bare LF", "HTTP/1.1 200 OK\nContent-Length: 0\n\n\r\n\r\n", false, State::error, Failure::malformed, 0, "",
       true, "bare CR or LF"},
      {"both framings", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", false,
       State::error, Failure::malformed, 200, "", true, "both"},
      {"two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", false, State::error,
       Failure::malformed, 200, "", true, "two different"},
      {"negative length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false, State::error, Failure::malformed, 200,
       "", true, "not a number"},
      {"gzip coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false, State::error,
       Failure::malformed, 200, "", true, "unsupported Transfer-Encoding"},
      {"folded header", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", false, State::error, Failure::malformed, 200, "", true,
       "header line 2"},
      {"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, State::error,
       Failure::malformed, 200, "", true, "hexadecimal"},
      {"chunk without CRLF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n", false, State::error,
       Failure::malformed, 200, "", true, "end of chunk"},
      {"status out of range", "HTTP/1.1 999 Nope\r\n\r\n", false, State::error, Failure::malformed, 999, "", true,
       "out of range"},
  };
}

void check(const Case& c, ResponseParser& p) {
  EXPECT_EQ(p.state(), c.state) << p.error();
  EXPECT_EQ(p.failure(), c.failure) << p.error();
  if (c.state == State::done) {
    EXPECT_EQ(p.status(), c.status);
    EXPECT_EQ(p.body(), c.body);
    EXPECT_EQ(p.keep_alive(), c.keep_alive);
  }
  EXPECT_NE(p.error().find(c.error_has), std::string::npos) << p.error();
  if (c.state == State::error) {
    EXPECT_TRUE(p.error().starts_with("byte ")) << p.error();
  }
}

TEST(HttpResponse, TableWhole) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    ResponseParser p;
    p.feed(c.bytes);
    if (c.close_after) p.eof();
    check(c, p);
  }
}

TEST(HttpResponse, TableByteByByte) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    ResponseParser p;
    for (char ch : c.bytes) {
      if (p.state() != State::need_more) break;
      p.feed(std::string_view(&ch, 1));
    }
    if (c.close_after) p.eof();
    check(c, p);
  }
}

TEST(HttpResponse, RetryAfterAndLocation) {
  ResponseParser p;
  p.feed("HTTP/1.1 503 Busy\r\nRetry-After: 120\r\nLocation: https://x/\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(p.state(), State::done);
  EXPECT_EQ(p.retry_after_s(), 120);
  EXPECT_EQ(p.location(), "https://x/");
}

TEST(HttpResponse, StopsAtTheEndOfTheAnswer) {
  ResponseParser p;
  std::string two = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\n";
  EXPECT_EQ(p.feed(two), two.find("xHTTP") + 1);
  EXPECT_EQ(p.body(), "x");
}

TEST(HttpResponse, HeadRequestHasNoBody) {
  ResponseParser p({}, true);
  p.feed("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n");
  EXPECT_EQ(p.state(), State::done);
}

}  // namespace
}  // namespace fw::agent::http
