// Keyset (see tx.h): a list's sort order and its position, as SQL. Pages in (sort columns,
// unique key) order continue after the previous page's last row with one row-value
// comparison, "(a, b) > (?, ?)", which SQLite (3.15+) and PostgreSQL both turn into an index
// range when an index on (a, b) exists (migration 0007), so a page costs the same at any depth.
// Plain values; used by the one thread that runs the transaction.
#include <charconv>

#include "store/sql/tx.h"
#include "util/strings.h"

namespace fw::store::sql {

Result<Keyset> Keyset::make(std::string_view sort, std::string_view cursor, const std::vector<SortField>& fields) {
  Keyset k;
  const bool desc = sort.starts_with('-');
  const std::string_view name = desc ? sort.substr(1) : sort;
  const SortField* found = name.empty() && !desc && !fields.empty() ? &fields[0] : nullptr;
  for (const auto& f : fields)
    if (!name.empty() && f.name == name) found = &f;
  if (!found) {
    std::string names;
    for (const auto& f : fields) names += (names.empty() ? "" : ", ") + std::string(f.name);
    return fail(Errc::invalid_argument,
                "cannot sort by '" + std::string(sort.substr(0, 64)) + "' (fields: " + names +
                    "; '-' before a field sorts descending)",
                "sort");
  }
  k.field_ = *found;
  k.desc_ = desc;
  k.default_ = found == &fields[0];
  if (cursor.empty()) return k;
  // The default order keeps the plain cursor of the key (the format lists had before
  // sorting existed); another order puts its name first, so that a cursor cannot be
  // replayed under another order.
  FW_TRY(auto keys, decode_cursor(cursor, k.field_.cols.size() + (k.named() ? 1 : 0)));
  if (k.named()) {
    if (keys[0] != k.canonical())
      return fail(Errc::invalid_argument, "the cursor belongs to another sort order; start from the first page",
                  "cursor");
    keys.erase(keys.begin());
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!k.field_.cols[i].integer) continue;
    int64_t v = 0;
    auto [p, ec] = std::from_chars(keys[i].data(), keys[i].data() + keys[i].size(), v);
    if (ec != std::errc() || p != keys[i].data() + keys[i].size())
      return fail(Errc::invalid_argument, "malformed pagination cursor", "cursor");
  }
  k.after_ = std::move(keys);
  return k;
}

Keyset Keyset::first(const SortField& field) {
  Keyset k;
  k.field_ = field;
  k.default_ = true;
  return k;
}

void Keyset::add_after(std::string& where, std::vector<Param>& ps) const {
  if (after_.empty()) return;
  const size_t n = field_.cols.size();
  std::string lhs, rhs;
  for (size_t i = 0; i < n; ++i) {
    lhs += (i ? ", " : "") + std::string(field_.cols[i].sql);
    rhs += i ? ", ?" : "?";
    const std::string& v = after_[i];
    if (field_.cols[i].integer) {
      int64_t x = 0;
      std::from_chars(v.data(), v.data() + v.size(), x);  // checked in make()
      ps.emplace_back(x);
    } else {
      ps.emplace_back(std::string_view(v));
    }
  }
  where += where.empty() ? " WHERE " : " AND ";
  if (n == 1)
    where += lhs + (desc_ ? " < " : " > ") + rhs;
  else
    where += "(" + lhs + (desc_ ? ") < (" : ") > (") + rhs + ")";
}

std::string Keyset::order_by() const {
  std::string s;
  for (size_t i = 0; i < field_.cols.size(); ++i) {
    s += (i ? ", " : "") + std::string(field_.cols[i].sql);
    if (desc_) s += " DESC";
  }
  return s;
}

std::string Keyset::select_cols() const {
  std::string s;
  for (size_t i = 0; i < field_.cols.size(); ++i) s += (i ? ", " : "") + std::string(field_.cols[i].sql);
  return s;
}

std::vector<std::string> Keyset::key_of(const Row& r, int first) const {
  std::vector<std::string> key;
  for (size_t i = 0; i < field_.cols.size(); ++i) {
    const int c = first + static_cast<int>(i);
    key.push_back(field_.cols[i].integer ? std::to_string(r.i64(c)) : r.text(c));
  }
  return key;
}

std::string Keyset::cursor_after(const std::vector<std::string>& key) const {
  if (!named()) return encode_cursor(key);
  std::vector<std::string> keys;
  keys.push_back(canonical());
  keys.insert(keys.end(), key.begin(), key.end());
  return encode_cursor(keys);
}

}  // namespace fw::store::sql
