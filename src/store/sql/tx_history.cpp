// SqlTx: the dashboard's views: the sorted findings list with the names of its people and
// devices (list_findings_view), one device's finding history (list_device_finding_changes,
// index finding_changes_device_at of migration 0007), and the light device scan behind the
// platform mix (scan_device_spans).
// Portable SQL; used by the one thread that runs the transaction.
#include <deque>
#include <string>

#include "store/sql/finding_rows.h"
#include "store/sql/tx.h"

namespace fw::store::sql {

namespace {

const std::vector<SortField>& finding_sorts() {
  static const std::vector<SortField> fields{
      {"device", {{"f.device_id"}, {"f.rule_key"}}},
      {"rule_key", {{"f.rule_key"}, {"f.device_id"}}},
      {"status", {{"f.status"}, {"f.status_since", true}, {"f.device_id"}, {"f.rule_key"}}},
      {"status_since", {{"f.status_since", true}, {"f.device_id"}, {"f.rule_key"}}},
      // The device's owner's name (devices.owner_name, migration 0010), then device, rule.
      {"owner", {{"dv.owner_name"}, {"dv.id"}, {"f.rule_key"}}},
  };
  return fields;
}

}  // namespace

Result<Page<Finding>> SqlTx::list_findings_view(const FindingFilter& f, const PageRequest& p) {
  const int limit = clamp_limit(p.limit);
  FW_TRY(Keyset ks, Keyset::make(p.sort, p.cursor, finding_sorts()));
  std::string join, where;
  std::deque<std::string> texts;
  std::vector<Param> ps;
  add_finding_conditions(f, join, where, texts, ps);
  // By owner: walk the devices in (owner_name, id) order (index devices_owner_sort) and each
  // device's findings by primary key, so the findings need no copy of the name (no trigger
  // or index on the table every evaluation writes). CROSS JOIN keeps SQLite's join order,
  // and "x || ''" keeps it from probing a findings index on the filter column instead of the
  // key. The cursor's row value spans two tables; its first two columns also bound the
  // devices' index range (PostgreSQL plans the join itself).
  // A filter that matches few findings would make that walk visit every device, so a filter
  // with an indexed column is first counted up to kFewFindings (an index range of at most
  // that many entries): when it matches no more, its findings are read through that index,
  // joined with their devices and sorted (at most kFewFindings rows) instead.
  constexpr int kFewFindings = 2000;
  const bool desc = p.sort.starts_with('-');
  const bool by_owner = std::string_view(p.sort).substr(desc ? 1 : 0) == "owner";
  bool walk_devices = by_owner;
  if (by_owner && (f.status || !f.policy_id.empty() || !f.rule_key.empty() || !f.person_id.empty() ||
                   !f.device_id.empty())) {
    std::vector<Param> count_ps = ps;
    count_ps.emplace_back(kFewFindings + 1);
    int64_t n = 0;
    FW_TRY_STATUS(nested_loops([&]() -> Status {
      return query("SELECT COUNT(*) FROM (SELECT 1 FROM findings f" + join + where + " LIMIT ?) few", count_ps,
                   [&](const Row& r) -> Status {
                     n = r.i64(0);
                     return {};
                   });
    }));
    walk_devices = n > kFewFindings;
  }
  std::string from = " FROM findings f";
  if (walk_devices) {
    for (std::string_view col : {"f.policy_id", "f.rule_key", "f.person_id", "f.status"}) {
      const std::string plain = std::string(col) + " = ?";
      if (auto at = where.find(plain); at != std::string::npos)
        where.replace(at, plain.size(), std::string(col) + " || '' = ?");
    }
  }
  ks.add_after(where, ps);
  if (by_owner && !walk_devices) {
    from = c_.dialect() == Dialect::sqlite ? " FROM findings f CROSS JOIN devices dv ON dv.id = f.device_id"
                                           : " FROM findings f JOIN devices dv ON dv.id = f.device_id";
  } else if (walk_devices) {
    from = c_.dialect() == Dialect::sqlite ? " FROM devices dv CROSS JOIN findings f ON f.device_id = dv.id"
                                           : " FROM devices dv JOIN findings f ON f.device_id = dv.id";
    if (!p.cursor.empty()) {  // checked by Keyset::make: the order's name, then the three keys
      FW_TRY(auto keys, decode_cursor(p.cursor, 4));
      texts.push_back(std::move(keys[1]));
      texts.push_back(std::move(keys[2]));
      where += std::string(" AND (dv.owner_name, dv.id) ") + (desc ? "<=" : ">=") + " (?, ?)";
      ps.emplace_back(std::string_view(texts[texts.size() - 2]));
      ps.emplace_back(std::string_view(texts.back()));
    }
  }
  ps.emplace_back(limit + 1);
  // The page is chosen first (an index range in the sort order), then joined with the names.
  const std::string sql = "SELECT " + std::string(kFindingColumns) + ", pn.name, dv.vendor, dv.model, " +
                          ks.select_cols() + " FROM (SELECT f.*" + from + join + where + " ORDER BY " +
                          ks.order_by() + " LIMIT ?) f LEFT JOIN people pn ON pn.id = f.person_id" +
                          " LEFT JOIN devices dv ON dv.id = f.device_id ORDER BY " + ks.order_by();
  Page<Finding> page;
  std::vector<std::string> last_key;
  bool more = false;
  FW_TRY_STATUS(nested_loops([&]() -> Status {
    return query(sql, ps, [&](const Row& r) -> Status {
      if (static_cast<int>(page.items.size()) == limit) {  // the look-ahead row: there is a next page
        more = true;
        return {};
      }
      FW_TRY(Finding x, finding_from_row(r));
      if (!r.is_null(kFindingColumnCount))
        page.person_names.emplace(x.person_id, r.text(kFindingColumnCount));
      if (!r.is_null(kFindingColumnCount + 1)) {
        std::string vendor = r.text(kFindingColumnCount + 1), model = r.text(kFindingColumnCount + 2);
        std::string label = vendor.empty() ? model : model.empty() ? vendor : vendor + " " + model;
        page.device_labels.emplace(x.device_id, label.empty() ? x.device_id : label);
      }
      last_key = ks.key_of(r, kFindingColumnCount + 3);
      page.items.push_back(std::move(x));
      return {};
    });
  }));
  if (more) page.next_cursor = ks.cursor_after(last_key);
  return page;
}

Result<std::vector<FindingChange>> SqlTx::list_device_finding_changes(std::string_view device_id, int limit) {
  std::vector<FindingChange> out;
  FW_TRY_STATUS(query("SELECT device_id, person_id, policy_id, rule_key, status, at FROM finding_changes "
                      "WHERE device_id = ? ORDER BY at DESC, id DESC LIMIT ?",
                      {device_id, clamp_limit(limit)}, [&](const Row& r) -> Status {
                        FindingChange c;
                        c.device_id = r.text(0);
                        c.person_id = r.text(1);
                        c.policy_id = r.text(2);
                        c.rule_key = r.text(3);
                        FW_TRY(c.status, stored_finding_status(r.text(4), "finding_changes"));
                        c.at = r.time(5);
                        out.push_back(std::move(c));
                        return {};
                      }));
  return out;
}

Status SqlTx::scan_device_spans(model::DeviceType type,
                                const std::function<Status(std::string_view, Time, Time)>& fn) {
  return query("SELECT os_family, first_seen, last_seen FROM devices WHERE type = ?",
               {model::to_string(type)}, [&](const Row& r) -> Status {
                 const std::string family = r.text(0);
                 return fn(family, r.time(1), r.time(2));
               });
}

}  // namespace fw::store::sql
