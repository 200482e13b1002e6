// Tests of the ingest-sightings use case over a real SQLite store: attribution by login and
// e-mail, unknown users kept, a second run updating (not duplicating) the devices.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "service/inventory.h"
#include "service/sightings.h"

namespace fw::service {
namespace {

model::Sighting sighting(std::string user, std::string fp, std::string os, int64_t t, int64_t count) {
  model::Sighting s;
  s.user = std::move(user);
  s.fingerprint = std::move(fp);
  s.user_agent = "Mozilla/5.0 (iPhone; CPU iPhone OS 16_3 like Mac OS X)";
  s.os_family = std::move(os);
  s.os_version = "16.3";
  s.vendor = "Apple";
  s.type = model::DeviceType::phone;
  s.first_seen = s.last_seen = from_unix(t);
  s.count = count;
  return s;
}

TEST(IngestSightings, AttributesCreatesThenUpdates) {
  char tmpl[] = "/tmp/fw-sightings-test-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  {
    auto st = store::Store::open(dir + "/fw.db");
    ASSERT_TRUE(st) << st.error().to_string();
    auto& store = **st;
    ASSERT_TRUE(store.write([&](store::Tx& tx) -> Status {
      Change c{"test", from_unix(1'700'000'000)};
      model::OrgUnit u;
      u.path = "/hq";
      normalize(u);
      FW_TRY_STATUS(put_org_unit(tx, c, u, PutMode::create));
      model::Person p;
      p.id = "p1";
      p.name = "Ivanov";
      p.email = "ivanov@example.org";
      p.login = "ivanov";
      p.org_unit_path = "/hq";
      FW_TRY_STATUS(put_person(tx, c, p, PutMode::create));
      return {};
    }));
    SightingOptions o;
    o.strip_domains = {"example.org"};
    std::vector<model::Sighting> first = {sighting("CORP\\Ivanov", "ua:1", "iOS", 1'700'000'100, 3),
                                          sighting("stranger", "ua:2", "", 1'700'000'200, 1)};
    auto r1 = ingest_sightings(store, first, o);
    ASSERT_TRUE(r1) << r1.error().to_string();
    EXPECT_EQ(r1->devices_created, 2u);
    EXPECT_EQ(r1->devices_updated, 0u);
    EXPECT_EQ(r1->unattributed_users, std::vector<std::string>{"stranger"});

    std::vector<model::Sighting> second = {sighting("ivanov@example.org", "ua:1", "iOS", 1'700'000'900, 2)};
    auto r2 = ingest_sightings(store, second, o);
    ASSERT_TRUE(r2) << r2.error().to_string();
    EXPECT_EQ(r2->devices_created, 0u);
    EXPECT_EQ(r2->devices_updated, 1u);

    ASSERT_TRUE(store.read([&](store::Tx& tx) -> Status {
      auto n = tx.count_devices({});
      EXPECT_TRUE(n);
      EXPECT_EQ(*n, 2);
      auto d = tx.get_device(sighting_device_id(first[0], o.strip_domains));
      EXPECT_TRUE(d) << d.error().to_string();
      EXPECT_EQ(d->owner_id, "p1");
      EXPECT_EQ(d->source, model::DeviceSource::log);
      EXPECT_FALSE(d->managed);
      EXPECT_EQ(d->os_family, "iOS");
      EXPECT_EQ(to_unix(d->first_seen), 1'700'000'100);
      EXPECT_EQ(to_unix(d->last_seen), 1'700'000'900);
      auto other = tx.get_device(sighting_device_id(first[1], o.strip_domains));
      EXPECT_TRUE(other);
      EXPECT_EQ(other->owner_id, "");
      EXPECT_EQ(other->os_family, "Other");
      return {};
    }));
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fw::service
