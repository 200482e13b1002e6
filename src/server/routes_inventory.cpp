// Inventory API: /api/v1/org-units, /api/v1/people, /api/v1/devices (list, get, create,
// replace, patch, delete) and GET /api/v1/audit. Thin: parse -> service::Inventory -> JSON.
// Handlers capture Services by reference; Inventory is thread-safe.
#include "server/errors.h"
#include "server/routes.h"
#include "server/routes_web.h"
#include "service/model_json.h"

namespace fw::server {

namespace {

using service::from_json;
using service::to_json;

// The CRUD routes of one entity type. `Ops` supplies list/get/create/update/remove.
template <class T, class Ops>
void add_crud(Router& r, const std::string& base, Ops ops) {
  r.add(Verb::get, base, Access::read, [ops](Request& req) -> Result<Response> { return ops.list(req); });

  r.add(Verb::get, base + "/{id}", Access::read, [ops](Request& req) -> Result<Response> {
    FW_TRY_STATUS(check_query(req, {}));
    FW_TRY(T x, ops.get(req.param("id")));
    return json_response(200, to_json(x));
  });

  r.add(Verb::post, base, Access::write, [ops, base](Request& req) -> Result<Response> {
    FW_TRY(auto body, parse_body(req));
    T x;
    FW_TRY_STATUS(from_json(body, x));
    FW_TRY(T created, ops.create(req.actor(), std::move(x)));
    auto res = json_response(201, to_json(created));
    res.headers.emplace_back("Location", base + "/" + created.id);
    return res;
  });

  // PUT replaces the whole entity (fields left out take their defaults); PATCH changes only
  // the fields given. Both: 404 if the entity does not exist; the id cannot change.
  r.add(Verb::put, base + "/{id}", Access::write, [ops](Request& req) -> Result<Response> {
    FW_TRY(auto body, parse_body(req));
    std::string id(req.param("id"));
    FW_TRY(T updated, ops.update(req.actor(), id, [&](T& cur) -> Status {
      T fresh;
      fresh.id = id;
      FW_TRY_STATUS(from_json(body, fresh));
      cur = std::move(fresh);
      return {};
    }));
    return json_response(200, to_json(updated));
  });

  r.add(Verb::patch, base + "/{id}", Access::write, [ops](Request& req) -> Result<Response> {
    FW_TRY(auto body, parse_body(req));
    std::string id(req.param("id"));
    FW_TRY(T updated, ops.update(req.actor(), id, [&](T& cur) { return from_json(body, cur); }));
    return json_response(200, to_json(updated));
  });

  r.add(Verb::delete_, base + "/{id}", Access::write, [ops](Request& req) -> Result<Response> {
    FW_TRY_STATUS(ops.remove(req.actor(), req.param("id")));
    return no_content();
  });
}

struct OrgUnitOps {
  service::Inventory* inv;
  Result<Response> list(Request& req) const {
    FW_TRY_STATUS(check_query(req, {"limit", "cursor", "org_unit"}));
    FW_TRY(auto page, page_request(req));
    store::OrgUnitFilter f;
    if (auto v = req.query_value("org_unit")) f.subtree = std::string(*v);
    FW_TRY(auto items, inv->list_org_units(f, page));
    return page_response(items, [](const model::OrgUnit& u) { return to_json(u); });
  }
  Result<model::OrgUnit> get(std::string_view id) const { return inv->get_org_unit(id); }
  Result<model::OrgUnit> create(std::string_view a, model::OrgUnit x) const { return inv->create_org_unit(a, std::move(x)); }
  Result<model::OrgUnit> update(std::string_view a, std::string_view id,
                                const std::function<Status(model::OrgUnit&)>& e) const {
    return inv->update_org_unit(a, id, e);
  }
  Status remove(std::string_view a, std::string_view id) const { return inv->delete_org_unit(a, id); }
};

struct PersonOps {
  service::Inventory* inv;
  Result<Response> list(Request& req) const {
    FW_TRY_STATUS(check_query(req, {"limit", "cursor", "sort", "org_unit", "search", "manager_id"}));
    FW_TRY(auto page, page_request(req));
    FW_TRY_STATUS(sort_param(req, page));
    store::PersonFilter f;
    if (auto v = req.query_value("org_unit")) f.subtree = std::string(*v);
    if (auto v = req.query_value("search")) f.search = std::string(*v);
    if (auto v = req.query_value("manager_id")) f.manager_id = std::string(*v);
    FW_TRY(auto items, inv->list_people(f, page));
    // Names from the list query's join: the manager's and the org unit's.
    return page_response(items, [&items](const model::Person& p) {
      auto o = to_json(p);
      if (auto it = items.person_names.find(p.manager_id); !p.manager_id.empty() && it != items.person_names.end())
        o["manager_name"] = it->second;
      if (auto it = items.org_unit_names.find(p.org_unit_path); it != items.org_unit_names.end())
        o["org_unit_name"] = it->second;
      return o;
    });
  }
  Result<model::Person> get(std::string_view id) const { return inv->get_person(id); }
  Services* svc;
  // A person's org unit decides their devices' scope: their devices are re-evaluated.
  Result<model::Person> create(std::string_view a, model::Person x) const {
    return dirty(inv->create_person(a, std::move(x)));
  }
  Result<model::Person> update(std::string_view a, std::string_view id,
                               const std::function<Status(model::Person&)>& e) const {
    return dirty(inv->update_person(a, id, e));
  }
  Result<model::Person> dirty(Result<model::Person> r) const {
    if (r && svc->eval) svc->eval->mark_people_dirty(std::span<const std::string>(&r->id, 1));
    return r;
  }
  Status remove(std::string_view a, std::string_view id) const { return inv->delete_person(a, id); }
};

struct DeviceOps {
  service::Inventory* inv;
  Result<Response> list(Request& req) const {
    FW_TRY_STATUS(check_query(req, {"limit", "cursor", "sort", "org_unit", "owner_id", "os_family", "type", "managed",
                                    "source", "last_seen_before", "last_seen_after", "search"}));
    FW_TRY(auto page, page_request(req));
    FW_TRY_STATUS(sort_param(req, page));
    FW_TRY(store::DeviceFilter f, device_filter(req));
    FW_TRY(auto items, inv->list_devices(f, page));
    // The owner's name from the list query's join.
    return page_response(items, [&items](const model::Device& d) {
      auto o = to_json(d);
      if (auto it = items.person_names.find(d.owner_id); !d.owner_id.empty() && it != items.person_names.end())
        o["owner_name"] = it->second;
      return o;
    });
  }
  Result<model::Device> get(std::string_view id) const { return inv->get_device(id); }
  Services* svc;
  // A created or changed device gets its findings from the evaluation queue a moment later.
  Result<model::Device> create(std::string_view a, model::Device x) const {
    return dirty(inv->create_device(a, std::move(x)));
  }
  Result<model::Device> update(std::string_view a, std::string_view id,
                               const std::function<Status(model::Device&)>& e) const {
    return dirty(inv->update_device(a, id, e));
  }
  Result<model::Device> dirty(Result<model::Device> r) const {
    if (r && svc->eval) svc->eval->mark_dirty(r->id);
    return r;
  }
  Status remove(std::string_view a, std::string_view id) const { return inv->delete_device(a, id); }
};

}  // namespace

void add_inventory_routes(Router& r, Services& s) {
  add_crud<model::OrgUnit>(r, "/api/v1/org-units", OrgUnitOps{&s.inventory});
  add_crud<model::Person>(r, "/api/v1/people", PersonOps{&s.inventory, &s});
  add_crud<model::Device>(r, "/api/v1/devices", DeviceOps{&s.inventory, &s});

  r.add(Verb::get, "/api/v1/audit", Access::read, [&s](Request& req) -> Result<Response> {
    FW_TRY_STATUS(check_query(req, {"limit", "cursor"}));
    FW_TRY(auto page, page_request(req));
    FW_TRY(auto items, s.inventory.list_audit(page));
    return page_response(items, [](const model::AuditEvent& e) { return to_json(e); });
  });
}

}  // namespace fw::server
