// End-to-end: the `fleetward` executable's policy, report and campaign commands.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "support/run_cli.h"
#include "support/test_dir.h"

namespace {

using fw::testing::run_cli;
using fw::testing::shell_quote;

// The words of `text` that contain a Latin letter and are not in `allowed` (after trimming
// punctuation): what a Russian reader would meet untranslated.
std::set<std::string> latin_words(const std::string& text, const std::set<std::string>& allowed) {
  std::set<std::string> out;
  std::istringstream in(text);
  std::string w;
  while (in >> w) {
    while (!w.empty() && std::string("(),:;.").find(w.back()) != std::string::npos) w.pop_back();
    while (!w.empty() && std::string("(),:;.").find(w.front()) != std::string::npos) w.erase(0, 1);
    if (allowed.count(w)) continue;
    for (char c : w)
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        out.insert(w);
        break;
      }
  }
  return out;
}

// The values of "key":"..." in a JSON text.
std::set<std::string> json_values(const std::string& json, const std::string& key) {
  std::set<std::string> out;
  std::regex re("\"" + key + "\":\"([^\"]*)\"");
  for (std::sregex_iterator it(json.begin(), json.end(), re), end; it != end; ++it) out.insert((*it)[1]);
  return out;
}

class PolicyCli : public ::testing::Test {
 protected:
  void SetUp() override { dir_.create("fw-policy-cli"); }
  fw::testing::TestDir dir_;
};

TEST_F(PolicyCli, CheckPointsIntoTheYaml) {
  auto good = run_cli("policy check " + std::string(FW_SOURCE_DIR) + "/examples/replace-ios.yaml");
  EXPECT_EQ(good.code, 0) << good.out;
  EXPECT_NE(good.out.find("campaign replace-ios: 2 rules"), std::string::npos) << good.out;
  auto f = dir_.write("typo.yaml",
                      "kind: campaign\n"
                      "id: c\n"
                      "deadline: 2023-03-31T23:59:59+03:00\n"
                      "rules:\n"
                      "  - id: no-ios\n"
                      "    require: '!(device.os.famly in [\"iOS\"]) && devce.type == \"phone\"'\n"
                      "  - id: x\n"
                      "    severity: huge\n"
                      "    require: \"true\"\n");
  auto bad = run_cli("policy check " + f);
  EXPECT_EQ(bad.code, 1);
  // The undeclared variable `devce` at line 6, column 48; the bad severity at 8:15.
  EXPECT_NE(bad.out.find(f + ":6:48: CEL:"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find(f + ":8:15: severity"), std::string::npos) << bad.out;
}

TEST_F(PolicyCli, DemoReportAndActions) {
  auto data = dir_.file("demo");
  auto demo = run_cli("demo --devices 600 --data-dir " + data + " --no-serve");
  ASSERT_EQ(demo.code, 0) << demo.out;
  std::string db = fw::testing::db_flag(data + "/fleetward.db");
  auto table = run_cli("report --campaign replace-ios --format table --lang en" + db);
  ASSERT_EQ(table.code, 0) << table.out;
  EXPECT_NE(table.out.find("Центральный аппарат"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("Burn-down"), std::string::npos);
  EXPECT_NE(table.out.find("Projected completion: 2023-"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("As of the last evaluation: 2023-03-01 09:00"), std::string::npos) << table.out;
  auto ru = run_cli("report --format table" + db);
  EXPECT_NE(ru.out.find("По подразделениям"), std::string::npos);
  auto html = run_cli("report --campaign replace-ios --format html -o " + (dir_ / "r.html").string() + db);
  ASSERT_EQ(html.code, 0) << html.out;
  std::stringstream ss;
  ss << std::ifstream(dir_ / "r.html").rdbuf();
  EXPECT_NE(ss.str().find("<svg"), std::string::npos);
  auto json = run_cli("report --campaign replace-ios --format json" + db);
  EXPECT_NE(json.out.find("\"burndown\":[{\"date\":\"2023-02-01\""), std::string::npos) << json.out.substr(0, 400);
  auto csv = run_cli("report --campaign mobile-baseline --format csv" + db);
  EXPECT_EQ(csv.code, 0) << csv.out;
  auto actions = run_cli("campaign actions replace-ios --window 7d --lang en" + db);
  EXPECT_EQ(actions.code, 0) << actions.out;
  EXPECT_NE(actions.out.find("Non-compliant people:"), std::string::npos) << actions.out;
  // Every CSV is one table with one header row; the table is chosen with --table.
  auto overdue = run_cli("report --campaign replace-ios --format csv --table overdue --lang en" + db);
  ASSERT_EQ(overdue.code, 0) << overdue.out;
  EXPECT_EQ(overdue.out.rfind("Person,E-mail,Org unit,Manager,Device,Failing rules,Days overdue\r\n", 0), 0u)
      << overdue.out.substr(0, 300);
  EXPECT_EQ(overdue.out.find("\r\n\r\n"), std::string::npos);
  auto burndown = run_cli("report --campaign replace-ios --format csv --table burndown --bom" + db);
  ASSERT_EQ(burndown.code, 0) << burndown.out;
  EXPECT_EQ(burndown.out.rfind("\xEF\xBB\xBFДата,Сотрудники,Устройства\r\n2023-02-01,", 0), 0u)
      << burndown.out.substr(0, 300);
  auto units = run_cli("report --campaign replace-ios --format csv --lang en" + db);
  EXPECT_EQ(units.out.rfind("Org unit,Path,Level,", 0), 0u) << units.out.substr(0, 300);
  EXPECT_EQ(units.out.find("Rule,"), std::string::npos);
  auto policy_burndown = run_cli("report --campaign mobile-baseline --format csv --table burndown" + db);
  EXPECT_EQ(policy_burndown.code, 1);
  EXPECT_NE(policy_burndown.out.find("'mobile-baseline' is a policy"), std::string::npos) << policy_burndown.out;
  auto table_json = run_cli("report --format json --table rules" + db);
  EXPECT_EQ(table_json.code, 2);
  EXPECT_NE(table_json.out.find("--table"), std::string::npos) << table_json.out;
  auto bad_table = run_cli("report --format csv --table everything" + db);
  EXPECT_NE(bad_table.code, 0);
  auto help = run_cli("report --help");
  EXPECT_NE(help.out.find("--table"), std::string::npos);
  EXPECT_NE(help.out.find("--bom"), std::string::npos);

  // campaign actions in Russian (the organisation's default): every word translated but the
  // data (person ids, the schedule's labels, the campaign id, the zone and the window).
  auto json_ru = run_cli("campaign actions replace-ios --window 7d --json --lang ru" + db);
  auto json_en = run_cli("campaign actions replace-ios --window 7d --json --lang en" + db);
  ASSERT_EQ(json_ru.code, 0) << json_ru.out;
  EXPECT_EQ(json_ru.out, json_en.out);  // JSON is not translated
  EXPECT_NE(json_ru.out.find("\"escalation\":\""), std::string::npos);
  auto ru_actions = run_cli("campaign actions replace-ios --window 7d" + db);
  ASSERT_EQ(ru_actions.code, 0) << ru_actions.out;
  EXPECT_NE(ru_actions.out.find("Сотрудников с нарушениями:"), std::string::npos) << ru_actions.out;
  EXPECT_NE(ru_actions.out.find("(Europe/Moscow)"), std::string::npos) << ru_actions.out;
  std::set<std::string> allowed = json_values(json_ru.out, "person_id");
  for (const auto& v : json_values(json_ru.out, "point")) {
    std::istringstream words(v);
    for (std::string w; words >> w;) allowed.insert(w);
  }
  allowed.insert({"replace-ios", "Europe/Moscow", "7d"});
  EXPECT_EQ(latin_words(ru_actions.out, allowed), std::set<std::string>{}) << ru_actions.out.substr(0, 2000);

  // discover in Russian: a log with an iPhone of someone the organisation does not know.
  auto log = dir_.write(
      "access.log",
      "10.0.0.1 - stranger [01/Mar/2023:08:00:01 +0300] \"GET / HTTP/1.1\" 200 5 \"-\" \"Mozilla/5.0 "
      "(iPhone; CPU "
      "iPhone OS 16_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.3 Mobile/15E148 "
      "Safari/604.1\"\n");
  auto disc = run_cli("discover --no-progress" + db + " " + shell_quote(log));
  ASSERT_EQ(disc.code, 0) << disc.out;
  EXPECT_NE(disc.out.find("платформа      пользователей\niOS"), std::string::npos) << disc.out;
  EXPECT_NE(disc.out.find("строк: 1, запросов: 1, не разобрано: 0"), std::string::npos) << disc.out;
  EXPECT_NE(disc.out.find("пользователи, не найденные в организации (1): stranger"), std::string::npos) << disc.out;
  EXPECT_EQ(latin_words(disc.out, {"iOS", "stranger", "Exchange"}), std::set<std::string>{}) << disc.out;
  auto disc_en = run_cli("discover --no-progress --dry-run --lang en " + shell_quote(log));
  EXPECT_NE(disc_en.out.find("lines 1, requests 1, unparsed 0, sightings 1, clients without a user 0"),
            std::string::npos)
      << disc_en.out;
  auto missing = run_cli("report --campaign nope" + db);
  EXPECT_EQ(missing.code, 1);
  // Applying again stores version 2 and re-evaluates.
  auto apply = run_cli("policy apply " + std::string(FW_SOURCE_DIR) + "/examples/replace-ios.yaml --lang en" + db);
  EXPECT_EQ(apply.code, 0) << apply.out;
  EXPECT_NE(apply.out.find("applied campaign replace-ios version 2"), std::string::npos) << apply.out;
}

}  // namespace
