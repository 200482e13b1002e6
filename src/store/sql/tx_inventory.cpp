// SqlTx: org units, people and devices (with apps). Portable SQL only; see tx.h.
// Used by the one thread that runs the transaction.
#include <deque>
#include <string>

#include "store/sql/tx.h"
#include "util/strings.h"

namespace fw::store::sql {

const std::string_view kDeviceColumns =
    "d.id, d.owner_id, d.source, d.os_family, d.os_version, d.vendor, d.model, d.type, d.managed, "
    "d.first_seen, d.last_seen, d.may_be, d.facts_json, d.org_unit_path";

Result<model::Device> device_from_row(const Row& r) {
  model::Device d;
  d.id = r.text(0);
  d.owner_id = r.text(1);
  auto src = model::parse_device_source(r.text(2));
  auto type = model::parse_device_type(r.text(7));
  if (!src || !type) return fail(Errc::internal, "stored device has a bad source or type", "device/" + d.id);
  d.source = *src;
  d.os_family = r.text(3);
  d.os_version = r.text(4);
  d.vendor = r.text(5);
  d.model = r.text(6);
  d.type = *type;
  d.managed = r.flag(8);
  d.first_seen = r.time(9);
  d.last_seen = r.time(10);
  std::string may = r.text(11);
  if (!may.empty()) {
    for (auto part : split(may, '\n')) d.may_be.emplace_back(part);
  }
  d.facts_json = r.text(12);
  d.org_unit_path = r.text(13);
  return d;
}

namespace {

// ---- org units ----
constexpr std::string_view kOrgCols = "id, path, name, kind, timezone";

model::OrgUnit org_from(const Row& r) {
  return model::OrgUnit{.id = r.text(0), .path = r.text(1), .name = r.text(2), .kind = r.text(3),
                        .timezone = r.text(4)};
}

// ---- people ----
constexpr std::string_view kPersonCols = "id, name, email, login, org_unit_path, manager_id, title";

model::Person person_from(const Row& r) {
  return model::Person{.id = r.text(0), .name = r.text(1), .email = r.text(2), .login = r.text(3),
                       .org_unit_path = r.text(4), .manager_id = r.text(5), .title = r.text(6)};
}

// ---- devices ----
constexpr int kDeviceNCols = 14;

// Builds the WHERE clause of a device filter over "devices d" (joined with "people p" when
// the filter needs the owner). Texts live in `texts` while the query runs.
struct DeviceWhere {
  std::string join;
  std::string where;
  std::deque<std::string> texts;
  std::vector<Param> ps;
};

DeviceWhere device_where(const DeviceFilter& f, Dialect dialect) {
  DeviceWhere w;
  auto cond = [&](std::string c) {
    w.where += w.where.empty() ? " WHERE " : " AND ";
    w.where += c;
  };
  auto text = [&](std::string v) {
    w.texts.push_back(std::move(v));
    w.ps.emplace_back(w.texts.back());
  };
  // Search: the index (tx_search.cpp) over the device's and its owner's keys, or the scan
  // over the joined owner for short queries.
  const SearchCond dev = search_condition(dialect, "devices", "d", f.search, f.search_scan);
  const bool scan = !f.search.empty() && !dev.indexed;
  if (!f.subtree.empty() || scan) w.join = " LEFT JOIN people p ON p.id = d.owner_id";
  // A join rather than "owner_id IN (SELECT ...)": with keyset pages in id order, SQLite
  // walks devices by id and probes the owner, while the IN form made it collect and sort
  // every device of a large subtree for each page (measured: 500x slower on /regions).
  // The unit is the owner's, else the device's own (migration 0009): the evaluation's scope
  // rule (service/evaluate.cpp), so a filtered list shows what a unit's campaign reaches.
  add_subtree_condition(w.where, "COALESCE(p.org_unit_path, d.org_unit_path)", f.subtree, w.texts, w.ps);
  if (!f.owner_id.empty()) { cond("d.owner_id = ?"); text(f.owner_id); }
  if (!f.os_family.empty()) { cond("d.os_family = ?"); text(f.os_family); }
  if (f.type) { cond("d.type = ?"); text(std::string(model::to_string(*f.type))); }
  if (f.source) { cond("d.source = ?"); text(std::string(model::to_string(*f.source))); }
  if (f.managed) { cond("d.managed = ?"); w.ps.emplace_back(*f.managed); }
  if (f.seen_before) { cond("d.last_seen < ?"); w.ps.emplace_back(*f.seen_before); }
  if (f.seen_after) { cond("d.last_seen >= ?"); w.ps.emplace_back(*f.seen_after); }
  if (scan) {
    cond("(d.search_key LIKE ? ESCAPE '\\' OR p.search_key LIKE ? ESCAPE '\\')");
    text(dev.param);
    text(dev.param);
  } else if (!f.search.empty()) {
    const SearchCond owner = search_condition(dialect, "people", "p2", f.search, false);
    cond("(" + dev.sql + " OR d.owner_id IN (SELECT p2.id FROM people p2 WHERE " + owner.sql + "))");
    text(dev.param);
    text(owner.param);
  }
  return w;
}

}  // namespace

// ===== org units =====

Status SqlTx::put_org_unit(const model::OrgUnit& u) {
  if (u.id.empty()) return fail(Errc::invalid_argument, "org unit id is empty", "id");
  if (!u.path.starts_with('/') || (u.path.size() > 1 && u.path.ends_with('/')))
    return fail(Errc::invalid_argument, "org unit path must start with '/' and not end with it", "path");
  FW_TRY_STATUS(exec(
      "INSERT INTO org_units (id, path, name, kind, timezone) VALUES (?, ?, ?, ?, ?) "
      "ON CONFLICT (id) DO UPDATE SET path = excluded.path, name = excluded.name, kind = excluded.kind, "
      "timezone = excluded.timezone",
      {u.id, u.path, u.name, u.kind, u.timezone}));
  return {};
}

Result<model::OrgUnit> SqlTx::get_org_unit(std::string_view id) {
  model::OrgUnit u;
  FW_TRY_STATUS(query_one("SELECT id, path, name, kind, timezone FROM org_units WHERE id = ?", {id},
                          "org unit " + std::string(id), [&](const Row& r) -> Status {
                            u = org_from(r);
                            return {};
                          }));
  return u;
}

Result<model::OrgUnit> SqlTx::get_org_unit_by_path(std::string_view path) {
  model::OrgUnit u;
  FW_TRY_STATUS(query_one("SELECT id, path, name, kind, timezone FROM org_units WHERE path = ?", {path},
                          "org unit " + std::string(path), [&](const Row& r) -> Status {
                            u = org_from(r);
                            return {};
                          }));
  return u;
}

Status SqlTx::delete_org_unit(std::string_view id) {
  FW_TRY(auto u, get_org_unit(id));
  bool has_children = false;
  std::string pat = escape_like(u.path) + "/%";
  FW_TRY_STATUS(query("SELECT 1 FROM org_units WHERE path LIKE ? ESCAPE '\\' LIMIT 1", {pat},
                      [&](const Row&) -> Status {
                        has_children = true;
                        return {};
                      }));
  if (has_children)
    return fail(Errc::conflict, "org unit " + u.path + " has child units", "org_unit/" + std::string(id));
  FW_TRY_STATUS(exec("DELETE FROM org_units WHERE id = ?", {id}));
  return {};
}

Result<Page<model::OrgUnit>> SqlTx::list_org_units(const OrgUnitFilter& f, const PageRequest& p) {
  int limit = clamp_limit(p.limit);
  std::string where;
  std::deque<std::string> texts;
  std::vector<Param> ps;
  add_subtree_condition(where, "path", f.subtree, texts, ps);
  if (!p.cursor.empty()) {
    FW_TRY(auto keys, decode_cursor(p.cursor, 1));
    texts.push_back(keys[0]);
    where += where.empty() ? " WHERE " : " AND ";
    where += "id > ?";
    ps.emplace_back(texts.back());
  }
  ps.emplace_back(limit + 1);
  Page<model::OrgUnit> page;
  FW_TRY_STATUS(query("SELECT " + std::string(kOrgCols) + " FROM org_units" + where + " ORDER BY id LIMIT ?",
                      ps, [&](const Row& r) -> Status {
                        page.items.push_back(org_from(r));
                        return {};
                      }));
  if (static_cast<int>(page.items.size()) > limit) {
    page.items.resize(limit);
    page.next_cursor = encode_cursor({page.items.back().id});
  }
  return page;
}

// ===== people =====

Status SqlTx::put_person(const model::Person& p) {
  if (p.id.empty()) return fail(Errc::invalid_argument, "person id is empty", "id");
  if (p.manager_id == p.id) return fail(Errc::invalid_argument, "a person cannot manage themself", "manager_id");
  std::string email_lc = fold_case(p.email), login_lc = fold_case(p.login);
  std::string key = fold_case(p.name) + "\n" + email_lc + "\n" + login_lc;
  FW_TRY_STATUS(exec(
      "INSERT INTO people (id, name, email, login, email_lc, login_lc, org_unit_path, manager_id, title, "
      "search_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT (id) DO UPDATE SET name = excluded.name, email = excluded.email, login = excluded.login, "
      "email_lc = excluded.email_lc, login_lc = excluded.login_lc, org_unit_path = excluded.org_unit_path, "
      "manager_id = excluded.manager_id, title = excluded.title, search_key = excluded.search_key",
      {p.id, p.name, p.email, p.login, email_lc, login_lc, p.org_unit_path, text_or_null(p.manager_id), p.title,
       key}));
  return {};
}

Result<model::Person> SqlTx::get_person(std::string_view id) {
  model::Person out;
  FW_TRY_STATUS(query_one("SELECT " + std::string(kPersonCols) + " FROM people WHERE id = ?", {id},
                          "person " + std::string(id), [&](const Row& r) -> Status {
                            out = person_from(r);
                            return {};
                          }));
  return out;
}

Result<model::Person> SqlTx::find_person(std::string_view login_or_email) {
  std::string key = fold_case(trim(login_or_email));
  if (key.empty()) return fail(Errc::not_found, "person with an empty login not found");
  model::Person out;
  // Login first, then e-mail; lowest id among equals, so the answer is stable.
  FW_TRY_STATUS(query_one("SELECT " + std::string(kPersonCols) +
                              " FROM people WHERE login_lc = ? OR email_lc = ? "
                              "ORDER BY CASE WHEN login_lc = ? THEN 0 ELSE 1 END, id LIMIT 1",
                          {key, key, key}, "person " + std::string(login_or_email), [&](const Row& r) -> Status {
                            out = person_from(r);
                            return {};
                          }));
  return out;
}

Status SqlTx::delete_person(std::string_view id) {
  FW_TRY(auto n, exec("DELETE FROM people WHERE id = ?", {id}));
  if (n == 0) return fail(Errc::not_found, "person " + std::string(id) + " not found");
  return {};
}

static const std::vector<SortField>& person_sorts() {
  static const std::vector<SortField> fields{
      {"id", {{"p.id"}}},
      {"name", {{"p.name"}, {"p.id"}}},
      {"email", {{"p.email"}, {"p.id"}}},
      {"org_unit", {{"p.org_unit_path"}, {"p.name"}, {"p.id"}}},
      {"manager", {{"p.manager_name"}, {"p.id"}}},  // the manager's name (migration 0010)
  };
  return fields;
}

Result<Page<model::Person>> SqlTx::list_people(const PersonFilter& f, const PageRequest& p) {
  int limit = clamp_limit(p.limit);
  FW_TRY(Keyset ks, Keyset::make(p.sort, p.cursor, person_sorts()));
  std::string where;
  std::deque<std::string> texts;
  std::vector<Param> ps;
  auto cond = [&](std::string_view c, std::string v) {
    where += where.empty() ? " WHERE " : " AND ";
    where += c;
    texts.push_back(std::move(v));
    ps.emplace_back(texts.back());
  };
  add_subtree_condition(where, "p.org_unit_path", f.subtree, texts, ps);
  if (!f.manager_id.empty()) cond("p.manager_id = ?", f.manager_id);
  if (!f.search.empty()) {
    SearchCond sc = search_condition(c_.dialect(), "people", "p", f.search, f.search_scan);
    cond(sc.sql, std::move(sc.param));
  }
  ks.add_after(where, ps);
  ps.emplace_back(limit + 1);
  // Names of the managers and org units in the same query (a page-sized join).
  const std::string sql =
      "SELECT p.id, p.name, p.email, p.login, p.org_unit_path, p.manager_id, p.title, m.name, u.name, " +
      ks.select_cols() +
      " FROM people p LEFT JOIN people m ON m.id = p.manager_id LEFT JOIN org_units u ON u.path = p.org_unit_path" +
      where + " ORDER BY " + ks.order_by() + " LIMIT ?";
  Page<model::Person> page;
  std::vector<std::string> last_key;
  bool more = false;
  FW_TRY_STATUS(nested_loops([&]() -> Status {
    return query(sql, ps, [&](const Row& r) -> Status {
      if (static_cast<int>(page.items.size()) == limit) {  // the look-ahead row: there is a next page
        more = true;
        return {};
      }
      page.items.push_back(person_from(r));
      if (!r.is_null(7)) page.person_names.emplace(r.text(5), r.text(7));
      if (!r.is_null(8)) page.org_unit_names.emplace(r.text(4), r.text(8));
      last_key = ks.key_of(r, 9);
      return {};
    });
  }));
  if (more) page.next_cursor = ks.cursor_after(last_key);
  return page;
}

// ===== devices =====

Status SqlTx::put_device(const model::Device& d) {
  if (d.id.empty()) return fail(Errc::invalid_argument, "device id is empty", "id");
  std::string may = join(d.may_be, "\n");
  std::string key = fold_case(d.id) + "\n" + fold_case(d.model) + "\n" + fold_case(d.vendor);
  std::string facts = d.facts_json.empty() ? std::string("{}") : d.facts_json;
  FW_TRY_STATUS(exec(
      "INSERT INTO devices (id, owner_id, source, os_family, os_version, vendor, model, type, managed, "
      "first_seen, last_seen, may_be, facts_json, search_key, org_unit_path) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT (id) DO UPDATE SET owner_id = excluded.owner_id, source = excluded.source, "
      "os_family = excluded.os_family, os_version = excluded.os_version, vendor = excluded.vendor, "
      "model = excluded.model, type = excluded.type, managed = excluded.managed, "
      "first_seen = excluded.first_seen, last_seen = excluded.last_seen, may_be = excluded.may_be, "
      "facts_json = excluded.facts_json, search_key = excluded.search_key, org_unit_path = excluded.org_unit_path",
      {d.id, text_or_null(d.owner_id), model::to_string(d.source), d.os_family, d.os_version, d.vendor, d.model,
       model::to_string(d.type), d.managed, d.first_seen, d.last_seen, may, facts, key,
       text_or_null(d.org_unit_path)}));
  FW_TRY_STATUS(exec("DELETE FROM device_apps WHERE device_id = ?", {d.id}));
  for (size_t i = 0; i < d.apps.size(); ++i) {
    const auto& a = d.apps[i];
    FW_TRY_STATUS(exec("INSERT INTO device_apps (device_id, pos, app_id, name, version) VALUES (?, ?, ?, ?, ?)",
                       {d.id, static_cast<int64_t>(i), a.id, a.name, a.version}));
  }
  return {};
}

Result<model::Device> SqlTx::get_device(std::string_view id) {
  model::Device d;
  FW_TRY_STATUS(query_one("SELECT " + std::string(kDeviceColumns) + " FROM devices d WHERE d.id = ?", {id},
                          "device " + std::string(id), [&](const Row& r) -> Status {
                            FW_TRY(d, device_from_row(r));
                            return {};
                          }));
  FW_TRY_STATUS(query("SELECT app_id, name, version FROM device_apps WHERE device_id = ? ORDER BY pos", {id},
                      [&](const Row& r) -> Status {
                        d.apps.push_back(model::App{r.text(0), r.text(1), r.text(2)});
                        return {};
                      }));
  return d;
}

Status SqlTx::delete_device(std::string_view id) {
  FW_TRY(auto n, exec("DELETE FROM devices WHERE id = ?", {id}));
  if (n == 0) return fail(Errc::not_found, "device " + std::string(id) + " not found");
  return {};
}

static const std::vector<SortField>& device_sorts() {
  static const std::vector<SortField> fields{
      {"id", {{"d.id"}}},
      {"model", {{"d.model"}, {"d.id"}}},
      {"os", {{"d.os_family"}, {"d.os_version"}, {"d.id"}}},
      {"type", {{"d.type"}, {"d.id"}}},
      {"source", {{"d.source"}, {"d.id"}}},
      {"managed", {{"d.managed", true}, {"d.id"}}},
      {"last_seen", {{"d.last_seen", true}, {"d.id"}}},
      {"owner", {{"d.owner_name"}, {"d.id"}}},  // the owner's name (migration 0010)
  };
  return fields;
}

Status SqlTx::device_page(const DeviceFilter& f, const Keyset& ks, int limit, std::vector<model::Device>& out,
                          std::vector<std::vector<std::string>>* keys, Page<model::Device>* page) {
  DeviceWhere w = device_where(f, c_.dialect());
  ks.add_after(w.where, w.ps);
  w.ps.emplace_back(limit);
  // The page is chosen in the subquery (an index range in the sort order), then joined with
  // its apps and, for lists, the owners' names.
  const int kOwnerCol = kDeviceNCols + 3;
  const int kKeyCol = kOwnerCol + (page ? 1 : 0);
  std::string sql = "SELECT " + std::string(kDeviceColumns) + ", a.app_id, a.name, a.version" +
                    (page ? ", o.name, " + ks.select_cols() : std::string()) + " FROM (SELECT d.* FROM devices d" +
                    w.join + w.where + " ORDER BY " + ks.order_by() +
                    " LIMIT ?) d LEFT JOIN device_apps a ON a.device_id = d.id" +
                    (page ? " LEFT JOIN people o ON o.id = d.owner_id" : "") + " ORDER BY " + ks.order_by() +
                    ", a.pos";
  // Page-sized join: index probes, not a hash of the whole apps table (see nested_loops).
  return nested_loops([&]() -> Status {
    return query(sql, w.ps, [&](const Row& r) -> Status {
      std::string id = r.text(0);
      if (out.empty() || out.back().id != id) {
        FW_TRY(auto d, device_from_row(r));
        out.push_back(std::move(d));
        if (page && !r.is_null(kOwnerCol)) page->person_names.emplace(out.back().owner_id, r.text(kOwnerCol));
        if (keys) keys->push_back(ks.key_of(r, kKeyCol));
      }
      if (!r.is_null(kDeviceNCols))
        out.back().apps.push_back(
            model::App{r.text(kDeviceNCols), r.text(kDeviceNCols + 1), r.text(kDeviceNCols + 2)});
      return {};
    });
  });
}

Status SqlTx::device_page(const DeviceFilter& f, std::string_view after_id, int limit,
                          std::vector<model::Device>& out) {
  Keyset ks = Keyset::first(device_sorts()[0]);
  if (!after_id.empty()) ks.set_after({std::string(after_id)});
  return device_page(f, ks, limit, out);
}

Result<Page<model::Device>> SqlTx::list_devices(const DeviceFilter& f, const PageRequest& p) {
  int limit = clamp_limit(p.limit);
  FW_TRY(Keyset ks, Keyset::make(p.sort, p.cursor, device_sorts()));
  Page<model::Device> page;
  std::vector<std::vector<std::string>> keys;
  FW_TRY_STATUS(device_page(f, ks, limit + 1, page.items, &keys, &page));
  if (static_cast<int>(page.items.size()) > limit) {
    page.items.resize(limit);
    page.next_cursor = ks.cursor_after(keys[limit - 1]);
  }
  return page;
}

Status SqlTx::scan_devices(const DeviceFilter& f, const std::function<Status(const model::Device&)>& fn) {
  // Keyset batches rather than one long cursor: the same on both engines, bounded memory,
  // and the connection is free between batches.
  constexpr int kBatch = 1000;
  Keyset ks = Keyset::first(device_sorts()[0]);
  std::vector<model::Device> batch;
  for (;;) {
    batch.clear();
    FW_TRY_STATUS(device_page(f, ks, kBatch, batch));
    for (const auto& d : batch) FW_TRY_STATUS(fn(d));
    if (static_cast<int>(batch.size()) < kBatch) return {};
    ks.set_after({batch.back().id});
  }
}

Result<int64_t> SqlTx::count_devices(const DeviceFilter& f) {
  DeviceWhere w = device_where(f, c_.dialect());
  int64_t n = 0;
  FW_TRY_STATUS(query("SELECT COUNT(*) FROM devices d" + w.join + w.where, w.ps, [&](const Row& r) -> Status {
    n = r.i64(0);
    return {};
  }));
  return n;
}

}  // namespace fw::store::sql
