// Tests of the background evaluation queue over a real SQLite file: a marked device gets its
// findings, a person's devices follow them, a campaign deadline and an exemption expiry flip
// findings with no explicit evaluation (a test clock moved by hand), the interval run,
// shutdown with work queued or in progress, and the memory bound. Waits are bounded.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "service/eval_queue.h"
#include "service/evaluate.h"
#include "service/inventory.h"
#include "service/policies.h"
#include "service/service_test_util.h"
#include "support/test_store.h"

namespace fw::service {
namespace {

using namespace std::chrono_literals;

Time T(const char* s) { return *parse_time(s); }

// A clock the test moves while the worker reads it.
class TestClock final : public Clock {
 public:
  explicit TestClock(Time t) : s_(to_unix(t)) {}
  Time now() const override { return from_unix(s_.load()); }
  void set(Time t) { s_.store(to_unix(t)); }

 private:
  std::atomic<int64_t> s_;
};

// Rule `ios-until-deadline` passes for iPhones until the campaign deadline (the grace period
// written into the rule), then fails; `no-zoom` fails while Zoom is installed.
const char* kCampaign = R"Y(kind: campaign
id: phase-out
scope: [/hq]
start: 2026-11-01T00:00:00Z
deadline: 2026-12-01T00:00:00Z
rules:
  - id: ios-until-deadline
    require: 'now < timestamp("2026-12-01T00:00:00Z") || device.os.family != "iOS"'
  - id: no-zoom
    require: '!device.apps.exists(a, a.id.startsWith("us.zoom."))'
schedule:
  - {at: deadline-7d, notify: [owner, manager]}
  - {at: deadline, action: block}
)Y";

class EvalQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store_.open("fw-evalq-test", "t.db");
    ASSERT_TRUE(s) << s.error().to_string();
    ASSERT_TRUE(store_->write([&](store::Tx& tx) -> Status {
      Change c{"test", T("2026-11-01T00:00:00Z")};
      FW_TRY_STATUS(fw::testing::put_org_units(tx, c, {"/hq", "/branch"}));
      FW_TRY_STATUS(put_person(tx, c, model::Person{"ann", "Ann", "ann@x", "ann", "/hq", "", ""}, PutMode::create));
      FW_TRY_STATUS(put_person(tx, c, model::Person{"bob", "Bob", "bob@x", "bob", "/branch", "", ""}, PutMode::create));
      return {};
    }));
    auto a = apply_policy_text(*store_, clock_, "test", kCampaign, "phase-out.yaml");
    ASSERT_TRUE(a) << a.error().to_string();
  }

  void put(const std::string& id, const std::string& owner, const std::string& family, bool zoom = false) {
    ASSERT_TRUE(store_->write([&](store::Tx& tx) -> Status {
      model::Device d;
      d.id = id;
      d.owner_id = owner;
      d.os_family = family;
      d.os_version = "17.0";
      d.type = model::DeviceType::phone;
      d.first_seen = d.last_seen = T("2026-11-01T00:00:00Z");
      if (zoom) d.apps.push_back(model::App{"us.zoom.videomeetings", "Zoom", "5.0"});
      FW_TRY_STATUS(put_device(tx, Change{"test", clock_.now()}, d, PutMode::upsert));
      return {};
    }));
  }

  // The finding's status, "" when there is none.
  std::string status(const std::string& device, const std::string& rule_key) {
    std::string out;
    EXPECT_TRUE(store_->read([&](store::Tx& tx) {
      store::FindingFilter f;
      f.device_id = device;
      return tx.scan_findings(f, [&](const store::Finding& x) -> Status {
        if (x.rule_key == rule_key) out = std::string(store::to_string(x.status));
        return {};
      });
    }));
    return out;
  }

  // Polls until status(...) == want or 10 s pass.
  bool eventually(const std::string& device, const std::string& rule_key, const std::string& want) {
    for (int i = 0; i < 1000; ++i) {
      if (status(device, rule_key) == want) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  static EvalQueueOptions fast() {
    EvalQueueOptions o;
    o.interval = Seconds{0};
    o.coalesce = 20ms;
    o.poll = 20ms;
    o.replan = 50ms;
    o.full_at_start = false;
    return o;
  }

  fw::testing::TestStore store_;
  TestClock clock_{T("2026-11-20T12:00:00Z")};
};

TEST_F(EvalQueueTest, MarkedDeviceGetsItsFindings) {
  EvalQueue q(*store_, clock_, fast());
  q.start();
  put("d1", "ann", "Android", /*zoom=*/true);
  q.mark_dirty("d1");
  EXPECT_TRUE(eventually("d1", "phase-out/no-zoom", "fail"));
  EXPECT_EQ(status("d1", "phase-out/ios-until-deadline"), "pass");
  // The device changes again (Zoom removed): the next mark brings the finding back to pass.
  put("d1", "ann", "Android", /*zoom=*/false);
  q.mark_dirty("d1");
  EXPECT_TRUE(eventually("d1", "phase-out/no-zoom", "pass"));
  ASSERT_TRUE(q.wait_idle(10s));
  auto st = q.stats();
  EXPECT_GE(st.batches, 2);
  EXPECT_EQ(st.devices_evaluated, 2);
  EXPECT_EQ(st.full_runs, 0);
  EXPECT_EQ(st.errors, 0) << st.last_error;
  EXPECT_TRUE(st.last_run.has_value());
}

TEST_F(EvalQueueTest, BurstIsDeduplicatedAndUnknownIdsSkipped) {
  put("d1", "ann", "iOS");
  auto o = fast();
  o.coalesce = 2s;  // the whole burst lands before the batch is taken
  EvalQueue q(*store_, clock_, o);
  q.start();
  std::vector<std::string> ids(50, "d1");
  ids.push_back("no-such-device");
  q.mark_dirty(ids);
  q.mark_dirty("d1");
  EXPECT_EQ(q.stats().queued, 2);
  EXPECT_TRUE(eventually("d1", "phase-out/ios-until-deadline", "pass"));
  ASSERT_TRUE(q.wait_idle(10s));
  auto st = q.stats();
  EXPECT_EQ(st.marked, 2);
  EXPECT_EQ(st.batches, 1);
  EXPECT_EQ(st.devices_evaluated, 1);
  EXPECT_EQ(st.errors, 0) << st.last_error;
}

TEST_F(EvalQueueTest, PersonMovedOutOfScopeReevaluatesTheirDevices) {
  put("d1", "ann", "Android", true);
  ASSERT_TRUE(evaluate_all(*store_, clock_));
  ASSERT_EQ(status("d1", "phase-out/no-zoom"), "fail");
  EvalQueue q(*store_, clock_, fast());
  q.start();
  ASSERT_TRUE(store_->write([&](store::Tx& tx) -> Status {
    FW_TRY(auto p, tx.get_person("ann"));
    p.org_unit_path = "/branch";
    FW_TRY_STATUS(put_person(tx, Change{"test", clock_.now()}, p, PutMode::replace));
    return {};
  }));
  std::vector<std::string> people{"ann"};
  q.mark_people_dirty(people);
  // Out of scope: the earlier fail is closed as pass/not_applicable.
  EXPECT_TRUE(eventually("d1", "phase-out/no-zoom", "pass"));
}

TEST_F(EvalQueueTest, DeadlineArrivingFlipsFindingWithoutExplicitEvaluation) {
  put("d1", "ann", "iOS");
  clock_.set(T("2026-11-30T23:59:58Z"));
  ASSERT_TRUE(evaluate_all(*store_, clock_));
  ASSERT_EQ(status("d1", "phase-out/ios-until-deadline"), "pass");
  EvalQueue q(*store_, clock_, fast());  // no interval: only time points run full evaluations
  q.start();
  // The plan knows the deadline is the next point.
  for (int i = 0; i < 500 && !q.stats().next_point; ++i) std::this_thread::sleep_for(10ms);
  auto st = q.stats();
  ASSERT_TRUE(st.next_point.has_value());
  EXPECT_EQ(*st.next_point, T("2026-12-01T00:00:00Z"));
  EXPECT_EQ(st.next_point_label, "phase-out deadline");
  // One second before: nothing happens.
  clock_.set(T("2026-11-30T23:59:59Z"));
  q.wake();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(status("d1", "phase-out/ios-until-deadline"), "pass");
  EXPECT_EQ(q.stats().full_runs, 0);
  // The deadline arrives.
  clock_.set(T("2026-12-01T00:00:00Z"));
  EXPECT_TRUE(eventually("d1", "phase-out/ios-until-deadline", "fail"));
  ASSERT_TRUE(q.wait_idle(10s));
  st = q.stats();
  EXPECT_EQ(st.scheduled_runs, 1);
  EXPECT_EQ(st.full_runs, 1);
  EXPECT_EQ(st.errors, 0) << st.last_error;
  // Nothing after the deadline in this campaign's schedule.
  for (int i = 0; i < 100 && q.stats().next_point; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(q.stats().next_point.has_value());
}

TEST_F(EvalQueueTest, ExemptionExpiryIsATimePoint) {
  put("d1", "ann", "Android", true);
  store::Exemption e;
  e.id = "ex-zoom";
  e.device_id = "d1";
  e.policy_id = "phase-out";
  e.rule_id = "no-zoom";
  e.reason = "contract with a partner on Zoom";
  e.approver = "ciso";
  e.expires_at = T("2026-11-20T13:00:00Z");
  ASSERT_TRUE(create_exemption(*store_, clock_, "test", e));
  ASSERT_TRUE(evaluate_all(*store_, clock_));
  ASSERT_EQ(status("d1", "phase-out/no-zoom"), "exempt");
  EvalQueue q(*store_, clock_, fast());
  q.start();
  for (int i = 0; i < 500 && !q.stats().next_point; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(q.stats().next_point_label, "exemption ex-zoom expires");
  clock_.set(T("2026-11-20T13:00:00Z"));
  EXPECT_TRUE(eventually("d1", "phase-out/no-zoom", "fail"));
}

TEST_F(EvalQueueTest, IntervalRunsAFullEvaluation) {
  put("d1", "ann", "Android", true);  // never marked
  auto o = fast();
  o.interval = Seconds{900};
  EvalQueue q(*store_, clock_, o);
  q.start();
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(status("d1", "phase-out/no-zoom"), "");
  clock_.set(clock_.now() + Seconds{900});
  EXPECT_TRUE(eventually("d1", "phase-out/no-zoom", "fail"));
  EXPECT_EQ(q.stats().scheduled_runs, 0);
}

TEST_F(EvalQueueTest, FullAtStartAndRequestFull) {
  put("d1", "ann", "Android", true);
  auto o = fast();
  o.full_at_start = true;
  EvalQueue q(*store_, clock_, o);
  q.start();
  EXPECT_TRUE(eventually("d1", "phase-out/no-zoom", "fail"));
  ASSERT_TRUE(q.wait_idle(10s));
  put("d1", "ann", "Android", false);
  q.request_full();
  EXPECT_TRUE(eventually("d1", "phase-out/no-zoom", "pass"));
  ASSERT_TRUE(q.wait_idle(10s));
  EXPECT_EQ(q.stats().full_runs, 2);
  // Another process (an import) asks through the database.
  put("d1", "ann", "Android", true);
  ASSERT_TRUE(request_full_evaluation(*store_));
  EXPECT_TRUE(eventually("d1", "phase-out/no-zoom", "fail"));
  ASSERT_TRUE(q.wait_idle(10s));
  EXPECT_EQ(q.stats().full_runs, 3);
}

TEST_F(EvalQueueTest, StopAbandonsQueuedWork) {
  for (int i = 0; i < 20; ++i) put("d" + std::to_string(i), "ann", "iOS");
  auto o = fast();
  o.coalesce = 60s;  // the batch would be taken only in a minute
  EvalQueue q(*store_, clock_, o);
  q.start();
  for (int i = 0; i < 20; ++i) q.mark_dirty("d" + std::to_string(i));
  auto t0 = std::chrono::steady_clock::now();
  q.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  auto st = q.stats();
  EXPECT_EQ(st.abandoned, 20);
  EXPECT_EQ(st.queued, 0);
  EXPECT_EQ(st.devices_evaluated, 0);
  q.mark_dirty("d1");  // after stop: ignored, no crash
  EXPECT_EQ(q.stats().queued, 0);
  q.stop();  // idempotent
}

TEST_F(EvalQueueTest, StopDuringABatchFinishesTheCurrentCallOnly) {
  for (int i = 0; i < 200; ++i) put("d" + std::to_string(1000 + i), "ann", "iOS");
  auto o = fast();
  o.batch = 1;  // shutdown is checked between devices
  EvalQueue q(*store_, clock_, o);
  q.start();
  std::vector<std::string> ids;
  for (int i = 0; i < 200; ++i) ids.push_back("d" + std::to_string(1000 + i));
  q.mark_dirty(ids);
  for (int i = 0; i < 1000 && q.stats().devices_evaluated == 0 && !q.stats().running; ++i)
    std::this_thread::sleep_for(1ms);
  q.stop();
  auto st = q.stats();
  // Every id was either evaluated or abandoned; none lost, none twice.
  EXPECT_EQ(st.devices_evaluated + st.abandoned, 200) << st.devices_evaluated << " + " << st.abandoned;
  EXPECT_EQ(st.errors, 0) << st.last_error;
}

TEST_F(EvalQueueTest, MemoryBoundDegradesToOneFullRun) {
  put("d1", "ann", "Android", true);
  auto o = fast();
  o.max_pending = 10;
  EvalQueue q(*store_, clock_, o);  // not started yet: the queue fills
  std::vector<std::string> ids;
  for (int i = 0; i < 25; ++i) ids.push_back("x" + std::to_string(i));
  q.mark_dirty(ids);
  std::vector<std::string> people{"ann", "bob"};
  q.mark_people_dirty(people);
  auto st = q.stats();
  EXPECT_EQ(st.overflows, 1);
  EXPECT_EQ(st.queued, 0);
  EXPECT_EQ(st.people_queued, 0);
  EXPECT_TRUE(st.full_pending);
  EXPECT_EQ(st.marked, 10);
  q.start();
  EXPECT_TRUE(eventually("d1", "phase-out/no-zoom", "fail"));
  ASSERT_TRUE(q.wait_idle(10s));
  st = q.stats();
  EXPECT_EQ(st.full_runs, 1);
  EXPECT_EQ(st.batches, 0);
}

TEST_F(EvalQueueTest, ErrorsAreCountedAndTheWorkerKeepsGoing) {
  put("d1", "ann", "Android", true);
  EvalQueue q(*store_, clock_, fast());
  q.start();
  // A broken stored policy (written behind the service's back) makes evaluation fail.
  ASSERT_TRUE(store_->write([&](store::Tx& tx) -> Status {
    FW_TRY(auto d, tx.get_policy("phase-out"));
    d.source = "kind: campaign\nid: phase-out\nrules: [";
    FW_TRY_STATUS(tx.put_policy(d));
    return {};
  }));
  q.mark_dirty("d1");
  // (The periodic planning fails on the same document too; wait for the device's error.)
  for (int i = 0; i < 1000 && q.stats().last_error.find("evaluating device d1") == std::string::npos; ++i)
    std::this_thread::sleep_for(10ms);
  auto st = q.stats();
  EXPECT_GE(st.errors, 1);
  EXPECT_NE(st.last_error.find("evaluating device d1"), std::string::npos) << st.last_error;
  EXPECT_TRUE(st.last_error_at.has_value());
  // Repaired: the next mark works.
  auto a = apply_policy_text(*store_, clock_, "test", kCampaign, "phase-out.yaml");
  ASSERT_TRUE(a) << a.error().to_string();
  q.mark_dirty("d1");
  EXPECT_TRUE(eventually("d1", "phase-out/no-zoom", "fail"));
}

TEST(NextTimePoint, CampaignPointsAndExemptions) {
  fw::testing::TestStore s;
  auto o = s.open("fw-evalq-ntp", "t.db");
  ASSERT_TRUE(o) << o.error().to_string();
  FixedClock clock(T("2026-10-01T00:00:00Z"));
  ASSERT_TRUE(apply_policy_text(*s, clock, "test", kCampaign, "c.yaml"));
  struct Case {
    const char* after;
    const char* want;  // "" = none
    const char* label;
  };
  for (const auto& c : std::vector<Case>{
           {"2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z", "phase-out start"},
           {"2026-11-01T00:00:00Z", "2026-11-24T00:00:00Z", "phase-out deadline-7d"},
           {"2026-11-23T23:59:59Z", "2026-11-24T00:00:00Z", "phase-out deadline-7d"},
           {"2026-11-24T00:00:00Z", "2026-12-01T00:00:00Z", "phase-out deadline"},
           {"2026-12-01T00:00:00Z", "", ""},
       }) {
    std::string label;
    std::optional<Time> got;
    ASSERT_TRUE(s->read([&](store::Tx& tx) -> Status {
      FW_TRY(got, next_time_point(tx, T(c.after), &label));
      return {};
    }));
    if (*c.want) {
      ASSERT_TRUE(got.has_value()) << c.after;
      EXPECT_EQ(format_time(*got), format_time(T(c.want))) << c.after;
      EXPECT_EQ(label, c.label) << c.after;
    } else {
      EXPECT_FALSE(got.has_value()) << c.after << " -> " << format_time(*got);
    }
  }
}

}  // namespace
}  // namespace fw::service
