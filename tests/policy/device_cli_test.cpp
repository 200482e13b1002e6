// End-to-end: `fleetward device show|set-unit` on a real SQLite file. An unowned device given
// the unit /hq fails a campaign scoped to /hq at once (set-unit re-evaluates it) and leaves it
// again with --clear; errors name the unit and exit non-zero with nothing changed.
// Single-threaded test code (one process per command).
#include <gtest/gtest.h>

#include "store/store.h"
#include "support/run_cli.h"
#include "support/store_queries.h"
#include "support/test_dir.h"

namespace {

using fw::testing::run_cli;

const char* kCampaign = R"Y(kind: campaign
id: hq-no-zoom
scope: [/hq]
start: 2026-11-01T00:00:00Z
deadline: 2026-12-31T00:00:00Z
rules:
  - id: zoom
    require: '!device.apps.exists(a, a.id.startsWith("us.zoom."))'
)Y";

class DeviceCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.create("fw-device-cli");
    db_ = dir_.file("fw.db");
    auto seeded = fw::testing::write_db(db_, [](fw::store::Tx& tx) -> fw::Status {
      FW_TRY_STATUS(tx.put_org_unit(fw::model::OrgUnit{"hq", "/hq", "HQ", "", ""}));
      fw::model::Device d;
      d.id = "rfon-1";
      d.os_family = "Aurora OS";
      d.source = fw::model::DeviceSource::agent;
      d.apps.push_back(fw::model::App{"us.zoom.videomeetings", "Zoom", "5.0"});
      d.first_seen = d.last_seen = *fw::parse_time("2026-11-01T00:00:00Z");
      return tx.put_device(d);
    });
    ASSERT_TRUE(seeded) << seeded.error().to_string();
    auto apply = run_cli("policy apply " + dir_.write("hq.yaml", kCampaign) + db());
    ASSERT_EQ(apply.code, 0) << apply.out;
  }

  std::string db() const { return fw::testing::db_flag(db_) + " --lang en"; }  // English messages
  std::string zoom_status() { return fw::testing::finding_status(db_, "rfon-1", "hq-no-zoom/zoom"); }

  fw::testing::TestDir dir_;
  std::string db_;
};

TEST_F(DeviceCli, SetUnitBringsAnUnownedDeviceIntoScope) {
  EXPECT_NE(zoom_status(), "fail");  // no owner, no unit: outside /hq
  auto set = run_cli("device set-unit rfon-1 /hq" + db());
  ASSERT_EQ(set.code, 0) << set.out;
  EXPECT_NE(set.out.find("org unit /hq"), std::string::npos) << set.out;
  EXPECT_EQ(zoom_status(), "fail");
  auto show = run_cli("device show rfon-1" + db());
  ASSERT_EQ(show.code, 0) << show.out;
  EXPECT_NE(show.out.find(R"("org_unit":"/hq")"), std::string::npos) << show.out;

  auto clear = run_cli("device set-unit rfon-1 --clear" + db());
  ASSERT_EQ(clear.code, 0) << clear.out;
  EXPECT_NE(clear.out.find("(none)"), std::string::npos) << clear.out;
  EXPECT_NE(zoom_status(), "fail");
}

TEST_F(DeviceCli, Errors) {
  struct Case {
    std::string args, expect;
    int code;
  } cases[] = {
      {"device set-unit rfon-1 /nowhere", "org unit /nowhere does not exist", 1},
      {"device set-unit rfon-1 nowhere", "must start with '/'", 1},
      {"device set-unit rfon-1", "give an org-unit path or --clear", 2},
      {"device set-unit rfon-1 /hq --clear", "give an org-unit path or --clear", 2},
      {"device set-unit nope /hq", "device nope", 1},
      {"device show nope", "device nope", 1},
  };
  for (const auto& c : cases) {
    auto r = run_cli(c.args + db());
    EXPECT_EQ(r.code, c.code) << c.args << ": " << r.out;
    EXPECT_NE(r.out.find(c.expect), std::string::npos) << c.args << ": " << r.out;
  }
  auto show = run_cli("device show rfon-1" + db());
  EXPECT_NE(show.out.find(R"("org_unit":"")"), std::string::npos) << show.out;
}

}  // namespace
