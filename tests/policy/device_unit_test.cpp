// End-to-end: a device's own org unit decides its campaign scope when it has no owner. A real
// server on 127.0.0.1:0 over a real SQLite file: an agent enrolled with an
// /administration/ict enrolment secret gets a failing finding of a campaign scoped to
// /administration and is counted in that unit's report row; CEL sees device.org_unit; an owned
// device follows its owner's unit (outside the scope), also after the agent device gets an
// owner; a device with neither is out of scope. Single-threaded test code.
#include <gtest/gtest.h>

#include "service/policies.h"
#include "support/http_client.h"
#include "support/test_server.h"

namespace fw {
namespace {

namespace json = boost::json;
using boost::beast::http::verb;
using testing::HttpResult;

const char* kCampaign = R"Y(kind: campaign
id: no-zoom-admin
title: No Zoom in the administration
scope: [/administration]
start: 2023-03-01T00:00:00+03:00
deadline: 2023-03-31T23:59:59+03:00
rules:
  - {id: no-zoom, severity: high, require: '!device.apps.exists(a, a.id.startsWith("us.zoom."))'}
  - id: own-unit
    when: person == null
    require: device.org_unit.startsWith("/administration/")
)Y";

class DeviceUnitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto st = srv_.open_with_admin("fw-device-unit");
    ASSERT_TRUE(st) << st.error().to_string();
    st = srv_.start();
    ASSERT_TRUE(st) << st.error().to_string();
    for (const char* body : {R"({"path":"/administration","name":"Administration"})",
                             R"({"path":"/administration/ict","name":"ICT"})", R"({"path":"/regions","name":"Regions"})"})
      ASSERT_EQ(srv_.send(verb::post, "/api/v1/org-units", body).status, 201);
    ASSERT_EQ(srv_.send(verb::post, "/api/v1/people",
                        R"({"id":"p-reg","name":"Olga","email":"o@x","org_unit":"/regions"})")
                  .status,
              201);
    auto ap = service::apply_policy_text(srv_.store(), clock_, "test", kCampaign, "no-zoom-admin.yaml");
    ASSERT_TRUE(ap) << ap.error().to_string();
  }

  // Enrols an agent with a secret for `unit` and sends its first full report (with Zoom).
  std::string enrol_agent(const std::string& unit) {
    auto sec = srv_.send(verb::post, "/api/v1/agent/enroll-secrets",
                         R"({"org_unit_path": ")" + unit + R"(", "ttl": "1h", "max_uses": 1})");
    EXPECT_EQ(sec.status, 201) << sec.body;
    auto en = testing::http_request(srv_.port(), verb::post, "/api/v1/agent/enroll",
                                    json::serialize(json::object{{"protocol", 1},
                                                                 {"enroll_secret", sec.json().at("secret")},
                                                                 {"hardware_id", "hw-aurora-1"},
                                                                 {"os_family", "Aurora OS"}}),
                                    "");
    EXPECT_EQ(en.status, 200) << en.body;
    std::string device(en.json().at("device_id").as_string());
    std::string credential(en.json().at("credential").as_string());
    json::object r{{"protocol", 1},
                   {"device_id", device},
                   {"seq", 1},
                   {"kind", "full"},
                   {"collected_at", "2027-01-15T08:00:00Z"},
                   {"command_results", json::array{}},
                   {"facts", json::object{{"os", {{"family", "Aurora OS"}, {"version", "4.0.2"}}},
                                          {"apps", json::array{json::object{{"id", "us.zoom.videomeetings"},
                                                                            {"version", "5"}}}}}}};
    auto ci = testing::http_request(srv_.port(), verb::post, "/api/v1/agent/checkin", json::serialize(r), credential);
    EXPECT_EQ(ci.status, 200) << ci.body;
    return device;
  }

  void evaluate() {
    auto ev = srv_.send(verb::post, "/api/v1/policies/no-zoom-admin/evaluate");
    ASSERT_EQ(ev.status, 200) << ev.body;
  }

  // "rule=status" of the device's findings that are not pass, sorted.
  std::vector<std::string> open_findings(const std::string& device) {
    auto f = srv_.send(verb::get, "/api/v1/findings?device_id=" + device + "&limit=100");
    EXPECT_EQ(f.status, 200) << f.body;
    std::vector<std::string> out;
    auto body = f.json();
    for (const auto& x : body.at("items").as_array()) {
      std::string st(x.at("status").as_string());
      if (st != "pass") out.push_back(std::string(x.at("rule_key").as_string()) + "=" + st);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // The report's row of `path` (null when the unit has no row).
  json::value unit_row(const std::string& path) {
    auto rep = srv_.send(verb::get, "/api/v1/reports/no-zoom-admin?format=json");
    EXPECT_EQ(rep.status, 200) << rep.body;
    auto body = rep.json();
    for (const auto& u : body.at("units").as_array())
      if (u.at("path").as_string() == path) return u;
    return nullptr;
  }

  SystemClock clock_;
  testing::TestServer srv_{clock_};
};

TEST_F(DeviceUnitTest, AgentDeviceIsInItsEnrolmentUnit) {
  std::string dev = enrol_agent("/administration/ict");
  auto d = srv_.send(verb::get, "/api/v1/devices/" + dev);
  ASSERT_EQ(d.status, 200) << d.body;
  EXPECT_EQ(d.json().at("org_unit"), "/administration/ict");
  EXPECT_EQ(d.json().at("owner_id"), "");
  EXPECT_EQ(d.json().at("source"), "agent");

  evaluate();
  // Zoom fails; the CEL rule on device.org_unit passes (the unit is below /administration/).
  EXPECT_EQ(open_findings(dev), std::vector<std::string>{"no-zoom-admin/no-zoom=fail"});

  // The unit's report row counts the device (no person), and the parent rolls it up.
  for (const char* path : {"/administration/ict", "/administration"}) {
    auto row = unit_row(path);
    ASSERT_TRUE(row.is_object()) << path;
    EXPECT_EQ(row.at("devices").as_int64(), 1) << path;
    EXPECT_EQ(row.at("devices_noncompliant").as_int64(), 1) << path;
    EXPECT_EQ(row.at("people").as_int64(), 0) << path;
  }
  EXPECT_TRUE(unit_row("/regions").is_null());

  // Given an owner in /regions, the owner's unit wins: out of scope, the failure closes.
  auto p = srv_.send(verb::patch, "/api/v1/devices/" + dev, R"({"owner_id":"p-reg"})");
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(p.json().at("org_unit"), "/administration/ict");
  evaluate();
  EXPECT_TRUE(open_findings(dev).empty());
  auto row = unit_row("/administration/ict");
  if (row.is_object()) EXPECT_EQ(row.at("devices").as_int64(), 0);
}

TEST_F(DeviceUnitTest, OwnedDeviceFollowsItsOwnerAndUnitlessDevicesAreOutOfScope) {
  // Its own unit says /administration, but its owner is in /regions.
  auto a =
      srv_.send(verb::post, "/api/v1/devices",
                R"({"id":"d-owned","owner_id":"p-reg","org_unit":"/administration","os_family":"Android",)"
                R"("apps":[{"id":"us.zoom.videomeetings"}]})");
  ASSERT_EQ(a.status, 201) << a.body;
  auto b = srv_.send(verb::post, "/api/v1/devices",
                     R"({"id":"d-none","os_family":"Android","apps":[{"id":"us.zoom.videomeetings"}]})");
  ASSERT_EQ(b.status, 201) << b.body;
  EXPECT_EQ(b.json().at("org_unit"), "");
  // Unowned and in /administration through its own unit: in scope; the own-unit rule fails
  // because it is not below /administration/.
  auto c = srv_.send(verb::post, "/api/v1/devices",
                     R"({"id":"d-admin","org_unit":"/administration","os_family":"Android"})");
  ASSERT_EQ(c.status, 201) << c.body;
  evaluate();
  EXPECT_TRUE(open_findings("d-owned").empty());
  EXPECT_TRUE(open_findings("d-none").empty());
  EXPECT_EQ(open_findings("d-admin"), std::vector<std::string>{"no-zoom-admin/own-unit=fail"});

  // Moving the owner into the scope brings the owned device in.
  auto mv = srv_.send(verb::patch, "/api/v1/people/p-reg", R"({"org_unit":"/administration/ict"})");
  ASSERT_EQ(mv.status, 200) << mv.body;
  evaluate();
  EXPECT_EQ(open_findings("d-owned"), std::vector<std::string>{"no-zoom-admin/no-zoom=fail"});
  auto row = unit_row("/administration/ict");
  ASSERT_TRUE(row.is_object());
  EXPECT_EQ(row.at("people").as_int64(), 1);
  EXPECT_EQ(row.at("devices").as_int64(), 1);
}

TEST_F(DeviceUnitTest, DeviceOrgUnitIsValidated) {
  struct Case {
    const char* body;
    int status;
    const char* where;
  } cases[] = {
      {R"({"id":"d1","org_unit":"/nowhere","os_family":"iOS"})", 409, "org_unit"},
      {R"({"id":"d2","org_unit":"nowhere","os_family":"iOS"})", 400, "org_unit"},
      {R"({"id":"d3","org_unit":7,"os_family":"iOS"})", 400, "org_unit"},
  };
  for (const auto& c : cases) {
    auto r = srv_.send(verb::post, "/api/v1/devices", c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " -> " << r.body;
    EXPECT_NE(r.body.find(c.where), std::string::npos) << r.body;
  }
  // Setting and clearing through PATCH.
  ASSERT_EQ(srv_.send(verb::post, "/api/v1/devices", R"({"id":"d4","os_family":"iOS"})").status, 201);
  auto s = srv_.send(verb::patch, "/api/v1/devices/d4", R"({"org_unit":"/regions"})");
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(s.json().at("org_unit"), "/regions");
  auto l = srv_.send(verb::get, "/api/v1/devices?source=import&limit=10");
  ASSERT_EQ(l.status, 200) << l.body;
  bool seen = false;
  auto items = l.json();
  for (const auto& x : items.at("items").as_array())
    if (x.at("id") == "d4") seen = x.at("org_unit") == "/regions";
  EXPECT_TRUE(seen) << l.body;
  s = srv_.send(verb::patch, "/api/v1/devices/d4", R"({"org_unit":null})");
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(s.json().at("org_unit"), "");
  auto bad = srv_.send(verb::get, "/api/v1/devices?source=carrier-pigeon");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("exchange"), std::string::npos) << bad.body;
}

}  // namespace
}  // namespace fw
