// Reading findings rows back, for every SqlTx file that selects them (tx_policy.cpp,
// tx_history.cpp): the column list and its decoding in one place, so that the two stay in
// the same order. Header-only; pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "store/sql/db.h"
#include "store/store.h"
#include "util/error.h"

namespace fw::store::sql {

// The findings columns of a Finding, as selected from `findings f`.
inline constexpr std::string_view kFindingColumns =
    "f.device_id, f.rule_key, f.person_id, f.policy_id, f.status, f.severity, f.detail, f.first_failed_at, "
    "f.last_evaluated_at, f.status_since";
inline constexpr int kFindingColumnCount = 10;

// A stored status text as a FindingStatus; an internal error naming `table` when the row
// holds something else.
inline Result<FindingStatus> stored_finding_status(const std::string& s, std::string_view table) {
  auto st = parse_finding_status(s);
  if (!st) return fail(Errc::internal, "stored finding has a bad status: " + s, std::string(table));
  return *st;
}

// A row selected with kFindingColumns, from its first column.
inline Result<Finding> finding_from_row(const Row& r) {
  Finding f;
  f.device_id = r.text(0);
  f.rule_key = r.text(1);
  f.person_id = r.text(2);
  f.policy_id = r.text(3);
  FW_TRY(f.status, stored_finding_status(r.text(4), "findings"));
  f.severity = r.text(5);
  f.detail = r.text(6);
  f.first_failed_at = r.opt_time(7);
  f.last_evaluated_at = r.time(8);
  f.status_since = r.time(9);
  return f;
}

}  // namespace fw::store::sql
