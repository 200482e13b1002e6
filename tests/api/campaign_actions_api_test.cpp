// End-to-end test of GET /api/v1/campaigns/{id}/actions as the dashboard's campaign page
// calls it (?limit=&people=false), over real HTTP on 127.0.0.1 with a real SQLite file: the
// answer equals the timeline computed directly with policy::actions_due/person_timeline from
// the failing people (the service computes each distinct person state once), limit keeps
// the first rows and gives the totals, people=false leaves out the timelines, bad
// parameters are 400 naming them. Single-threaded test code.
#include <gtest/gtest.h>

#include "support/http_client.h"
#include "support/test_server.h"
#include "service/evaluate.h"
#include "service/policies.h"

namespace fw {
namespace {

namespace json = boost::json;
using boost::beast::http::verb;

const char* kCampaign = R"Y(kind: campaign
id: replace-ios
scope: [/hq]
start: 2023-03-01T00:00:00Z
deadline: 2023-03-31T00:00:00Z
grace: 14d
rules:
  - {id: no-ios, severity: critical, require: 'device.os.family != "iOS"'}
schedule:
  - {at: start, notify: [owner]}
  - {every: 1d, notify: [owner]}
  - {at: deadline-7d, notify: [owner, manager]}
  - {at: deadline, action: block}
)Y";

TEST(CampaignActionsApi, PagedAnswerEqualsTheDirectTimeline) {
  FixedClock clock(parse_time("2023-03-01T12:00:00Z").value());
  testing::TestServer srv(clock);
  ASSERT_TRUE(srv.open_with_admin("fw-actions-api"));
  ASSERT_TRUE(service::apply_policy_text(srv.store(), clock, "test", kCampaign, "replace-ios.yaml"));
  // 60 people with an iPhone each, failing first on three different days (three states).
  auto add = [&](int from, int to) {
    auto st = srv.store().write([&](store::Tx& tx) -> Status {
      FW_TRY_STATUS(tx.put_org_unit(model::OrgUnit{"ou-hq", "/hq", "HQ", "department", ""}));
      for (int i = from; i < to; ++i) {
        const std::string id = "p" + std::to_string(100 + i);
        FW_TRY_STATUS(tx.put_person(model::Person{id, "Person " + id, id + "@x", id, "/hq", "", ""}));
        model::Device d;
        d.id = "d" + std::to_string(100 + i);
        d.owner_id = id;
        d.os_family = "iOS";
        d.first_seen = d.last_seen = clock.now();
        FW_TRY_STATUS(tx.put_device(d));
      }
      return {};
    });
    ASSERT_TRUE(st) << st.error().to_string();
    ASSERT_TRUE(service::evaluate_all(srv.store(), clock));
  };
  add(0, 20);
  clock.set(parse_time("2023-03-05T08:00:00Z").value());
  add(20, 40);
  clock.set(parse_time("2023-03-09T16:00:00Z").value());
  add(40, 60);
  clock.set(parse_time("2023-03-24T10:00:00Z").value());  // deadline-7d has passed for the first group
  ASSERT_TRUE(srv.start());

  // The timeline computed directly, person by person.
  std::vector<policy::DueAction> due;
  std::vector<policy::PersonTimeline> people;
  auto st = srv.store().read([&](store::Tx& tx) -> Status {
    FW_TRY(auto loaded, service::load_policies(tx, "replace-ios"));
    const auto& doc = loaded.at(0).compiled.document();
    std::vector<policy::PersonState> states;
    FW_TRY_STATUS(tx.scan_failing_people("replace-ios", [&](const store::FailingPerson& p) -> Status {
      states.push_back(policy::PersonState{p.person_id, *doc.level_for(p.org_unit_path), false, p.first_failed_at});
      return {};
    }));
    due = policy::actions_due(doc, states, clock.now(), Seconds{7 * 86400});
    for (const auto& s : states) people.push_back(policy::person_timeline(doc, s, clock.now()));
    return {};
  });
  ASSERT_TRUE(st) << st.error().to_string();
  ASSERT_EQ(people.size(), 60u);
  ASSERT_GT(due.size(), 60u);

  auto get = [&](const std::string& q) {
    return srv.send(verb::get, "/api/v1/campaigns/replace-ios/actions" + q);
  };
  auto r = get("?window=7d");
  ASSERT_EQ(r.status, 200) << r.body;
  auto full = r.json().as_object();
  const auto& fdue = full.at("due").as_array();
  ASSERT_EQ(fdue.size(), due.size());
  EXPECT_EQ(full.at("due_total").as_int64(), static_cast<int64_t>(due.size()));
  for (size_t i = 0; i < due.size(); ++i) {
    EXPECT_EQ(fdue[i].at("person_id").as_string(), due[i].person_id) << i;
    EXPECT_EQ(fdue[i].at("point").as_string(), due[i].point.label) << i;
    EXPECT_EQ(parse_time(std::string(fdue[i].at("at").as_string())).value(), due[i].point.at) << i;
  }
  const auto& fpeople = full.at("people").as_array();
  ASSERT_EQ(fpeople.size(), people.size());
  for (size_t i = 0; i < people.size(); ++i) {
    EXPECT_EQ(fpeople[i].at("person_id").as_string(), people[i].person_id) << i;
    EXPECT_EQ(fpeople[i].at("escalation").as_string(), policy::to_string(people[i].escalation)) << i;
    EXPECT_EQ(parse_time(std::string(fpeople[i].at("deadline").as_string())).value(), people[i].deadline) << i;
    EXPECT_EQ(fpeople[i].at("days_overdue").as_int64(), people[i].days_overdue) << i;
  }
  EXPECT_EQ(full.at("people_total").as_int64(), 60);

  // The dashboard's call: the first rows and the totals, no timelines.
  r = get("?window=7d&limit=25&people=false");
  ASSERT_EQ(r.status, 200) << r.body;
  auto paged = r.json().as_object();
  ASSERT_EQ(paged.at("due").as_array().size(), 25u);
  for (size_t i = 0; i < 25; ++i) EXPECT_EQ(paged.at("due").as_array()[i], fdue[i]) << i;
  EXPECT_EQ(paged.at("due_total").as_int64(), static_cast<int64_t>(due.size()));
  EXPECT_FALSE(paged.contains("people"));
  r = get("?window=7d&limit=5");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json().at("people").as_array().size(), 5u);
  EXPECT_EQ(r.json().at("people_total").as_int64(), 60);

  // The campaign itself, as in the list.
  auto one = srv.send(verb::get, "/api/v1/campaigns/replace-ios");
  ASSERT_EQ(one.status, 200) << one.body;
  auto list = srv.send(verb::get, "/api/v1/campaigns");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(one.json(), list.json().at("items").at(0));
  EXPECT_EQ(one.json().at("id").as_string(), "replace-ios");
  EXPECT_EQ(srv.send(verb::get, "/api/v1/campaigns/no-such").status, 404);

  for (const auto& [q, where] : std::vector<std::pair<std::string, std::string>>{
           {"?limit=0", "limit"}, {"?limit=x", "limit"}, {"?limit=100001", "limit"}, {"?people=no", "people"},
           {"?window=-1d", "window"}, {"?colour=red", "colour"}}) {
    auto bad = get(q);
    EXPECT_EQ(bad.status, 400) << q;
    EXPECT_EQ(bad.error_where(), where) << q;
  }
}

}  // namespace
}  // namespace fw
