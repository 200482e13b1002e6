// Tests of the built `fleetward` executable (FW_CLI_BIN): init, import errors with line
// numbers and nothing written, demo determinism, and the foundation's done-when check:
// `fleetward demo --devices 5000` serves and GET /api/v1/devices?os_family=iOS returns only
// the demo's iPhones with the token, 401 without. Single-threaded test code.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "service/crypto.h"
#include "service/model_json.h"
#include "store/store.h"
#include "support/http_client.h"
#include "support/store_queries.h"
#include "support/test_dir.h"

namespace fw {
namespace {

namespace fs = std::filesystem;
using boost::beast::http::verb;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A started fleetward process with stdout/stderr in files.
struct Proc {
  pid_t pid = -1;
  fs::path out, err;
  std::string stdout_text() const { return slurp(out); }
  std::string stderr_text() const { return slurp(err); }
  int wait() {
    int status = 0;
    waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_.create("fw-cli"); }

  Proc start(const std::vector<std::string>& args) {
    Proc p;
    p.out = dir_ / ("out-" + std::to_string(n_));
    p.err = dir_ / ("err-" + std::to_string(n_++));
    p.pid = fork();
    if (p.pid == 0) {
      int o = open(p.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int e = open(p.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(o, 1);
      dup2(e, 2);
      std::vector<char*> argv;
      std::string bin = FW_CLI_BIN;
      argv.push_back(bin.data());
      std::vector<std::string> copy = args;
      for (auto& a : copy) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
    return p;
  }

  struct Run {
    int code;
    std::string out, err;
  };
  Run run(const std::vector<std::string>& args) {
    auto p = start(args);
    int code = p.wait();
    return {code, p.stdout_text(), p.stderr_text()};
  }

  static int64_t count(const std::string& db, const std::string& what) {
    int64_t n = 0;
    auto st = testing::read_db(db, [&](store::Tx& tx) -> Status {
      if (what == "devices") {
        FW_TRY(n, tx.count_devices({}));
      } else if (what == "people") {
        FW_TRY(auto page, tx.list_people({}, {"", 1000}));
        n = static_cast<int64_t>(page.items.size());
      } else {
        FW_TRY(auto page, tx.list_org_units({}, {"", 1000}));
        n = static_cast<int64_t>(page.items.size());
      }
      return {};
    });
    EXPECT_TRUE(st) << st.error().to_string();
    return n;
  }

  // SHA-256 of every org unit, person and device (with apps) in id order.
  static std::string dump_hash(const std::string& db) {
    std::string all;
    auto st = testing::read_db(db, [&](store::Tx& tx) -> Status {
      std::string cursor;
      do {
        FW_TRY(auto page, tx.list_org_units({}, {cursor, 1000}));
        for (const auto& u : page.items) all += service::to_json_text(service::to_json(u)) + "\n";
        cursor = page.next_cursor;
      } while (!cursor.empty());
      do {
        FW_TRY(auto page, tx.list_people({}, {cursor, 1000}));
        for (const auto& p : page.items) all += service::to_json_text(service::to_json(p)) + "\n";
        cursor = page.next_cursor;
      } while (!cursor.empty());
      return tx.scan_devices({}, [&](const model::Device& d) -> Status {
        all += service::to_json_text(service::to_json(d)) + "\n";
        return {};
      });
    });
    EXPECT_TRUE(st) << st.error().to_string();
    EXPECT_GT(all.size(), 1000u);
    return service::sha256_hex(all);
  }

  fw::testing::TestDir dir_;
  int n_ = 0;
};

TEST_F(CliTest, InitPrintsATokenOnce) {
  auto db = (dir_ / "fw.db").string();
  auto r = run({"init", "--db", db});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("Admin token.*: fw_[0-9a-f]{64}"))) << r.out;
  auto again = run({"init", "--db", db});
  EXPECT_NE(again.code, 0);
  EXPECT_NE(again.err.find("already initialised"), std::string::npos) << again.err;
  EXPECT_EQ(again.out.find("fw_"), std::string::npos);
}

TEST_F(CliTest, ImportLoadsFilesInDependencyOrder) {
  auto db = (dir_ / "fw.db").string();
  auto units =
      dir_.write("org-units.csv", "path,name,kind\n/hq,Head office,administration\n/hq/it,IT,department\n");
  // Ivanov's manager comes after him in the file; ';' separated like a Russian Excel export.
  auto people = dir_.write("people.csv",
                           "id;name;email;login;org_unit;manager_id;title\n"
                           "p2;Ivan Ivanov;iivanov@example.org;iivanov;/hq/it;p1;Engineer\n"
                           "p1;\"Petrova, Anna\";apetrova@example.org;apetrova;/hq;;Head\n");
  auto devices = dir_.write("devices.csv",
                            "id,owner,os_family,os_version,vendor,model,type,managed,last_seen,apps\n"
                            "d1,iivanov,iOS,16.3.1,Apple,iPhone 13,phone,yes,2023-02-27,"
                            "us.zoom.videomeetings:5.13.5:Zoom|ru.trueconf.client:5.0.1\n"
                            "d2,apetrova@example.org,Android,13,Samsung,Galaxy S22,phone,no,,\n"
                            "d3,,Windows,10.0.19045,Lenovo,ThinkPad,desktop,,,\n");
  auto extra = dir_.write("extra.json", R"({"devices": [
  {"id": "j1", "owner_id": "p1", "os_family": "HarmonyOS", "os_version": "3.0.0", "type": "phone"}
]})");
  // Given in the "wrong" order on purpose.
  auto r = run({"import", "--db", db, "--lang", "en", devices, extra, people, units});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("imported 2 org units"), std::string::npos) << r.out;
  EXPECT_EQ(count(db, "devices"), 4);
  EXPECT_EQ(count(db, "people"), 2);
  ASSERT_TRUE(testing::read_db(db, [&](store::Tx& tx) -> Status {
    FW_TRY(auto d1, tx.get_device("d1"));
    EXPECT_EQ(d1.owner_id, "p2");
    EXPECT_TRUE(d1.managed);
    EXPECT_EQ(d1.apps.size(), 2u);
    FW_TRY(auto d2, tx.get_device("d2"));
    EXPECT_EQ(d2.owner_id, "p1");
    FW_TRY(auto p1, tx.get_person("p1"));
    EXPECT_EQ(p1.name, "Petrova, Anna");
    FW_TRY(auto audit, tx.list_audit({"", 100}));
    EXPECT_EQ(audit.items.size(), 8u);
    if (!audit.items.empty()) {
      EXPECT_EQ(audit.items[0].actor, "cli:import");
    }
    return {};
  }));
}

TEST_F(CliTest, ImportErrorsNameFileLineFieldAndWriteNothing) {
  auto db = (dir_ / "fw.db").string();
  auto units = dir_.write("org-units.csv", "path,name\n/hq,HQ\n");
  ASSERT_EQ(run({"import", "--db", db, units}).code, 0);
  struct Case {
    std::string name;
    std::string text;
    std::vector<std::string> want;  // lines expected on stderr
  } cases[] = {
      {"devices.csv",
       "id,owner,os_family,type\n"
       "ok1,,iOS,phone\n"
       "bad1,,iPhone OS,phone\n"
       "ok2,,Android,phone\n"
       "bad2,,Android,watch\n"
       "bad3,ghost,Android,phone\n",
       {"devices.csv:3: os_family: unknown OS family", "devices.csv:5: type: expected phone, tablet, desktop or other",
        "devices.csv:6: owner: no person with id, login or e-mail ghost"}},
      {"people.csv",
       "id,name,org_unit\n"
       "p1,Anna,/hq\n"
       "p2,,/hq\n"
       "p3,Boris,/nowhere\n",
       {"people.csv:3: name: is required", "people.csv:4: org_unit: org unit /nowhere does not exist"}},
      {"people-columns.csv", "id,name,org_unit,shoe_size\np1,Anna,/hq,42\n",
       {"people-columns.csv:1: shoe_size: unknown column"}},
      {"devices-quote.csv", "id,os_family\nd1,\"iOS\nd2,Android\n", {"devices-quote.csv:2: unterminated quoted field"}},
      {"devices-fields.csv", "id,os_family\nd1,iOS,extra\n", {"devices-fields.csv:2: expected 2 fields, found 3"}},
      {"devices-time.csv", "id,os_family,last_seen\nd1,iOS,yesterday\n", {"devices-time.csv:2: last_seen: expected"}},
      {"bad.json", "{\"devices\": [\n  {\"id\": \"j1\", \"os_family\": \"iOS\"},\n  {\"id\": \"j2\", \"os_family\": \"iOS\", \"colour\": \"red\"}\n]}",
       {"bad.json:3: colour: unknown field"}},
      {"broken.json", "{\"devices\": [\n  {\"id\": \"j1\",\n", {"broken.json:3: malformed JSON"}},
      {"inventory.txt", "whatever", {"inventory.txt:1: cannot tell what the file holds"}},
  };
  for (const auto& c : cases) {
    auto f = dir_.write(c.name, c.text);
    auto r = run({"import", "--db", db, f});
    EXPECT_NE(r.code, 0) << c.name;
    for (const auto& w : c.want) {
      EXPECT_NE(r.err.find(f.substr(0, f.size() - c.name.size()) + w), std::string::npos)
          << c.name << ": want \"" << w << "\" in:\n"
          << r.err;
    }
    EXPECT_EQ(count(db, "devices"), 0) << c.name;
    EXPECT_EQ(count(db, "people"), 0) << c.name;
  }
}

TEST_F(CliTest, DemoIsDeterministicForASeed) {
  auto a = run({"demo", "--devices", "400", "--seed", "7", "--data-dir", (dir_ / "a").string(), "--no-serve"});
  ASSERT_EQ(a.code, 0) << a.err;
  auto b = run({"demo", "--devices", "400", "--seed", "7", "--data-dir", (dir_ / "b").string(), "--no-serve"});
  ASSERT_EQ(b.code, 0) << b.err;
  auto c = run({"demo", "--devices", "400", "--seed", "8", "--data-dir", (dir_ / "c").string(), "--no-serve"});
  ASSERT_EQ(c.code, 0) << c.err;
  EXPECT_NE(a.out.find("400 devices"), std::string::npos) << a.out;
  auto ha = dump_hash((dir_ / "a" / "fleetward.db").string());
  EXPECT_EQ(ha, dump_hash((dir_ / "b" / "fleetward.db").string()));
  EXPECT_NE(ha, dump_hash((dir_ / "c" / "fleetward.db").string()));
  EXPECT_EQ(count((dir_ / "a" / "fleetward.db").string(), "devices"), 400);
  // A data directory that already holds a database is refused.
  auto again = run({"demo", "--devices", "10", "--data-dir", (dir_ / "a").string(), "--no-serve"});
  EXPECT_NE(again.code, 0);
  EXPECT_NE(again.err.find("fresh data directory"), std::string::npos) << again.err;
}

TEST_F(CliTest, DemoServesOnlyIPhonesForIosWithTokenAnd401Without) {
  auto p = start({"demo", "--devices", "5000", "--listen", "127.0.0.1:0", "--data-dir", (dir_ / "demo").string()});
  std::smatch m;
  std::string out;
  uint16_t port = 0;
  std::string token;
  for (int i = 0; i < 1200 && token.empty(); ++i) {  // up to 120 s on a loaded 2-core machine
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    out = p.stdout_text();
    std::regex re("Listening on http://127\\.0\\.0\\.1:(\\d+)\\nAdmin token: (fw_[0-9a-f]{64})");
    if (std::regex_search(out, m, re)) {
      port = static_cast<uint16_t>(std::stoi(m[1]));
      token = m[2];
    }
    int status = 0;
    ASSERT_EQ(waitpid(p.pid, &status, WNOHANG), 0) << "demo exited early:\n" << p.stderr_text();
  }
  ASSERT_FALSE(token.empty()) << out << p.stderr_text();

  EXPECT_EQ(testing::http_request(port, verb::get, "/api/v1/devices?os_family=iOS").status, 401);

  size_t iphones = 0;
  int pages = 0;
  std::string cursor;
  do {
    auto r = testing::http_request(port, verb::get,
                                   "/api/v1/devices?os_family=iOS&limit=500" + (cursor.empty() ? "" : "&cursor=" + cursor),
                                   "", token);
    ASSERT_EQ(r.status, 200) << r.body;
    auto v = r.json();
    for (const auto& d : v.at("items").as_array()) {
      EXPECT_EQ(d.at("os_family").as_string(), "iOS");
      EXPECT_EQ(d.at("vendor").as_string(), "Apple");
      EXPECT_EQ(d.at("type").as_string(), "phone");
      EXPECT_TRUE(std::string(d.at("model").as_string()).starts_with("iPhone")) << d.at("model");
      ++iphones;
    }
    cursor = v.at("next_cursor").is_null() ? "" : std::string(v.at("next_cursor").as_string());
    ++pages;
  } while (!cursor.empty() && pages < 100);
  EXPECT_GT(pages, 1);           // paginated
  EXPECT_GT(iphones, 1000u);     // ~40% of 5,000 devices
  EXPECT_LT(iphones, 2500u);

  kill(p.pid, SIGTERM);
  EXPECT_EQ(p.wait(), 0) << p.stderr_text();
}

}  // namespace
}  // namespace fw
