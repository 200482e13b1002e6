// The done-when of issue 5, end to end with the real executable: `fleetward demo` builds the
// organisation; `fleetward discover` reads a mixed nginx combined log and an IIS W3C Exchange
// log (and a gzip copy); `fleetward report --campaign replace-ios --format json` then reports
// every iPhone user as non-compliant with an unmanaged iOS device (source log), not the
// Android, HarmonyOS or desktop users; an Outlook-only user (may be iOS) is reported until
// `fleetward import-exchange` resolves the ActiveSync id. Unknown users are reported by
// discover. People are picked from the demo database through the store. Single-threaded.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <map>
#include <set>

#include "service/evaluate.h"
#include "store/store.h"
#include "support/run_cli.h"
#include "support/store_queries.h"
#include "support/test_dir.h"

namespace fw {
namespace {

namespace json = boost::json;
using testing::run_cli;
using testing::shell_quote;

// The demo's "today" (clock.now) and a day after the replace-ios deadline (31 March) plus
// its 14-day grace for devices first failing on the demo's today.
constexpr const char* kDemoNow = "2023-03-01T06:00:00Z";
constexpr const char* kAfterDeadline = "2023-04-20T09:00:00Z";

class DiscoverEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.create("fw-discover-e2e");
    db_ = dir_.file("data/fleetward.db");
  }

  // Sets the organisation's clock (the `clock.now` setting the demo uses).
  void set_now(const char* when) {
    auto st = testing::write_db(db_, [&](store::Tx& tx) { return tx.put_setting("clock.now", when); });
    ASSERT_TRUE(st) << st.error().to_string();
  }

  // person id -> device descriptions ("iPhone14,5 (iOS 16.3.1)") of the report's overdue rows,
  // after the deadline: time passes and the periodic full evaluation (what `serve` runs)
  // refreshes the report's aggregates; then the clock goes back for the next step.
  std::map<std::string, std::vector<std::string>> overdue() {
    set_now(kAfterDeadline);
    {
      auto s = store::Store::open(db_);
      EXPECT_TRUE(s);
      SystemClock clock;  // policy_now() reads the clock.now setting
      auto ev = service::evaluate_all(**s, clock);
      EXPECT_TRUE(ev) << ev.error().to_string();
    }
    auto r = run_cli("report --db " + shell_quote(db_) + " --campaign replace-ios --format json");
    set_now(kDemoNow);
    EXPECT_EQ(r.code, 0) << r.out;
    std::map<std::string, std::vector<std::string>> out;
    json::value v;
    try {
      v = json::parse(r.out);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "report is not JSON: " << e.what() << "\n" << r.out.substr(0, 2000);
      return out;
    }
    for (const auto& row : v.at("overdue").as_array()) {
      auto& devs = out[std::string(row.at("person_id").as_string())];
      for (const auto& d : row.at("devices").as_array()) devs.emplace_back(d.as_string());
    }
    return out;
  }

  // The log devices of a person that the demo did not create (the demo has log devices too).
  std::vector<model::Device> log_devices(const std::string& person_id) {
    std::vector<model::Device> out;
    EXPECT_TRUE(testing::read_db(db_, [&](store::Tx& tx) -> Status {
      store::DeviceFilter f;
      f.owner_id = person_id;
      f.source = model::DeviceSource::log;
      return tx.scan_devices(f, [&](const model::Device& d) -> Status {
        if (!demo_devices_.contains(d.id)) out.push_back(d);
        return {};
      });
    }));
    return out;
  }

  testing::TestDir dir_;
  std::set<std::string> demo_devices_;
  std::string db_;
};

TEST_F(DiscoverEndToEnd, IphoneUsersAreReportedAndOutlookIsResolvedByExchange) {
  auto demo =
      run_cli("demo --devices 300 --no-serve --log-level warn --data-dir " + shell_quote(dir_.file("data")));
  ASSERT_EQ(demo.code, 0) << demo.out;

  // People of the mandatory scope (/administration) that the campaign does not yet fail or
  // exempt: they are compliant before the logs are read.
  std::vector<model::Person> clean;
  {
    ASSERT_TRUE(testing::read_db(db_, [&](store::Tx& tx) -> Status {
      std::set<std::string> failing, exempt;
      store::FindingFilter ff;
      ff.policy_id = "replace-ios";
      ff.status = store::FindingStatus::fail;
      FW_TRY_STATUS(tx.scan_findings(ff, [&](const store::Finding& f) -> Status {
        failing.insert(f.person_id);
        return {};
      }));
      FW_TRY_STATUS(tx.scan_devices({}, [&](const model::Device& d) -> Status {
        demo_devices_.insert(d.id);
        return {};
      }));
      FW_TRY(auto exs, tx.list_exemptions("replace-ios"));
      for (const auto& e : exs) exempt.insert(e.person_id);
      store::PersonFilter pf;
      pf.subtree = "/administration";
      store::PageRequest page;
      page.limit = 1000;
      FW_TRY(auto people, tx.list_people(pf, page));
      for (auto& p : people.items)
        if (!p.login.empty() && !failing.contains(p.id) && !exempt.contains(p.id))
          clean.push_back(std::move(p));
      // The Exchange-only user is found by display name: put one whose name nobody shares at 8.
      for (size_t i = 8; i < clean.size(); ++i) {
        store::PersonFilter byname;
        byname.search = clean[i].name;
        FW_TRY(auto same, tx.list_people(byname, page));
        size_t n = 0;
        for (const auto& q : same.items) n += q.name == clean[i].name;
        if (n == 1) {
          std::swap(clean[8], clean[i]);
          break;
        }
      }
      return {};
    }));
  }
  ASSERT_GE(clean.size(), 9u) << "the demo has too few compliant people in /administration";
  const auto& safari = clean[0];     // Safari on iPhone through the intranet (nginx)
  const auto& native = clean[1];     // iPhone native mail over ActiveSync (IIS)
  const auto& owa = clean[2];        // Safari on iPhone through OWA (IIS, '+' for spaces)
  const auto& android = clean[3];    // Chrome on Android (nginx) and Android native mail (IIS)
  const auto& harmony = clean[4];    // HarmonyOS browser (nginx)
  const auto& desktop = clean[5];    // Windows desktop (nginx)
  const auto& outlook_ios = clean[6];      // Outlook mobile only; Exchange says iOS
  const auto& outlook_android = clean[7];  // Outlook mobile only; Exchange says Android
  const auto& exchange_only = clean[8];    // an iPhone only Exchange's export knows
  std::set<std::string> iphone_users = {safari.id, native.id, owa.id};
  std::set<std::string> approved = {android.id, harmony.id, desktop.id, exchange_only.id};
  // Outlook mobile may be an iPhone: the campaign reports it until Exchange's export tells.
  std::set<std::string> suspects = {outlook_ios.id, outlook_android.id};

  auto nginx_line = [](const std::string& user, const std::string& ua, int sec) {
    char t[64];
    std::snprintf(t, sizeof t, "[01/Mar/2023:08:%02d:%02d +0300]", sec / 60, sec % 60);
    return "10.0.0." + std::to_string(sec % 250) + " - " + user + " " + t + " \"GET /portal/ HTTP/1.1\" 200 512 \"-\" \"" +
           ua + "\"\n";
  };
  const std::string iphone_ua =
      "Mozilla/5.0 (iPhone; CPU iPhone OS 16_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.3 "
      "Mobile/15E148 Safari/604.1";
  std::string nginx;
  nginx += nginx_line(safari.login, iphone_ua, 1);
  nginx += nginx_line(safari.email, iphone_ua, 2);  // e-mail form, same person, same device
  nginx += nginx_line(android.login,
                      "Mozilla/5.0 (Linux; Android 13; SM-G991B) AppleWebKit/537.36 (KHTML, like Gecko) "
                      "Chrome/116.0.0.0 Mobile Safari/537.36",
                      3);
  nginx += nginx_line(harmony.login,
                      "Mozilla/5.0 (Linux; Android 10; HarmonyOS; NOH-AN00; HMSCore 6.11.0.302) AppleWebKit/537.36 "
                      "(KHTML, like Gecko) Chrome/99.0.4844.88 HuaweiBrowser/14.0.2.300 Mobile Safari/537.36",
                      4);
  nginx += nginx_line(desktop.login,
                      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                      "Chrome/116.0.0.0 Safari/537.36",
                      5);
  nginx += nginx_line("stranger", iphone_ua, 6);  // nobody in the organisation
  nginx += "this line is not a log line\n";
  const std::string access = dir_.write("access.log", nginx);

  std::string iis =
      "#Software: Microsoft Internet Information Services 10.0\n"
      "#Version: 1.0\n"
      "#Date: 2023-03-01 06:00:00\n"
      "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) "
      "cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n";
  auto eas = [&](const std::string& login, const std::string& query, const std::string& ua, int sec) {
    char t[32];
    std::snprintf(t, sizeof t, "2023-03-01 06:%02d:%02d", sec / 60, sec % 60);
    return std::string(t) + " 10.0.0.1 POST /Microsoft-Server-ActiveSync/default.eas " + query + " 443 CORP\\" +
           login + " 192.168.1." + std::to_string(sec % 250) + " " + ua + " - 200 0 0 31\n";
  };
  iis += eas(native.login, "Cmd=Sync&User=" + native.login + "&DeviceId=ApplNATIVE01&DeviceType=iPhone",
             "Apple-iPhone14C5/2004.67", 10);
  iis += eas(outlook_ios.login, "Cmd=Sync&User=" + outlook_ios.login + "&DeviceId=OUTLOOKIOS01&DeviceType=Outlook",
             "Outlook-iOS-Android/1.0", 11);
  iis += eas(outlook_android.login,
             "Cmd=Sync&User=" + outlook_android.login + "&DeviceId=OUTLOOKAND01&DeviceType=Outlook",
             "Outlook-iOS-Android/1.0", 12);
  iis += eas(android.login, "Cmd=Ping&User=" + android.login + "&DeviceId=SEC1A2B3C4D&DeviceType=SAMSUNGSMG991B",
             "Android-Mail/2023.01.01", 13);
  iis += "2023-03-01 06:00:14 10.0.0.1 GET /owa/ - 443 CORP\\" + owa.login +
         " 192.168.1.30 Mozilla/5.0+(iPhone;+CPU+iPhone+OS+16_2+like+Mac+OS+X)+AppleWebKit/605.1.15+(KHTML,+like+"
         "Gecko)+Version/16.2+Mobile/15E148+Safari/604.1 - 200 0 0 15\n";
  const std::string exchange = dir_.write("exchange.log", iis);

  std::string db = testing::db_flag(db_) + " --no-progress --lang en --strip-domain gov.example ";
  auto d1 = run_cli("discover" + db + shell_quote(access));
  ASSERT_EQ(d1.code, 0) << d1.out;
  EXPECT_NE(d1.out.find("unattributed users (1): stranger"), std::string::npos) << d1.out;
  EXPECT_NE(d1.out.find("unparsed 1"), std::string::npos) << d1.out;
  EXPECT_NE(d1.out.find("access.log:7"), std::string::npos) << d1.out;
  auto d2 = run_cli("discover --format auto" + db + shell_quote(exchange));
  ASSERT_EQ(d2.code, 0) << d2.out;
  // A gzip copy of the nginx log: the same clients, so nothing new.
  ASSERT_EQ(std::system(
                ("gzip -c " + shell_quote(access) + " > " + shell_quote(dir_.file("access.log.gz"))).c_str()),
            0);
  auto d3 = run_cli("discover" + db + shell_quote(dir_.file("access.log.gz")));
  ASSERT_EQ(d3.code, 0) << d3.out;
  EXPECT_NE(d3.out.find("inventory: 0 devices created, 5 updated"), std::string::npos) << d3.out;

  // Every iPhone user: an unmanaged iOS device from the logs.
  for (const auto* p : {&safari, &native, &owa}) {
    auto devs = log_devices(p->id);
    ASSERT_EQ(devs.size(), 1u) << p->login;
    EXPECT_EQ(devs[0].os_family, "iOS") << p->login;
    EXPECT_FALSE(devs[0].managed) << p->login;
  }
  EXPECT_EQ(log_devices(harmony.id).at(0).os_family, "HarmonyOS");
  ASSERT_EQ(log_devices(android.id).size(), 2u);  // Chrome and native mail: two clients
  auto unknown = log_devices(outlook_ios.id);
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_EQ(unknown[0].os_family, "Other");
  EXPECT_EQ(unknown[0].may_be, (std::vector<std::string>{"iOS", "Android"}));

  auto r1 = overdue();
  for (const auto& id : iphone_users) {
    ASSERT_TRUE(r1.contains(id)) << "iPhone user " << id << " missing from the report";
    bool ios = false;
    for (const auto& d : r1[id]) ios = ios || d.find("(iOS") != std::string::npos;
    EXPECT_TRUE(ios) << id;
  }
  for (const auto& id : approved) EXPECT_FALSE(r1.contains(id)) << id << " reported before the Exchange import";
  for (const auto& id : suspects) EXPECT_TRUE(r1.contains(id)) << id << " (Outlook, may be iOS) passed unresolved";

  // Exchange's export resolves the two Outlook clients and adds an iPhone the logs never saw.
  std::string csv =
      "\xEF\xBB\xBF#TYPE Microsoft.Exchange.Data.Directory.Management.MobileDevice\r\n"
      "\"FriendlyName\",\"DeviceId\",\"DeviceOS\",\"DeviceType\",\"DeviceUserAgent\",\"DeviceModel\","
      "\"UserDisplayName\",\"Identity\"\r\n";
  auto row = [](const std::string& id, const std::string& os, const std::string& type, const std::string& ua,
                const std::string& model, const model::Person& p) {
    return "\"\",\"" + id + "\",\"" + os + "\",\"" + type + "\",\"" + ua + "\",\"" + model + "\",\"gov.example/Users/" +
           p.name + "\",\"gov.example/Users/" + p.name + "/ExchangeActiveSyncDevices/" + type + "\xC2\xA7" + id +
           "\"\r\n";
  };
  csv += row("OUTLOOKIOS01", "iOS 16.2 20C65", "Outlook", "Outlook-iOS-Android/1.0", "Outlook for iOS and Android",
             outlook_ios);
  csv += row("OUTLOOKAND01", "Android 13.0.0", "Outlook", "Outlook-iOS-Android/1.0", "Outlook for iOS and Android",
             outlook_android);
  csv += row("ApplEXONLY01", "iOS 15.7.3 19H307", "iPhone", "Apple-iPhone13C2/1907.307", "iPhone13,2", exchange_only);
  csv += "\"\",\"bad id\",\"iOS 16\",\"iPhone\",\"\",\"\",\"x\",\"y\"\r\n";  // line 6: rejected, the rest kept
  auto imp = run_cli("import-exchange" + testing::db_flag(db_) + " --strip-domain gov.example " +
                     shell_quote(dir_.write("mobile-devices.csv", csv)));
  EXPECT_EQ(imp.code, 1) << imp.out;  // one bad row
  EXPECT_NE(imp.out.find("mobile-devices.csv:6: DeviceId: not an ActiveSync device id"), std::string::npos) << imp.out;
  EXPECT_NE(imp.out.find("3 rows imported, 1 rejected; 2 devices resolved, 1 created"), std::string::npos) << imp.out;

  auto r2 = overdue();
  for (const auto& id : iphone_users) EXPECT_TRUE(r2.contains(id)) << id;
  ASSERT_TRUE(r2.contains(outlook_ios.id)) << "Outlook on iOS not reported after the Exchange import";
  EXPECT_NE(r2[outlook_ios.id].at(0).find("(iOS 16.2)"), std::string::npos) << r2[outlook_ios.id].at(0);
  ASSERT_TRUE(r2.contains(exchange_only.id));
  EXPECT_NE(r2[exchange_only.id].at(0).find("iPhone13,2 (iOS 15.7.3)"), std::string::npos);
  for (const auto* p : {&android, &harmony, &desktop, &outlook_android}) EXPECT_FALSE(r2.contains(p->id)) << p->login;
  auto resolved = log_devices(outlook_android.id);
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0].os_family, "Android");
  EXPECT_TRUE(resolved[0].may_be.empty());

  // A later discover of the same Exchange log keeps the resolution and adds no device.
  auto d4 = run_cli("discover" + db + shell_quote(exchange));
  ASSERT_EQ(d4.code, 0) << d4.out;
  EXPECT_NE(d4.out.find("inventory: 0 devices created"), std::string::npos) << d4.out;
  EXPECT_NE(d4.out.find("2 resolved by the Exchange export"), std::string::npos) << d4.out;
  EXPECT_EQ(log_devices(outlook_ios.id).at(0).os_family, "iOS");
}

// A named pipe whose writer has finished by the time the classifier is loaded: discover
// reads it to its end and exits (the classifier's warm-up once opened it again, blocking
// forever with no writer left). `timeout` turns a hang into a failure.
TEST_F(DiscoverEndToEnd, ANamedPipeIsReadToItsEndAndDiscoverExits) {
  const auto log = dir_.write("small.log",
                              "10.0.0.1 - ivanov [01/Mar/2023:08:00:01 +0300] \"GET / HTTP/1.1\" 200 5 \"-\" "
                              "\"Mozilla/5.0 (iPhone; CPU iPhone OS 16_3 like Mac OS X) AppleWebKit/605.1.15\"\n"
                              "10.0.0.2 - petrov [01/Mar/2023:08:00:02 +0300] \"GET / HTTP/1.1\" 200 5 \"-\" "
                              "\"Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 Chrome/116.0 Mobile\"\n");
  const auto fifo = dir_.file("pipe.log");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string script = "cat " + shell_quote(log) + " 2>/dev/null >" + shell_quote(fifo) + " & w=$!; timeout 60 " +
                             shell_quote(FW_CLI_BIN) + " discover --dry-run --no-progress --lang en " +
                             shell_quote(fifo) + "; status=$?; kill $w 2>/dev/null; exit $status";
  auto r = testing::run_program("sh", "-c " + shell_quote(script));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("lines 2, requests 2, unparsed 0, sightings 2"), std::string::npos) << r.out;
}

// On a terminal (script(1) gives discover one) a progress bar is drawn on standard error:
// for files, the share done, megabytes, lines/s and time left; for standard input, whose
// size is unknown, the lines read and lines/s. --no-progress and a non-terminal: none.
TEST_F(DiscoverEndToEnd, ProgressOnATerminal) {
  std::string log;
  for (int i = 0; i < 2000; ++i)
    log += "10.0.0.1 - ivanov [01/Mar/2023:08:00:01 +0300] \"GET / HTTP/1.1\" 200 5 \"-\" \"Mozilla/5.0 (iPhone; CPU "
           "iPhone OS 16_3 like Mac OS X) AppleWebKit/605.1.15\"\n";
  const auto file = dir_.write("progress.log", log);
  const std::string cmd = shell_quote(FW_CLI_BIN) + " discover --dry-run --lang en ";
  auto on_tty = [&](const std::string& line) {
    return testing::run_program("script", "-qec " + shell_quote(line) + " /dev/null");
  };
  auto files = on_tty(cmd + shell_quote(file));
  ASSERT_EQ(files.code, 0) << files.out;
  EXPECT_NE(files.out.find("[##############################] 100.0%"), std::string::npos) << files.out;
  EXPECT_NE(files.out.find("lines/s ETA"), std::string::npos) << files.out;
  auto in = on_tty("cat " + shell_quote(file) + " | " + cmd + "-");
  ASSERT_EQ(in.code, 0) << in.out;
  EXPECT_NE(in.out.find("lines 2000 "), std::string::npos) << in.out;
  EXPECT_NE(in.out.find("lines/s"), std::string::npos) << in.out;
  EXPECT_EQ(in.out.find('%'), std::string::npos) << in.out;
  // A named pipe has no size either (a process substitution, <(zcat ...), is one).
  auto fifo = on_tty("bash -c " + shell_quote(cmd + "<(cat " + shell_quote(file) + ")"));
  ASSERT_EQ(fifo.code, 0) << fifo.out;
  EXPECT_NE(fifo.out.find("lines 2000 "), std::string::npos) << fifo.out;
  EXPECT_EQ(fifo.out.find('%'), std::string::npos) << fifo.out;
  auto off = on_tty(cmd + "--no-progress " + shell_quote(file));
  ASSERT_EQ(off.code, 0) << off.out;
  EXPECT_EQ(off.out.find("lines/s"), std::string::npos) << off.out;
  auto piped = run_cli("discover --dry-run --lang en " + shell_quote(file));
  EXPECT_EQ(piped.out.find("lines/s"), std::string::npos) << piped.out;
}

}  // namespace
}  // namespace fw
