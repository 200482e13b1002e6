// Tests of the demo generator: determinism for a seed, the organisation's shape, and the
// early-2023 platform mix.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "service/demo.h"
#include "service/inventory.h"
#include "service/model_json.h"

namespace fw::service {
namespace {

std::string text_of(const DemoData& d) {
  std::string s;
  for (const auto& u : d.units) s += to_json_text(to_json(u));
  for (const auto& p : d.people) s += to_json_text(to_json(p));
  for (const auto& x : d.devices) s += to_json_text(to_json(x));
  return s;
}

TEST(Demo, SameSeedSameData) {
  DemoOptions o;
  o.devices = 800;
  o.seed = 42;
  EXPECT_EQ(text_of(generate_demo(o)), text_of(generate_demo(o)));
  auto other = o;
  other.seed = 43;
  EXPECT_NE(text_of(generate_demo(o)), text_of(generate_demo(other)));
}

TEST(Demo, DefaultShape) {
  auto d = generate_demo({});
  EXPECT_EQ(d.devices.size(), 2600u);
  EXPECT_EQ(d.people.size(), 2000u);
  std::set<std::string> paths;
  for (const auto& u : d.units) {
    EXPECT_TRUE(validate(u)) << u.path;
    paths.insert(u.path);
  }
  for (const char* p : {"/administration", "/administration/domestic-policy", "/administration/public-projects",
                        "/administration/state-council-support", "/administration/ict-development", "/regions/tver",
                        "/regions/kaluga", "/regions/tula", "/regions/ryazan", "/regions/vladimir",
                        "/regions/yaroslavl", "/regions/smolensk", "/regions/kostroma", "/regions/ivanovo",
                        "/regions/bryansk"}) {
    EXPECT_TRUE(paths.contains(p)) << p;
  }
  // Managers exist and come first; exactly one person has no manager.
  std::set<std::string> seen;
  int top = 0;
  for (const auto& p : d.people) {
    EXPECT_TRUE(validate(p)) << p.id;
    EXPECT_TRUE(paths.contains(p.org_unit_path));
    if (p.manager_id.empty()) ++top;
    else EXPECT_TRUE(seen.contains(p.manager_id)) << p.id;
    seen.insert(p.id);
  }
  EXPECT_EQ(top, 1);
  std::set<std::string> logins;
  for (const auto& p : d.people) EXPECT_TRUE(logins.insert(p.login).second) << p.login;
}

TEST(Demo, PlatformMix) {
  auto d = generate_demo({});
  std::map<std::string, int> family, vendor;
  int zoom = 0, trueconf = 0, desktops = 0, ipads = 0, unowned = 0;
  std::set<std::string> ios_versions, android_versions;
  for (auto x : d.devices) {
    normalize(x, from_unix(0));
    ASSERT_TRUE(validate(x)) << x.id << ": " << validate(x).error().to_string();
    ++family[x.os_family];
    if (x.os_family == "Android") {
      ++vendor[x.vendor];
      android_versions.insert(x.os_version);
    }
    if (x.os_family == "iOS") {
      EXPECT_EQ(x.vendor, "Apple");
      EXPECT_EQ(x.type, model::DeviceType::phone);
      EXPECT_TRUE(x.model.starts_with("iPhone")) << x.model;
      ios_versions.insert(x.os_version.substr(0, 2));
    }
    if (x.os_family == "HarmonyOS") {
      EXPECT_EQ(x.vendor, "Huawei");
    }
    if (x.os_family == "iPadOS") ++ipads;
    if (x.type == model::DeviceType::desktop) ++desktops;
    if (x.owner_id.empty()) ++unowned;
    for (const auto& a : x.apps) {
      zoom += a.id == "us.zoom.videomeetings";
      trueconf += a.id == "ru.trueconf.client";
    }
    EXPECT_LE(x.last_seen, DemoOptions{}.now);
    EXPECT_LE(x.first_seen, x.last_seen);
  }
  EXPECT_GT(family["iOS"], 700);
  EXPECT_LT(family["iOS"], 1300);
  EXPECT_GT(family["Android"], 700);
  EXPECT_GT(family["HarmonyOS"], 100);
  EXPECT_GT(family["Aurora OS"], 5);
  EXPECT_LT(family["Aurora OS"], 80);
  EXPECT_GT(ipads, 80);
  EXPECT_GT(desktops, 80);
  EXPECT_EQ(ios_versions, (std::set<std::string>{"14", "15", "16"}));
  EXPECT_EQ(android_versions, (std::set<std::string>{"9", "10", "11", "12", "13"}));
  for (const char* v : {"Samsung", "Xiaomi", "Huawei", "Honor", "realme"}) EXPECT_GT(vendor[v], 10) << v;
  EXPECT_GT(zoom, 200);
  EXPECT_GT(trueconf, 300);
  EXPECT_GT(unowned, 0);
}

TEST(Demo, PeopleScaleWithDevices) {
  DemoOptions o;
  o.devices = 5000;
  auto d = generate_demo(o);
  EXPECT_EQ(d.devices.size(), 5000u);
  EXPECT_EQ(d.people.size(), 3846u);
  o.devices = 3;
  d = generate_demo(o);
  EXPECT_EQ(d.devices.size(), 3u);
  EXPECT_EQ(d.people.size(), 20u);
}

}  // namespace
}  // namespace fw::service
