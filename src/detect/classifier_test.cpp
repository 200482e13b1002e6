// Tests of the classifier: one table row per trap of this field (issue 5) and per bug.
// Uses the real rules (uap-core 0.18.0 + data/detect/rules.yaml).
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "detect/detect.h"
#include "detect/rules.h"
#include "util/strings.h"

namespace fw::detect {
namespace {

std::shared_ptr<const Classifier> classifier() {
  static auto c = [] {
    auto r = Classifier::load({});
    if (!r) ADD_FAILURE() << r.error().to_string();
    return r ? *r : nullptr;
  }();
  return c;
}

TEST(Classifier, LoadsAndCountsEngines) {
  auto c = classifier();
  ASSERT_TRUE(c);
  const auto& s = c->stats();
  EXPECT_GT(s.rules, 1100u);
  EXPECT_GT(s.own_rules, 20u);
  EXPECT_EQ(s.rules, s.hyperscan_exact + s.hyperscan_prefilter + s.re2_only + s.rejected);
  EXPECT_LT(s.re2_only, 10u);
}

// A rule Hyperscan rejects as written (embedded '^' anchors, like uap-core's generic Spider
// device rule) runs as a relaxed superset in Hyperscan and RE2 decides: the anchors still
// hold, and nothing is left to RE2 alone.
TEST(Classifier, EmbeddedAnchorsStillHold) {
  auto dir = std::filesystem::temp_directory_path() / ("fw-classifier-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto own = dir / "rules.yaml";
  {
    std::ofstream out(own);
    out << "user_agent_parsers:\n"
           "  - regex: '^.{0,20}(ZqBrowser|^ZqStart)/(\\d+)'\n"
           "    family_replacement: 'Zq'\n"
           "  - regex: '(?:^|; )(ZqApp) ?(\\d+)$'\n";
  }
  ClassifierOptions o;
  o.own_rules_path = own.string();
  o.cache_entries = 0;
  auto r = Classifier::load(o);
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(r) << r.error().to_string();
  const auto& c = *r;
  EXPECT_EQ(c->stats().re2_only, 0u);
  EXPECT_GE(c->stats().hyperscan_prefilter, 2u);
  EXPECT_EQ(c->classify("ZqStart/7").client, "Zq");
  EXPECT_EQ(c->classify("ZqStart/7").client_version, "7");
  EXPECT_EQ(c->classify("abc ZqBrowser/8").client_version, "8");
  EXPECT_NE(c->classify("abc ZqStart/9").client, "Zq");                       // '^' inside holds
  EXPECT_NE(c->classify("abcdefghijklmnopqrstuvwxyz ZqBrowser/8").client, "Zq");  // so does {0,20}
  EXPECT_EQ(c->classify("Foo; ZqApp 5").client, "ZqApp");
  EXPECT_EQ(c->classify("ZqApp 6").client_version, "6");
  EXPECT_NE(c->classify("Foo;ZqApp 5").client, "ZqApp");
  EXPECT_NE(c->classify("Foo; ZqApp 5 x").client, "ZqApp");                   // '$' inside holds
}

TEST(Classifier, MissingRulesFileIsAnError) {
  ClassifierOptions o;
  o.uap_regexes_path = "/nonexistent/regexes.yaml";
  auto r = Classifier::load(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::io_error);
  EXPECT_NE(r.error().where.find("/nonexistent/regexes.yaml"), std::string::npos);
}

struct Case {
  const char* name;
  const char* ua;
  const char* device_type_hint;  // ActiveSync DeviceType, "" none
  const char* family;
  const char* version;  // "*" = do not check
  const char* type;     // "*" = do not check
  std::vector<std::string> may_be;
  bool spoofing = false;
};

const Case kCases[] = {
    {"issue5_done_when_iphone_safari",
     "Mozilla/5.0 (iPhone; CPU iPhone OS 16_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/16.3 Mobile/15E148 Safari/604.1",
     "", "iOS", "16.3", "phone", {}},
    // Outlook mobile: same string from iOS and Android, sent by Microsoft's servers.
    {"outlook_ios_android_1", "Outlook-iOS-Android/1.0", "", "", "", "phone", {"iOS", "Android"}},
    {"outlook_ios_android_2", "Outlook-iOS-Android/2.0", "", "", "", "phone", {"iOS", "Android"}},
    {"outlook_resolved_by_devicetype", "Outlook-iOS-Android/1.0", "iPhone", "iOS", "", "phone", {}},
    {"outlook_resolved_android", "Outlook-iOS-Android/1.0", "Android", "Android", "", "phone", {}},
    {"outlook_devicetype_outlook_stays_unknown", "Outlook-iOS-Android/1.0", "Outlook", "", "", "phone",
     {"iOS", "Android"}},
    // ActiveSync native mail: build 2004.67 = 20D67 = iOS 16.3.1 on an iPhone14,5.
    {"activesync_iphone14c5", "Apple-iPhone14C5/2004.67", "", "iOS", "16.3.1", "phone", {}},
    {"activesync_iphone_ios12", "Apple-iPhone9C1/1607.77", "", "iOS", "12.4", "phone", {}},
    {"activesync_unknown_build_letter_rule", "Apple-iPhone15C2/2006.99", "", "iOS", "16.5", "phone", {}},
    {"activesync_ipad_is_ipados", "Apple-iPad13C1/2101.329", "", "iPadOS", "17.0", "tablet", {}},
    {"activesync_devicetype_iphone_agrees", "Apple-iPhone14C5/2004.67", "iPhone", "iOS", "16.3.1", "phone", {}},
    {"activesync_devicetype_contradicts_ua",
     "Mozilla/5.0 (Linux; Android 13; SM-G991B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 Mobile "
     "Safari/537.36",
     "iPhone", "iOS", "", "phone", {}, true},
    {"android_mail_activesync", "Android-Mail/2023.03.19.518795489.Release", "", "Android", "*", "*", {}},
    {"samsung_email_activesync", "SAMSUNG-SM-G991B/101.1101", "", "Android", "*", "phone", {}},
    // HarmonyOS 2-4 say "Android 10; HarmonyOS".
    {"harmonyos_2_android_token",
     "Mozilla/5.0 (Linux; Android 10; HarmonyOS; NOH-AN00; HMSCore 6.1.0.314) AppleWebKit/537.36 (KHTML, like "
     "Gecko) Chrome/88.0.4324.93 HuaweiBrowser/12.0.1.300 Mobile Safari/537.36",
     "", "HarmonyOS", "", "phone", {}},
    {"harmonyos_3_versioned",
     "Mozilla/5.0 (Linux; Android 12; HarmonyOS 3.0.0; ALN-AL00) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/99.0.4844.88 Mobile Safari/537.36",
     "", "HarmonyOS", "3.0.0", "phone", {}},
    {"harmonyos_next_openharmony",
     "Mozilla/5.0 (Phone; OpenHarmony 4.1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.0.0 Safari/537.36 "
     "ArkWeb/4.1.6.1 Mobile",
     "", "HarmonyOS", "4.1", "phone", {}},
    {"harmonyos_next_named",
     "Mozilla/5.0 (Phone; OpenHarmony 5.0; HarmonyOS 5.0) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/114.0.0.0 Safari/537.36 ArkWeb/4.1.6.1 Mobile",
     "", "HarmonyOS", "5.0", "phone", {}},
    {"harmonyos_next_tablet",
     "Mozilla/5.0 (Tablet; OpenHarmony 5.0; HarmonyOS 5.0) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/114.0.0.0 Safari/537.36 ArkWeb/4.1.6.1",
     "", "HarmonyOS", "5.0", "tablet", {}},
    {"harmonyos_next_pc",
     "Mozilla/5.0 (PC; OpenHarmony 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.0.0 Safari/537.36 "
     "ArkWeb/4.1.6.1",
     "", "HarmonyOS", "5.0", "desktop", {}},
    // Sailfish OS 4 / Aurora OS: OS-agnostic Gecko 78 string.
    {"gecko78_sailfish_or_aurora", "Mozilla/5.0 (Mobile; rv:78.0) Gecko/78.0 Firefox/78.0", "", "", "", "phone",
     {"Aurora OS", "Sailfish OS"}},
    {"gecko78_devicetype_android_not_spoofing", "Mozilla/5.0 (Mobile; rv:78.0) Gecko/78.0 Firefox/78.0",
     "Android", "Android", "", "phone", {}},
    {"sailfish3_names_itself",
     "Mozilla/5.0 (Linux; U; Sailfish 3.0; Mobile; rv:45.0) Gecko/45.0 Firefox/45.0 SailfishBrowser/1.0", "",
     "Sailfish OS", "3.0", "phone", {}},
    {"aurora_names_itself", "Mozilla/5.0 (Linux; Aurora OS 4.0.2; Mobile) AppleWebKit/537.36 Chrome/89.0 Mobile",
     "", "Aurora OS", "4.0.2", "phone", {}},
    {"kaios", "Mozilla/5.0 (Mobile; Nokia_8110_4G; rv:48.0) Gecko/48.0 Firefox/48.0 KAIOS/2.5", "", "KaiOS", "2.5",
     "phone", {}},
    // CFNetwork / Darwin.
    {"cfnetwork_ios16", "MyApp/1.2 CFNetwork/1404.0.5 Darwin/22.3.0", "", "iOS", "16.3", "phone", {}},
    {"cfnetwork_ios17_newer_than_uap", "MyApp/1.2 CFNetwork/1490.0.4 Darwin/23.2.0", "", "iOS", "17.2", "*", {}},
    {"cfnetwork_ios26", "MyApp/1.2 CFNetwork/3826.500.61 Darwin/25.0.0", "", "iOS", "26.0", "*", {}},
    {"cfnetwork_x86_64_is_mac", "MyApp/1.2 CFNetwork/1410.0.3 Darwin/22.4.0 (x86_64)", "", "macOS", "13", "desktop",
     {}},
    {"cfnetwork_arm64_is_mac", "MyApp/1.2 CFNetwork/1494.0.7 Darwin/23.4.0 (arm64)", "", "macOS", "14", "desktop",
     {}},
    // iPad presenting a desktop Safari string.
    {"ipad_desktop_safari",
     "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.3 "
     "Safari/605.1.15",
     "", "macOS", "10.15.7", "desktop", {"iPadOS"}},
    {"mac_chrome_no_ambiguity",
     "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
     "Safari/537.36",
     "", "macOS", "*", "desktop", {}},
    {"ipad_chrome_desktop_mode",
     "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120 "
     "Version/17.0 Safari/605.1.15",
     "", "iPadOS", "*", "tablet", {}},
    {"ipad_ios13_is_ipados",
     "Mozilla/5.0 (iPad; CPU OS 13_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0.3 "
     "Mobile/15E148 Safari/604.1",
     "", "iPadOS", "13.2", "tablet", {}},
    {"ipad_ios12_stays_ios",
     "Mozilla/5.0 (iPad; CPU OS 12_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1.2 "
     "Mobile/15E148 Safari/604.1",
     "", "iOS", "12.4", "tablet", {}},
    // Frozen OS token: iOS 26 Safari says iPhone OS 18_6 but Version/26.0.
    {"frozen_safari_token",
     "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/26.0 Mobile/15E148 Safari/604.1",
     "", "iOS", "26.0", "phone", {}},
    // IIS writes spaces as '+'.
    {"iis_plus_for_spaces",
     "Mozilla/5.0+(iPhone;+CPU+iPhone+OS+16_3+like+Mac+OS+X)+AppleWebKit/605.1.15+(KHTML,+like+Gecko)+"
     "Version/16.3+Mobile/15E148+Safari/604.1",
     "", "iOS", "16.3", "phone", {}},
    // Plain platforms.
    {"android_phone",
     "Mozilla/5.0 (Linux; Android 13; SM-G991B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 Mobile "
     "Safari/537.36",
     "", "Android", "13", "phone", {}},
    {"android_tablet_no_mobile",
     "Mozilla/5.0 (Linux; Android 12; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 "
     "Safari/537.36",
     "", "Android", "12", "tablet", {}},
    {"windows_desktop",
     "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
     "Safari/537.36",
     "", "Windows", "*", "desktop", {}},
    {"chromeos", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120 Safari/537.36",
     "", "ChromeOS", "*", "desktop", {}},
    {"googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "", "", "", "bot", {}},
    {"empty", "", "", "", "", "other", {}},
};

class Traps : public ::testing::TestWithParam<Case> {};

TEST_P(Traps, Classifies) {
  const Case& tc = GetParam();
  ASSERT_TRUE(classifier());
  ActiveSyncHints h;
  h.device_type = tc.device_type_hint;
  auto c = classifier()->classify(tc.ua, h);
  EXPECT_EQ(c.os_family, tc.family) << tc.ua << " raw " << c.raw_os_family;
  if (std::string(tc.version) != "*") {
    EXPECT_EQ(c.os_version, tc.version) << tc.ua;
  }
  if (std::string(tc.type) != "*") {
    EXPECT_EQ(c.type, tc.type) << tc.ua;
  }
  EXPECT_EQ(c.may_be, tc.may_be) << tc.ua;
  EXPECT_EQ(c.spoofing_suspected, tc.spoofing) << tc.ua;
  // The cache returns the same answer.
  EXPECT_EQ(classifier()->classify(tc.ua, h), c);
}

INSTANTIATE_TEST_SUITE_P(Issue5, Traps, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Classifier, ActiveSyncIphoneVendorModel) {
  auto c = classifier()->classify("Apple-iPhone14C5/2004.67");
  EXPECT_EQ(c.vendor, "Apple");
  EXPECT_EQ(c.model, "iPhone14,5");
  EXPECT_EQ(c.client, "Apple Mail (ActiveSync)");
}

TEST(Classifier, DoneWhenVendorModel) {
  auto c = classifier()->classify(
      "Mozilla/5.0 (iPhone; CPU iPhone OS 16_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
      "Version/16.3 Mobile/15E148 Safari/604.1");
  EXPECT_EQ(c.vendor, "Apple");
  EXPECT_EQ(c.model, "iPhone");
  EXPECT_EQ(c.client, "Mobile Safari");
  EXPECT_EQ(c.client_version, "16.3");
}

struct BuildCase {
  const char* in;
  const char* want;
};

TEST(AppleBuilds, ActiveSyncBuildToVersion) {
  const BuildCase cases[] = {
      {"2004.67", "16.3"},  // letter rule only; the exact 16.3.1 comes from rules.yaml
      {"1602.77", "12"},    {"2101.329", "17.0"}, {"2207.86", "18.6"}, {"2301.341", "26.0"},
      {"", ""},             {"abc", ""},          {"2000.1", ""},      {"20x4.67", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(ios_version_from_activesync_build(c.in), c.want) << c.in;
}

TEST(AppleBuilds, DarwinToVersion) {
  const struct {
    const char* in;
    bool mac;
    const char* want;
  } cases[] = {
      {"22.3.0", false, "16.3"}, {"21.6.0", false, "15"}, {"24.1.0", false, "18.1"}, {"25.0.0", false, "26.0"},
      {"22.4.0", true, "13"},    {"19.6.0", true, "10.15"}, {"25.1.0", true, "26"},  {"", false, ""},
  };
  for (const auto& c : cases) EXPECT_EQ(ios_version_from_darwin(c.in, c.mac), c.want) << c.in;
}

TEST(Classifier, ThreadSafe) {
  auto c = classifier();
  std::vector<std::thread> ts;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        std::string ua = "MyApp/" + std::to_string(i % 37) + " CFNetwork/1404.0.5 Darwin/22.3.0";
        if (c->classify(ua).os_family != "iOS") ++bad;
        (void)t;
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(bad.load(), 0);
}

// ---- the parsed-rules cache (load_rule_set) -------------------------------------------

// A private cache directory and copies of the real rule files, removed at the end.
struct RulesCacheDir {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("fw-rules-cache-test-" + std::to_string(::getpid()) + "-" +
                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::string own = (dir / "rules.yaml").string(), uap = (dir / "regexes.yaml").string();
  std::string cache = (dir / "cache").string();
  RulesCacheDir() {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::filesystem::copy_file(find_own_rules(), own);
    std::filesystem::copy_file(find_uap_regexes(), uap);
  }
  ~RulesCacheDir() { std::filesystem::remove_all(dir); }
  std::vector<std::filesystem::path> cache_files() const {
    std::vector<std::filesystem::path> out;
    for (const auto& e : std::filesystem::directory_iterator(cache)) out.push_back(e.path());
    return out;
  }
  RuleSet parsed() const {  // without any cache
    RuleSet set;
    EXPECT_TRUE(load_rules_file(own, true, set));
    EXPECT_TRUE(load_rules_file(uap, false, set));
    order_rules(set);
    return set;
  }
};

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void write_all(const std::filesystem::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TEST(RulesCache, SecondLoadReadsTheCacheAndGetsTheSameRules) {
  RulesCacheDir d;
  const RuleSet want = d.parsed();
  ASSERT_GT(want.rules.size(), 1100u);
  ASSERT_FALSE(want.ios_builds.empty());
  for (bool expect_cached : {false, true, true}) {
    RuleSet got;
    bool cached = !expect_cached;
    ASSERT_TRUE(load_rule_set(d.own, d.uap, d.cache, got, &cached));
    EXPECT_EQ(cached, expect_cached);
    EXPECT_TRUE(got == want);
  }
  EXPECT_EQ(d.cache_files().size(), 1u);
}

// The caches are trusted as they are read (checksummed, not authenticated), so only a
// directory of this user's that nobody else may write to is used: a missing one is made
// 0700, one that group or others may write to (a shared /tmp directory, say) means no cache.
TEST(RulesCache, OnlyADirectoryNobodyElseMayWriteToHoldsTheCaches) {
  const auto base = std::filesystem::temp_directory_path() / ("fw-cache-dir-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(base);
  const char* before = std::getenv("FW_DETECT_CACHE_DIR");
  const std::string saved = before ? before : "";
  auto dir_for = [](const std::filesystem::path& p) {
    ::setenv("FW_DETECT_CACHE_DIR", p.c_str(), 1);
    return detect_cache_dir();
  };
  const auto fresh = base / "a" / "fleetward";
  EXPECT_EQ(dir_for(fresh), fresh.string());
  EXPECT_EQ(std::filesystem::status(fresh).permissions() & std::filesystem::perms::all, std::filesystem::perms::owner_all);
  std::filesystem::permissions(fresh, std::filesystem::perms::all);  // 0777
  EXPECT_EQ(dir_for(fresh), "");
  std::filesystem::permissions(fresh, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                          std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                                          std::filesystem::perms::others_exec);  // 0755
  EXPECT_EQ(dir_for(fresh), fresh.string());
  std::filesystem::create_directory_symlink(fresh, base / "link");
  EXPECT_EQ(dir_for(base / "link"), "");  // a link placed there is not followed
  std::ofstream(base / "file") << "x";
  EXPECT_EQ(dir_for(base / "file"), "");
  EXPECT_EQ(dir_for(""), "");  // disabled
  if (before) {
    ::setenv("FW_DETECT_CACHE_DIR", saved.c_str(), 1);
  } else {
    ::unsetenv("FW_DETECT_CACHE_DIR");
  }
  std::filesystem::remove_all(base);
}

TEST(RulesCache, NoDirectoryMeansNoCache) {
  RulesCacheDir d;
  RuleSet got;
  bool cached = true;
  ASSERT_TRUE(load_rule_set(d.own, d.uap, "", got, &cached));
  EXPECT_FALSE(cached);
  EXPECT_TRUE(got == d.parsed());
  EXPECT_FALSE(std::filesystem::exists(d.cache));
}

// A changed rules file is a new key: the old cache is not read, and is replaced.
TEST(RulesCache, StaleWhenARulesFileChanges) {
  RulesCacheDir d;
  RuleSet first;
  ASSERT_TRUE(load_rule_set(d.own, d.uap, d.cache, first));
  auto old_file = d.cache_files().at(0);
  {
    std::ofstream out(d.own, std::ios::app);
    out << "\n# a comment changes the key too\n";
  }
  {
    RuleSet probe;
    bool cached = true;
    ASSERT_TRUE(load_rule_set(d.own, d.uap, d.cache, probe, &cached));
    EXPECT_FALSE(cached);
    auto files = d.cache_files();
    ASSERT_EQ(files.size(), 2u);  // the old one is kept (another build may use it)
    auto fresh = files[0] == old_file ? files[1] : files[0];
    // A file under the new key's name with another key inside is stale too.
    auto bytes = read_all(fresh);
    write_all(fresh, encode_rule_set(first, 12345));
    RuleSet again;
    ASSERT_TRUE(load_rule_set(d.own, d.uap, d.cache, again, &cached));
    EXPECT_FALSE(cached);
    EXPECT_EQ(read_all(fresh), bytes);  // written again
  }
  // A rule added to the file is seen.
  {
    std::ofstream out(d.own, std::ios::app);
    out << "\n";
  }
  std::string text = read_all(d.own);
  auto at = text.find("user_agent_parsers:\n");
  ASSERT_NE(at, std::string::npos);
  text.insert(at + 20, "  - regex: '(ZqStaleTest)/(\\d+)'\n");
  write_all(d.own, text);
  RuleSet changed;
  bool cached = true;
  ASSERT_TRUE(load_rule_set(d.own, d.uap, d.cache, changed, &cached));
  EXPECT_FALSE(cached);
  EXPECT_EQ(changed.rules.size(), first.rules.size() + 1);
  EXPECT_TRUE(std::any_of(changed.rules.begin(), changed.rules.end(),
                          [](const Rule& r) { return r.regex == "(ZqStaleTest)/(\\d+)"; }));
  EXPECT_TRUE(changed == d.parsed());
}

// Caches of other builds (or rule files) are kept, up to 8: the least recently written go.
TEST(RulesCache, AtMostEightCacheFilesAreKept) {
  RulesCacheDir d;
  std::filesystem::create_directories(d.cache);
  auto t = std::filesystem::file_time_type::clock::now() - std::chrono::hours(100);
  for (int i = 0; i < 10; ++i) {
    auto p = std::filesystem::path(d.cache) / ("detect-rules-old" + std::to_string(i) + ".bin");
    write_all(p, "x");
    std::filesystem::last_write_time(p, t + std::chrono::hours(i));  // old0 is the oldest
  }
  write_all(std::filesystem::path(d.cache) / "detect-0123.hsdb", "kept");  // not a rules cache
  RuleSet got;
  ASSERT_TRUE(load_rule_set(d.own, d.uap, d.cache, got));
  auto files = d.cache_files();
  EXPECT_EQ(files.size(), 9u);  // 8 rules caches (the new one and old3..old9) and the hsdb
  for (int i = 0; i < 3; ++i)
    EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(d.cache) / ("detect-rules-old" + std::to_string(i) + ".bin")));
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(d.cache) / "detect-rules-old3.bin"));
  bool cached = false;
  ASSERT_TRUE(load_rule_set(d.own, d.uap, d.cache, got, &cached));
  EXPECT_TRUE(cached);
}

// Truncated, corrupt or foreign cache files are parsed again from the YAML and rewritten.
TEST(RulesCache, TruncatedOrCorruptFilesAreRebuilt) {
  RulesCacheDir d;
  const RuleSet want = d.parsed();
  RuleSet first;
  ASSERT_TRUE(load_rule_set(d.own, d.uap, d.cache, first));
  const auto file = d.cache_files().at(0);
  const std::string good = read_all(file);
  struct Damage {
    const char* name;
    std::string bytes;
  };
  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x20;
  std::string last_byte = good;
  last_byte.back() ^= 1;
  std::vector<Damage> damages = {
      {"empty", ""},
      {"magic only", good.substr(0, 8)},
      {"half", good.substr(0, good.size() / 2)},
      {"one byte short", good.substr(0, good.size() - 1)},
      {"one byte more", good + "x"},
      {"byte flipped in a regex", flipped},
      {"checksum flipped", last_byte},
      {"text", "user_agent_parsers: []\n"},
  };
  for (const auto& dmg : damages) {
    SCOPED_TRACE(dmg.name);
    write_all(file, dmg.bytes);
    RuleSet got;
    bool cached = true;
    ASSERT_TRUE(load_rule_set(d.own, d.uap, d.cache, got, &cached));
    EXPECT_FALSE(cached);
    EXPECT_TRUE(got == want);
    EXPECT_EQ(read_all(file), good);  // rewritten
  }
}

// decode_rule_set over damaged bytes whose checksum is made right, so that the checks
// behind it are reached: every one fails cleanly, naming a byte offset.
TEST(RulesCache, DecodeRejectsDamageBehindAValidChecksum) {
  RuleSet set;
  set.rules.push_back(Rule{.kind = RuleKind::ua, .regex = "(Zq)/(\\d+)", .own = true, .may_be = {"iOS"},
                           .device_type = "phone", .transform = "apple_build", .where = "own.yaml:2:5"});
  set.rules.back().repl[0] = "Zq $1";
  set.rules.push_back(Rule{.kind = RuleKind::os, .regex = "(Zq) OS", .caseless = true, .where = "uap.yaml:9:3"});
  set.ios_builds = {{"20D67", "16.3.1"}, {"21A329", "17.0"}};
  const std::string good = encode_rule_set(set, 77);
  {
    RuleSet back;
    ASSERT_TRUE(decode_rule_set(good, 77, back));
    EXPECT_TRUE(back == set);
    auto stale = decode_rule_set(good, 78, back);
    ASSERT_FALSE(stale);
    EXPECT_NE(stale.error().message.find("stale"), std::string::npos);
  }
  auto resealed = [](std::string b) {  // the checksum made right for the damaged bytes
    if (b.size() < 8) return b;
    uint64_t sum = fnv1a64(std::string_view(b).substr(0, b.size() - 8));
    for (int i = 0; i < 8; ++i) b[b.size() - 8 + static_cast<size_t>(i)] = static_cast<char>(sum >> (8 * i));
    return b;
  };
  // Every truncation, resealed.
  for (size_t n = 0; n + 1 < good.size(); ++n) {
    RuleSet back;
    auto r = decode_rule_set(resealed(good.substr(0, n)), 77, back);
    ASSERT_FALSE(r) << n;
    EXPECT_NE(r.error().message.find("at byte"), std::string::npos) << r.error().message;
  }
  // Every single byte changed, resealed: a clean error or (where the byte is free text) a
  // rule set that differs; never a crash.
  for (size_t i = 0; i + 8 < good.size(); ++i) {
    for (unsigned char x : {0x01u, 0x80u, 0xffu}) {
      std::string b = good;
      b[i] = static_cast<char>(static_cast<unsigned char>(b[i]) ^ x);
      RuleSet back;
      if (decode_rule_set(resealed(b), 77, back)) {
        EXPECT_FALSE(back == set) << i;
      }
    }
  }
  // Specific damage behind a valid checksum.
  const size_t first_rule = 8 + 4 + 8 + 4;
  struct Case {
    const char* name;
    size_t at;
    char byte;
    const char* message;
  };
  const Case cases[] = {
      {"kind 7", first_rule, 7, "bad kind or flags"},
      {"unknown flag", first_rule + 1, static_cast<char>(0x80), "bad kind or flags"},
      {"huge rule count", first_rule - 1, 0x7f, "more than the limit"},
      {"huge string", first_rule + 5, 0x7f, "more than"},
  };
  for (const auto& c : cases) {
    std::string b = good;
    b[c.at] = c.byte;
    RuleSet back;
    auto r = decode_rule_set(resealed(b), 77, back);
    ASSERT_FALSE(r) << c.name;
    EXPECT_NE(r.error().message.find(c.message), std::string::npos) << c.name << ": " << r.error().message;
  }
  // A uap-core rule with our extensions, and rules out of order_rules' order, are refused.
  for (int variant = 0; variant < 2; ++variant) {
    RuleSet bad = set;
    if (variant == 0) bad.rules[1].device_type = "phone";
    else std::swap(bad.rules[0], bad.rules[1]);
    RuleSet back;
    auto r = decode_rule_set(encode_rule_set(bad, 77), 77, back);
    ASSERT_FALSE(r) << variant;
    EXPECT_NE(r.error().message.find("not a rule"), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace fw::detect
