// scan_logs' caches in front of the sighting tables (src/detect/sighting_table.cpp) against
// the reference loop (read_log_lines + LineParser without the fast path + Aggregator) on
// logs made to defeat them: pairs whose bytes differ only where the front cache's quick hash
// does not look. Real files, 1-3 threads, pread and mapped windows.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <gtest/gtest.h>

#include "detect/detect.h"

namespace fw::detect {
namespace {

std::string text(const model::Sighting& s) {
  std::ostringstream o;
  o << s.user << '|' << s.fingerprint << '|' << s.user_agent << '|' << s.activesync_id << '|' << s.client_ip << '|'
    << s.os_family << '|' << static_cast<int>(s.type) << '|' << format_time(s.first_seen) << '|'
    << format_time(s.last_seen) << '|' << s.count;
  return o.str();
}

std::vector<std::string> reference(const std::string& file, std::shared_ptr<const Classifier> cl) {
  Aggregator agg(std::move(cl), {"example.org"});
  auto p = LineParser::make(LogFormat::combined);
  EXPECT_TRUE(p);
  p->set_fast_path(false);
  auto st = read_log_lines(file, [&](std::string_view line) {
    auto r = p->parse(line);
    if (r && *r) agg.add(**r);
  });
  EXPECT_TRUE(st) << st.error().to_string();
  std::vector<std::string> out;
  for (const auto& s : agg.sightings()) out.push_back(text(s));
  return out;
}

TEST(SightingCache, PairsThatShareTheirFrontCacheSlotStayApart) {
  // The front cache hashes only a few words of a pair (a User-Agent's length, its first and
  // last 8 bytes and two words in between; a short name's first and last 8 bytes), so
  // User-Agents, user names and ActiveSync device ids that differ only elsewhere share one
  // slot: lines of such pairs interleaved must each still count for their own sighting.
  auto loaded = Classifier::load({});
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  std::shared_ptr<const Classifier> cl = *loaded;
  std::vector<std::string> uas;
  for (int k = 0; k < 6; ++k) {
    std::string ua(120, 'a');  // read: bytes 0-7, 30-37, 56-63 and 112-119
    ua[9] = static_cast<char>('b' + k);
    ua[50] = static_cast<char>('b' + k);
    uas.push_back(ua);
  }
  std::string log;
  std::mt19937 rng(5);
  for (int i = 0; i < 6000; ++i) {
    unsigned u = static_cast<unsigned>(rng() % 4);
    // 22 bytes, of which the front cache reads 0-7 and 14-21.
    std::string user = "user.middle" + std::string(1, static_cast<char>('0' + u)) + ".name@corp";
    const std::string& ua = uas[rng() % uas.size()];
    bool as = rng() % 4 == 0;
    // Device ids of 19 bytes that differ in byte 8 only.
    std::string req = as ? "POST /Microsoft-Server-ActiveSync?Cmd=Sync&DeviceId=DEVICE00" + std::to_string(rng() % 3) +
                               "0000000001&DeviceType=iPhone"
                         : std::string("GET /owa/");
    log += "10.0.0." + std::to_string(rng() % 256) + " - " + user + " [03/Mar/2023:" + std::to_string(10 + rng() % 10) +
           ":00:00 +0000] \"" + req + " HTTP/1.1\" 200 5 \"-\" \"" + ua + "\"\n";
  }
  auto dir = std::filesystem::temp_directory_path() / ("fw-sighting-cache-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "front.log").string();
  std::ofstream(path, std::ios::binary) << log;
  auto want = reference(path, cl);
  EXPECT_EQ(want.size(), 4u * 6 + 4u * 3);
  for (uint64_t window : {uint64_t{0}, uint64_t{8} << 20, uint64_t{5000}})
    for (unsigned threads : {1u, 2u, 3u}) {
      ScanOptions o;
      o.format = LogFormat::combined;
      o.strip_domains = {"example.org"};
      o.threads = threads;
      o.min_part_bytes = 1;
      o.map_files = window > 0;
      if (window) o.map_window_bytes = window;
      auto got = scan_logs({path}, o);
      ASSERT_TRUE(got) << got.error().to_string();
      std::vector<std::string> have;
      for (const auto& s : got->sightings(*cl)) have.push_back(text(s));
      EXPECT_EQ(have, want) << threads << " threads, window " << window;
    }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fw::detect
