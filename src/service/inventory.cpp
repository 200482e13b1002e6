// Inventory use cases with audit (see inventory.h). Stateless apart from the Store.
#include "service/inventory.h"

#include <algorithm>
#include <array>
#include <fmt/format.h>
#include <ranges>

#include "service/crypto.h"
#include "service/model_json.h"

namespace fw::service {

namespace {

constexpr std::size_t kMaxText = 256;
constexpr std::size_t kMaxPath = 512;
constexpr std::size_t kMaxApps = 5000;

constexpr std::array<std::string_view, 12> kFamilies = {
    "iOS", "iPadOS", "Android", "HarmonyOS", "Aurora OS", "Sailfish OS",
    "KaiOS", "Windows", "macOS", "Linux", "ChromeOS", "Other"};

bool id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '@' || c == '-';
}

Status text_field(std::string_view v, std::string_view field, std::size_t max = kMaxText) {
  if (v.size() > max) return fail(Errc::invalid_argument, fmt::format("longer than {} bytes", max), std::string(field));
  for (unsigned char c : v) {
    if (c < 0x20 || c == 0x7f) return fail(Errc::invalid_argument, "contains a control character", std::string(field));
  }
  return {};
}

Status required(std::string_view v, std::string_view field) {
  if (v.empty()) return fail(Errc::invalid_argument, "is required", std::string(field));
  return {};
}

bool is_epoch(Time t) { return to_unix(t) == 0; }

std::string entity(std::string_view kind, std::string_view id) { return fmt::format("{}/{}", kind, id); }

template <class T>
Status audit(store::Tx& tx, const Change& c, std::string_view kind, std::string_view verb, std::string_view id,
             const T* before, const T* after) {
  model::AuditEvent e;
  e.at = c.at;
  e.actor = c.actor;
  e.action = fmt::format("{}.{}", kind, verb);
  e.entity = entity(kind, id);
  if (before) e.before_json = to_json_text(to_json(*before));
  if (after) e.after_json = to_json_text(to_json(*after));
  auto r = tx.append_audit(std::move(e));
  if (!r) return fail(r.error());
  return {};
}

// Looks an entity up for a put; checks the mode. Returns the existing one (if any).
template <class T, class Get>
Result<std::optional<T>> existing_for(PutMode mode, std::string_view kind, std::string_view id, Get get) {
  auto cur = get(id);
  if (!cur) {
    if (cur.error().code != Errc::not_found) return fail(cur.error());
    if (mode == PutMode::replace) return fail(Errc::not_found, fmt::format("no {} with id {}", kind, id), "id");
    return std::optional<T>{};
  }
  if (mode == PutMode::create) return fail(Errc::already_exists, fmt::format("a {} with id {} exists", kind, id), "id");
  return std::optional<T>{std::move(*cur)};
}

}  // namespace

bool is_canonical_os_family(std::string_view family) noexcept {
  return std::find(kFamilies.begin(), kFamilies.end(), family) != kFamilies.end();
}

Status validate_id(std::string_view id, std::string_view field) {
  if (id.empty()) return fail(Errc::invalid_argument, "is required", std::string(field));
  if (id.size() > 128) return fail(Errc::invalid_argument, "longer than 128 characters", std::string(field));
  for (char c : id) {
    if (!id_char(c)) {
      return fail(Errc::invalid_argument, "may contain only letters, digits and . _ : @ -", std::string(field));
    }
  }
  return {};
}

std::string new_id(std::string_view prefix) { return fmt::format("{}-{}", prefix, random_hex(8)); }

void normalize(model::OrgUnit& u) {
  if (u.id.empty() && u.path.size() > 1) {
    u.id = u.path.substr(1);
    std::replace(u.id.begin(), u.id.end(), '/', '.');
  }
  if (u.name.empty()) {
    auto pos = u.path.rfind('/');
    if (pos != std::string::npos) u.name = u.path.substr(pos + 1);
  }
}

void normalize(model::Device& d, Time now) {
  if (is_epoch(d.first_seen)) d.first_seen = is_epoch(d.last_seen) ? now : d.last_seen;
  if (is_epoch(d.last_seen)) d.last_seen = d.first_seen;
  if (d.facts_json.empty()) d.facts_json = "{}";
}

Status validate(const model::OrgUnit& u) {
  FW_TRY_STATUS(validate_id(u.id));
  FW_TRY_STATUS(required(u.path, "path"));
  if (u.path.size() > kMaxPath) return fail(Errc::invalid_argument, "longer than 512 bytes", "path");
  if (u.path[0] != '/' || u.path.size() < 2) return fail(Errc::invalid_argument, "must start with / and name a unit", "path");
  for (auto seg : std::string_view(u.path).substr(1) | std::views::split('/')) {
    std::string_view s(seg.begin(), seg.end());
    if (s.empty()) return fail(Errc::invalid_argument, "has an empty segment", "path");
    for (char c : s) {
      if (!id_char(c) || c == ':' || c == '@') {
        return fail(Errc::invalid_argument, "segments may contain only letters, digits and . _ -", "path");
      }
    }
  }
  FW_TRY_STATUS(required(u.name, "name"));
  FW_TRY_STATUS(text_field(u.name, "name"));
  FW_TRY_STATUS(text_field(u.kind, "kind"));
  FW_TRY_STATUS(text_field(u.timezone, "timezone"));
  return {};
}

Status validate(const model::Person& p) {
  FW_TRY_STATUS(validate_id(p.id));
  FW_TRY_STATUS(required(p.name, "name"));
  FW_TRY_STATUS(text_field(p.name, "name"));
  FW_TRY_STATUS(text_field(p.email, "email"));
  if (!p.email.empty() && p.email.find('@') == std::string::npos) {
    return fail(Errc::invalid_argument, "is not an e-mail address", "email");
  }
  FW_TRY_STATUS(text_field(p.login, "login"));
  FW_TRY_STATUS(text_field(p.title, "title"));
  FW_TRY_STATUS(required(p.org_unit_path, "org_unit"));
  if (!p.manager_id.empty()) {
    FW_TRY_STATUS(validate_id(p.manager_id, "manager_id"));
    if (p.manager_id == p.id) return fail(Errc::invalid_argument, "a person cannot manage themselves", "manager_id");
  }
  return {};
}

Status validate(const model::Device& d) {
  FW_TRY_STATUS(validate_id(d.id));
  if (!d.owner_id.empty()) FW_TRY_STATUS(validate_id(d.owner_id, "owner_id"));
  if (!d.org_unit_path.empty() && !d.org_unit_path.starts_with('/'))
    return fail(Errc::invalid_argument, "org unit path must start with '/'", "org_unit");
  FW_TRY_STATUS(text_field(d.org_unit_path, "org_unit"));
  FW_TRY_STATUS(required(d.os_family, "os_family"));
  if (!is_canonical_os_family(d.os_family)) {
    return fail(Errc::invalid_argument,
                "unknown OS family (one of iOS, iPadOS, Android, HarmonyOS, Aurora OS, Sailfish OS, KaiOS, "
                "Windows, macOS, Linux, ChromeOS, Other)",
                "os_family");
  }
  FW_TRY_STATUS(text_field(d.os_version, "os_version", 64));
  FW_TRY_STATUS(text_field(d.vendor, "vendor"));
  FW_TRY_STATUS(text_field(d.model, "model"));
  if (d.last_seen < d.first_seen) return fail(Errc::invalid_argument, "is before first_seen", "last_seen");
  if (d.apps.size() > kMaxApps) return fail(Errc::too_large, "more than 5000 apps", "apps");
  for (std::size_t i = 0; i < d.apps.size(); ++i) {
    const auto& a = d.apps[i];
    if (a.id.empty()) return fail(Errc::invalid_argument, "is required", fmt::format("apps[{}].id", i));
    FW_TRY_STATUS(text_field(a.id, fmt::format("apps[{}].id", i)));
    FW_TRY_STATUS(text_field(a.name, fmt::format("apps[{}].name", i)));
    FW_TRY_STATUS(text_field(a.version, fmt::format("apps[{}].version", i), 64));
  }
  for (std::size_t i = 0; i < d.may_be.size(); ++i) {
    if (!is_canonical_os_family(d.may_be[i])) {
      return fail(Errc::invalid_argument, "unknown OS family", fmt::format("may_be[{}]", i));
    }
  }
  if (d.facts_json.size() > 64 * 1024) return fail(Errc::too_large, "larger than 64 KiB", "facts");
  return {};
}

Result<model::OrgUnit> put_org_unit(store::Tx& tx, const Change& c, model::OrgUnit u, PutMode mode) {
  normalize(u);
  FW_TRY_STATUS(validate(u));
  FW_TRY(auto before, existing_for<model::OrgUnit>(mode, "org unit", u.id,
                                                   [&](std::string_view id) { return tx.get_org_unit(id); }));
  // The path is unique; another unit may not hold it.
  auto same_path = tx.get_org_unit_by_path(u.path);
  if (same_path && same_path->id != u.id) {
    return fail(Errc::already_exists, fmt::format("org unit {} already has this path", same_path->id), "path");
  }
  if (!same_path && same_path.error().code != Errc::not_found) return fail(same_path.error());
  auto parent = u.parent_path();
  if (!parent.empty()) {
    auto p = tx.get_org_unit_by_path(parent);
    if (!p) {
      if (p.error().code == Errc::not_found) {
        return fail(Errc::conflict, fmt::format("parent unit {} does not exist", parent), "path");
      }
      return fail(p.error());
    }
  }
  if (before && before->path != u.path) {
    // Units are referenced by path: moving one that has children or people would orphan them.
    FW_TRY(auto kids, tx.list_org_units({before->path}, {"", 2}));
    FW_TRY(auto people, tx.list_people({.subtree = before->path}, {"", 1}));
    if (kids.items.size() > 1 || !people.items.empty()) {
      return fail(Errc::conflict, "cannot change the path of a unit that has sub-units or people", "path");
    }
  }
  FW_TRY_STATUS(tx.put_org_unit(u));
  FW_TRY_STATUS(audit(tx, c, "org_unit", before ? "update" : "create", u.id, before ? &*before : nullptr, &u));
  return u;
}

Result<model::Person> put_person(store::Tx& tx, const Change& c, model::Person p, PutMode mode) {
  FW_TRY_STATUS(validate(p));
  FW_TRY(auto before, existing_for<model::Person>(mode, "person", p.id,
                                                  [&](std::string_view id) { return tx.get_person(id); }));
  auto unit = tx.get_org_unit_by_path(p.org_unit_path);
  if (!unit) {
    if (unit.error().code == Errc::not_found) {
      return fail(Errc::conflict, fmt::format("org unit {} does not exist", p.org_unit_path), "org_unit");
    }
    return fail(unit.error());
  }
  if (!p.manager_id.empty()) {
    auto m = tx.get_person(p.manager_id);
    if (!m) {
      if (m.error().code == Errc::not_found) {
        return fail(Errc::conflict, fmt::format("person {} does not exist", p.manager_id), "manager_id");
      }
      return fail(m.error());
    }
  }
  FW_TRY_STATUS(tx.put_person(p));
  FW_TRY_STATUS(audit(tx, c, "person", before ? "update" : "create", p.id, before ? &*before : nullptr, &p));
  return p;
}

Result<model::Device> put_device(store::Tx& tx, const Change& c, model::Device d, PutMode mode) {
  normalize(d, c.at);
  FW_TRY_STATUS(validate(d));
  FW_TRY(auto before, existing_for<model::Device>(mode, "device", d.id,
                                                  [&](std::string_view id) { return tx.get_device(id); }));
  if (!d.owner_id.empty()) {
    auto o = tx.get_person(d.owner_id);
    if (!o) {
      if (o.error().code == Errc::not_found) {
        return fail(Errc::conflict, fmt::format("person {} does not exist", d.owner_id), "owner_id");
      }
      return fail(o.error());
    }
  }
  // The device's own unit must exist when it is set or changed (as a person's unit).
  if (!d.org_unit_path.empty() && (!before || before->org_unit_path != d.org_unit_path)) {
    auto unit = tx.get_org_unit_by_path(d.org_unit_path);
    if (!unit) {
      if (unit.error().code == Errc::not_found)
        return fail(Errc::conflict, fmt::format("org unit {} does not exist", d.org_unit_path), "org_unit");
      return fail(unit.error());
    }
  }
  FW_TRY_STATUS(tx.put_device(d));
  FW_TRY_STATUS(audit(tx, c, "device", before ? "update" : "create", d.id, before ? &*before : nullptr, &d));
  return d;
}

Status delete_org_unit(store::Tx& tx, const Change& c, std::string_view id) {
  FW_TRY(auto before, tx.get_org_unit(id));
  FW_TRY(auto kids, tx.list_org_units({before.path}, {"", 2}));
  if (kids.items.size() > 1) return fail(Errc::conflict, "the unit has sub-units", "id");
  FW_TRY(auto people, tx.list_people({.subtree = before.path}, {"", 1}));
  if (!people.items.empty()) return fail(Errc::conflict, "the unit has people", "id");
  FW_TRY_STATUS(tx.delete_org_unit(id));
  return audit<model::OrgUnit>(tx, c, "org_unit", "delete", id, &before, nullptr);
}

Status delete_person(store::Tx& tx, const Change& c, std::string_view id) {
  FW_TRY(auto before, tx.get_person(id));
  FW_TRY(auto reports, tx.list_people({.manager_id = std::string(id)}, {"", 1}));
  if (!reports.items.empty()) return fail(Errc::conflict, "the person manages other people", "id");
  FW_TRY(auto devices, tx.list_devices({.owner_id = std::string(id)}, {"", 1}));
  if (!devices.items.empty()) return fail(Errc::conflict, "the person owns devices", "id");
  FW_TRY_STATUS(tx.delete_person(id));
  return audit<model::Person>(tx, c, "person", "delete", id, &before, nullptr);
}

Status delete_device(store::Tx& tx, const Change& c, std::string_view id) {
  FW_TRY(auto before, tx.get_device(id));
  FW_TRY_STATUS(tx.delete_findings_for_device(id));
  FW_TRY_STATUS(tx.delete_device(id));
  return audit<model::Device>(tx, c, "device", "delete", id, &before, nullptr);
}

// ---- Inventory: one transaction per call ----

namespace {

template <class T, class Fn>
Result<T> read_one(store::Store& s, Fn fn) {
  std::optional<T> out;
  FW_TRY_STATUS(s.read([&](store::Tx& tx) -> Status {
    FW_TRY(auto v, fn(tx));
    out = std::move(v);
    return {};
  }));
  return std::move(*out);
}

template <class T, class Fn>
Result<T> write_one(store::Store& s, Fn fn) {
  std::optional<T> out;
  FW_TRY_STATUS(s.write([&](store::Tx& tx) -> Status {
    FW_TRY(auto v, fn(tx));
    out = std::move(v);
    return {};
  }));
  return std::move(*out);
}

template <class T, class Get, class Put>
Result<T> update_with(store::Store& s, std::string_view id, const std::function<Status(T&)>& edit, Get get, Put put) {
  return write_one<T>(s, [&](store::Tx& tx) -> Result<T> {
    FW_TRY(T cur, get(tx, id));
    FW_TRY_STATUS(edit(cur));
    if (cur.id != id) return fail(Errc::invalid_argument, "does not match the id in the URL", "id");
    return put(tx, std::move(cur));
  });
}

}  // namespace

Result<store::Page<model::OrgUnit>> Inventory::list_org_units(const store::OrgUnitFilter& f,
                                                              const store::PageRequest& p) {
  return read_one<store::Page<model::OrgUnit>>(store_, [&](store::Tx& tx) { return tx.list_org_units(f, p); });
}
Result<model::OrgUnit> Inventory::get_org_unit(std::string_view id) {
  return read_one<model::OrgUnit>(store_, [&](store::Tx& tx) { return tx.get_org_unit(id); });
}
Result<model::OrgUnit> Inventory::create_org_unit(std::string_view actor, model::OrgUnit u) {
  auto c = change(actor);
  return write_one<model::OrgUnit>(store_, [&](store::Tx& tx) { return put_org_unit(tx, c, u, PutMode::create); });
}
Result<model::OrgUnit> Inventory::update_org_unit(std::string_view actor, std::string_view id,
                                                  const std::function<Status(model::OrgUnit&)>& edit) {
  auto c = change(actor);
  return update_with<model::OrgUnit>(
      store_, id, edit, [](store::Tx& tx, std::string_view i) { return tx.get_org_unit(i); },
      [&](store::Tx& tx, model::OrgUnit u) { return put_org_unit(tx, c, std::move(u), PutMode::replace); });
}
Status Inventory::delete_org_unit(std::string_view actor, std::string_view id) {
  auto c = change(actor);
  return store_.write([&](store::Tx& tx) { return service::delete_org_unit(tx, c, id); });
}

Result<store::Page<model::Person>> Inventory::list_people(const store::PersonFilter& f, const store::PageRequest& p) {
  return read_one<store::Page<model::Person>>(store_, [&](store::Tx& tx) { return tx.list_people(f, p); });
}
Result<model::Person> Inventory::get_person(std::string_view id) {
  return read_one<model::Person>(store_, [&](store::Tx& tx) { return tx.get_person(id); });
}
Result<model::Person> Inventory::create_person(std::string_view actor, model::Person p) {
  auto c = change(actor);
  return write_one<model::Person>(store_, [&](store::Tx& tx) { return put_person(tx, c, p, PutMode::create); });
}
Result<model::Person> Inventory::update_person(std::string_view actor, std::string_view id,
                                               const std::function<Status(model::Person&)>& edit) {
  auto c = change(actor);
  return update_with<model::Person>(
      store_, id, edit, [](store::Tx& tx, std::string_view i) { return tx.get_person(i); },
      [&](store::Tx& tx, model::Person p) { return put_person(tx, c, std::move(p), PutMode::replace); });
}
Status Inventory::delete_person(std::string_view actor, std::string_view id) {
  auto c = change(actor);
  return store_.write([&](store::Tx& tx) { return service::delete_person(tx, c, id); });
}

Result<store::Page<model::Device>> Inventory::list_devices(const store::DeviceFilter& f, const store::PageRequest& p) {
  return read_one<store::Page<model::Device>>(store_, [&](store::Tx& tx) { return tx.list_devices(f, p); });
}
Result<model::Device> Inventory::get_device(std::string_view id) {
  return read_one<model::Device>(store_, [&](store::Tx& tx) { return tx.get_device(id); });
}
Result<model::Device> Inventory::create_device(std::string_view actor, model::Device d) {
  auto c = change(actor);
  return write_one<model::Device>(store_, [&](store::Tx& tx) { return put_device(tx, c, d, PutMode::create); });
}
Result<model::Device> Inventory::update_device(std::string_view actor, std::string_view id,
                                               const std::function<Status(model::Device&)>& edit) {
  auto c = change(actor);
  return update_with<model::Device>(
      store_, id, edit, [](store::Tx& tx, std::string_view i) { return tx.get_device(i); },
      [&](store::Tx& tx, model::Device d) { return put_device(tx, c, std::move(d), PutMode::replace); });
}
Status Inventory::delete_device(std::string_view actor, std::string_view id) {
  auto c = change(actor);
  return store_.write([&](store::Tx& tx) { return service::delete_device(tx, c, id); });
}

Result<store::Page<model::AuditEvent>> Inventory::list_audit(const store::PageRequest& p) {
  return read_one<store::Page<model::AuditEvent>>(store_, [&](store::Tx& tx) { return tx.list_audit(p); });
}

}  // namespace fw::service
