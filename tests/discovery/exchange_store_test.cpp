// The Exchange import and the ingest of sightings over a real store, on SQLite and on
// PostgreSQL ($FW_TEST_PG_URL; skipped when unset): an Outlook-iOS-Android device seen in
// logs is resolved by the export, an Exchange-only iPhone becomes an unmanaged device, a
// re-import changes nothing, and a later ingest of the same ActiveSync ids follows the
// stored mapping. Single-threaded test code.
#include <gtest/gtest.h>

#include "hq_people.h"
#include "service/exchange.h"
#include "service/inventory.h"
#include "service/sightings.h"
#include "store/store_test_util.h"

namespace fw::service {
namespace {

class ExchangeImport : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<store::testing::TestDb>(GetParam());
    if (!db_->available()) GTEST_SKIP() << "FW_TEST_PG_URL not set " << db_->skip_reason();
    auto st = db_->open();
    ASSERT_TRUE(st) << st.error().to_string();
    store_ = std::move(*st);
    ASSERT_TRUE(store_->write([&](store::Tx& tx) {
      return fw::testing::put_hq_people(tx, Change{"test", from_unix(1'700'000'000)}, 3);
    }));
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
  }

  static model::Sighting outlook(std::string user, std::string as_id, int64_t t) {
    model::Sighting s;
    s.user = std::move(user);
    s.activesync_id = std::move(as_id);
    s.fingerprint = detect::fingerprint("", s.activesync_id);
    s.user_agent = "Outlook-iOS-Android/1.0";
    s.first_seen = s.last_seen = from_unix(t);
    s.count = 1;
    return s;
  }

  model::Device device(const std::string& id) {
    model::Device d;
    EXPECT_TRUE(store_->read([&](store::Tx& tx) -> Status {
      FW_TRY(d, tx.get_device(id));
      return {};
    }));
    return d;
  }

  void run_scenario();

  std::unique_ptr<store::testing::TestDb> db_;
  std::unique_ptr<store::Store> store_;
};

void ExchangeImport::run_scenario() {
  SightingOptions so;
  so.strip_domains = {"example.org"};
  // 1. Logs: Olga reads mail with Outlook (unknown OS); the classifier is not needed here.
  auto r1 = ingest_sightings(*store_, {outlook("CORP\\osmirnova", "OUTLOOK01", 1'700'000'100)}, so);
  ASSERT_TRUE(r1) << r1.error().to_string();
  ASSERT_EQ(r1->device_ids.size(), 1u);
  std::string olga_dev = r1->device_ids[0];
  EXPECT_EQ(device(olga_dev).os_family, "Other");

  // 2. Exchange export: Olga's Outlook is on iOS; Anna has an iPhone only Exchange knows;
  //    "Nobody" matches no person.
  std::vector<ExchangeRow> rows = {
      {2, "outlook01", "iOS 16.2 20C65", "Outlook for iOS and Android", "Outlook", "Outlook-iOS-Android/1.0",
       "Olga Smirnova"},
      {3, "ApplANNA01", "iOS 15.7", "iPhone13,2", "iPhone", "Apple-iPhone13C2/1907.70", "akuznetsova@example.org"},
      {4, "NOBODY01", "Android 13", "SM-A536B", "SAMSUNGSMA536B", "", "Nobody Known"},
  };
  ExchangeImportOptions eo;
  eo.strip_domains = {"example.org"};
  auto r2 = import_exchange_devices(*store_, rows, eo, from_unix(1'700'000'500));
  ASSERT_TRUE(r2) << r2.error().to_string();
  EXPECT_EQ(r2->rows, 3u);
  EXPECT_EQ(r2->devices_resolved, 1u);
  EXPECT_EQ(r2->devices_created, 2u);
  EXPECT_EQ(r2->unattributed_users, std::vector<std::string>{"Nobody Known"});
  auto olga = device(olga_dev);
  EXPECT_EQ(olga.os_family, "iOS");
  EXPECT_EQ(olga.os_version, "16.2");
  EXPECT_EQ(olga.owner_id, "p2");
  EXPECT_TRUE(olga.may_be.empty());

  model::Sighting anna_key = outlook("akuznetsova@example.org", "ApplANNA01", 0);
  std::string anna_dev = sighting_device_id(anna_key, so.strip_domains);
  auto anna = device(anna_dev);
  EXPECT_EQ(anna.os_family, "iOS");
  EXPECT_EQ(anna.model, "iPhone13,2");
  EXPECT_EQ(anna.owner_id, "p3");
  EXPECT_EQ(anna.source, model::DeviceSource::exchange);  // known from the export only
  EXPECT_FALSE(anna.managed);

  // 3. Importing the same export again changes nothing and creates nothing.
  auto r3 = import_exchange_devices(*store_, rows, eo, from_unix(1'700'000'600));
  ASSERT_TRUE(r3) << r3.error().to_string();
  EXPECT_EQ(r3->devices_created, 0u);
  EXPECT_EQ(r3->devices_resolved, 0u);

  // 4. A later discover of Anna's id (as her login, in another case) lands on the same device,
  //    and a new Outlook sighting of Olga's id stays iOS.
  auto r4 = ingest_sightings(*store_,
                             {outlook("CORP\\akuznetsova", "APPLANNA01", 1'700'000'900),
                              outlook("osmirnova@example.org", "OUTLOOK01", 1'700'001'000)},
                             so);
  ASSERT_TRUE(r4) << r4.error().to_string();
  EXPECT_EQ(r4->devices_created, 0u);
  EXPECT_EQ(r4->devices_updated, 2u);
  EXPECT_EQ(r4->resolved_by_exchange, 2u);
  EXPECT_EQ(device(olga_dev).os_family, "iOS");
  EXPECT_EQ(device(anna_dev).os_family, "iOS");
  EXPECT_EQ(to_unix(device(anna_dev).last_seen), 1'700'000'900);
  EXPECT_EQ(device(anna_dev).source, model::DeviceSource::log);  // now seen in a log

  // The mapping is kept per id, in any case.
  ASSERT_TRUE(store_->read([&](store::Tx& tx) -> Status {
    auto e = tx.get_exchange_device("applanna01");
    EXPECT_TRUE(e) << e.error().to_string();
    EXPECT_EQ(e->device_id, anna_dev);
    EXPECT_EQ(e->raw_os, "iOS 15.7");
    auto n = tx.count_devices({});
    EXPECT_EQ(*n, 3);
    return {};
  }));
}

TEST_P(ExchangeImport, ResolvesCreatesAndLaterIngestFollows) { run_scenario(); }

INSTANTIATE_TEST_SUITE_P(Backends, ExchangeImport, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });
}  // namespace
}  // namespace fw::service
