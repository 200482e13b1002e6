// Tests of the log readers, the ActiveSync query parser, user normalisation and the
// aggregator: tables of lines with what each must yield.
#include <gtest/gtest.h>

#include "detect/detect.h"

namespace fw::detect {
namespace {

TEST(LogFormat, Names) {
  EXPECT_EQ(parse_log_format("auto"), LogFormat::auto_detect);
  EXPECT_EQ(parse_log_format("combined"), LogFormat::combined);
  EXPECT_EQ(parse_log_format("w3c"), LogFormat::w3c);
  EXPECT_FALSE(parse_log_format("csv"));
}

TEST(Combined, ParsesFields) {
  auto p = LineParser::make(LogFormat::combined);
  ASSERT_TRUE(p);
  auto r = p->parse(
      R"(10.0.0.7 - ivanov [01/Mar/2023:12:00:01 +0300] "GET /owa/?ae=Folder HTTP/1.1" 200 512 "-" "Mozilla/5.0 (iPhone; CPU iPhone OS 16_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.3 Mobile/15E148 Safari/604.1")");
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_TRUE(*r);
  const LogRecord& rec = **r;
  EXPECT_EQ(rec.client_ip, "10.0.0.7");
  EXPECT_EQ(rec.user, "ivanov");
  EXPECT_EQ(rec.method, "GET");
  EXPECT_EQ(rec.path, "/owa/");
  EXPECT_EQ(rec.query, "ae=Folder");
  EXPECT_EQ(rec.status, 200);
  EXPECT_EQ(format_time(rec.time), "2023-03-01T09:00:01Z");
  EXPECT_TRUE(rec.user_agent.starts_with("Mozilla/5.0 (iPhone;"));
}

TEST(Combined, EscapedQuoteInUserAgent) {
  auto p = LineParser::make(LogFormat::combined);
  auto r = p->parse(R"(1.2.3.4 - - [01/Mar/2023:12:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "odd \"quoted\" agent")");
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ((*r)->user_agent, R"(odd "quoted" agent)");
  EXPECT_EQ((*r)->user, "");
}

struct BadLine {
  const char* line;
  const char* where;
};

TEST(Combined, BadLinesAreErrorsWithAPlace) {
  const BadLine cases[] = {
      {"garbage", "byte"},
      {R"(1.2.3.4 - - [99/Foo/2023:12:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "ua")", "byte 14"},
      {R"(1.2.3.4 - - [01/Mar/2023:12:00:01 +0000] "GET / HTTP/1.1" 2x0 5 "-" "ua")", "byte"},
      {R"(1.2.3.4 - - [01/Mar/2023:12:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "unterminated)", "byte"},
  };
  for (const auto& c : cases) {
    auto p = LineParser::make(LogFormat::combined);
    auto r = p->parse(c.line);
    ASSERT_FALSE(r) << c.line;
    EXPECT_EQ(r.error().code, Errc::parse_error);
    EXPECT_TRUE(r.error().where.starts_with(c.where)) << r.error().where;
  }
  auto p = LineParser::make(LogFormat::combined);
  EXPECT_EQ(p->parse(std::string(kMaxLogLine + 1, 'x')).error().code, Errc::too_large);
}

// The record (or the error) as text, with the combined fast path on or off.
std::string parsed(std::string_view line, bool fast) {
  auto p = LineParser::make(LogFormat::combined);
  p->set_fast_path(fast);
  auto r = p->parse(line);
  if (!r) return "error " + r.error().to_string();
  if (!*r) return "none";
  const LogRecord& x = **r;
  return std::string(x.time_text) + '|' + std::to_string(x.time.time_since_epoch().count()) + '|' +
         std::string(x.client_ip) + '|' + std::string(x.user) + '|' + std::string(x.method) + '|' +
         std::string(x.path) + '|' + std::string(x.query) + '|' + std::to_string(x.status) + '|' +
         std::string(x.user_agent) + '|' + x.activesync.device_id + '|' + x.activesync.user;
}

TEST(Combined, FastPathShortcutsAgreeWithTheGeneralParser) {
  // The fast path takes ident "-", a three-digit status and referer "-" without a scan; every
  // shape near those (and every prefix of each line) must give what the general parser gives.
  const char* pre = "10.0.0.7 ";
  const char* idents[] = {"- ", "-- ", "-x ", "x ", "-  ", "", "-"};
  const char* statuses[] = {"200 ", "20 ", "2000 ", "2a0 ", "- ", "200  ", "200", "9999 ", "0x1 "};
  const char* referers[] = {R"("-" "ua")", R"("-"  "ua")", R"("-"x"ua")", R"("-""ua")", R"("--" "ua")",
                            R"("-" ")",    R"("-" "ua)",  R"("-" "-")",  R"("" "ua")",  R"("-" "ua")"};
  int fast_taken = 0;
  for (const char* id : idents)
    for (const char* st : statuses)
      for (const char* ref : referers) {
        std::string line = std::string(pre) + id + "ivanov [01/Mar/2023:12:00:01 +0300] \"GET /owa/?a=b HTTP/1.1\" " +
                           st + "512 " + ref;
        for (size_t n = 0; n <= line.size(); ++n) {
          std::string_view l(line.data(), n);
          std::string want = parsed(l, false), got = parsed(l, true);
          EXPECT_EQ(got, want) << l;
          if (n == line.size() && want.rfind("error", 0) != 0) ++fast_taken;
        }
      }
  EXPECT_GT(fast_taken, 20);
}

TEST(Combined, UserAgentWithEveryByteValueAgreesWithTheGeneralParser) {
  // The User-Agent's end is found by a table lookup on each byte's low nibble where the
  // processor has AVX2: every byte value, alone or before a '"' (so that a backslash missed
  // would end the field early), at every position of User-Agents up to 100 bytes.
  int taken = 0;
  for (int byte = 0; byte < 256; ++byte)
    for (size_t len : {1u, 31u, 32u, 33u, 64u, 100u})
      for (size_t at = 0; at < 2 * len; at += (len > 40 ? 5 : 1)) {
        std::string ua(len, 'u');
        ua[at % len] = static_cast<char>(byte);
        if (at >= len && at % len + 1 < len) ua[at % len + 1] = '"';
        std::string line = "1.2.3.4 - ivanov [01/Mar/2023:12:00:01 +0300] \"GET / HTTP/1.1\" 200 5 \"-\" \"" + ua + "\"";
        std::string want = parsed(line, false);
        EXPECT_EQ(parsed(line, true), want) << "byte " << byte << " at " << at << " of " << len;
        if (want.rfind("error", 0) != 0) ++taken;
      }
  EXPECT_GT(taken, 1000);
}

TEST(Common, NoUserAgent) {
  auto p = LineParser::make(LogFormat::common);
  auto r = p->parse(R"(1.2.3.4 - bob [01/Mar/2023:12:00:01 +0000] "GET / HTTP/1.0" 304 -)");
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ((*r)->user, "bob");
  EXPECT_EQ((*r)->user_agent, "");
}

TEST(Nginx, CustomLogFormat) {
  auto p = LineParser::make(LogFormat::nginx,
                            R"($time_iso8601 $remote_addr "$remote_user" "$request" $status "$http_user_agent" $request_time)");
  ASSERT_TRUE(p) << p.error().to_string();
  auto r = p->parse(R"(2023-03-01T12:00:01+03:00 10.1.1.1 "petrov@example.org" "POST /Microsoft-Server-ActiveSync?Cmd=Sync&User=petrov&DeviceId=ABC123&DeviceType=iPhone HTTP/1.1" 200 "Apple-iPhone14C5/2004.67" 0.123)");
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(format_time((*r)->time), "2023-03-01T09:00:01Z");
  EXPECT_EQ((*r)->user, "petrov@example.org");
  EXPECT_EQ((*r)->activesync.device_id, "ABC123");
  EXPECT_EQ((*r)->activesync.device_type, "iPhone");
  EXPECT_EQ((*r)->activesync.command, "Sync");
  EXPECT_EQ((*r)->user_agent, "Apple-iPhone14C5/2004.67");
}

TEST(Nginx, BadFormatStrings) {
  EXPECT_FALSE(LineParser::make(LogFormat::nginx, ""));
  EXPECT_FALSE(LineParser::make(LogFormat::nginx, "$remote_addr$status"));
  EXPECT_FALSE(LineParser::make(LogFormat::nginx, "${remote_addr"));
  EXPECT_FALSE(LineParser::make(LogFormat::nginx, "$ x"));
}

const char* kW3cHeader =
    "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) "
    "cs(Referer) sc-status sc-substatus sc-win32-status time-taken";

TEST(W3c, ExchangeActiveSync) {
  auto p = LineParser::make(LogFormat::auto_detect);
  ASSERT_TRUE(p);
  auto d = p->parse("#Software: Microsoft Internet Information Services 10.0");
  ASSERT_TRUE(d);
  EXPECT_FALSE(*d);
  ASSERT_TRUE(p->parse(kW3cHeader));
  EXPECT_EQ(p->format(), LogFormat::w3c);
  auto r = p->parse(
      "2023-03-01 09:00:01 10.0.0.1 POST /Microsoft-Server-ActiveSync/default.eas "
      "User=ivanov&DeviceId=F3A1B2&DeviceType=iPhone&Cmd=Sync 443 CORP\\ivanov 192.168.1.20 "
      "Apple-iPhone14C5/2004.67 - 200 0 0 31");
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ((*r)->user, "CORP\\ivanov");
  EXPECT_EQ((*r)->client_ip, "192.168.1.20");
  EXPECT_EQ((*r)->activesync.device_id, "F3A1B2");
  EXPECT_EQ((*r)->activesync.device_type, "iPhone");
  EXPECT_EQ(format_time((*r)->time), "2023-03-01T09:00:01Z");
}

TEST(W3c, PlusMeansSpaceInUserAgent) {
  auto p = LineParser::make(LogFormat::w3c);
  ASSERT_TRUE(p->parse(kW3cHeader));
  auto r = p->parse(
      "2023-03-01 09:00:01 10.0.0.1 GET /owa/ - 443 ivanov 192.168.1.20 "
      "Mozilla/5.0+(iPhone;+CPU+iPhone+OS+16_3+like+Mac+OS+X) - 200 0 0 31");
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ((*r)->user_agent, "Mozilla/5.0 (iPhone; CPU iPhone OS 16_3 like Mac OS X)");
}

TEST(W3c, WrongFieldCountAndMissingHeader) {
  auto p = LineParser::make(LogFormat::w3c);
  EXPECT_FALSE(p->parse("2023-03-01 09:00:01 10.0.0.1"));
  ASSERT_TRUE(p->parse(kW3cHeader));
  auto r = p->parse("2023-03-01 09:00:01 10.0.0.1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::parse_error);
}

TEST(ActiveSync, PlainQuery) {
  auto h = parse_activesync_query("Cmd=Ping&User=CORP%5Civanov&DeviceId=Appl123&DeviceType=iPad");
  EXPECT_EQ(h.command, "Ping");
  EXPECT_EQ(h.user, "CORP\\ivanov");
  EXPECT_EQ(h.device_id, "Appl123");
  EXPECT_EQ(h.device_type, "iPad");
}

TEST(ActiveSync, PlainQueryPartsOfEveryShape) {
  // Keys in any case, parts without '=', '=' inside a value, empty values and parts, keys of
  // the right length but another name, the last part without '&', and queries long enough
  // for the 16-byte scans with the separators at every offset.
  struct Case {
    const char* q;
    const char *cmd, *user, *id, *type;
  } cases[] = {
      {"cmd=Sync&USER=bob&deviceid=X1&DEVICETYPE=iPhone", "Sync", "bob", "X1", "iPhone"},
      {"Cmd=Sync&&User=&DeviceId=a=b&Junk&DeviceType=", "Sync", "", "a=b", ""},
      {"DeviceIx=no&DeviceTypo=no&Usr=no&Cm=no&DeviceId=yes", "", "", "yes", ""},
      {"Cmd=Sync&User=user00195@example.org&DeviceId=D1382&DeviceType=iPhone", "Sync", "user00195@example.org",
       "D1382", "iPhone"},
      {"AttachmentName=0123456789abcdef0123&Cmd=GetAttachment&User=a%40b&DeviceId=ABCDEF0123456789&DeviceType=SP",
       "GetAttachment", "a@b", "ABCDEF0123456789", "SP"},
      {"x=0123456789abcdefghij&DeviceType=iPad", "", "", "", "iPad"},
      {"0123456789abcdefghij&DeviceType=iPad", "", "", "", "iPad"},
      {"DeviceId=A&DeviceId=B", "", "", "B", ""},
  };
  for (const auto& c : cases) {
    auto h = parse_activesync_query(c.q);
    EXPECT_EQ(h.command, c.cmd) << c.q;
    EXPECT_EQ(h.user, c.user) << c.q;
    EXPECT_EQ(h.device_id, c.id) << c.q;
    EXPECT_EQ(h.device_type, c.type) << c.q;
  }
}

TEST(ActiveSync, Base64Query) {
  // version 141, Sync (0), locale 0x0409, device id 4 bytes, no policy key, type "iPhone",
  // User parameter (tag 8) "ivanov".
  std::string b;
  b += static_cast<char>(141);
  b += static_cast<char>(0);
  b += "\x09\x04";
  b += static_cast<char>(4);
  b += "\xDE\xAD\xBE\xEF";
  b += static_cast<char>(0);
  b += static_cast<char>(6);
  b += "iPhone";
  b += static_cast<char>(8);
  b += static_cast<char>(6);
  b += "ivanov";
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string enc;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : b) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      enc += tbl[(acc >> bits) & 63];
    }
  }
  if (bits) enc += tbl[(acc << (6 - bits)) & 63];
  while (enc.size() % 4) enc += '=';
  auto h = parse_activesync_query(enc);
  EXPECT_EQ(h.device_id, "DEADBEEF");
  EXPECT_EQ(h.device_type, "iPhone");
  EXPECT_EQ(h.command, "Sync");
  EXPECT_EQ(h.user, "ivanov");
  // Not base64 / truncated: empty hints, no crash.
  EXPECT_TRUE(parse_activesync_query("!!!").empty());
  EXPECT_TRUE(parse_activesync_query(enc.substr(0, 8)).empty());
}

TEST(Users, Normalize) {
  const std::vector<std::string> strip = {"example.org"};
  const struct {
    const char* in;
    const char* want;
  } cases[] = {
      {"CORP\\Ivanov", "ivanov"}, {"ivanov@example.org", "ivanov"}, {"Ivanov@Example.ORG", "ivanov"},
      {"ivanov@other.org", "ivanov@other.org"}, {"-", ""}, {"", ""}, {"  petrov ", "petrov"},
  };
  for (const auto& c : cases) EXPECT_EQ(normalize_user(c.in, strip), c.want) << c.in;
  EXPECT_EQ(normalize_user("a@b.c", {"*"}), "a");
}

TEST(Aggregator, GroupsByUserAndFingerprint) {
  auto cl = Classifier::load({});
  ASSERT_TRUE(cl);
  Aggregator agg(*cl, {"example.org"});
  auto p = LineParser::make(LogFormat::combined);
  const char* lines[] = {
      R"(10.0.0.7 - ivanov [01/Mar/2023:12:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "Mozilla/5.0 (iPhone; CPU iPhone OS 16_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.3 Mobile/15E148 Safari/604.1")",
      R"(10.0.0.8 - IVANOV@example.org [01/Mar/2023:13:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "Mozilla/5.0 (iPhone; CPU iPhone OS 16_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.3 Mobile/15E148 Safari/604.1")",
      R"(10.0.0.9 - ivanov [01/Mar/2023:11:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36")",
      R"(10.0.0.9 - - [01/Mar/2023:11:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8.0")",
  };
  for (const char* l : lines) {
    auto r = p->parse(l);
    ASSERT_TRUE(r && *r) << l;
    agg.add(**r);
  }
  auto s = agg.sightings();
  ASSERT_EQ(s.size(), 3u);
  // Sorted by raw user then fingerprint; find the iPhone one.
  auto it = std::find_if(s.begin(), s.end(), [](const model::Sighting& x) { return x.os_family == "iOS"; });
  ASSERT_NE(it, s.end());
  EXPECT_EQ(it->count, 2);
  EXPECT_EQ(format_time(it->first_seen), "2023-03-01T12:00:01Z");
  EXPECT_EQ(format_time(it->last_seen), "2023-03-01T13:00:01Z");
  EXPECT_EQ(it->client_ip, "10.0.0.8");
  EXPECT_EQ(it->type, model::DeviceType::phone);
  EXPECT_TRUE(it->fingerprint.starts_with("ua:"));
}

}  // namespace
}  // namespace fw::detect
