// Store tests of the fleetward-agent Tx methods (tx_agent.cpp: enrolment secrets, device
// credentials, agent_devices, the check-in write path, commands) and of a device's own org
// unit (migration 0009), each run on SQLite and on PostgreSQL (FW_TEST_PG_URL; see
// scripts/pg-test-server.sh). Each test gets a fresh database (TestDb); single-threaded.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>

#include "store/store_test_util.h"

namespace fw::store {
namespace {

Time T(int64_t s) { return from_unix(1'700'000'000 + s); }

// The error code of a failed Result; nullopt on success.
template <class V>
std::optional<Errc> err_of(const Result<V>& r) {
  if (r) return std::nullopt;
  return r.error().code;
}

class StoreAgentTest : public testing::StoreBackendTest {
 protected:
  Status try_write(const std::function<Status(Tx&)>& fn) { return store_->write(fn); }

  // /field with one person and two devices: "dev-a" (agent, unowned, in /field) and
  // "dev-o" (owned by p-ann).
  void seed() {
    W([](Tx& tx) -> Status {
      FW_TRY_STATUS(tx.put_org_unit(model::OrgUnit{"ou-field", "/field", "Field", "department", ""}));
      FW_TRY_STATUS(tx.put_org_unit(model::OrgUnit{"ou-north", "/field/north", "North", "office", ""}));
      FW_TRY_STATUS(tx.put_person(model::Person{"p-ann", "Ann", "ann@example.org", "ann", "/field", "", ""}));
      model::Device d;
      d.id = "dev-a";
      d.org_unit_path = "/field/north";
      d.source = model::DeviceSource::agent;
      d.os_family = "Aurora OS";
      d.os_version = "4.0.2";
      d.vendor = "Open Mobile Platform";
      d.model = "R-FON";
      d.type = model::DeviceType::phone;
      d.managed = true;
      d.first_seen = d.last_seen = T(0);
      d.may_be = {"Sailfish OS"};
      d.apps = {{"ru.trueconf.client", "TrueConf", "1.0"}, {"org.example.mail", "Mail", "2.1"}};
      d.facts_json = R"({"hostname":"rfon-1"})";
      FW_TRY_STATUS(tx.put_device(d));
      d.id = "dev-o";
      d.owner_id = "p-ann";
      d.org_unit_path.clear();
      d.apps.clear();
      d.may_be.clear();
      return tx.put_device(d);
    });
  }

};

INSTANTIATE_TEST_SUITE_P(Backends, StoreAgentTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

TEST_P(StoreAgentTest, SecretRoundTripAndUpsert) {
  seed();
  AgentSecret s{"aa11", "/field", "admin", T(0), T(3600), 5, 0};
  W([&](Tx& tx) { return tx.put_agent_secret(s); });
  R([&](Tx& tx) -> Status {
    FW_TRY(auto got, tx.get_agent_secret("aa11"));
    EXPECT_EQ(got.org_unit_path, "/field");
    EXPECT_EQ(got.created_by, "admin");
    EXPECT_EQ(got.created_at, T(0));
    EXPECT_EQ(got.expires_at, T(3600));
    EXPECT_EQ(got.max_uses, 5);
    EXPECT_EQ(got.used, 0);
    auto none = tx.get_agent_secret("bb22");
    EXPECT_EQ(err_of(none), Errc::not_found);
    return {};
  });
  s.used = 2;
  s.org_unit_path = "/field/north";
  W([&](Tx& tx) { return tx.put_agent_secret(s); });
  R([&](Tx& tx) -> Status {
    FW_TRY(auto got, tx.get_agent_secret("aa11"));
    EXPECT_EQ(got.used, 2);
    EXPECT_EQ(got.org_unit_path, "/field/north");
    return {};
  });
}

TEST_P(StoreAgentTest, AgentDeviceRowRoundTripUpdateAndCascade) {
  seed();
  AgentDevice ad;
  ad.device_id = "dev-a";
  ad.hardware_id = "hw-1";
  ad.org_unit_path = "/field/north";
  ad.enrolled_at = T(10);
  ad.seen_at = T(10);
  W([&](Tx& tx) { return tx.put_agent_device(ad); });
  R([&](Tx& tx) -> Status {
    FW_TRY(auto got, tx.get_agent_device("dev-a"));
    EXPECT_EQ(got.hardware_id, "hw-1");
    EXPECT_EQ(got.org_unit_path, "/field/north");
    EXPECT_EQ(got.enrolled_at, T(10));
    EXPECT_EQ(got.last_seq, 0);
    EXPECT_FALSE(got.last_checkin);
    EXPECT_EQ(got.seen_at, T(10));
    EXPECT_EQ(got.facts_hash, "");
    EXPECT_FALSE(got.revoked_at);
    EXPECT_FALSE(got.has_commands);
    return {};
  });
  // A report: only the report columns move.
  AgentDevice upd = ad;
  upd.hardware_id = "ignored";
  upd.last_seq = 7;
  upd.last_checkin = T(20);
  upd.seen_at = T(20);
  upd.facts_hash = "abc:def";
  upd.has_commands = true;
  W([&](Tx& tx) { return tx.update_agent_device_report(upd); });
  R([&](Tx& tx) -> Status {
    FW_TRY(auto got, tx.get_agent_device("dev-a"));
    EXPECT_EQ(got.hardware_id, "hw-1");
    EXPECT_EQ(got.last_seq, 7);
    EXPECT_EQ(got.last_checkin.value_or(Time{}), T(20));
    EXPECT_EQ(got.seen_at, T(20));
    EXPECT_EQ(got.facts_hash, "abc:def");
    EXPECT_TRUE(got.has_commands);
    return {};
  });
  // Missing rows and devices.
  AgentDevice ghost = ad;
  ghost.device_id = "dev-none";
  auto st = try_write([&](Tx& tx) { return tx.update_agent_device_report(ghost); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::not_found);
  st = try_write([&](Tx& tx) { return tx.put_agent_device(ghost); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::conflict) << st.error().to_string();
  // Deleting the device takes its agent row, credentials and commands with it.
  W([](Tx& tx) -> Status {
    FW_TRY_STATUS(tx.put_agent_credential("cred-a", "dev-a", T(10)));
    return tx.put_agent_command(AgentCommand{"cmd-1", "dev-a", "refresh", "{}", "admin", T(11), "queued", {}, {}, ""});
  });
  W([](Tx& tx) { return tx.delete_device("dev-a"); });
  R([](Tx& tx) -> Status {
    auto a = tx.get_agent_device("dev-a");
    EXPECT_EQ(err_of(a), Errc::not_found);
    auto c = tx.find_agent_credential("cred-a");
    EXPECT_EQ(err_of(c), Errc::not_found);
    auto k = tx.get_agent_command("cmd-1");
    EXPECT_EQ(err_of(k), Errc::not_found);
    return {};
  });
}

TEST_P(StoreAgentTest, CredentialsFindAndRevoke) {
  seed();
  W([](Tx& tx) -> Status {
    AgentDevice ad;
    ad.device_id = "dev-a";
    ad.hardware_id = "hw-1";
    ad.org_unit_path = "/field";
    ad.enrolled_at = ad.seen_at = T(0);
    FW_TRY_STATUS(tx.put_agent_device(ad));
    FW_TRY_STATUS(tx.put_agent_credential("cred-1", "dev-a", T(0)));
    return tx.put_agent_credential("cred-2", "dev-a", T(5));
  });
  R([](Tx& tx) -> Status {
    FW_TRY(auto dev, tx.find_agent_credential("cred-1"));
    EXPECT_EQ(dev, "dev-a");
    FW_TRY(auto dev2, tx.find_agent_credential("cred-2"));
    EXPECT_EQ(dev2, "dev-a");
    auto none = tx.find_agent_credential("cred-x");
    EXPECT_EQ(err_of(none), Errc::not_found);
    return {};
  });
  // The same hash twice is refused; a credential for a missing device too.
  auto st = try_write([](Tx& tx) { return tx.put_agent_credential("cred-1", "dev-a", T(6)); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::already_exists) << st.error().to_string();
  st = try_write([](Tx& tx) { return tx.put_agent_credential("cred-3", "dev-none", T(6)); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::conflict) << st.error().to_string();

  int64_t revoked = -1;
  W([&](Tx& tx) -> Status {
    FW_TRY(revoked, tx.revoke_agent_device("dev-a", T(30)));
    return {};
  });
  EXPECT_EQ(revoked, 2);
  R([](Tx& tx) -> Status {
    for (auto h : {"cred-1", "cred-2"}) {
      auto c = tx.find_agent_credential(h);
      EXPECT_EQ(err_of(c), Errc::not_found) << h;
    }
    FW_TRY(auto ad, tx.get_agent_device("dev-a"));
    EXPECT_EQ(ad.revoked_at.value_or(Time{}), T(30));
    return {};
  });
  // Revoking again: nothing was valid; a device that never enrolled: not_found.
  W([&](Tx& tx) -> Status {
    FW_TRY(revoked, tx.revoke_agent_device("dev-a", T(40)));
    return {};
  });
  EXPECT_EQ(revoked, 0);
  R([](Tx& tx) -> Status {
    FW_TRY(auto ad, tx.get_agent_device("dev-a"));
    EXPECT_EQ(ad.revoked_at.value_or(Time{}), T(30));  // the first revocation's time stays
    return {};
  });
  auto r = store_->write([](Tx& tx) -> Status { return testing::as_status(tx.revoke_agent_device("dev-o", T(40))); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::not_found);
}

TEST_P(StoreAgentTest, ApplyAgentReportWritesOnlyWhatChanged) {
  seed();
  Time before_seen;
  R([&](Tx& tx) -> Status {
    FW_TRY(auto d, tx.get_device("dev-a"));
    before_seen = d.last_seen;
    return {};
  });
  // touch_seen only: last_seen moves, nothing else.
  W([](Tx& tx) { return tx.apply_agent_report(AgentReportWrite{nullptr, false, false, true}, "dev-a", T(100)); });
  R([&](Tx& tx) -> Status {
    FW_TRY(auto d, tx.get_device("dev-a"));
    EXPECT_EQ(d.last_seen, T(100));
    EXPECT_EQ(d.os_version, "4.0.2");
    EXPECT_EQ(d.apps.size(), 2u);
    return {};
  });
  // Facts and apps: one app kept, one changed version, one new; owner-side fields stay.
  model::Device rep;
  rep.source = model::DeviceSource::agent;
  rep.os_family = "Aurora OS";
  rep.os_version = "5.0.0";
  rep.vendor = "Open Mobile Platform";
  rep.model = "R-FON 2";
  rep.type = model::DeviceType::phone;
  rep.managed = true;
  rep.facts_json = R"({"hostname":"rfon-1","encrypted":true})";
  rep.apps = {{"org.example.mail", "Mail", "2.2"}, {"ru.trueconf.client", "TrueConf", "1.0"}, {"ru.new", "New", "1"}};
  W([&](Tx& tx) { return tx.apply_agent_report(AgentReportWrite{&rep, true, true, false}, "dev-a", T(200)); });
  R([&](Tx& tx) -> Status {
    FW_TRY(auto d, tx.get_device("dev-a"));
    EXPECT_EQ(d.os_version, "5.0.0");
    EXPECT_EQ(d.model, "R-FON 2");
    EXPECT_EQ(d.last_seen, T(200));
    EXPECT_EQ(d.first_seen, T(0));
    EXPECT_EQ(d.org_unit_path, "/field/north");
    EXPECT_EQ(d.may_be, std::vector<std::string>{"Sailfish OS"});
    FW_TRY(auto facts, tx.get_device_facts_json("dev-a"));
    EXPECT_EQ(facts, R"({"hostname":"rfon-1","encrypted":true})");
    FW_TRY(auto apps, tx.get_device_apps("dev-a"));
    // Stored order: the unchanged TrueConf row keeps its place; new rows follow.
    std::vector<std::string> ids;
    for (const auto& a : apps) ids.push_back(a.id + "@" + a.version);
    EXPECT_EQ(ids, (std::vector<std::string>{"ru.trueconf.client@1.0", "org.example.mail@2.2", "ru.new@1"}));
    return {};
  });
  // The search key follows the new model.
  R([](Tx& tx) -> Status {
    FW_TRY(auto pg, tx.list_devices({.search = "r-fon 2"}, {"", 10}));
    EXPECT_EQ(pg.items.size(), 1u);
    return {};
  });
  // A missing device: not_found, for either kind of write; a write without the device: internal.
  for (auto w : {AgentReportWrite{&rep, true, false, false}, AgentReportWrite{nullptr, false, false, true}}) {
    auto st = try_write([&](Tx& tx) { return tx.apply_agent_report(w, "dev-none", T(300)); });
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, Errc::not_found);
  }
  auto st = try_write([](Tx& tx) { return tx.apply_agent_report(AgentReportWrite{nullptr, true, false, false}, "dev-a", T(300)); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::internal);
  R([](Tx& tx) -> Status {
    auto f = tx.get_device_facts_json("dev-none");
    EXPECT_EQ(err_of(f), Errc::not_found);
    FW_TRY(auto apps, tx.get_device_apps("dev-o"));
    EXPECT_TRUE(apps.empty());
    return {};
  });
}

TEST_P(StoreAgentTest, CommandsQueueAndList) {
  seed();
  W([](Tx& tx) -> Status {
    FW_TRY_STATUS(tx.put_agent_command(AgentCommand{"c2", "dev-a", "message", R"({"text":"hi"})", "admin", T(20), "queued", {}, {}, ""}));
    FW_TRY_STATUS(tx.put_agent_command(AgentCommand{"c1", "dev-a", "refresh", "{}", "admin", T(10), "queued", {}, {}, ""}));
    FW_TRY_STATUS(tx.put_agent_command(AgentCommand{"c3", "dev-a", "lock", "{}", "root", T(20), "queued", {}, {}, ""}));
    return tx.put_agent_command(AgentCommand{"c9", "dev-o", "wipe", "{}", "root", T(5), "queued", {}, {}, ""});
  });
  R([](Tx& tx) -> Status {
    FW_TRY(auto c, tx.get_agent_command("c2"));
    EXPECT_EQ(c.device_id, "dev-a");
    EXPECT_EQ(c.type, "message");
    EXPECT_EQ(c.payload_json, R"({"text":"hi"})");
    EXPECT_EQ(c.created_by, "admin");
    EXPECT_EQ(c.created_at, T(20));
    EXPECT_EQ(c.state, "queued");
    EXPECT_FALSE(c.sent_at);
    EXPECT_FALSE(c.finished_at);
    EXPECT_EQ(c.result_json, "");
    FW_TRY(auto all, tx.list_agent_commands("dev-a", false, 100));
    std::vector<std::string> ids;
    for (const auto& x : all) ids.push_back(x.id);
    EXPECT_EQ(ids, (std::vector<std::string>{"c1", "c2", "c3"}));  // created_at, then id
    FW_TRY(auto two, tx.list_agent_commands("dev-a", false, 2));
    EXPECT_EQ(two.size(), 2u);
    return {};
  });
  // sent, then done: the open list shrinks; the result is kept.
  W([](Tx& tx) -> Status {
    FW_TRY(auto c, tx.get_agent_command("c1"));
    c.state = "sent";
    c.sent_at = T(30);
    FW_TRY_STATUS(tx.put_agent_command(c));
    FW_TRY(auto d, tx.get_agent_command("c2"));
    d.state = "done";
    d.sent_at = T(30);
    d.finished_at = T(31);
    d.result_json = R"({"ok":true})";
    return tx.put_agent_command(d);
  });
  R([](Tx& tx) -> Status {
    FW_TRY(auto open, tx.list_agent_commands("dev-a", true, 100));
    std::vector<std::string> ids;
    for (const auto& x : open) ids.push_back(x.id + ":" + x.state);
    EXPECT_EQ(ids, (std::vector<std::string>{"c1:sent", "c3:queued"}));
    FW_TRY(auto d, tx.get_agent_command("c2"));
    EXPECT_EQ(d.state, "done");
    EXPECT_EQ(d.finished_at.value_or(Time{}), T(31));
    EXPECT_EQ(d.result_json, R"({"ok":true})");
    FW_TRY(auto none, tx.list_agent_commands("dev-none", false, 10));
    EXPECT_TRUE(none.empty());
    return {};
  });
  auto st = try_write([](Tx& tx) {
    return tx.put_agent_command(AgentCommand{"c4", "dev-none", "refresh", "{}", "admin", T(1), "queued", {}, {}, ""});
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::conflict) << st.error().to_string();
  auto r = store_->read([](Tx& tx) -> Status { return testing::as_status(tx.get_agent_command("c404")); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::not_found);
}

// A device's own org unit and the source 'exchange' through put/get, the list, the
// evaluation read, and an update that clears the unit.
TEST_P(StoreAgentTest, DeviceOrgUnitAndExchangeSourceRoundTrip) {
  seed();
  W([](Tx& tx) -> Status {
    model::Device e;
    e.id = "dev-x";
    e.source = model::DeviceSource::exchange;
    e.os_family = "iOS";
    e.first_seen = e.last_seen = T(0);
    return tx.put_device(e);
  });
  R([](Tx& tx) -> Status {
    FW_TRY(auto a, tx.get_device("dev-a"));
    EXPECT_EQ(a.org_unit_path, "/field/north");
    FW_TRY(auto o, tx.get_device("dev-o"));
    EXPECT_EQ(o.org_unit_path, "");
    FW_TRY(auto x, tx.get_device("dev-x"));
    EXPECT_EQ(x.source, model::DeviceSource::exchange);
    FW_TRY(auto pg, tx.list_devices({}, {"", 10}));
    EXPECT_EQ(pg.items.size(), 3u);
    for (const auto& d : pg.items) EXPECT_EQ(d.org_unit_path, d.id == "dev-a" ? "/field/north" : "") << d.id;
    FW_TRY(auto ex, tx.list_devices({.source = model::DeviceSource::exchange}, {"", 10}));
    EXPECT_EQ(ex.items.size(), 1u);
    EXPECT_EQ(ex.items.empty() ? "" : ex.items[0].id, "dev-x");
    std::vector<model::Device> devs;
    std::vector<Finding> fs;
    FW_TRY_STATUS(tx.read_eval_batch("", 10, "", devs, fs));
    EXPECT_EQ(devs.size(), 3u);
    for (const auto& d : devs) EXPECT_EQ(d.org_unit_path, d.id == "dev-a" ? "/field/north" : "") << d.id;
    return {};
  });
  W([](Tx& tx) -> Status {
    FW_TRY(auto a, tx.get_device("dev-a"));
    a.org_unit_path.clear();
    return tx.put_device(a);
  });
  R([](Tx& tx) -> Status {
    FW_TRY(auto a, tx.get_device("dev-a"));
    EXPECT_EQ(a.org_unit_path, "");
    return {};
  });
}

// Migration 0009 on a database of version 8: agent devices take their enrolment unit;
// devices known only from Exchange become source 'exchange'; sighted ones stay 'log'.
TEST_P(StoreAgentTest, Migration9FillsUnitsAndExchangeSource) {
  open_fresh(8);
  store_.reset();  // the rows below are written behind the store
  const char* dev_cols =
      "INSERT INTO devices (id, owner_id, source, os_family, os_version, vendor, model, type, managed, first_seen, "
      "last_seen, may_be, facts_json, search_key) VALUES ";
  std::string sql = std::string("INSERT INTO org_units (id, path, name, kind, timezone) VALUES ('ou-f', '/field', 'F', 'd', '');") +
                    dev_cols + "('dev-ag', NULL, 'agent', 'Aurora OS', '', '', '', 'phone', 1, 0, 0, '', '{}', '');" +
                    dev_cols + "('dev-ex', NULL, 'log', 'iOS', '', '', '', 'phone', 0, 0, 0, '', '{}', '');" +
                    dev_cols + "('dev-lg', NULL, 'log', 'iOS', '', '', '', 'phone', 0, 0, 0, '', '{}', '');" +
                    dev_cols + "('dev-im', NULL, 'import', 'Android', '', '', '', 'phone', 0, 0, 0, '', '{}', '');" +
                    "INSERT INTO agent_devices (device_id, hardware_id, org_unit_path, enrolled_at, last_seq, "
                    "last_checkin, seen_at, facts_hash, has_commands, revoked_at) VALUES "
                    "('dev-ag', 'hw', '/field', 0, 0, NULL, 0, '', 0, NULL);"
                    "INSERT INTO exchange_devices (activesync_id, user_name, person_id, device_id, raw_os, raw_model, "
                    "raw_type, raw_user_agent, os_family, os_version, vendor, model, type, imported_at) VALUES "
                    "('AS1', 'u', '', 'dev-ex', '', '', '', '', 'iOS', '', '', '', 'phone', 0),"
                    "('AS2', 'u', '', 'dev-lg', '', '', '', '', 'iOS', '', '', '', 'phone', 0);"
                    "INSERT INTO sightings (user_name, fingerprint, person_id, device_id, user_agent, activesync_id, "
                    "client_ip, os_family, os_version, vendor, model, type, first_seen, last_seen, count) VALUES "
                    "('u', 'fp', '', 'dev-lg', 'ua', 'AS2', '', 'iOS', '', '', '', 'phone', 0, 0, 1);";
  ASSERT_TRUE(db_->raw_exec(sql)) << db_->skip_reason();
  reopen();
  R([](Tx& tx) -> Status {
    FW_TRY(auto ag, tx.get_device("dev-ag"));
    EXPECT_EQ(ag.org_unit_path, "/field");
    EXPECT_EQ(ag.source, model::DeviceSource::agent);
    FW_TRY(auto ex, tx.get_device("dev-ex"));
    EXPECT_EQ(ex.source, model::DeviceSource::exchange);
    EXPECT_EQ(ex.org_unit_path, "");
    FW_TRY(auto lg, tx.get_device("dev-lg"));
    EXPECT_EQ(lg.source, model::DeviceSource::log);
    FW_TRY(auto im, tx.get_device("dev-im"));
    EXPECT_EQ(im.source, model::DeviceSource::import);
    return {};
  });
}

}  // namespace
}  // namespace fw::store
