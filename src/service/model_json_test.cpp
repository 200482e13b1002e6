// Tests of the JSON form of model types: round trips, strict decoding, limits.
#include <gtest/gtest.h>

#include "service/model_json.h"

namespace fw::service {
namespace {

TEST(ModelJson, DeviceRoundTrip) {
  model::Device d;
  d.id = "d1";
  d.owner_id = "p1";
  d.org_unit_path = "/field";
  d.source = model::DeviceSource::exchange;
  d.os_family = "Android";
  d.os_version = "13";
  d.vendor = "Samsung";
  d.model = "Galaxy S22";
  d.type = model::DeviceType::phone;
  d.managed = true;
  d.first_seen = from_unix(1600000000);
  d.last_seen = from_unix(1677650400);
  d.apps = {{"ru.trueconf.client", "TrueConf", "5.0.1"}};
  d.may_be = {"HarmonyOS"};
  d.facts_json = R"({"encrypted":true})";
  model::Device back;
  ASSERT_TRUE(from_json(to_json(d), back));
  EXPECT_EQ(to_json_text(to_json(back)), to_json_text(to_json(d)));
  EXPECT_EQ(back.apps, d.apps);
  EXPECT_EQ(back.facts_json, d.facts_json);
  EXPECT_EQ(back.org_unit_path, "/field");
  EXPECT_EQ(back.source, model::DeviceSource::exchange);
}

TEST(ModelJson, StrictDecoding) {
  struct Case {
    const char* name;
    const char* json;
    const char* where;
  } cases[] = {
      {"unknown", R"({"id":"x","size":1})", "size"},
      {"wrong type", R"({"id":7})", "id"},
      {"bad enum", R"({"source":"magic"})", "source"},
      {"bad bool", R"({"managed":1})", "managed"},
      {"app not object", R"({"apps":[1]})", "apps[0]"},
      {"app unknown", R"({"apps":[{"id":"a","x":1}]})", "apps[0].x"},
      {"app no id", R"({"apps":[{"name":"a"}]})", "apps[0].id"},
      {"may_be type", R"({"may_be":[1]})", "may_be[0]"},
      {"facts type", R"({"facts":[]})", "facts"},
      {"time", R"({"first_seen":"2023-13-01"})", "first_seen"},
  };
  for (const auto& c : cases) {
    model::Device d;
    auto v = parse_json(c.json);
    ASSERT_TRUE(v) << c.name;
    auto st = from_json(*v, d);
    ASSERT_FALSE(st) << c.name;
    EXPECT_EQ(st.error().code, Errc::invalid_argument) << c.name;
    EXPECT_EQ(st.error().where, c.where) << c.name;
  }
  model::Person p;
  auto st = from_json(*parse_json(R"({"org_unit":"/a","boss":"x"})"), p, "people[3].");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().where, "people[3].boss");
}

TEST(ModelJson, ParseLimits) {
  auto deep = parse_json(std::string(50, '[') + std::string(50, ']'), {.max_bytes = 1000, .max_depth = 32});
  ASSERT_FALSE(deep);
  EXPECT_EQ(deep.error().code, Errc::invalid_argument);
  auto big = parse_json(std::string(2000, ' '), {.max_bytes = 1000, .max_depth = 32});
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, Errc::too_large);
  auto bad = parse_json("{\"a\": tru}");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::parse_error);
  EXPECT_TRUE(bad.error().where.starts_with("byte ")) << bad.error().where;
  auto trailing = parse_json("{} {}");
  ASSERT_FALSE(trailing);
  EXPECT_EQ(trailing.error().where, "byte 3");
  EXPECT_TRUE(parse_json(" {\"a\": [1, 2]}\n"));
}

}  // namespace
}  // namespace fw::service
