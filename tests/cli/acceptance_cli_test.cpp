// End-to-end checks from the acceptance review of the `fleetward` command line, on a real
// SQLite file: `fleetward org show|set` (the zone and language that reports and the CLI's
// tables use; checked before writing; audited); every database command honours
// $FLEETWARD_DB (import and agent once required --db); a second `init` names the command that
// makes more tokens; a malformed JSON import names line, column and byte; `demo` checks its
// listen address before building and shows its steps on a terminal only.
// Single-threaded test code (one process per command).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>

#include "store/store.h"
#include "support/run_cli.h"
#include "support/store_queries.h"
#include "support/test_dir.h"

namespace {

namespace fs = std::filesystem;
using fw::testing::run_cli;
using fw::testing::shell_quote;

const char* kCampaign = R"Y(kind: campaign
id: hq-no-zoom
title: No Zoom at HQ
scope: [/hq]
start: 2026-11-01T00:00:00Z
deadline: 2026-12-31T00:00:00Z
rules:
  - id: zoom
    require: '!device.apps.exists(a, a.id.startsWith("us.zoom."))'
)Y";

class AcceptanceCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.create("fw-accept-cli");
    db_ = dir_.file("fw.db");
    auto init = run_cli("init" + db());
    ASSERT_EQ(init.code, 0) << init.out;
  }

  std::string db() const { return fw::testing::db_flag(db_); }
  // Runs with FLEETWARD_DB naming the test database (and no --db flag in args).
  fw::testing::CliOutcome run_cli_with_env(const std::string& args) {
    ::setenv("FLEETWARD_DB", db_.c_str(), 1);
    auto r = run_cli(args);
    ::unsetenv("FLEETWARD_DB");
    return r;
  }

  fw::testing::TestDir dir_;
  std::string db_;
};

TEST_F(AcceptanceCli, OrgSettingsReachTheReportAndAreAudited) {
  auto show = run_cli("org show --lang en" + db());
  ASSERT_EQ(show.code, 0) << show.out;
  EXPECT_EQ(show.out, "timezone\tEurope/Moscow\t(default)\nlang\tru\t(default)\n");

  auto org = dir_.write("org-units.csv", "path,name\n/hq,Head office\n");
  ASSERT_EQ(run_cli("import" + db() + " " + org).code, 0);
  auto policy = dir_.write("hq.yaml", kCampaign);
  auto apply = run_cli("policy apply" + db() + " " + policy);
  ASSERT_EQ(apply.code, 0) << apply.out;
  auto ru = run_cli("report" + db());
  ASSERT_EQ(ru.code, 0) << ru.out;
  EXPECT_NE(ru.out.find("Кампания: hq-no-zoom"), std::string::npos) << ru.out;
  EXPECT_NE(ru.out.find("Europe/Moscow"), std::string::npos) << ru.out;

  auto set = run_cli("org set --lang en --timezone Asia/Yekaterinburg" + db());
  ASSERT_EQ(set.code, 0) << set.out;
  EXPECT_EQ(run_cli("org show" + db()).out, "timezone\tAsia/Yekaterinburg\nlang\ten\n");
  auto en = run_cli("report" + db());
  ASSERT_EQ(en.code, 0) << en.out;
  EXPECT_NE(en.out.find("Campaign: hq-no-zoom"), std::string::npos) << en.out;
  EXPECT_NE(en.out.find("Asia/Yekaterinburg"), std::string::npos) << en.out;
  // Start 2026-11-01T00:00:00Z is 05:00 in Yekaterinburg (+05:00).
  EXPECT_NE(en.out.find("2026-11-01 05:00"), std::string::npos) << en.out;
  auto json = run_cli("report --format json" + db());
  EXPECT_NE(json.out.find("\"timezone\":\"Asia/Yekaterinburg\""), std::string::npos) << json.out;
  // Tables for people show times in the zone too (the admin token from init never expires).
  auto tokens = run_cli("token list" + db());
  EXPECT_NE(tokens.out.find("+05:00\t-\tactive\n"), std::string::npos) << tokens.out;
  auto policies = run_cli("policy list" + db());
  EXPECT_NE(policies.out.find("hq-no-zoom\tcampaign\tv1\tactive\t"), std::string::npos) << policies.out;
  EXPECT_NE(policies.out.find("+05:00\tcli\t"), std::string::npos) << policies.out;
  // --lang still wins over the setting.
  EXPECT_NE(run_cli("report --lang ru" + db()).out.find("Кампания:"), std::string::npos);

  // Bad values are refused before anything is written, naming the flag.
  struct Case {
    const char* args;
    const char* want;
  } bad[] = {
      {"org set --timezone Mars/Olympus", "fleetward org: --timezone Mars/Olympus: "},
      {"org set --timezone ../../etc/passwd", "fleetward org: --timezone ../../etc/passwd: "},
      {"org set --lang de --timezone UTC", "fleetward org: --lang: expected ru or en, got 'de'"},
      {"org set", "fleetward org: nothing to set"},
  };
  for (const auto& c : bad) {
    auto r = run_cli(std::string(c.args) + db());
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.want), std::string::npos) << c.args << "\n" << r.out;
  }
  EXPECT_EQ(run_cli("org show" + db()).out, "timezone\tAsia/Yekaterinburg\nlang\ten\n");

  std::vector<fw::model::AuditEvent> events;
  auto st = fw::testing::read_db(db_, [&](fw::store::Tx& tx) -> fw::Status {
    FW_TRY(auto page, tx.list_audit({"", 1000}));
    for (auto& e : page.items)
      if (e.action == "org.settings") events.push_back(e);
    return {};
  });
  ASSERT_TRUE(st) << st.error().to_string();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].actor, "cli");
  EXPECT_EQ(events[0].before_json, R"({"org.timezone":"","org.lang":""})");
  EXPECT_EQ(events[0].after_json, R"({"org.timezone":"Asia/Yekaterinburg","org.lang":"en"})");
}

TEST_F(AcceptanceCli, DatabaseCommandsTakeFleetwardDbFromTheEnvironment) {
  auto org = dir_.write("org-units.csv", "path,name\n/hq,Head office\n");
  auto imp = run_cli_with_env("import --lang en " + org);
  EXPECT_EQ(imp.code, 0) << imp.out;
  EXPECT_NE(imp.out.find("imported 1 org unit,"), std::string::npos) << imp.out;
  auto secret = run_cli_with_env("agent secret create --org-unit /hq");
  EXPECT_EQ(secret.code, 0) << secret.out;
  EXPECT_NE(secret.out.find("enrolment secret for /hq"), std::string::npos) << secret.out;
  EXPECT_EQ(run_cli_with_env("org show").code, 0);
  // discover records its sightings in $FLEETWARD_DB too (it once asked for --db).
  auto log = dir_.write(
      "access.log",
      "10.0.0.7 - ivanov [27/Nov/2026:10:00:00 +0300] \"GET /owa/ HTTP/1.1\" 200 512 \"-\" "
      "\"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
      "Version/17.4 Mobile/15E148 Safari/604.1\"\n");
  auto disc = run_cli_with_env("discover --no-progress " + log);
  EXPECT_EQ(disc.code, 0) << disc.out;
  EXPECT_NE(disc.out.find("сохранено наблюдений: "), std::string::npos) << disc.out;  // org.lang: Russian

  // Neither --db nor $FLEETWARD_DB: the same message from every command, exit status 2.
  ::unsetenv("FLEETWARD_DB");
  struct Case {
    std::string args, command;
  } cases[] = {
      {"import " + org, "import"},
      {"agent secret create --org-unit /hq", "agent secret create"},
      {"agent commands dev-1", "agent commands"},
      {"agent revoke dev-1", "agent revoke"},
      {"agent command dev-1 refresh", "agent command"},
      {"org show", "org"},
      {"report", "report"},
  };
  for (const auto& c : cases) {
    auto r = run_cli(c.args);
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find("fleetward " + c.command + ": --db: no database"), std::string::npos)
        << c.args << "\n" << r.out;
  }
}

// Exit status: 0 done (help too), 1 failed, 2 a bad command line, whether CLI11 or the
// command found it (CLI11's own 105-109 once leaked out).
TEST_F(AcceptanceCli, BadCommandLinesExitWithTwo) {
  struct Case {
    const char* args;
    int code;
    const char* want;
  } cases[] = {
      {"--help", 0, "Subcommands:"},
      {"report --help", 0, "--table"},
      {"nosuch", 2, "nosuch"},
      {"", 2, "A subcommand is required"},
      {"report --format xml", 2, "--format"},
      {"report --no-such-flag", 2, "--no-such-flag"},
      {"campaign actions", 2, "id is required"},
      {"report --table rules", 2, "fleetward report: --table: "},
      {"discover --lang de x.log", 2, "--lang"},
      {"discover --format apache x.log", 2, "fleetward discover: unknown --format 'apache'"},
      {"discover --format nginx x.log", 2, "--format nginx needs --log-format"},
  };
  for (const auto& c : cases) {
    auto r = run_cli(c.args);
    EXPECT_EQ(r.code, c.code) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.want), std::string::npos) << c.args << "\n" << r.out;
  }
}

TEST_F(AcceptanceCli, UnopenableDatabaseIsNamedOnce) {
  const std::string bad = (dir_ / "no-such-dir" / "x.db").string();
  for (const char* cmd : {"report", "token list", "org show", "import"}) {
    std::string args = std::string(cmd) + " --db " + shell_quote(bad) +
                       (std::string(cmd) == "import" ? " " + dir_.write("org-units.csv", "path\n/hq\n") : "");
    auto r = run_cli(args);
    EXPECT_EQ(r.code, 1) << args << "\n" << r.out;
    std::string cmd_word = std::string(cmd).substr(0, std::string(cmd).find(' '));
    EXPECT_EQ(r.out.find("fleetward " + cmd_word + ": --db " + bad + ": cannot open"), 0u) << args << "\n" << r.out;
    EXPECT_EQ(r.out.find(bad, r.out.find(bad) + 1), std::string::npos) << "the path twice: " << r.out;
  }
}

// A taken port is found before the demo is built, and the data directory stays unused.
TEST_F(AcceptanceCli, DemoChecksTheListenAddressBeforeBuilding) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof sa;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len), 0);
  const std::string listen = "127.0.0.1:" + std::to_string(ntohs(sa.sin_port));
  const fs::path data = dir_ / "demo";
  auto r = run_cli("demo --devices 50 --listen " + listen + " --data-dir " + shell_quote(data.string()));
  ::close(fd);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("fleetward demo: --listen " + listen + ": cannot listen: "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("Demo organisation"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(data / "fleetward.db"));
}

// On a terminal the demo says which step of the build runs; piped, it says nothing of it.
// The terminal is script(1)'s pseudo-terminal (util-linux).
TEST_F(AcceptanceCli, DemoShowsItsStepsOnATerminalOnly) {
  const fs::path piped_dir = dir_ / "piped", tty_dir = dir_ / "tty";
  auto piped = run_cli("demo --devices 60 --no-serve --data-dir " + shell_quote(piped_dir.string()));
  ASSERT_EQ(piped.code, 0) << piped.out;
  EXPECT_EQ(piped.out.find("building the demo"), std::string::npos) << piped.out;
  const std::string inner = std::string(FW_CLI_BIN) + " demo --devices 60 --no-serve --data-dir " + tty_dir.string();
  auto tty = fw::testing::run_program("script", "-qec " + shell_quote(inner) + " /dev/null");
  const std::string& out = tty.out;
  ASSERT_EQ(tty.code, 0) << out;
  EXPECT_NE(out.find("building the demo: inventory: 16 org units, "), std::string::npos) << out;
  EXPECT_NE(out.find("building the demo: policies: "), std::string::npos) << out;
  EXPECT_NE(out.find("building the demo: campaign history: day 1 of "), std::string::npos) << out;
  EXPECT_NE(out.find("Demo organisation: 16 org units"), std::string::npos) << out;
}

TEST_F(AcceptanceCli, SecondInitNamesTheTokenCommand) {
  auto again = run_cli("init" + db());
  EXPECT_EQ(again.code, 1) << again.out;
  EXPECT_NE(again.out.find("already initialised at "), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("`fleetward token create`"), std::string::npos) << again.out;
}

TEST_F(AcceptanceCli, MalformedJsonImportNamesLineColumnAndByte) {
  // Line 2 is `  {"id": "j1",, ...`: the second comma is column 15, byte 28 of the file.
  auto f = dir_.write("devices.json", "{\"devices\": [\n  {\"id\": \"j1\",, \"os_family\": \"iOS\"}]}\n");
  auto r = run_cli("import --lang en" + db() + " " + f);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find(f + ":2: malformed JSON: syntax error (column 15, byte 28)"), std::string::npos) << r.out;
}

}  // namespace
