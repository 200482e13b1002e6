// Tests of the agent config parser, command-line expansion and process execution.
#include "agent/executor.h"

#include <gtest/gtest.h>

namespace fw::agent {
namespace {

TEST(AgentConfig, Parses) {
  auto cfg = parse_agent_config(
      "# executors\n"
      "message = /usr/bin/notify-send \"Fleet notice\" {text}\n"
      "  remove-app=/usr/bin/pkcon -y remove {app_id}\n"
      "full_report_every = 10\n"
      "command_timeout_s=5\n");
  ASSERT_TRUE(cfg) << cfg.error().to_string();
  EXPECT_EQ(cfg->executors.size(), 2u);
  EXPECT_EQ(cfg->executors.at("remove-app"), "/usr/bin/pkcon -y remove {app_id}");
  EXPECT_EQ(cfg->full_report_every, 10);
  EXPECT_EQ(cfg->command_timeout_s, 5);
}

TEST(AgentConfig, Errors) {
  struct Case {
    const char* text;
    const char* where;
  } cases[] = {
      {"\nbogus = 1\n", "t:2"},
      {"message\n", "t:1"},
      {"full_report_every = x\n", "t:1"},
      {"full_report_every = 0\n", "t:1"},
      {"lock = \"unterminated\n", "t:1"},
      {"lock =   \n", "t:1"},
      {"refresh = /bin/true\n", "t:1"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto cfg = parse_agent_config(c.text, "t");
    ASSERT_FALSE(cfg);
    EXPECT_EQ(cfg.error().where, c.where);
  }
}

TEST(CommandLine, SplitAndExpand) {
  auto argv = split_command_line(R"(/bin/x "a b" --id={app_id} "q\"x" {text})");
  ASSERT_TRUE(argv);
  ASSERT_EQ(argv->size(), 5u);
  EXPECT_EQ((*argv)[1], "a b");
  EXPECT_EQ((*argv)[3], "q\"x");
  auto ex = expand_command(*argv, {{"app_id", "us.zoom.videomeetings"}, {"text", "Hello; rm -rf / $(x)"}});
  ASSERT_TRUE(ex) << ex.error().to_string();
  EXPECT_EQ((*ex)[2], "--id=us.zoom.videomeetings");
  EXPECT_EQ((*ex)[4], "Hello; rm -rf / $(x)");  // one argv element; no shell sees it

  struct Bad {
    const char* name;
    const char* value;
  } bad[] = {{"app_id", "-rf"}, {"app_id", "a b"}, {"app_id", "a;b"}, {"app_id", ""}, {"text", "a\nb"}};
  for (const auto& b : bad) {
    SCOPED_TRACE(b.value);
    auto r = expand_command({"x", std::string("{") + b.name + "}"}, {{b.name, b.value}});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().where, std::string("args.") + b.name);
  }
  EXPECT_FALSE(expand_command({"x", "{app_id}"}, {}));
}

TEST(RunProcess, ExitOutputTimeout) {
  auto ok = run_process({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, std::chrono::seconds(10), 4096);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->exit_code, 3);
  EXPECT_EQ(ok->output, "out\nerr\n");
  auto big = run_process({"/bin/sh", "-c", "head -c 100000 /dev/zero | tr '\\0' a; echo END"},
                         std::chrono::seconds(10), 100);
  ASSERT_TRUE(big);
  EXPECT_TRUE(big->truncated);
  EXPECT_EQ(big->output.size(), 100u);
  EXPECT_TRUE(big->output.ends_with("END\n"));
  auto slow = run_process({"/bin/sleep", "5"}, std::chrono::milliseconds(200), 100);
  ASSERT_TRUE(slow);
  EXPECT_TRUE(slow->timed_out);
  auto missing = run_process({"/nonexistent/binary"}, std::chrono::seconds(1), 100);
  EXPECT_FALSE(missing);
}

TEST(ExecuteCommand, Statuses) {
  FixedClock clock(from_unix(1'700'000'000));
  AgentConfig cfg;
  cfg.executors["message"] = "/bin/echo shown: {text}";
  cfg.executors["lock"] = "/bin/false";
  cfg.executors["remove-app"] = "/bin/echo removing {app_id}";
  struct Case {
    Command cmd;
    const char* status;
    std::optional<int> exit;
    const char* output;
  } cases[] = {
      {{"c1", "message", {{"text", "Replace your phone"}}}, "ok", 0, "shown: Replace your phone\n"},
      {{"c2", "lock", {}}, "failed", 1, ""},
      {{"c3", "wipe", {}}, "not_configured", std::nullopt, nullptr},
      {{"c4", "format-disk", {}}, "rejected", std::nullopt, nullptr},
      {{"c5", "remove-app", {{"app_id", "--all"}}}, "rejected", std::nullopt, nullptr},
      {{"c6", "refresh", {}}, "ok", std::nullopt, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.cmd.id);
    CommandResult r = execute_command(cfg, c.cmd, clock);
    EXPECT_EQ(r.id, c.cmd.id);
    EXPECT_EQ(r.status, c.status);
    EXPECT_EQ(r.exit_code, c.exit);
    if (c.output) {
      EXPECT_EQ(r.output, c.output);
    }
    EXPECT_EQ(r.finished_at, clock.now());
  }
}

}  // namespace
}  // namespace fw::agent
