// Tables of cases for the store's pure helpers: case folding, LIKE escaping, cursors,
// PostgreSQL placeholder rewriting, the audit hash's canonical form.
#include <gtest/gtest.h>

#include "store/postgres/pg_conn.h"
#include "store/sql/audit_hash.h"
#include "store/sql/tx.h"
#include "store/sqlite/sqlite_conn.h"

#include <filesystem>
#include <unistd.h>

namespace fw::store::sql {
namespace {

TEST(FoldCase, Table) {
  struct Case { std::string in, want; };
  for (const auto& c : std::vector<Case>{
           {"", ""},
           {"IVANOV@Example.ORG", "ivanov@example.org"},
           {"Иван ИВАНОВ", "иван иванов"},
           {"ЁЖИК Ёлка", "ёжик ёлка"},
           {"ÉCOLE Ñandú ÀÞ", "école ñandú àþ"},
           {"×", "×"},                                  // the multiplication sign has no case
           {"ŁÓDŹ ŒUVRE", "łódź œuvre"},
           {"ΑΘΗΝΑ", "αθηνα"},
           {"ІЇЄЎ", "іїєў"},
           {"a\xff" "B", "a\xff" "b"},                   // invalid UTF-8 kept byte for byte
           {"\xd0", "\xd0"},                             // truncated sequence
           {"日本 ABC", "日本 abc"},
       }) {
    EXPECT_EQ(fold_case(c.in), c.want) << c.in;
  }
}

TEST(EscapeLike, Table) {
  EXPECT_EQ(escape_like("a%b_c\\d"), "a\\%b\\_c\\\\d");
  EXPECT_EQ(escape_like("/regions"), "/regions");
}

TEST(Cursor, RoundTripsAndRejectsGarbage) {
  for (const auto& keys : std::vector<std::vector<std::string>>{{"dev-1"}, {""}, {"a.b", "c/d\xff"}, {"Иван", "x"}}) {
    auto back = decode_cursor(encode_cursor(keys), keys.size());
    ASSERT_TRUE(back) << encode_cursor(keys);
    EXPECT_EQ(*back, keys);
  }
  for (std::string bad : {"", "dev-1", "c1.4", "c1.zz", "c2.41", "c1.41.42"}) {
    auto r = decode_cursor(bad, 1);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
  }
  EXPECT_FALSE(decode_cursor("c1." + std::string(5000, 'a'), 1));
}

TEST(PgPlaceholders, Table) {
  struct Case { std::string in, want; };
  for (const auto& c : std::vector<Case>{
           {"SELECT 1", "SELECT 1"},
           {"a = ? AND b = ?", "a = $1 AND b = $2"},
           {"x LIKE ? ESCAPE '\\' AND y = '?' AND z = ?", "x LIKE $1 ESCAPE '\\' AND y = '?' AND z = $2"},
           {"\"we?ird\" = ?", "\"we?ird\" = $1"},
       }) {
    EXPECT_EQ(pg_placeholders(c.in), c.want) << c.in;
  }
}

TEST(AuditHash, CanonicalFormIsLengthPrefixedAndStable) {
  model::AuditEvent e;
  e.seq = 1;
  e.at = from_unix(1700000000);
  e.actor = "admin";
  e.action = "device.create";
  e.entity = "device/d1";
  e.after_json = "{}";
  EXPECT_EQ(audit_canonical(e),
            "fleetward-audit-v1\n1:1\n10:1700000000\n5:admin\n13:device.create\n9:device/d1\n0:\n2:{}\n0:\n");
  std::string h = audit_hash(e);
  EXPECT_EQ(h.size(), 64u);
  // Moving a byte between adjacent fields changes the hash (no ambiguity).
  model::AuditEvent f = e;
  f.actor = "admi";
  f.action = "ndevice.create";
  EXPECT_NE(audit_hash(f), h);
  EXPECT_EQ(audit_hash(e), h);
}

TEST(SqliteConn, DurabilitySettings) {
  auto dir = std::filesystem::temp_directory_path() / ("fw_sqlite_conn_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "x.db").string();
  {
    auto w = SqliteConn::open(path, /*writer=*/true);
    ASSERT_TRUE(w) << w.error().to_string();
    auto pragma = [&](Conn& c, const char* name) {
      std::string v;
      EXPECT_TRUE(c.query(std::string("PRAGMA ") + name, {}, [&](const Row& r) -> Status {
        v = r.text(0);
        return {};
      }));
      return v;
    };
    EXPECT_EQ(pragma(**w, "journal_mode"), "wal");
    EXPECT_EQ(pragma(**w, "synchronous"), "2");  // FULL
    EXPECT_EQ(pragma(**w, "foreign_keys"), "1");
    EXPECT_EQ(pragma(**w, "busy_timeout"), "5000");
    auto r = SqliteConn::open(path, /*writer=*/false);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(pragma(**r, "foreign_keys"), "1");
    // A statement is prepared once and reused: the same SQL twice works with new parameters.
    ASSERT_TRUE((*w)->exec_script("CREATE TABLE t (a INTEGER)"));
    for (int i = 0; i < 3; ++i) ASSERT_TRUE((*w)->exec("INSERT INTO t (a) VALUES (?)", {i}));
    auto n = (*w)->exec("DELETE FROM t WHERE a >= ?", {1});
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 2);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fw::store::sql
