// End-to-end test of the org-unit filters of the dashboard's lists over real HTTP on
// 127.0.0.1 with a real SQLite file: GET /api/v1/devices?org_unit=, /api/v1/findings?subtree=
// and /api/v1/dashboard/device-count?org_unit= put a device in its owner's unit, else (no
// owner: agent-enrolled, Exchange-only) in its own unit, the evaluation's scope rule; the
// findings come from a real evaluation. Single-threaded test code.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "service/evaluate.h"
#include "service/policies.h"
#include "support/http_client.h"
#include "support/test_server.h"

namespace fw {
namespace {

namespace json = boost::json;
using boost::beast::http::verb;

const char* kPolicy = R"Y(kind: policy
id: no-ios
rules:
  - {id: no-ios, severity: high, require: 'device.os.family != "iOS"'}
)Y";

TEST(UnitFilterApi, OwnersUnitElseTheDevicesOwn) {
  FixedClock clock(parse_time("2023-03-01T12:00:00Z").value());
  testing::TestServer srv(clock);
  ASSERT_TRUE(srv.open_with_admin("fw-unit-filter-api"));
  auto st = srv.store().write([&](store::Tx& tx) -> Status {
    FW_TRY_STATUS(tx.put_org_unit(model::OrgUnit{"ou-hq", "/hq", "HQ", "department", ""}));
    FW_TRY_STATUS(tx.put_org_unit(model::OrgUnit{"ou-br", "/hq/branch", "Branch", "branch", ""}));
    FW_TRY_STATUS(tx.put_org_unit(model::OrgUnit{"ou-ot", "/other", "Other", "department", ""}));
    FW_TRY_STATUS(tx.put_person(model::Person{"p-hq", "Anna Petrova", "anna@x", "anna", "/hq", "", ""}));
    FW_TRY_STATUS(tx.put_person(model::Person{"p-ot", "Ivan Ivanov", "ivan@x", "ivan", "/other", "", ""}));
    // id, owner, own unit
    const char* rows[][3] = {{"d-owned-hq", "p-hq", "/other"},  // the owner's unit wins
                             {"d-owned-other", "p-ot", "/hq"},
                             {"d-agent-branch", "", "/hq/branch"},  // no owner: its own unit
                             {"d-agent-other", "", "/other"},
                             {"d-nowhere", "", ""}};
    for (const auto& row : rows) {
      model::Device d;
      d.id = row[0];
      d.owner_id = row[1];
      d.org_unit_path = row[2];
      d.os_family = "iOS";
      d.source = model::DeviceSource::agent;
      d.first_seen = d.last_seen = clock.now();
      FW_TRY_STATUS(tx.put_device(d));
    }
    return {};
  });
  ASSERT_TRUE(st) << st.error().to_string();
  ASSERT_TRUE(service::apply_policy_text(srv.store(), clock, "test", kPolicy, "no-ios.yaml"));
  ASSERT_TRUE(service::evaluate_all(srv.store(), clock));
  ASSERT_TRUE(srv.start());

  auto ids = [&](const std::string& path, const char* key) {
    auto r = srv.send(verb::get, path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    std::set<std::string> out;
    if (r.status != 200) return out;
    const auto body = r.json();  // a range-for over r.json().at(...) would outlive the parsed value
    for (const auto& x : body.at("items").as_array()) out.emplace(x.at(key).as_string());
    return out;
  };
  auto count = [&](const std::string& q) {
    auto r = srv.send(verb::get, "/api/v1/dashboard/device-count" + q);
    EXPECT_EQ(r.status, 200) << q << ": " << r.body;
    return r.status == 200 ? r.json().at("total").as_int64() : -1;
  };
  using S = std::set<std::string>;
  const S hq{"d-owned-hq", "d-agent-branch"};
  // Each list in its default order, by owner, and by a column of its own, descending.
  for (auto [sort, fsort] : std::vector<std::pair<std::string, std::string>>{
           {"", ""}, {"&sort=owner", "&sort=owner"}, {"&sort=-last_seen", "&sort=-status_since"}}) {
    EXPECT_EQ(ids("/api/v1/devices?org_unit=/hq" + sort, "id"), hq) << sort;
    EXPECT_EQ(ids("/api/v1/devices?org_unit=/hq/branch" + sort, "id"), S{"d-agent-branch"}) << sort;
    EXPECT_EQ(ids("/api/v1/devices?org_unit=/other" + sort, "id"), (S{"d-owned-other", "d-agent-other"})) << sort;
    EXPECT_EQ(ids("/api/v1/findings?subtree=/hq" + fsort, "device_id"), hq) << fsort;
    EXPECT_EQ(ids("/api/v1/findings?status=fail&subtree=/hq" + fsort, "device_id"), hq) << fsort;
    EXPECT_EQ(ids("/api/v1/findings?subtree=/other" + fsort, "device_id"), (S{"d-owned-other", "d-agent-other"}))
        << fsort;
  }
  EXPECT_EQ(ids("/api/v1/devices?org_unit=/hq&search=agent", "id"), S{"d-agent-branch"});
  EXPECT_EQ(count("?org_unit=/hq"), 2);
  EXPECT_EQ(count("?org_unit=/hq/branch"), 1);
  EXPECT_EQ(count("?org_unit=/other"), 2);
  EXPECT_EQ(count(""), 5);
  // Every device has its finding; the unit-less one is in no subtree but in the whole list.
  EXPECT_EQ(ids("/api/v1/findings?status=fail", "device_id").size(), 5u);
}

}  // namespace
}  // namespace fw
