// Tests of a device's own org unit in the inventory import (CSV column and JSON field
// `org_unit`, checked like a person's unit: it must exist; errors name file:line and the
// column) and of the source `exchange` in the import, over a real SQLite store.
#include <gtest/gtest.h>

#include "service/importer.h"
#include "support/test_store.h"

namespace fw::service {
namespace {

class DeviceUnitImport : public ::testing::Test {
 protected:
  void SetUp() override {
    auto st = store_.open("fw-device-unit-import");
    ASSERT_TRUE(st) << st.error().to_string();
    auto r = import_text(*store_, "org-units.csv", "path,name\n/hq,HQ\n/hq/ict,ICT\n", "test", now_);
    ASSERT_TRUE(r.ok()) << r.errors[0];
  }
  model::Device device(const std::string& id) {
    model::Device d;
    auto st = (*store_).read([&](store::Tx& tx) -> Status {
      FW_TRY(d, tx.get_device(id));
      return {};
    });
    EXPECT_TRUE(st) << st.error().to_string();
    return d;
  }

  testing::TestStore store_;
  Time now_ = from_unix(1'700'000'000);
};

TEST_F(DeviceUnitImport, CsvColumnAndSourceExchange) {
  auto r = import_text(*store_, "devices.csv",
                       "id,org_unit,os_family,source\n"
                       "d1,/hq/ict,Aurora OS,agent\n"
                       "d2,,iOS,exchange\n",
                       "test", now_);
  ASSERT_TRUE(r.ok()) << r.errors[0];
  EXPECT_EQ(r.devices, 2u);
  EXPECT_EQ(device("d1").org_unit_path, "/hq/ict");
  EXPECT_EQ(device("d2").org_unit_path, "");
  EXPECT_EQ(device("d2").source, model::DeviceSource::exchange);
}

TEST_F(DeviceUnitImport, JsonField) {
  auto r = import_text(*store_, "inventory.json",
                       R"({"org_units": [{"path": "/field", "name": "Field"}],
                           "devices": [{"id": "d3", "org_unit": "/field", "os_family": "Android"}]})",
                       "test", now_);
  ASSERT_TRUE(r.ok()) << r.errors[0];
  EXPECT_EQ(device("d3").org_unit_path, "/field");
}

TEST_F(DeviceUnitImport, ErrorsNameLineAndColumnAndWriteNothing) {
  struct Case {
    const char* name;
    const char* file;
    std::string content;
    std::string error;
  } cases[] = {
      {"unknown unit", "devices.csv", "id,org_unit,os_family\nok,/hq,iOS\nd9,/nowhere,iOS\n",
       "devices.csv:3: org_unit: org unit /nowhere does not exist"},
      {"not a path", "devices.csv", "id,org_unit,os_family\nd9,hq,iOS\n",
       "devices.csv:2: org_unit: org unit path must start with '/'"},
      {"bad source", "devices.csv", "id,os_family,source\nd9,iOS,pigeon\n",
       "devices.csv:2: source: expected agent, log, import or exchange"},
      {"json unknown unit", "devices.json", R"([{"id": "d9", "org_unit": "/nowhere", "os_family": "iOS"}])",
       "devices.json:1: org_unit: org unit /nowhere does not exist"},
      {"json not a string", "devices.json", R"([{"id": "d9", "org_unit": 5, "os_family": "iOS"}])",
       "devices.json:1: org_unit: expected a string"},
  };
  for (const auto& c : cases) {
    auto r = import_text(*store_, c.file, c.content, "test", now_);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.errors[0], c.error) << c.name;
    EXPECT_EQ(r.devices, 0u) << c.name;
  }
  auto st = (*store_).read([&](store::Tx& tx) -> Status {
    FW_TRY(auto n, tx.count_devices({}));
    EXPECT_EQ(n, 0);
    return {};
  });
  EXPECT_TRUE(st);
}

}  // namespace
}  // namespace fw::service
