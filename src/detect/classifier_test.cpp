// Tests of the classifier: one table row per trap of this field (issue 5) and per bug.
// Uses the real rules (uap-core 0.18.0 + data/detect/rules.yaml).
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "detect/detect.h"

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

}  // namespace
}  // namespace fw::detect
