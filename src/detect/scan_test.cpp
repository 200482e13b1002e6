// Tests of the combined-format fast path (same result as the general parser, line by line)
// and of scan_logs (same lines, records, unparsed lines and sightings as the reference loop
// read_log_lines + LineParser without the fast path + Aggregator, on real files: plain,
// gzip, CRLF, no trailing newline, over-long lines, lines across buffer boundaries, 1-3
// threads).
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <gtest/gtest.h>

#include "detect/detect.h"

namespace fw::detect {
namespace {

const char* kIphone =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.3 Mobile/15E148 Safari/604.1";

std::string describe(const LogRecord& r) {
  std::ostringstream o;
  o << r.time_text << '|' << r.time.time_since_epoch().count() << '|' << r.client_ip << '|' << r.user << '|'
    << r.method << '|' << r.path << '|' << r.query << '|' << r.status << '|' << r.user_agent << '|'
    << r.activesync.device_id << '|' << r.activesync.device_type << '|' << r.activesync.user << '|'
    << r.activesync.command;
  return o.str();
}

// What a parser makes of one line, as text: the record, "none", or the error.
std::string outcome(LineParser& p, std::string_view line) {
  LogRecord r;
  auto got = p.parse_into(line, r);
  if (!got) return "error " + got.error().to_string();
  if (!*got) return "none";
  return describe(r);
}

// Lines that exercise every branch of the fast path and every reason to leave it.
std::vector<std::string> tricky_lines() {
  std::vector<std::string> v = {
      std::string(R"(10.0.0.7 - ivanov [01/Mar/2023:12:00:01 +0300] "GET /owa/?ae=Folder HTTP/1.1" 200 512 "-" ")") +
          kIphone + "\"",
      R"(10.0.0.7 - ivanov [01/Mar/2023:12:00:01 +0300] "GET /owa/?ae=Folder HTTP/1.1" 200 512 "-" "ua")" "\r",
      R"(10.0.0.7 - CORP\ivanov [01/Mar/2023:12:00:02 +0300] "POST /Microsoft-Server-ActiveSync?Cmd=Sync&User=ivanov&DeviceId=ABC&DeviceType=iPhone HTTP/1.1" 200 5 "-" "Apple-iPhone14C5/2004.67")",
      R"(10.0.0.7 - - [01/Mar/2023:12:00:02 +0300] "POST /microsoft-server-activesync?Cmd=Ping&User=CORP%5Cpetrov&DeviceId=X%41&DeviceType=iPad HTTP/1.1" 200 5 "-" "-")",
      R"(1.2.3.4 - - [01/Mar/2023:12:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "odd \"quoted\" agent")",
      R"(1.2.3.4 - - [01/Mar/2023:12:00:01 +0000] "GET /a\"b HTTP/1.1" 200 5 "-" "ua")",
      R"(1.2.3.4 - - [01/Mar/2023:12:00:01 +0000] "GET / HTTP/1.1" 200 5 "ref \" "x" "ua")",
      R"(1.2.3.4 - - [99/Foo/2023:12:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "ua")",
      R"(1.2.3.4 - - [01/Mar/2023:12:00:01 +0000] "GET / HTTP/1.1" 2x0 5 "-" "ua")",
      R"(1.2.3.4 - - [01/Mar/2023:12:00:01 +0000] "GET / HTTP/1.1" - 5 "-" "ua")",
      R"(1.2.3.4 - - [01/Mar/2023:12:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "unterminated)",
      R"(1.2.3.4 - - [01/Mar/2023:12:00:01 +0000] "GET / HTTP/1.1" 200 5 "-")",
      R"(1.2.3.4 - - [01/Mar/2023:12:00:01] "GET / HTTP/1.1" 200 5 "-" "no zone")",
      R"(1.2.3.4 - bob [] "GET / HTTP/1.1" 200 5 "-" "empty time")",  // found by detect_logline_fuzz
      R"(1.2.3.4 - - [01/Mar/2023:12:00:01 +0000] "GET" 200 5 "-" "no target")",
      R"(1.2.3.4 - - [01/Mar/2023:12:00:01 +0000] "" 200 5 "" "")",
      R"(1.2.3.4 - user with spaces [01/Mar/2023:12:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "ua" "extra" 0.1)",
      R"(1.2.3.4 - a [b [01/Mar/2023:12:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "ua")",
      R"(1.2.3.4 - - [01/Mar/2023:12:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "ua with ] "" quote")",
      R"(1.2.3.4 - bob [01/Mar/2023:12:00:01 +0000] "GET / HTTP/1.0" 304 -)",
      "1.2.3.4 - - [01/Mar/2023:12:00:01 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"\xff\xfe binary\"",
      "#Fields: date time",
      "garbage",
      "",
      "\r",
      " ",
      std::string(kMaxLogLine + 1, 'x'),
  };
  // Requests of every shape around the word and 16-byte scans of split_request: methods of
  // 0-9 bytes, protocols of 0-20, spaces in and at the ends of the target, a '?' before, at
  // and after the 16th byte of the target, requests shorter than 8 and 16 bytes.
  for (const char* req : {"G", "GET", "GET ", " GET", "GET /", "GET /?", "GET /a?b", "GET ?", "GET  ", "GET / ",
                          "GET / H", "OPTIONS * HTTP/1.1", "PROPFIND /x HTTP/1.1", "GETGETGET /x HTTP/1.1",
                          "GET /0123456789abcde?q HTTP/1.1", "GET /0123456789abcdef?q HTTP/1.1",
                          "GET /0123456789abcdefg?q HTTP/1.1", "GET /0123456789abcdefghijklmnopqrstuvwxyz HTTP/1.1",
                          "GET /0123456789abcdefghijklmnopqrstuvwxyz?x=1 HTTP/1.1", "GET /a b c HTTP/1.1",
                          "GET /a HTTP/1.1 extra-long-protocol-name", "GET /a HTTP/1.1x0123456789abcdef",
                          "GET /0123456789abcdefghijklmnop?", "GET /a?b?c HTTP/2.0", "GET /a HTTP/1.1 ",
                          "GET 0123456789abcdef", "GET /x?0123456789abcdefghij", "  ", " ", "a b", "ab c d e f g"})
    v.push_back(std::string(R"(1.2.3.4 - u [01/Mar/2023:12:00:01 +0000] ")") + req + R"(" 200 5 "-" "ua")");
  // Every prefix of a good line (truncation anywhere).
  std::string good = v[0];
  for (size_t n = 0; n < good.size(); n += 7) v.push_back(good.substr(0, n));
  return v;
}

// parse_line_at on `text` (a line, its '\n' and what follows) against the general parser:
// when it takes the line it must take the '\n' too and give the general parser's record;
// when it declines, the parser's own outcome for the line must still be the general one.
// Whether it took the line.
bool took_line_as_general_parser(LineParser& fast, LineParser& slow, const std::string& text) {
  LogRecord r;
  size_t n = fast.parse_line_at(text, r);
  std::string_view line = std::string_view(text).substr(0, text.find('\n'));
  if (n == 0) {
    EXPECT_EQ(outcome(fast, line), outcome(slow, line)) << line;
    return false;
  }
  EXPECT_EQ(n, line.size() + 1) << line;
  EXPECT_EQ(describe(r), outcome(slow, line)) << line;
  return true;
}

TEST(FastPath, SameAsGeneralParserLineByLine) {
  for (LogFormat f : {LogFormat::combined, LogFormat::auto_detect}) {
    auto fast = LineParser::make(f);
    auto slow = LineParser::make(f);
    ASSERT_TRUE(fast && slow);
    slow->set_fast_path(false);
    // Twice, so the second pass runs with the time cache warm and auto-detection settled.
    for (int pass = 0; pass < 2; ++pass)
      for (const auto& line : tricky_lines()) EXPECT_EQ(outcome(*fast, line), outcome(*slow, line)) << line;
  }
}

// parse_line_at over a buffer (the line, then what may follow it) against parse_into over
// the line alone: taken only when it gives the same record, and then the exact length.
TEST(FastPath, LineAtSameAsParseIntoOverTheBuffer) {
  const std::string next = R"(9.9.9.9 - next [02/Mar/2023:00:00:00 +0000] "GET /n HTTP/1.1" 200 1 "-" "next-ua")";
  auto lines = tricky_lines();
  std::string split = std::string(R"(1.2.3.4 - u [01/Mar/2023:12:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "a)") + "\nb\"";
  lines.push_back(split);  // a '\n' inside the User-Agent: two lines, the first one bad
  lines.push_back(R"(1.2.3.4 - u [01/Mar/2023:12:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "ua")" "\rjunk");
  lines.push_back(R"(1.2.3.4 - u [01/Mar/2023:12:00:01 +0000)" "\n" R"(] "GET / HTTP/1.1" 200 5 "-" "ua")");
  lines.push_back(R"(1.2.3.4 - u [01/Mar/2023:12:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" ")" +
                  std::string(kMaxLogLine, 'u') + "\"");
  int taken = 0;
  for (const char* after : {"\n", "\r\n", "", "\n\n", " trailing\n"}) {
    auto fast = LineParser::make(LogFormat::combined);
    auto slow = LineParser::make(LogFormat::combined);
    ASSERT_TRUE(fast && slow);
    slow->set_fast_path(false);
    for (int pass = 0; pass < 2; ++pass)
      for (const auto& l : lines) taken += took_line_as_general_parser(*fast, *slow, l + after + next + "\n");
  }
  EXPECT_GT(taken, 20);
}

// The User-Agent's closing quote is searched 32 bytes at a time where the processor has AVX2
// (16 otherwise): User-Agents of 0-100 bytes, each with a '"', '\\' or '\n' at every
// position (and none), fast against general, line by line and over a buffer.
TEST(FastPath, UserAgentOfEveryLengthWithAStopByteAnywhere) {
  auto fast = LineParser::make(LogFormat::combined);
  auto slow = LineParser::make(LogFormat::combined);
  ASSERT_TRUE(fast && slow);
  slow->set_fast_path(false);
  const std::string head = R"(10.0.0.1 - u [01/Mar/2023:12:00:01 +0000] "GET /a?b HTTP/1.1" 200 5 "-" ")";
  int taken = 0, cases = 0;
  for (size_t len = 0; len <= 100; ++len)
    for (char stop : {'"', '\\', '\n', 'x'})
      for (size_t at = 0; at <= len; at += (stop == 'x' ? len + 1 : 1)) {
        std::string ua(len, 'a');
        for (size_t i = 0; i < len; ++i) ua[i] = static_cast<char>('a' + i % 26);
        if (stop != 'x' && at < len) ua[at] = stop;
        std::string line = head + ua + "\"";
        std::string_view first = std::string_view(line).substr(0, line.find('\n'));
        EXPECT_EQ(outcome(*fast, first), outcome(*slow, first)) << line;
        std::string text = line + "\n" + line + "\n";
        LogRecord r;
        size_t n = fast->parse_line_at(text, r);
        ++cases;
        if (n == 0) continue;
        ++taken;
        EXPECT_EQ(n, first.size() + 1) << line;
        EXPECT_EQ(describe(r), outcome(*slow, first)) << line;
      }
  EXPECT_GT(taken, cases / 3);
}

TEST(FastPath, TimeCacheFollowsTheText) {
  auto p = LineParser::make(LogFormat::combined);
  const char* lines[] = {
      R"(1.2.3.4 - - [01/Mar/2023:12:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "ua")",
      R"(1.2.3.4 - - [01/Mar/2023:12:00:01 +0300] "GET / HTTP/1.1" 200 5 "-" "ua")",
      R"(1.2.3.4 - - [01/Mar/2023:12:00:02 +0300] "GET / HTTP/1.1" 200 5 "-" "ua")",
      R"(1.2.3.4 - - [01/Mar/2023:12:00:02 +0300] "GET / HTTP/1.1" 200 5 "-" "ua")",
  };
  const char* want[] = {"2023-03-01T12:00:01Z", "2023-03-01T09:00:01Z", "2023-03-01T09:00:02Z",
                        "2023-03-01T09:00:02Z"};
  for (size_t i = 0; i < std::size(lines); ++i) {
    auto r = p->parse(lines[i]);
    ASSERT_TRUE(r && *r);
    EXPECT_EQ(format_time((*r)->time), want[i]);
  }
}

// A time text that differs from the last one only in its clock part takes the cache too
// (the value moves by the difference): sequences of texts with clock parts of every kind
// (forward, backward, second 60, hours and minutes out of range, other bytes in place of the
// digits and the ':'), with day and zone changes between, fast against general, line by
// line and over a buffer, in order.
// The time cache compares the 26-byte time text and the '] "' after it in one go: a line
// with the previous line's time but any other byte in one of those three places is not
// taken for the previous one (each time right after a line that fills the cache).
TEST(FastPath, CachedTimeWithAnotherSeparatorAfterIt) {
  auto fast = LineParser::make(LogFormat::combined);
  auto slow = LineParser::make(LogFormat::combined);
  ASSERT_TRUE(fast && slow);
  slow->set_fast_path(false);
  const std::string head = "10.0.0.1 - u [01/Mar/2023:12:00:01 +0300";
  const std::string good = "] \"GET /a HTTP/1.1\" 200 5 \"-\" \"ua\"";
  int taken = 0, variants = 0;
  for (size_t at = 0; at < 3; ++at)
    for (char c : std::string("x \t\"][\\-\r\0", 10)) {
      std::string rest = good;
      if (rest[at] == c) continue;
      rest[at] = c;
      ++variants;
      taken += took_line_as_general_parser(*fast, *slow, head + good + "\n");
      took_line_as_general_parser(*fast, *slow, head + rest + "\n");
    }
  EXPECT_EQ(taken, variants);  // the good line each time, from the cache
}

TEST(FastPath, TimeCacheClockPartOnly) {
  auto fast = LineParser::make(LogFormat::combined);
  auto at = LineParser::make(LogFormat::combined);
  auto slow = LineParser::make(LogFormat::combined);
  ASSERT_TRUE(fast && at && slow);
  slow->set_fast_path(false);
  std::vector<std::string> times = {"01/Mar/2023:12:00:01 +0300", "01/Mar/2023:12:00:02 +0300",
                                    "01/Mar/2023:11:59:59 +0300", "01/Mar/2023:23:59:60 +0300",
                                    "01/Mar/2023:24:00:00 +0300", "01/Mar/2023:00:60:00 +0300",
                                    "01/Mar/2023:00:00:61 +0300", "01/Mar/2023:00:00:00 +0300",
                                    "02/Mar/2023:00:00:00 +0300", "02/Mar/2023:00:00:01 -0500",
                                    "02/Mar/2023:00x00:02 -0500", "02/Mar/2023:00:00]03 -0500",
                                    "02/Mar/2023:0a:00:04 -0500", "02/Mar/2023:00:00:05 -0500",
                                    "02/Mar/2023:00:00:05 -0500x", "02/Mar/2023:00:00:06 -0500",
                                    "02/Mar/2023:00:00:0\n -0500"};
  std::mt19937 rng(7);
  const std::string bytes = "0123456789:] x/\n";
  for (int i = 0; i < 3000; ++i) {  // random clock parts after a valid text
    std::string t = times[rng() % 10];
    for (int k = 0, n = static_cast<int>(rng() % 3); k < n; ++k) t[12 + rng() % 8] = bytes[rng() % bytes.size()];
    times.push_back(t);
  }
  int taken = 0;
  for (const auto& t : times) {
    std::string line = "10.0.0.1 - u [" + t + R"(] "GET /a HTTP/1.1" 200 5 "-" "ua")";
    EXPECT_EQ(outcome(*fast, line), outcome(*slow, line)) << line;
    taken += took_line_as_general_parser(*at, *slow, line + "\n");
  }
  EXPECT_GT(taken, 1000);
}

// ---- scan_logs against the reference loop --------------------------------------------------

struct Reference {
  uint64_t lines = 0, records = 0, unparsed = 0;
  std::vector<std::string> first_unparsed;
  std::vector<model::Sighting> sightings;
};

Reference reference(const std::vector<std::string>& files, LogFormat f, const std::vector<std::string>& strip,
                    std::shared_ptr<const Classifier> cl) {
  Reference ref;
  Aggregator agg(cl, strip);
  for (const auto& file : files) {
    auto p = LineParser::make(f);
    p->set_fast_path(false);
    uint64_t line_no = 0;
    auto st = read_log_lines(file, [&](std::string_view line) {
      ++line_no;
      ++ref.lines;
      auto r = p->parse(line);
      if (!r) {
        ++ref.unparsed;
        if (ref.first_unparsed.size() < 20)
          ref.first_unparsed.push_back(file + ":" + std::to_string(line_no) + " " + r.error().to_string());
        return;
      }
      if (!*r) return;
      ++ref.records;
      agg.add(**r);
    });
    EXPECT_TRUE(st) << st.error().to_string();
  }
  ref.sightings = agg.sightings();
  return ref;
}

std::string text(const model::Sighting& s) {
  std::ostringstream o;
  o << s.user << '|' << s.fingerprint << '|' << s.user_agent << '|' << s.activesync_id << '|' << s.client_ip << '|'
    << s.os_family << '|' << s.os_version << '|' << s.vendor << '|' << s.model << '|' << static_cast<int>(s.type)
    << '|' << format_time(s.first_seen) << '|' << format_time(s.last_seen) << '|' << s.count;
  return o.str();
}

void expect_same(const Reference& ref, const ScanResult& got, const Classifier& cl, const std::string& what) {
  EXPECT_EQ(got.lines, ref.lines) << what;
  EXPECT_EQ(got.records, ref.records) << what;
  EXPECT_EQ(got.unparsed, ref.unparsed) << what;
  std::vector<std::string> unparsed;
  for (const auto& u : got.first_unparsed)
    unparsed.push_back(u.file + ":" + std::to_string(u.line) + " " + u.error.to_string());
  EXPECT_EQ(unparsed, ref.first_unparsed) << what;
  auto s = got.sightings(cl);
  ASSERT_EQ(s.size(), ref.sightings.size()) << what;
  for (size_t i = 0; i < s.size(); ++i) EXPECT_EQ(text(s[i]), text(ref.sightings[i])) << what << " #" << i;
}

class ScanTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto cl = Classifier::load({});
    ASSERT_TRUE(cl) << cl.error().to_string();
    classifier_ = *cl;
  }
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("fw-scan-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& content) {
    auto path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  std::string write_gz(const std::string& name, const std::string& content) {
    auto path = (dir_ / name).string();
    gzFile gz = gzopen(path.c_str(), "wb");
    gzwrite(gz, content.data(), static_cast<unsigned>(content.size()));
    gzclose(gz);
    return path;
  }
  void check(const std::vector<std::string>& files, LogFormat f, const std::vector<std::string>& strip = {"example.org"}) {
    auto ref = reference(files, f, strip, classifier_);
    // pread, mmap in 8 MiB windows, mmap in small windows (lines across window ends).
    for (uint64_t window : {uint64_t{0}, uint64_t{8} << 20, uint64_t{5000}})
      for (unsigned threads : {1u, 2u, 3u}) {
        ScanOptions o;
        o.format = f;
        o.strip_domains = strip;
        o.threads = threads;
        o.min_part_bytes = 1;  // cut even small files, to test the cuts
        o.map_files = window > 0;
        if (window) o.map_window_bytes = window;
        auto got = scan_logs(files, o);
        ASSERT_TRUE(got) << got.error().to_string();
        expect_same(ref, *got, *classifier_,
                    std::to_string(threads) + " threads, " + (window ? "mapped window " + std::to_string(window) : "pread"));
      }
  }

  static std::shared_ptr<const Classifier> classifier_;
  std::filesystem::path dir_;
};
std::shared_ptr<const Classifier> ScanTest::classifier_;

// A log of `n` lines from a few users and clients, with a bad line every `bad_every`.
std::string synthetic_log(size_t n, size_t bad_every, const char* eol = "\n") {
  static const char* uas[] = {kIphone, "Apple-iPhone14C5/2004.67", "Outlook-iOS-Android/1.0",
                              "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                              "Chrome/120.0.0.0 Safari/537.36",
                              "-"};
  static const char* users[] = {"ivanov", "IVANOV@example.org", "CORP\\petrov", "-", "sidorov@other.org"};
  std::mt19937 rng(7);
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    if (bad_every && i % bad_every == bad_every - 1) {
      out += "this is not a log line";
      out += eol;
      continue;
    }
    const char* ua = uas[rng() % std::size(uas)];
    const char* user = users[rng() % std::size(users)];
    bool as = ua[0] == 'A';
    char line[1024];
    std::snprintf(line, sizeof line,
                  "10.0.0.%u - %s [01/Mar/2023:12:%02u:%02u +0300] \"%s %s HTTP/1.1\" 200 5 \"-\" \"%s\"%s",
                  static_cast<unsigned>(rng() % 4), user, static_cast<unsigned>(rng() % 60),
                  static_cast<unsigned>(rng() % 60), as ? "POST" : "GET",
                  as ? ("/Microsoft-Server-ActiveSync?Cmd=Sync&User=u&DeviceId=D" + std::to_string(rng() % 3) +
                        "&DeviceType=iPhone")
                           .c_str()
                     : "/owa/",
                  ua, eol);
    out += line;
  }
  return out;
}

TEST_F(ScanTest, PlainFileSameAsReference) {
  check({write("a.log", synthetic_log(20000, 97))}, LogFormat::auto_detect);
  check({write("b.log", synthetic_log(20000, 0))}, LogFormat::combined);
}

TEST_F(ScanTest, CrlfNoTrailingNewlineAndEscapes) {
  std::string log = synthetic_log(5000, 50, "\r\n");
  log += R"(1.2.3.4 - zed [01/Mar/2023:12:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "odd \"quoted\" agent")";
  log += "\n\n#comment\n";
  log += R"(1.2.3.4 - zed [01/Mar/2023:13:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "last line, no newline")";
  check({write("crlf.log", log)}, LogFormat::auto_detect);
  check({write_gz("crlf.log.gz", log)}, LogFormat::auto_detect);
}

TEST_F(ScanTest, LongLinesAcrossBufferBoundaries) {
  // Lines from 1 byte to past kMaxLogLine, so that lines straddle every 256 KiB read and
  // over-long ones are cut and reported as too long, never fatal.
  std::string log;
  std::mt19937 rng(3);
  std::string good = synthetic_log(1, 0);
  while (log.size() < (5u << 20)) {
    if (rng() % 50 == 0) {
      log += std::string(kMaxLogLine + rng() % 300000, 'y');
      log += '\n';
    }
    for (int i = 0; i < 30; ++i) log += good;
    log += R"(1.2.3.4 - u [01/Mar/2023:12:00:01 +0000] "GET /)" + std::string(rng() % 3000, 'p') +
           R"( HTTP/1.1" 200 5 "-" "long path")" + "\n";
  }
  log += std::string(kMaxLogLine + 10, 'z');  // over-long last line without newline
  check({write("long.log", log)}, LogFormat::combined);
  // gzip: lines across zlib's 1 MiB chunks, batched until each chunk's end.
  check({write_gz("long.log.gz", log)}, LogFormat::combined);
}

TEST_F(ScanTest, GzipStdinLikeAndSeveralFiles) {
  std::string a = synthetic_log(3000, 40), b = synthetic_log(4000, 0);
  check({write_gz("a.log.gz", a), write("b.log", b), write("a.log", a)}, LogFormat::auto_detect, {"*"});
}

// Rotated logs: several gzip files, read ahead of their turn by the threads (two or more
// of them), with a plain file and a bad line or two among them: the result is the one of
// reading them in order.
TEST_F(ScanTest, SeveralGzipFilesAreReadAheadAndFoldedInFileOrder) {
  std::string all = synthetic_log(12000, 37);
  std::vector<std::string> files;
  size_t from = 0;
  for (int i = 0; i < 6; ++i) {
    size_t to = i == 5 ? all.size() : all.find('\n', all.size() * (i + 1) / 6) + 1;
    std::string name = "access.log." + std::to_string(i + 1);
    std::string chunk = all.substr(from, to - from);
    files.push_back(i == 2 ? write(name, chunk) : write_gz(name + ".gz", chunk));
    from = to;
  }
  check(files, LogFormat::auto_detect);
  check({files[0], files[1]}, LogFormat::combined);
}

// A gzip file that cannot be read among several: the error names it, whatever the threads,
// and the files being read ahead are waited for (no thread outlives the call).
TEST_F(ScanTest, ABrokenGzipFileAmongSeveralIsAnIoErrorNamingIt) {
  std::string log = synthetic_log(3000, 0);
  std::string bad = write("bad.log.gz", std::string("\x1f\x8b\x08\x00", 4) + std::string(5000, 'x'));
  std::vector<std::string> files = {write_gz("a.log.gz", log), write_gz("b.log.gz", log), bad, write_gz("c.log.gz", log)};
  for (unsigned threads : {1u, 2u, 3u}) {
    ScanOptions o;
    o.threads = threads;
    auto got = scan_logs(files, o);
    ASSERT_FALSE(got) << threads;
    EXPECT_EQ(got.error().code, Errc::io_error) << threads;
    EXPECT_NE(got.error().to_string().find("bad.log.gz"), std::string::npos) << got.error().to_string();
  }
  files.push_back((dir_ / "missing.log.gz").string());
  files.erase(files.begin() + 2);
  ScanOptions o;
  o.threads = 2;
  auto got = scan_logs(files, o);
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().to_string().find("missing.log.gz"), std::string::npos) << got.error().to_string();
}

// A gzip file cut short (zlib tells only when the file is closed) fails the scan naming it,
// read alone, in turn or ahead: not a success with the lines before it and a cut last line.
TEST_F(ScanTest, ATruncatedGzipFileIsAnIoErrorNamingIt) {
  std::string log = synthetic_log(3000, 0);
  auto whole = write_gz("whole.log.gz", log);
  std::string bytes;
  {
    std::ifstream in(whole, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GT(bytes.size(), 200u);
  auto cut = write("cut.log.gz", bytes.substr(0, bytes.size() - 100));
  for (const auto& files : std::vector<std::vector<std::string>>{{cut}, {whole, cut, whole}})
    for (unsigned threads : {1u, 2u}) {
      ScanOptions o;
      o.threads = threads;
      auto got = scan_logs(files, o);
      ASSERT_FALSE(got) << threads;
      EXPECT_EQ(got.error().code, Errc::io_error);
      EXPECT_EQ(got.error().where, cut);
      EXPECT_NE(got.error().message.find("truncated"), std::string::npos) << got.error().to_string();
    }
  ScanOptions o;
  auto got = scan_logs({whole, whole}, o);  // the same file whole: no error
  ASSERT_TRUE(got) << got.error().to_string();
  EXPECT_EQ(got->lines, 6000u);
}

TEST_F(ScanTest, UnparsedLinesInLaterPartsNameTheirFileLine) {
  // Bad lines only near the end: with 2 or 3 threads they are in the last part, whose line
  // numbers start after the earlier parts' lines.
  std::string log = synthetic_log(10000, 0);
  for (int i = 0; i < 5; ++i) log += "broken line " + std::to_string(i) + "\n";
  log += synthetic_log(50, 0);
  check({write("tail.log", log)}, LogFormat::combined);
  ScanOptions o;
  o.threads = 2;
  o.min_part_bytes = 1;
  auto got = scan_logs({(dir_ / "tail.log").string()}, o);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->first_unparsed.size(), 5u);
  EXPECT_EQ(got->first_unparsed[0].line, 10001u);
  EXPECT_EQ(got->first_unparsed[4].line, 10005u);
}

TEST_F(ScanTest, FormatSettledLateStaysOnOneThread) {
  // Garbage first: auto-detection settles only in the second half, so the file must not be
  // cut (the second part would not know the format yet); errors name the right lines.
  std::string log;
  for (int i = 0; i < 3000; ++i) log += "not yet a log line\n";
  log += synthetic_log(100, 0);
  check({write("late.log", log)}, LogFormat::auto_detect);
}

TEST_F(ScanTest, W3cIsReadInOrder) {
  std::string log =
      "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) "
      "cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n";
  for (int i = 0; i < 2000; ++i)
    log += "2023-03-01 09:00:0" + std::to_string(i % 10) +
           " 10.0.0.1 POST /Microsoft-Server-ActiveSync/default.eas User=ivanov&DeviceId=F" +
           std::to_string(i % 5) + "&DeviceType=iPhone&Cmd=Sync 443 CORP\\ivanov 192.168.1.20 "
           "Apple-iPhone14C5/2004.67 - 200 0 0 31\n";
  check({write("ex.log", log)}, LogFormat::auto_detect);
}

TEST_F(ScanTest, ClientAddressesOfEveryShapeAndTimesOutOfOrder) {
  // The latest client IP is kept packed when it is a plain dotted IPv4 address and as text
  // otherwise; either way the sightings must show it exactly as written. Times go backwards
  // too (first_seen is then updated apart from last_seen).
  const char* ips[] = {"10.0.0.1", "255.255.255.255", "0.0.0.0", "010.0.0.1", "256.1.1.1", "1.2.3",
                       "1.2.3.4.5", "2001:db8::1", "::ffff:10.0.0.1", "host.example.org", "1.2.3.4a", "1..2.3"};
  std::string log;
  std::mt19937 rng(11);
  for (int i = 0; i < 6000; ++i) {
    char line[512];
    std::snprintf(line, sizeof line,
                  "%s - user%u [01/Mar/2023:%02u:%02u:%02u +0300] \"GET / HTTP/1.1\" 200 5 \"-\" \"%s\"\n",
                  ips[rng() % std::size(ips)], static_cast<unsigned>(rng() % 7), static_cast<unsigned>(rng() % 24),
                  static_cast<unsigned>(rng() % 60), static_cast<unsigned>(rng() % 60), i % 2 ? kIphone : "curl/8.0");
    log += line;
  }
  check({write("ips.log", log)}, LogFormat::combined);
}

TEST_F(ScanTest, TiesAcrossUnitsKeepTheFirstRecord) {
  // Every line at the same second, so that the client IP kept is the first line's at the
  // latest time, and the user spelling, User-Agent and DeviceType kept are the first line's,
  // whichever thread saw which unit: the threads take small units in turn, and their tables
  // must agree with one table that read the file in order.
  const char* spellings[] = {"Ivanov", "ivanov", "IVANOV@example.org", "CORP\\ivanov"};
  const char* uas[] = {"Apple-iPhone14C5/2004.67", "Apple-iPhone15C2/2104.100", "Outlook-iOS-Android/1.0"};
  const char* types[] = {"iPhone", "iPad", "SmartPhone"};
  std::mt19937 rng(5);
  std::string log;
  for (int i = 0; i < 30000; ++i) {
    bool as = rng() % 3 == 0;
    char line[512];
    std::snprintf(line, sizeof line,
                  "10.1.%u.%u - %s [02/Mar/2023:08:00:%02d +0000] \"POST %s HTTP/1.1\" 200 5 \"-\" \"%s\"\n",
                  static_cast<unsigned>(rng() % 256), static_cast<unsigned>(rng() % 256),
                  spellings[rng() % std::size(spellings)], i < 29000 ? 0 : 1,
                  as ? ("/Microsoft-Server-ActiveSync?Cmd=Sync&DeviceId=DEV" + std::to_string(rng() % 2) +
                        "&DeviceType=" + types[rng() % std::size(types)])
                           .c_str()
                     : "/owa/",
                  as ? uas[rng() % std::size(uas)] : kIphone);
    log += line;
  }
  check({write("ties.log", log)}, LogFormat::combined);
}

TEST_F(ScanTest, ManyPairsGrowTheTablesAndStayExact) {
  // Thousands of (user as written, User-Agent) pairs, some users spelled two ways (one
  // sighting, two pairs), ActiveSync records beside them, a user name longer than the inline
  // slots and User-Agents of every length up to 40,000 bytes: the pair cache, the key index
  // and the sighting slots all grow several times while the threads read, and every
  // sighting must still be the reference's.
  std::mt19937 rng(13);
  std::vector<std::string> uas = {kIphone, "curl/8.0", "-", "Apple-iPhone14C5/2004.67", std::string(300, 'x'),
                                  std::string(40000, 'y')};
  for (int k = 0; k < 40; ++k) uas.push_back("Agent/" + std::to_string(k) + " (" + std::string(k * 7, 'z') + ")");
  std::string log;
  for (int i = 0; i < 40000; ++i) {
    unsigned u = static_cast<unsigned>(rng() % 3000);
    std::string user(u % 3 == 0 ? "CORP\\u" : "u");
    user += std::to_string(u);
    if (u % 3 != 0 && rng() % 2) user += "@example.org";
    if (u == 7) user = std::string(200, 'L');
    const std::string& ua = uas[rng() % uas.size()];
    bool as = ua[0] == 'A' && ua[1] == 'p';
    log += "10.2." + std::to_string(u % 256) + "." + std::to_string(rng() % 256) + " - " + user + " [03/Mar/2023:" +
           std::to_string(10 + rng() % 10) + ":00:00 +0000] \"" + (as ? "POST /Microsoft-Server-ActiveSync?Cmd=Sync&DeviceId=D" +
           std::to_string(u % 5) + "&DeviceType=iPhone" : std::string("GET /owa/")) + " HTTP/1.1\" 200 5 \"-\" \"" + ua + "\"\n";
  }
  auto path = write("pairs.log", log);
  check({path}, LogFormat::combined);
  // Enough sightings and distinct clients that sightings() classifies and builds them on two
  // threads (compared above with the reference).
  auto got = scan_logs({path}, ScanOptions{});
  ASSERT_TRUE(got) << got.error().to_string();
  EXPECT_GE(got->sighting_count(), 8192u);
}

TEST_F(ScanTest, FileTruncatedWhileMappedIsReadAgainNotACrash) {
  // logrotate's copytruncate: the file shrinks while it is read. The pages past the new end
  // of a mapping then raise SIGBUS; the scan must read the part again with pread and report
  // what the shorter file holds. The progress callback (after each window, on the calling
  // thread) truncates the file after the first window, so the next window's mapping reaches
  // past the end; then the same with the cut inside the mapped lookahead of a window.
  std::string log = synthetic_log(40000, 0);
  for (uint64_t keep_windows : {uint64_t{2}, uint64_t{0}}) {
    std::string path = write("rotated.log", log);
    uint64_t window = 64 << 10;
    size_t cut = log.find('\n', keep_windows ? window * keep_windows : 20000) + 1;  // a line end
    ScanOptions o;
    o.threads = 1;
    o.map_window_bytes = window;
    bool truncated = false;
    o.on_progress = [&](uint64_t, uint64_t) {
      if (!truncated) {
        ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(cut)), 0);
      }
      truncated = true;
    };
    auto got = scan_logs({path}, o);
    ASSERT_TRUE(got) << got.error().to_string();
    EXPECT_TRUE(truncated);
    auto ref = reference({write("short.log", log.substr(0, cut))}, LogFormat::auto_detect, {}, classifier_);
    expect_same(ref, *got, *classifier_, "truncated at " + std::to_string(cut));
  }
}

TEST_F(ScanTest, MissingFileIsAnIoErrorNamingIt) {
  auto got = scan_logs({(dir_ / "nope.log").string()}, {});
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, Errc::io_error);
  EXPECT_NE(got.error().to_string().find("nope.log"), std::string::npos);
  ScanOptions o;
  o.format = LogFormat::nginx;
  EXPECT_FALSE(scan_logs({write("x.log", "x\n")}, o));  // nginx without a log_format
}

}  // namespace
}  // namespace fw::detect
