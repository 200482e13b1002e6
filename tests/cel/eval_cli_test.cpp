// Runs the real `fleetward eval` and checks what a person trying expressions sees:
// the value on stdout and exit 0, or a line:column error with a caret and a non-zero exit.
// Single-threaded; each case spawns one process.
#include <gtest/gtest.h>

#include "support/run_cli.h"

#include <fstream>
#include <string>

namespace {

using fw::testing::CliOutcome;
CliOutcome run(const std::string& args) { return fw::testing::run_cli("eval " + args); }
std::string quote(const std::string& s) { return fw::testing::shell_quote(s); }

TEST(EvalCli, PrintsValues) {
  struct Case { std::string expr, want; } cases[] = {
      {R"(version("16.3.1") < version("17"))", "true"},
      {R"(version("4.0.2.249") >= version("4.0"))", "true"},
      {"1 + 2 * 3", "7"},
      {R"("iOS" in ["iOS", "iPadOS"])", "true"},
  };
  for (const auto& c : cases) {
    CliOutcome r = run(quote(c.expr));
    EXPECT_EQ(r.code, 0) << c.expr << "\n" << r.out;
    EXPECT_NE(r.out.find(c.want), std::string::npos) << c.expr << "\n" << r.out;
  }
}

TEST(EvalCli, MalformedExpressionGivesLineColumnAndCaret) {
  CliOutcome r = run(quote("1 + (2"));
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(":1:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find('^'), std::string::npos) << r.out;
}

TEST(EvalCli, EvaluatesAgainstADeviceFile) {
  std::string path = std::string(FW_BINARY_DIR) + "/cel_eval_cli_device.json";
  {
    std::ofstream f(path);
    f << R"({"os": {"family": "iOS", "version": "16.3.1"},
             "apps": [{"id": "us.zoom.videomeetings", "name": "Zoom", "version": "5.13"}]})";
  }
  CliOutcome r = run(quote(R"(device.apps.exists(a, a.id.startsWith("us.zoom.")))") + " --device " + path);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("true"), std::string::npos) << r.out;
  CliOutcome missing = run(quote("device.no_such_field == 1") + " --device " + path);
  EXPECT_NE(missing.code, 0) << missing.out;
}

}  // namespace
