// The campaign actions read in keyset pages (issue 7: the campaign page's work bounded by its
// page) give the same lists as read whole: on a hand-made org with three first-failure days,
// mandatory and advisory units, a person moved out of scope after the evaluation, two points
// of one person at the same time and person ids that sort by byte, every page size's pages
// concatenated equal the full due list and people list (and the full list equals the timeline
// computed directly from the failing people), on SQLite and PostgreSQL (FW_TEST_PG_URL), and
// over real HTTP on 127.0.0.1 by following due_next / people_next. Single-threaded test code.
#include <gtest/gtest.h>

#include "service/evaluate.h"
#include "service/policies.h"
#include "store/store_test_util.h"
#include "support/http_client.h"
#include "support/test_server.h"

namespace fw {
namespace {

namespace json = boost::json;
using boost::beast::http::verb;

const char* kCampaign = R"Y(kind: campaign
id: replace-ios
scope: [/hq, {path: /field, level: advisory}]
start: 2023-03-01T00:00:00Z
deadline: 2023-03-31T00:00:00Z
grace: 20d
rules:
  - {id: no-ios, severity: critical, require: 'device.os.family != "iOS"'}
  - {id: no-old, severity: low, require: 'version(device.os.version) >= version("16")'}
schedule:
  - {at: start, notify: [owner]}
  - {every: 1d, notify: [owner]}
  - {at: deadline-7d, notify: [owner]}
  - {at: deadline-7d, notify: [manager]}
  - {at: deadline, action: block}
)Y";

// Person ids in byte order differ from a case-folded order ("Z" < "a" < "b_").
std::string person_id(int i) {
  static const char* kPrefix[] = {"p", "Z", "a-", "b_"};
  return std::string(kPrefix[i % 4]) + std::to_string(100 + i);
}

// 48 people (36 in /hq, 12 in /field), one or two iPhones each, evaluated on three days; then
// one person moves out of scope without a new evaluation (every read skips them).
Status populate(store::Store& st, FixedClock& clock) {
  FW_TRY_STATUS(service::apply_policy_text(st, clock, "test", kCampaign, "replace-ios.yaml"));
  const auto add = [&](int from, int to) -> Status {
    FW_TRY_STATUS(st.write([&](store::Tx& tx) -> Status {
      for (const char* u : {"/hq", "/field", "/outside"})
        FW_TRY_STATUS(
            tx.put_org_unit(model::OrgUnit{std::string("ou-") + (u + 1), u, u + 1, "department", ""}));
      for (int i = from; i < to; ++i) {
        const std::string id = person_id(i);
        FW_TRY_STATUS(tx.put_person(
            model::Person{id, "Person " + id, id + "@x", id, i % 4 == 3 ? "/field" : "/hq", "", ""}));
        for (int k = 0; k < 1 + i % 2; ++k) {
          model::Device d;
          d.id = "d" + std::to_string(100 + i) + "-" + std::to_string(k);
          d.owner_id = id;
          d.os_family = "iOS";
          d.os_version = k ? "15" : "16";
          d.first_seen = d.last_seen = clock.now();
          FW_TRY_STATUS(tx.put_device(d));
        }
      }
      return {};
    }));
    FW_TRY_STATUS(service::evaluate_all(st, clock));
    return {};
  };
  clock.set(parse_time("2023-02-20T09:00:00Z").value());  // before the start
  FW_TRY_STATUS(add(0, 20));
  clock.set(parse_time("2023-03-05T08:00:00Z").value());
  FW_TRY_STATUS(add(20, 36));
  clock.set(parse_time("2023-03-20T16:00:00Z").value());  // late: their deadline is 2023-04-09T16:00Z
  FW_TRY_STATUS(add(36, 48));
  return st.write([&](store::Tx& tx) -> Status {
    return tx.put_person(model::Person{person_id(5), "Moved", "m@x", person_id(5), "/outside", "", ""});
  });
}

void expect_same_due(const std::vector<policy::DueAction>& a, const std::vector<policy::DueAction>& b,
                     const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].person_id, b[i].person_id) << what << " row " << i;
    EXPECT_EQ(a[i].point.at, b[i].point.at) << what << " row " << i;
    EXPECT_EQ(a[i].point.label, b[i].point.label) << what << " row " << i;
    EXPECT_EQ(a[i].point.notify, b[i].point.notify) << what << " row " << i;
    EXPECT_EQ(a[i].point.block, b[i].point.block) << what << " row " << i;
  }
}

void expect_same_people(const std::vector<policy::PersonTimeline>& a,
                        const std::vector<policy::PersonTimeline>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].person_id, b[i].person_id) << what << " row " << i;
    EXPECT_EQ(a[i].level, b[i].level) << what << " row " << i;
    EXPECT_EQ(a[i].escalation, b[i].escalation) << what << " row " << i;
    EXPECT_EQ(a[i].deadline, b[i].deadline) << what << " row " << i;
    EXPECT_EQ(a[i].days_overdue, b[i].days_overdue) << what << " row " << i;
    EXPECT_EQ(a[i].next.has_value(), b[i].next.has_value()) << what << " row " << i;
    if (a[i].next && b[i].next) EXPECT_EQ(a[i].next->at, b[i].next->at) << what << " row " << i;
  }
}

// Every window and page size: the pages concatenated equal the full lists, and each page's
// totals equal the full totals.
void check_pages(store::Store& st, const Clock& clock) {
  for (Seconds window : {Seconds{86400}, Seconds{7 * 86400}, Seconds{60 * 86400}}) {
    auto full = service::campaign_actions(st, clock, "replace-ios", window);
    ASSERT_TRUE(full) << full.error().to_string();
    const std::string w = std::to_string(window.count() / 86400) + "d";

    // The full list equals the timeline computed directly, person by person.
    std::vector<policy::DueAction> due;
    std::vector<policy::PersonTimeline> people;
    auto direct = st.read([&](store::Tx& tx) -> Status {
      FW_TRY(auto loaded, service::load_policies(tx, "replace-ios"));
      const auto& doc = loaded.at(0).compiled.document();
      std::vector<policy::PersonState> states;
      FW_TRY_STATUS(tx.scan_failing_people("replace-ios", [&](const store::FailingPerson& p) -> Status {
        if (auto level = doc.level_for(p.org_unit_path))
          states.push_back(policy::PersonState{p.person_id, *level, false, p.first_failed_at});
        return {};
      }));
      due = policy::actions_due(doc, states, full->now, window);
      for (const auto& s : states) people.push_back(policy::person_timeline(doc, s, full->now));
      return {};
    });
    ASSERT_TRUE(direct) << direct.error().to_string();
    ASSERT_EQ(people.size(), 47u);  // 48 failing, one moved out of scope
    expect_same_due(full->due, due, w + " full");
    expect_same_people(full->people, people, w + " full");
    EXPECT_EQ(full->due_total, due.size());
    EXPECT_EQ(full->people_total, people.size());
    EXPECT_FALSE(full->due_next);
    EXPECT_TRUE(full->people_next.empty());

    for (size_t limit : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{50}, size_t{1000}}) {
      const std::string what = w + " limit " + std::to_string(limit);
      std::vector<policy::DueAction> got_due;
      std::vector<policy::PersonTimeline> got_people;
      service::ActionsPage page{limit, limit, std::nullopt, ""};
      for (int n = 0; n < 2000; ++n) {
        auto p = service::campaign_actions(st, clock, "replace-ios", window, page);
        ASSERT_TRUE(p) << p.error().to_string();
        EXPECT_EQ(p->due_total, full->due_total) << what;
        EXPECT_EQ(p->people_total, full->people_total) << what;
        EXPECT_LE(p->due.size(), limit) << what;
        EXPECT_LE(p->people.size(), limit) << what;
        got_due.insert(got_due.end(), p->due.begin(), p->due.end());
        got_people.insert(got_people.end(), p->people.begin(), p->people.end());
        if (!p->due_next && p->people_next.empty()) break;
        // Through the wire form, as a client sends it back.
        page.due_limit = p->due_next ? limit : 0;
        if (p->due_next)
          page.due_after = service::parse_due_after(service::format_due_after(*p->due_next), "x").value();
        page.people_limit = p->people_next.empty() ? 0 : limit;
        page.people_after = p->people_next;
      }
      expect_same_due(got_due, full->due, what);
      expect_same_people(got_people, full->people, what);
    }
    // The dashboard's first page (no timelines) is the full list's first rows.
    auto first = service::campaign_actions(st, clock, "replace-ios", window, false, 5);
    ASSERT_TRUE(first);
    EXPECT_TRUE(first->people.empty());
    std::vector<policy::DueAction> head(full->due.begin(),
                                        full->due.begin() + std::min<size_t>(5, full->due.size()));
    expect_same_due(first->due, head, w + " first page");
  }
}

class CampaignPages : public ::testing::TestWithParam<std::string> {};

TEST_P(CampaignPages, PagesConcatenatedEqualTheFullLists) {
  store::testing::TestDb db(GetParam());
  if (!db.available()) {
    if (GetParam() == "postgres" && db.skip_reason().empty()) GTEST_SKIP() << "FW_TEST_PG_URL is not set";
    FAIL() << db.skip_reason();
  }
  auto st = db.open();
  ASSERT_TRUE(st) << st.error().to_string();
  FixedClock clock(parse_time("2023-02-20T09:00:00Z").value());
  auto made = populate(**st, clock);
  ASSERT_TRUE(made) << made.error().to_string();
  // Three moments: around deadline-7d of the first groups, after the deadline, in the grace.
  for (const char* now : {"2023-03-24T10:00:00Z", "2023-03-31T12:00:00Z", "2023-04-08T00:00:00Z"}) {
    SCOPED_TRACE(now);
    clock.set(parse_time(now).value());
    check_pages(**st, clock);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, CampaignPages, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

// Bad positions are refused naming the parameter.
TEST(CampaignPagesApi, ParseDueAfterRefusesBadPositions) {
  auto ok = service::parse_due_after("1680000000.2.p.1", "due_after");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->person_id, "p.1");
  EXPECT_EQ(ok->n, 2u);
  const std::vector<std::string> bads{"", "1", "1.2", "1.2.", "x.1.p", "1.0.p", "1.-1.p", "1.1x.p", std::string(600, '1')};
  for (const std::string& bad : bads) {
    auto r = service::parse_due_after(bad, "due_after");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().where, "due_after");
  }
}

// Over HTTP: following due_next and people_next gives the answer without ?limit.
TEST(CampaignPagesApi, ApiPagesFollowTheirCursors) {
  FixedClock clock(parse_time("2023-02-20T09:00:00Z").value());
  testing::TestServer srv(clock);
  ASSERT_TRUE(srv.open_with_admin("fw-campaign-pages"));
  auto made = populate(srv.store(), clock);
  ASSERT_TRUE(made) << made.error().to_string();
  clock.set(parse_time("2023-03-24T10:00:00Z").value());
  ASSERT_TRUE(srv.start());
  auto get = [&](const std::string& q) {
    return srv.send(verb::get, "/api/v1/campaigns/replace-ios/actions" + q);
  };
  auto r = get("?window=7d");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto full = r.json().as_object();
  EXPECT_TRUE(full.at("due_next").is_null());
  EXPECT_TRUE(full.at("people_next").is_null());
  // The due list alone (as the dashboard asks), then the people list, each to its end.
  json::array due, people;
  for (const char* list : {"due", "people"}) {
    const bool is_due = std::string(list) == "due";
    std::string q = is_due ? "?window=7d&limit=4&people=false" : "?window=7d&limit=4";
    for (int n = 0;; ++n) {
      ASSERT_LT(n, 500) << list << " never ends";
      r = get(q);
      ASSERT_EQ(r.status, 200) << q << ": " << r.body;
      const auto page = r.json().as_object();
      EXPECT_EQ(page.at("due_total"), full.at("due_total"));
      if (!is_due) EXPECT_EQ(page.at("people_total"), full.at("people_total"));
      for (const auto& v : page.at(list).as_array()) (is_due ? due : people).push_back(v);
      const auto& next = page.at(is_due ? "due_next" : "people_next");
      if (next.is_null()) break;
      q = (is_due ? "?window=7d&limit=4&people=false&due_after=" : "?window=7d&limit=4&people_after=") +
          std::string(next.as_string());
    }
  }
  EXPECT_EQ(due, full.at("due").as_array());
  EXPECT_EQ(people, full.at("people").as_array());
  for (const auto& [bq, where] :
       std::vector<std::pair<std::string, std::string>>{{"?due_after=12", "due_after"},
                                                        {"?due_after=1.0.p100", "due_after"},
                                                        {"?people_after=", "people_after"}}) {
    auto bad = get(bq);
    EXPECT_EQ(bad.status, 400) << bq;
    EXPECT_EQ(bad.error_where(), where) << bq;
  }
}

}  // namespace
}  // namespace fw
