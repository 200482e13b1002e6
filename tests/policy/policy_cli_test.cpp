// End-to-end: the `fleetward` executable's policy, report and campaign commands.
#include <gtest/gtest.h>

#include "support/run_cli.h"
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace {

namespace fs = std::filesystem;

using fw::testing::run_cli;

class PolicyCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("fw-policy-cli-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    auto p = (dir_ / name).string();
    std::ofstream(p) << text;
    return p;
  }
  fs::path dir_;
};

TEST_F(PolicyCli, CheckPointsIntoTheYaml) {
  auto good = run_cli("policy check " + std::string(FW_SOURCE_DIR) + "/examples/replace-ios.yaml");
  EXPECT_EQ(good.code, 0) << good.out;
  EXPECT_NE(good.out.find("campaign replace-ios: 2 rules"), std::string::npos) << good.out;
  auto f = write("typo.yaml",
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
  auto data = (dir_ / "demo").string();
  auto demo = run_cli("demo --devices 600 --data-dir " + data + " --no-serve");
  ASSERT_EQ(demo.code, 0) << demo.out;
  std::string db = " --db " + data + "/fleetward.db";
  auto table = run_cli("report --campaign replace-ios --format table --lang en" + db);
  ASSERT_EQ(table.code, 0) << table.out;
  EXPECT_NE(table.out.find("Central Administration"), std::string::npos) << table.out;
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
  auto actions = run_cli("campaign actions replace-ios --window 7d" + db);
  EXPECT_EQ(actions.code, 0) << actions.out;
  EXPECT_NE(actions.out.find("Non-compliant people:"), std::string::npos) << actions.out;
  auto missing = run_cli("report --campaign nope" + db);
  EXPECT_EQ(missing.code, 1);
  // Applying again stores version 2 and re-evaluates.
  auto apply = run_cli("policy apply " + std::string(FW_SOURCE_DIR) + "/examples/replace-ios.yaml" + db);
  EXPECT_EQ(apply.code, 0) << apply.out;
  EXPECT_NE(apply.out.find("applied campaign replace-ios version 2"), std::string::npos) << apply.out;
}

}  // namespace
