// End-to-end: `fleetward exemption add|list|remove` against a real SQLite file built with
// `fleetward init`, `import` and `policy apply`: the finding turns exempt at once, the list
// shows active and expired ones in the organisation's zone, remove is audited and turns the
// finding back, and every bad flag is named in the error.
#include <gtest/gtest.h>

#include "store/store.h"
#include "support/run_cli.h"
#include "support/store_queries.h"
#include "support/test_dir.h"

namespace {

using fw::testing::run_cli;
using fw::testing::shell_quote;

const char* kPolicy = R"Y(kind: policy
id: no-zoom
title: No Zoom
rules:
  - id: zoom
    require: '!device.apps.exists(a, a.id.startsWith("us.zoom."))'
  - id: ios
    require: 'device.os.family != "iOS"'
)Y";

class ExemptionCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.create("fw-exemption-cli");
    db_ = dir_.file("fw.db");
    // One person with an iPhone that has Zoom, written directly: the test is about exemptions.
    auto seeded = fw::testing::write_db(db_, [](fw::store::Tx& tx) -> fw::Status {
      fw::model::OrgUnit u;
      u.id = "hq";
      u.path = "/hq";
      u.name = "HQ";
      FW_TRY_STATUS(tx.put_org_unit(u));
      FW_TRY_STATUS(tx.put_person(fw::model::Person{"ann", "Ann", "ann@x", "ann", "/hq", "", ""}));
      fw::model::Device d;
      d.id = "d1";
      d.owner_id = "ann";
      d.os_family = "iOS";
      d.os_version = "17.1";
      d.type = fw::model::DeviceType::phone;
      d.apps.push_back(fw::model::App{"us.zoom.videomeetings", "Zoom", "5.0"});
      auto t = *fw::parse_time("2026-11-01T00:00:00Z");
      d.first_seen = d.last_seen = t;
      FW_TRY_STATUS(tx.put_device(d));
      return tx.put_setting("org.timezone", "Europe/Moscow");
    });
    ASSERT_TRUE(seeded) << seeded.error().to_string();
    auto apply = run_cli("policy apply " + dir_.write("no-zoom.yaml", kPolicy) + db());
    ASSERT_EQ(apply.code, 0) << apply.out;
  }

  // The database, and English messages (the organisation's language, Russian by default, would
  // decide them otherwise).
  std::string db() const { return fw::testing::db_flag(db_) + " --lang en"; }
  // The current status of device d1's finding for `rule_key`.
  std::string status(const std::string& rule_key) { return fw::testing::finding_status(db_, "d1", rule_key); }

  fw::testing::TestDir dir_;
  std::string db_;
};

TEST_F(ExemptionCli, AddListRemove) {
  ASSERT_EQ(status("no-zoom/zoom"), "fail");
  auto add = run_cli("exemption add --person ann --policy no-zoom --rule zoom --reason " +
                     shell_quote("партнёр работает только в Zoom") + " --approver ciso --for 30d --id ex-1" + db());
  ASSERT_EQ(add.code, 0) << add.out;
  EXPECT_NE(add.out.find("added exemption ex-1: person ann from no-zoom/zoom until "), std::string::npos) << add.out;
  EXPECT_NE(add.out.find("(Europe/Moscow)"), std::string::npos) << add.out;
  EXPECT_NE(add.out.find("re-evaluated no-zoom: 1 device, 1 status change"), std::string::npos) << add.out;
  EXPECT_EQ(status("no-zoom/zoom"), "exempt");
  EXPECT_EQ(status("no-zoom/ios"), "fail");  // the other rule is not covered

  // A device exemption from the whole policy that expired already is refused; one with a
  // fixed expiry works.
  auto past = run_cli("exemption add --device d1 --policy no-zoom --reason r --approver a --expires 2020-01-01T00:00:00Z" + db());
  EXPECT_EQ(past.code, 2) << past.out;
  EXPECT_NE(past.out.find("--expires: 2020-01-01T00:00:00Z is not in the future"), std::string::npos) << past.out;
  auto dev = run_cli("exemption add --device d1 --policy no-zoom --reason pilot --approver cio --expires 2099-01-01T12:00:00+03:00 --id ex-2" + db());
  ASSERT_EQ(dev.code, 0) << dev.out;
  EXPECT_EQ(status("no-zoom/ios"), "exempt");

  auto table = run_cli("exemption list" + db());
  ASSERT_EQ(table.code, 0) << table.out;
  EXPECT_NE(table.out.find("EXPIRES (Europe/Moscow)"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("person ann"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("2099-01-01 12:00"), std::string::npos) << table.out;  // shown in Moscow time
  EXPECT_NE(table.out.find("партнёр работает только в Zoom"), std::string::npos) << table.out;
  EXPECT_EQ(table.out.find("expired"), std::string::npos) << table.out;

  auto json = run_cli("exemption list --policy no-zoom --format json" + db());
  ASSERT_EQ(json.code, 0) << json.out;
  EXPECT_NE(json.out.find("\"id\":\"ex-2\""), std::string::npos) << json.out;
  EXPECT_NE(json.out.find("\"expires_at\":\"2099-01-01T12:00:00+03:00\",\"state\":\"active\""), std::string::npos)
      << json.out;

  auto rm = run_cli("exemption remove ex-1" + db());
  ASSERT_EQ(rm.code, 0) << rm.out;
  EXPECT_NE(rm.out.find("removed exemption ex-1"), std::string::npos) << rm.out;
  EXPECT_EQ(status("no-zoom/zoom"), "exempt");  // still covered by ex-2 (the whole policy)
  ASSERT_EQ(run_cli("exemption remove ex-2" + db()).code, 0);
  EXPECT_EQ(status("no-zoom/zoom"), "fail");
  EXPECT_EQ(status("no-zoom/ios"), "fail");
  auto again = run_cli("exemption remove ex-2" + db());
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.out.find("ID ex-2: no such exemption"), std::string::npos) << again.out;

  // Both changes are in the audit log.
  int created = 0, deleted = 0;
  ASSERT_TRUE(fw::testing::read_db(db_, [&](fw::store::Tx& tx) -> fw::Status {
    fw::store::PageRequest p;
    p.limit = 100;
    FW_TRY(auto page, tx.list_audit(p));
    for (const auto& e : page.items) {
      created += e.action == "exemption.create";
      deleted += e.action == "exemption.delete";
    }
    return {};
  }));
  EXPECT_EQ(created, 2);
  EXPECT_EQ(deleted, 2);
}

TEST_F(ExemptionCli, ExpiredExemptionIsListedAsExpired) {
  // Move the policy clock (the `clock.now` setting, as the demo does) past the expiry.
  auto add = run_cli("exemption add --person ann --policy no-zoom --reason r --approver a --for 1h --id ex-short" + db());
  ASSERT_EQ(add.code, 0) << add.out;
  EXPECT_EQ(status("no-zoom/zoom"), "exempt");
  ASSERT_TRUE(fw::testing::write_db(db_, [](fw::store::Tx& tx) {
    return tx.put_setting("clock.now", fw::format_time(std::chrono::time_point_cast<fw::Seconds>(
                                           std::chrono::system_clock::now() + std::chrono::hours(2))));
  }));
  auto list = run_cli("exemption list --format table" + db());
  ASSERT_EQ(list.code, 0) << list.out;
  EXPECT_NE(list.out.find("expired"), std::string::npos) << list.out;
  auto json = run_cli("exemption list --format json" + db());
  EXPECT_NE(json.out.find("\"state\":\"expired\""), std::string::npos) << json.out;
  // The scheduled run (here by hand) stops applying it.
  ASSERT_EQ(run_cli("policy evaluate" + db()).code, 0);
  EXPECT_EQ(status("no-zoom/zoom"), "fail");
}

TEST_F(ExemptionCli, ErrorsNameTheFlag) {
  struct Case {
    std::string args;
    int code;
    std::string want;
  };
  for (const auto& c : std::vector<Case>{
           {"--policy no-zoom --reason r --approver a --for 1d", 2, "--person/--device: give exactly one"},
           {"--person ann --device d1 --policy no-zoom --reason r --approver a --for 1d", 2, "--person/--device"},
           {"--person ann --policy no-zoom --reason r --approver a", 2, "--expires/--for: give exactly one"},
           {"--person ann --policy no-zoom --reason r --approver a --for soon", 2, "--for soon: expected a positive duration"},
           {"--person ann --policy no-zoom --reason r --approver a --expires 31.12.2026", 2, "--expires 31.12.2026:"},
           {"--person ann --policy nope --reason r --approver a --for 1d", 1, "--policy nope: no such policy or campaign"},
           {"--person bob --policy no-zoom --reason r --approver a --for 1d", 1, "--person bob: no such person"},
           {"--device d9 --policy no-zoom --reason r --approver a --for 1d", 1, "--device d9: no such device"},
           {"--person ann --policy no-zoom --rule nope --reason r --approver a --for 1d", 1, "--rule: no rule 'nope'"},
           {"--person ann --policy no-zoom --reason '' --approver a --for 1d", 2, "--reason: must not be empty"},
           {"--person ann --policy no-zoom --approver a --for 1d", 2, "--reason is required"},
       }) {
    auto r = run_cli("exemption add " + c.args + db());
    EXPECT_EQ(r.code, c.code) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.want), std::string::npos) << c.args << "\n" << r.out;
  }
  auto fmt = run_cli("exemption list --format xml" + db());
  EXPECT_EQ(fmt.code, 2);
  EXPECT_NE(fmt.out.find("--format xml: expected table or json"), std::string::npos) << fmt.out;
  auto nodb = run_cli("exemption list --db ''");
  EXPECT_NE(nodb.code, 0);
  EXPECT_NE(nodb.out.find("--db"), std::string::npos) << nodb.out;
  EXPECT_EQ(status("no-zoom/zoom"), "fail");  // nothing was stored
}

}  // namespace
