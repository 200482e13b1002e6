// Text search of the lists (devices, people): a case-insensitive substring of the rows'
// search_key (folded by the store), as SQL conditions. Queries of 3 characters or more use the
// engine's index from migration 0010 (SQLite: the FTS5 trigram tables devices_search and
// people_search; PostgreSQL: LIKE over the pg_trgm GIN indexes, a scan if pg_trgm was not
// available); shorter ones, and filters with search_scan set, scan with LIKE. Both give the
// same rows; a query holding a NUL matches nothing. Plain functions; used by the one thread
// that runs the transaction.
#include <string>

#include "store/sql/tx.h"

namespace fw::store::sql {

namespace {

size_t codepoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

}  // namespace

SearchCond search_condition(Dialect d, std::string_view table, std::string_view alias, std::string_view search,
                            bool scan) {
  SearchCond s;
  const std::string folded = fold_case(search);
  if (folded.find('\0') != std::string::npos) {
    // FTS5's query parser and libpq read text up to a NUL, so such a query would fail or
    // match its prefix; no stored key holds a NUL, so it matches no row, on every path.
    // One (empty, not NULL) parameter is still bound, as callers expect one per condition;
    // the condition stands on its own, like an index condition (no LIKE scan).
    s.sql = "CAST(? AS TEXT) IS NULL";
    s.param.clear();
    s.indexed = true;
    return s;
  }
  if (scan || codepoints(folded) < 3) {
    s.sql = std::string(alias) + ".search_key LIKE ? ESCAPE '\\'";
    s.param = "%" + escape_like(folded) + "%";
    return s;
  }
  s.indexed = true;
  if (d == Dialect::postgres) {
    // The planner answers LIKE '%x%' from the trigram GIN index when it exists.
    s.sql = std::string(alias) + ".id IN (SELECT id FROM " + std::string(table) + " WHERE search_key LIKE ? ESCAPE '\\')";
    s.param = "%" + escape_like(folded) + "%";
    return s;
  }
  // FTS5 trigram, case-sensitive over the folded key: a phrase of the whole query (quotes
  // doubled) matches the rows that contain it as a substring.
  std::string phrase = "\"";
  for (char c : folded) {
    if (c == '"') phrase += '"';
    phrase += c;
  }
  phrase += '"';
  const std::string fts = std::string(table) + "_search";
  s.sql = std::string(alias) + ".rowid IN (SELECT rowid FROM " + fts + " WHERE " + fts + " MATCH ?)";
  s.param = std::move(phrase);
  return s;
}

}  // namespace fw::store::sql
