// End-to-end: evaluation follows inventory changes made over the HTTP API. A real server on
// 127.0.0.1:0 over a real SQLite file with the background evaluation queue (as `fleetward
// serve` wires it): POST/PUT/PATCH of a device and a person's move lead to findings with no
// explicit evaluation, and /metrics shows the queue. Single-threaded test code.
#include <gtest/gtest.h>

#include <thread>

#include "support/http_client.h"
#include "support/test_server.h"
#include "service/eval_queue.h"
#include "service/policies.h"

namespace fw {
namespace {

using boost::beast::http::verb;
using namespace std::chrono_literals;
using testing::http_request;
using testing::HttpResult;

const char* kCampaign = R"Y(kind: campaign
id: replace-ios
scope: [/hq]
start: 2023-03-01T00:00:00+03:00
deadline: 2023-03-31T23:59:59+03:00
rules:
  - {id: no-ios, severity: critical, require: 'device.os.family != "iOS"'}
  - {id: no-zoom, require: '!device.apps.exists(a, a.id.startsWith("us.zoom."))'}
)Y";

class EvalApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto st = srv_.open_with_admin("fw-eval-api");
    ASSERT_TRUE(st) << st.error().to_string();
    ASSERT_TRUE(service::apply_policy_text(srv_.store(), clock_, "test", kCampaign, "replace-ios.yaml"));
    service::EvalQueueOptions o;
    o.coalesce = 20ms;
    o.poll = 50ms;
    o.full_at_start = false;
    queue_ = std::make_unique<service::EvalQueue>(srv_.store(), clock_, o);
    srv_.services().eval = queue_.get();
    st = srv_.start();
    ASSERT_TRUE(st) << st.error().to_string();
    queue_->start();
    for (const char* body : {R"({"path":"/hq","name":"HQ"})", R"({"path":"/branch","name":"Branch"})"})
      ASSERT_EQ(send(verb::post, "/api/v1/org-units", body).status, 201);
    ASSERT_EQ(send(verb::post, "/api/v1/people", R"({"id":"p1","name":"Ivan","email":"i@x","org_unit":"/hq"})").status,
              201);
  }

  void TearDown() override {
    srv_.stop();
    if (queue_) queue_->stop();
  }

  HttpResult get(const std::string& target) { return srv_.send(verb::get, target); }
  HttpResult send(verb m, const std::string& target, const std::string& body) { return srv_.send(m, target, body); }

  // The status of (device, rule) from GET /api/v1/findings; "" when there is no finding.
  std::string status(const std::string& device, const std::string& rule_key) {
    auto r = get("/api/v1/findings?device_id=" + device + "&rule_key=" + rule_key);
    EXPECT_EQ(r.status, 200) << r.body;
    auto v = r.json();
    const auto& items = v.at("items").as_array();
    if (items.empty()) return "";
    return std::string(items[0].at("status").as_string());
  }
  // Polls the API until the finding has `want` or 10 s pass.
  bool eventually(const std::string& device, const std::string& rule_key, const std::string& want) {
    for (int i = 0; i < 500; ++i) {
      if (status(device, rule_key) == want) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  FixedClock clock_{*parse_time("2023-03-10T12:00:00+03:00")};
  testing::TestServer srv_{clock_};
  std::unique_ptr<service::EvalQueue> queue_;  // goes before srv_ (its Services point to it)
};

TEST_F(EvalApiTest, PostedDeviceGetsItsFindings) {
  auto c = send(verb::post, "/api/v1/devices",
                R"({"id":"d1","owner_id":"p1","os_family":"iOS","os_version":"16.3","type":"phone",
                    "apps":[{"id":"us.zoom.videomeetings","name":"Zoom","version":"5.13"}]})");
  ASSERT_EQ(c.status, 201) << c.body;
  EXPECT_TRUE(eventually("d1", "replace-ios/no-ios", "fail"));
  EXPECT_TRUE(eventually("d1", "replace-ios/no-zoom", "fail"));
}

TEST_F(EvalApiTest, PutAndPatchOfADeviceChangeItsFindings) {
  ASSERT_EQ(send(verb::post, "/api/v1/devices", R"({"id":"d1","owner_id":"p1","os_family":"iOS"})").status, 201);
  ASSERT_TRUE(eventually("d1", "replace-ios/no-ios", "fail"));
  // Replaced by an Android phone (PUT), then Zoom installed (PATCH).
  auto u = send(verb::put, "/api/v1/devices/d1", R"({"owner_id":"p1","os_family":"Android","os_version":"14"})");
  ASSERT_EQ(u.status, 200) << u.body;
  EXPECT_TRUE(eventually("d1", "replace-ios/no-ios", "pass"));
  auto p = send(verb::patch, "/api/v1/devices/d1",
                R"({"apps":[{"id":"us.zoom.videomeetings","name":"Zoom","version":"5.13"}]})");
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_TRUE(eventually("d1", "replace-ios/no-zoom", "fail"));
  // The history has both changes of no-ios: fail, then pass.
  ASSERT_TRUE(queue_->wait_idle(10s));
  auto st = queue_->stats();
  EXPECT_GE(st.devices_evaluated, 3);
  EXPECT_EQ(st.errors, 0) << st.last_error;
}

TEST_F(EvalApiTest, PersonMovedOutOfScopeClosesTheirFindings) {
  ASSERT_EQ(send(verb::post, "/api/v1/devices", R"({"id":"d1","owner_id":"p1","os_family":"iOS"})").status, 201);
  ASSERT_TRUE(eventually("d1", "replace-ios/no-ios", "fail"));
  auto m = send(verb::patch, "/api/v1/people/p1", R"({"org_unit":"/branch"})");
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_TRUE(eventually("d1", "replace-ios/no-ios", "pass"));  // out of scope: closed as not_applicable
}

TEST_F(EvalApiTest, MetricsShowTheQueue) {
  ASSERT_EQ(send(verb::post, "/api/v1/devices", R"({"id":"d1","owner_id":"p1","os_family":"iOS"})").status, 201);
  ASSERT_TRUE(eventually("d1", "replace-ios/no-ios", "fail"));
  ASSERT_TRUE(queue_->wait_idle(10s));
  auto m = http_request(srv_.port(), verb::get, "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("# TYPE fleetward_eval_queued_devices gauge\nfleetward_eval_queued_devices 0\n"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("fleetward_eval_batch_devices_total "), std::string::npos);
  EXPECT_NE(m.body.find("fleetward_eval_errors_total 0\n"), std::string::npos);
  // The campaign's deadline is the next time point.
  EXPECT_NE(m.body.find("fleetward_eval_next_time_point_timestamp_seconds " +
                        std::to_string(to_unix(*parse_time("2023-03-31T23:59:59+03:00"))) + "\n"),
            std::string::npos)
      << m.body;
}

}  // namespace
}  // namespace fw
