// Tests of dashboard sessions on a real SQLite file: expiry, restart, revocation, purge,
// CSRF comparison, cookies, cookie-header parsing.
#include "server/session.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

namespace fw::server {
namespace {

class StepClock final : public Clock {
 public:
  Time now() const override { return t; }
  Time t = from_unix(1'700'000'000);
};

// A real SQLite database in a fresh temporary directory, with two tokens "tok-1" and "b".
class SessionStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int n = 0;
    dir_ = std::filesystem::temp_directory_path() / ("fw_session_test_" + std::to_string(getpid()) + "_" + std::to_string(n++));
    std::filesystem::create_directories(dir_);
    open();
    for (const char* id : {"tok-1", "b"}) put(token(id));
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  void open() {
    db_.reset();
    auto s = store::Store::open((dir_ / "fleetward.db").string());
    ASSERT_TRUE(s) << s.error().to_string();
    db_ = std::move(*s);
  }
  void put(const model::ApiToken& t) {
    auto st = db_->write([&](store::Tx& tx) { return tx.put_token(t); });
    ASSERT_TRUE(st) << st.error().to_string();
  }
  static model::ApiToken token(std::string id = "tok-1") {
    model::ApiToken t;
    t.id = std::move(id);
    t.name = "admin " + t.id;
    t.secret_hash = std::string(63, '0') + t.id.substr(0, 1);
    return t;
  }
  bool live(SessionStore& s, const std::string& id) {
    auto r = s.find(id);
    EXPECT_TRUE(r) << r.error().to_string();
    return r && r->has_value();
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Store> db_;
  StepClock clock_;
};

TEST_F(SessionStoreTest, CreateFindExpire) {
  SessionStore store(*db_, clock_, Seconds{3600});
  auto s = store.create(token());
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->id.size(), 64u);
  EXPECT_EQ(s->csrf.size(), 64u);
  EXPECT_NE(s->id, s->csrf);
  EXPECT_EQ(s->expires_at, clock_.t + Seconds{3600});
  auto f = store.find(s->id);
  ASSERT_TRUE(f && *f);
  EXPECT_EQ((*f)->actor, "admin tok-1");
  EXPECT_EQ((*f)->csrf, s->csrf);
  clock_.t += Seconds{3599};
  EXPECT_TRUE(live(store, s->id));
  clock_.t += Seconds{1};
  EXPECT_FALSE(live(store, s->id));  // expires exactly at expires_at
}

TEST_F(SessionStoreTest, TokenExpiryCapsSession) {
  SessionStore store(*db_, clock_, Seconds{3600});
  auto t = token();
  t.expires_at = clock_.t + Seconds{60};
  put(t);
  auto s = store.create(t);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->expires_at, clock_.t + Seconds{60});
}

TEST_F(SessionStoreTest, EraseAndUnknown) {
  SessionStore store(*db_, clock_);
  auto a = store.create(token("tok-1")), b = store.create(token("b"));
  ASSERT_TRUE(a && b);
  const struct {
    std::string id;
    bool found;
  } cases[] = {{"", false}, {"short", false}, {std::string(64, '0'), false}, {a->id, true}, {b->id, true}};
  for (const auto& c : cases) EXPECT_EQ(live(store, c.id), c.found) << c.id;
  ASSERT_TRUE(store.erase(a->id));
  EXPECT_FALSE(live(store, a->id));
  EXPECT_TRUE(live(store, b->id));
  EXPECT_EQ(store.erase_token("b").value_or(-1), 1);
  EXPECT_FALSE(live(store, b->id));
}

// The reason sessions are in the database: a restart (a new process, a new SessionStore
// on the reopened file) keeps everyone signed in.
TEST_F(SessionStoreTest, SurvivesARestart) {
  std::string id, csrf;
  {
    SessionStore store(*db_, clock_);
    auto s = store.create(token());
    ASSERT_TRUE(s);
    id = s->id;
    csrf = s->csrf;
  }
  open();
  SessionStore again(*db_, clock_);
  auto f = again.find(id);
  ASSERT_TRUE(f && *f);
  EXPECT_EQ((*f)->csrf, csrf);
  EXPECT_TRUE(csrf_ok(**f, csrf));
}

TEST_F(SessionStoreTest, RevokedTokenEndsItsSessions) {
  SessionStore store(*db_, clock_);
  auto s = store.create(token());
  ASSERT_TRUE(s);
  auto t = token();
  t.revoked = true;
  put(t);
  EXPECT_FALSE(live(store, s->id));
}

TEST_F(SessionStoreTest, SignInPurgesExpiredSessions) {
  SessionStore store(*db_, clock_, Seconds{100});
  auto old = store.create(token());
  ASSERT_TRUE(old);
  clock_.t += Seconds{200};
  ASSERT_TRUE(store.create(token("b")));  // purges the expired one
  EXPECT_EQ(store.purge().value_or(-1), 0);  // nothing expired is left to purge
  clock_.t += Seconds{200};
  EXPECT_EQ(store.purge().value_or(-1), 1);  // now b's
}

TEST(Csrf, ComparesExactly) {
  Session s;
  s.csrf = std::string(64, 'a');
  const struct {
    std::string header;
    bool ok;
  } cases[] = {{std::string(64, 'a'), true}, {"", false}, {std::string(63, 'a'), false},
               {std::string(63, 'a') + "b", false}, {std::string(65, 'a'), false}};
  for (const auto& c : cases) EXPECT_EQ(csrf_ok(s, c.header), c.ok) << c.header;
  Session empty;
  EXPECT_FALSE(csrf_ok(empty, ""));
}

TEST(Cookies, SetAndClear) {
  Session s;
  s.id = "abc";
  Time now = from_unix(1000);
  s.expires_at = now + Seconds{7200};
  EXPECT_EQ(session_set_cookie(s, now, false), "fw_session=abc; Path=/; Max-Age=7200; HttpOnly; SameSite=Strict");
  EXPECT_EQ(session_set_cookie(s, now, true),
            "fw_session=abc; Path=/; Max-Age=7200; HttpOnly; SameSite=Strict; Secure");
  EXPECT_EQ(session_clear_cookie(false), "fw_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
}

TEST(Cookies, ParseHeader) {
  const struct {
    std::string header, want;
  } cases[] = {
      {"fw_session=abc", "abc"},
      {"a=1; fw_session=abc; b=2", "abc"},
      {"a=1;fw_session=abc", "abc"},
      {"  fw_session=\"abc\"  ", "abc"},
      {"xfw_session=abc", ""},
      {"fw_session", ""},
      {";;;=;", ""},
      {"", ""},
      {"fw_session=; fw_session=x", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(cookie_value(c.header, "fw_session"), c.want) << c.header;
}

}  // namespace
}  // namespace fw::server
