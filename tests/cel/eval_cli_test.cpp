// Runs the real `fleetward eval` and checks what a person trying expressions sees:
// the value on stdout and exit 0, or a line:column error with a caret and a non-zero exit.
// Single-threaded; each case spawns one process.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>
#include <sys/wait.h>

namespace {

struct Outcome {
  int status = -1;
  std::string out;  // stdout and stderr together
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

Outcome run(const std::string& args) {
  Outcome r;
  std::string cmd = std::string(FW_CLI_BIN) + " eval " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

TEST(EvalCli, PrintsValues) {
  struct Case { std::string expr, want; } cases[] = {
      {R"(version("16.3.1") < version("17"))", "true"},
      {R"(version("4.0.2.249") >= version("4.0"))", "true"},
      {"1 + 2 * 3", "7"},
      {R"("iOS" in ["iOS", "iPadOS"])", "true"},
  };
  for (const auto& c : cases) {
    Outcome r = run(quote(c.expr));
    EXPECT_EQ(r.status, 0) << c.expr << "\n" << r.out;
    EXPECT_NE(r.out.find(c.want), std::string::npos) << c.expr << "\n" << r.out;
  }
}

TEST(EvalCli, MalformedExpressionGivesLineColumnAndCaret) {
  Outcome r = run(quote("1 + (2"));
  EXPECT_NE(r.status, 0) << r.out;
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
  Outcome r = run(quote(R"(device.apps.exists(a, a.id.startsWith("us.zoom.")))") + " --device " + path);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("true"), std::string::npos) << r.out;
  Outcome missing = run(quote("device.no_such_field == 1") + " --device " + path);
  EXPECT_NE(missing.status, 0) << missing.out;
}

}  // namespace
