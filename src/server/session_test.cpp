// Tests of dashboard sessions: expiry, CSRF comparison, cookies, cookie-header parsing.
#include "server/session.h"

#include <gtest/gtest.h>

namespace fw::server {
namespace {

class StepClock final : public Clock {
 public:
  Time now() const override { return t; }
  Time t = from_unix(1'700'000'000);
};

model::ApiToken token(std::string id = "tok-1") {
  model::ApiToken t;
  t.id = std::move(id);
  t.name = "admin";
  return t;
}

TEST(SessionStore, CreateFindExpire) {
  StepClock clock;
  SessionStore store(clock, Seconds{3600});
  Session s = store.create(token());
  EXPECT_EQ(s.id.size(), 64u);
  EXPECT_EQ(s.csrf.size(), 64u);
  EXPECT_NE(s.id, s.csrf);
  EXPECT_EQ(s.expires_at, clock.t + Seconds{3600});
  ASSERT_TRUE(store.find(s.id));
  EXPECT_EQ(store.find(s.id)->actor, "admin");
  clock.t += Seconds{3599};
  EXPECT_TRUE(store.find(s.id));
  clock.t += Seconds{1};
  EXPECT_FALSE(store.find(s.id));  // expires exactly at expires_at
  EXPECT_EQ(store.size(), 0u);
}

TEST(SessionStore, TokenExpiryCapsSession) {
  StepClock clock;
  SessionStore store(clock, Seconds{3600});
  auto t = token();
  t.expires_at = clock.t + Seconds{60};
  EXPECT_EQ(store.create(t).expires_at, clock.t + Seconds{60});
}

TEST(SessionStore, EraseAndUnknown) {
  StepClock clock;
  SessionStore store(clock);
  Session a = store.create(token("a")), b = store.create(token("b"));
  const struct {
    std::string id;
    bool found;
  } cases[] = {{"", false}, {"short", false}, {std::string(64, '0'), false}, {a.id, true}, {b.id, true}};
  for (const auto& c : cases) EXPECT_EQ(store.find(c.id).has_value(), c.found) << c.id;
  store.erase(a.id);
  EXPECT_FALSE(store.find(a.id));
  EXPECT_TRUE(store.find(b.id));
  store.erase_token("b");
  EXPECT_FALSE(store.find(b.id));
}

TEST(SessionStore, FullStoreDropsOldest) {
  StepClock clock;
  SessionStore store(clock, Seconds{100}, 2);
  Session a = store.create(token());
  clock.t += Seconds{1};
  Session b = store.create(token());
  clock.t += Seconds{1};
  Session c = store.create(token());
  EXPECT_FALSE(store.find(a.id));
  EXPECT_TRUE(store.find(b.id));
  EXPECT_TRUE(store.find(c.id));
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
