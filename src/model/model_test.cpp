// Tests for the domain helpers.
#include "model/model.h"

#include <gtest/gtest.h>

namespace fw::model {
namespace {

TEST(OrgUnit, WithinIsPathAware) {
  EXPECT_TRUE(OrgUnit::within("/administration/ict", "/administration"));
  EXPECT_TRUE(OrgUnit::within("/administration", "/administration"));
  EXPECT_FALSE(OrgUnit::within("/administrationx", "/administration"));
  EXPECT_FALSE(OrgUnit::within("/regions/tver", "/administration"));
  EXPECT_TRUE(OrgUnit::within("/regions/tver", "/"));
  OrgUnit u{.path = "/regions/tver"};
  EXPECT_EQ(u.parent_path(), "/regions");
  EXPECT_EQ(OrgUnit{.path = "/regions"}.parent_path(), "");
}

TEST(Enums, RoundTrip) {
  for (auto t : {DeviceType::phone, DeviceType::tablet, DeviceType::desktop, DeviceType::other})
    EXPECT_EQ(parse_device_type(to_string(t)), t);
  for (auto s : {DeviceSource::agent, DeviceSource::log, DeviceSource::import, DeviceSource::exchange})
    EXPECT_EQ(parse_device_source(to_string(s)), s);
  EXPECT_EQ(parse_role("operator"), Role::operator_);
  EXPECT_FALSE(parse_device_type("phablet"));
}

}  // namespace
}  // namespace fw::model
