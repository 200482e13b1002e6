// SqlTx's statement helpers (dooming on database errors) and the small text helpers the
// entity files share: LIMIT clamping, LIKE escaping, case folding, opaque cursors.
// Pure functions, thread-safe; SqlTx itself is used by one thread.
#include <cstdint>

#include "store/sql/tx.h"

namespace fw::store::sql {

Status SqlTx::insert_rows(std::string_view head, size_t columns, size_t n,
                         const std::function<void(size_t, std::vector<Param>&)>& row) {
  std::string tuple = "(";
  for (size_t c = 0; c < columns; ++c) tuple += c ? ", ?" : "?";
  tuple += ")";
  std::vector<Param> ps;
  ps.reserve(64 * columns);
  std::string sql;
  for (size_t i = 0; i < n;) {
    size_t rows = 64;
    while (rows > n - i) rows /= 4;  // 64, 16, 4, 1
    sql.assign(head);
    for (size_t j = 0; j < rows; ++j) (sql += j ? ", " : "") += tuple;
    ps.clear();
    for (size_t j = 0; j < rows; ++j, ++i) row(i, ps);
    FW_TRY_STATUS(exec(sql, std::span<const Param>(ps)));
  }
  return {};
}

Result<int64_t> SqlTx::exec(std::string_view sql, std::span<const Param> ps) {
  if (doomed_) return std::unexpected(*doomed_);
  auto r = c_.exec(sql, ps);
  if (!r) doomed_ = r.error();
  return r;
}

Status SqlTx::query(std::string_view sql, std::span<const Param> ps, const RowFn& fn) {
  if (doomed_) return std::unexpected(*doomed_);
  bool from_callback = false;
  auto st = c_.query(sql, ps, [&](const Row& r) -> Status {
    auto s = fn(r);
    if (!s) from_callback = true;
    return s;
  });
  if (!st && !from_callback) doomed_ = st.error();
  return st;
}

Status SqlTx::query_one(std::string_view sql, std::initializer_list<Param> ps, std::string_view what,
                        const RowFn& fn) {
  bool found = false;
  FW_TRY_STATUS(query(sql, ps, [&](const Row& r) -> Status {
    found = true;
    return fn(r);
  }));
  if (!found) return fail(Errc::not_found, std::string(what) + " not found");
  return {};
}

Status SqlTx::nested_loops(const std::function<Status()>& fn) {
  if (c_.dialect() != Dialect::postgres) return fn();
  std::string prev_hash, prev_merge;
  FW_TRY_STATUS(query("SELECT current_setting('enable_hashjoin'), current_setting('enable_mergejoin'), "
                      "set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)",
                      {}, [&](const Row& r) -> Status {
                        prev_hash = r.text(0);
                        prev_merge = r.text(1);
                        return {};
                      }));
  auto st = fn();
  if (!doomed_) {
    FW_TRY_STATUS(query("SELECT set_config('enable_hashjoin', ?, true), set_config('enable_mergejoin', ?, true)",
                        {prev_hash, prev_merge}, [](const Row&) -> Status { return {}; }));
  }
  return st;
}

int clamp_limit(int limit) { return limit < 1 ? 1 : (limit > 1000 ? 1000 : limit); }

std::string escape_like(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    if (ch == '\\' || ch == '%' || ch == '_') out += '\\';
    out += ch;
  }
  return out;
}

namespace {

void put_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

uint32_t fold(uint32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return cp + 32;
  if ((cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)) return cp + 32;          // Latin-1
  if (cp >= 0x100 && cp <= 0x17F && cp != 0x130 && cp != 0x138 && cp != 0x149 && cp != 0x17F) {
    // Latin Extended-A pairs: even/odd from 0x100 to 0x137 and 0x14A to 0x177, odd/even in
    // 0x139..0x148 and 0x179..0x17E; 0x178 (Ÿ) maps to 0xFF.
    if (cp == 0x178) return 0xFF;
    if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E)) return (cp % 2 == 1) ? cp + 1 : cp;
    return (cp % 2 == 0) ? cp + 1 : cp;
  }
  if (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2) return cp + 32;         // Greek
  if (cp >= 0x410 && cp <= 0x42F) return cp + 32;                        // Cyrillic А-Я
  if (cp >= 0x400 && cp <= 0x40F) return cp + 80;                        // Ѐ-Џ (Ё, Є, І, Ї, Ў...)
  return cp;
}

}  // namespace

std::string fold_case(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<unsigned char>(s[i]);
    uint32_t cp = 0;
    size_t n = 0;
    if (b < 0x80) { cp = b; n = 1; }
    else if ((b & 0xE0) == 0xC0) { cp = b & 0x1F; n = 2; }
    else if ((b & 0xF0) == 0xE0) { cp = b & 0x0F; n = 3; }
    else if ((b & 0xF8) == 0xF0) { cp = b & 0x07; n = 4; }
    bool ok = n > 0 && i + n <= s.size();
    for (size_t k = 1; ok && k < n; ++k) {
      auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (!ok) {  // not UTF-8: keep the byte as it is
      out += s[i];
      ++i;
      continue;
    }
    if (n == 1) out += static_cast<char>(fold(cp));
    else put_utf8(out, fold(cp));
    i += n;
  }
  return out;
}

std::string encode_cursor(const std::vector<std::string>& keys) {
  static const char* hex = "0123456789abcdef";
  std::string out = "c1.";
  for (size_t k = 0; k < keys.size(); ++k) {
    if (k) out += '.';
    for (unsigned char ch : keys[k]) {
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

Result<std::vector<std::string>> decode_cursor(std::string_view cursor, size_t nkeys) {
  auto bad = [] { return fail(Errc::invalid_argument, "malformed pagination cursor", "cursor"); };
  if (!cursor.starts_with("c1.") || cursor.size() > 4096) return bad();
  cursor.remove_prefix(3);
  std::vector<std::string> keys(1);
  auto nib = [](char ch) -> int {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < cursor.size();) {
    if (cursor[i] == '.') {
      keys.emplace_back();
      ++i;
      continue;
    }
    if (i + 1 >= cursor.size()) return bad();
    int hi = nib(cursor[i]), lo = nib(cursor[i + 1]);
    if (hi < 0 || lo < 0) return bad();
    keys.back() += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  if (keys.size() != nkeys) return bad();
  return keys;
}

void add_subtree_condition(std::string& where, std::string_view col, std::string_view subtree,
                           std::deque<std::string>& texts, std::vector<Param>& ps) {
  while (subtree.size() > 1 && subtree.back() == '/') subtree.remove_suffix(1);
  if (subtree.empty() || subtree == "/") return;
  where += where.empty() ? " WHERE " : " AND ";
  where += "(" + std::string(col) + " = ? OR " + std::string(col) + " LIKE ? ESCAPE '\\')";
  texts.emplace_back(subtree);
  ps.emplace_back(texts.back());
  texts.emplace_back(escape_like(subtree) + "/%");
  ps.emplace_back(texts.back());
}

Status finish_transaction(Conn& c, const std::function<Status(Tx&)>& fn) {
  SqlTx tx(c);
  Status st;
  try {
    st = fn(tx);
  } catch (...) {
    (void)c.exec_script("ROLLBACK");
    throw;
  }
  if (st && tx.doomed()) st = std::unexpected(*tx.doomed());
  if (!st) {
    (void)c.exec_script("ROLLBACK");
    return st;
  }
  if (auto cst = c.exec_script("COMMIT"); !cst) {
    (void)c.exec_script("ROLLBACK");
    return cst;
  }
  return {};
}

}  // namespace fw::store::sql
