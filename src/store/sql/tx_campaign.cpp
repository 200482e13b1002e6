// The campaign actions' reads of the failing people, bounded by what a page needs: the people
// counted by (unit, first failure) for the totals, and keyset pages in person order. Both read
// the covering index findings_failing (migration 0008) grouped by person, which the engines
// walk in person order, so a page stops after its rows. Used by the one thread that runs the
// transaction.
#include <algorithm>
#include <string>

#include "store/sql/tx.h"

namespace fw::store::sql {

Result<std::vector<FailingGroup>> SqlTx::failing_people_groups(std::string_view policy_id) {
  std::vector<FailingGroup> out;
  FW_TRY_STATUS(
      query("SELECT p.org_unit_path, g.first, COUNT(*) FROM (SELECT person_id, MIN(first_failed_at) AS first "
            "FROM findings WHERE policy_id = ? AND status = 'fail' GROUP BY person_id) g "
            "JOIN people p ON p.id = g.person_id GROUP BY p.org_unit_path, g.first",
            {policy_id}, [&](const Row& r) -> Status {
              out.push_back(FailingGroup{r.text(0), r.opt_time(1), r.i64(2)});
              return {};
            }));
  return out;
}

Result<FailingPeoplePage> SqlTx::failing_people_page(std::string_view policy_id, std::string_view from,
                                                     bool inclusive, int limit) {
  if (limit < 1) return fail(Errc::invalid_argument, "failing_people_page needs limit >= 1", "limit");
  FailingPeoplePage out;
  int read = 0;
  // The person bound and the limit sit inside the grouped query, so the walk starts at `from`
  // and stops after `limit` people; a person without a people row is read and skipped.
  FW_TRY_STATUS(query(
      std::string("SELECT g.person_id, p.org_unit_path, g.first, CASE WHEN p.id IS NULL THEN 1 ELSE 0 END "
                  "FROM (SELECT person_id, "
                  "MIN(first_failed_at) AS first FROM findings WHERE policy_id = ? AND status = 'fail' "
                  "AND person_id ") +
          (inclusive ? ">=" : ">") +
          " ? GROUP BY person_id ORDER BY person_id LIMIT ?) g LEFT JOIN people p ON p.id = g.person_id "
          "ORDER BY g.person_id",
      {policy_id, from, static_cast<int64_t>(limit)}, [&](const Row& r) -> Status {
        ++read;
        out.last = r.text(0);
        if (r.i64(3) == 0) out.people.push_back(FailingPerson{out.last, r.text(1), r.opt_time(2)});
        return {};
      }));
  out.end = read < limit;
  return out;
}

}  // namespace fw::store::sql
