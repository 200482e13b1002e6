// Fuzz target for fw::agent::http::ResponseParser: the input is split into pieces at
// positions taken from its first bytes (so every framing is also tested across read
// boundaries), fed with small limits, then the connection ends. Checks the parser's
// promises: it never consumes more than offered, the body stays within the limit, a done
// answer has a final status, and an error says where.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/http_response.h"

using fw::agent::http::ResponseLimits;
using fw::agent::http::ResponseParser;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  size_t step = size_t(data[0] % 64) + 1;  // piece size
  bool head = data[1] & 1;
  std::string_view in(reinterpret_cast<const char*>(data + 2), size - 2);
  ResponseParser p(ResponseLimits{512, 2048, 16}, head);
  while (!in.empty() && p.state() == ResponseParser::State::need_more) {
    std::string_view piece = in.substr(0, step);
    size_t used = p.feed(piece);
    if (used > piece.size()) std::abort();
    if (used < piece.size() && p.state() == ResponseParser::State::need_more) std::abort();
    in.remove_prefix(used);
    if (used < piece.size()) break;
  }
  p.eof();
  if (p.body().size() > 2048) std::abort();
  if (p.state() == ResponseParser::State::need_more) std::abort();
  if (p.state() == ResponseParser::State::done && (p.status() < 200 || p.status() > 599)) std::abort();
  if (p.state() == ResponseParser::State::error && !p.error().starts_with("byte ")) std::abort();
  return 0;
}
