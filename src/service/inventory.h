// Inventory use cases: org units, people and devices, created, changed and deleted with
// one audit event (actor, action, entity, before/after JSON) in the same transaction.
// Two layers: free functions over a store::Tx (for import and demo, which batch many
// changes in one transaction) and the Inventory class (one transaction per call, for the
// API). Inventory is thread-safe (the Store is); Tx functions run on the Tx's thread.
// Failure: invalid_argument naming the field for bad values, not_found for a missing
// entity, already_exists for a taken id on create, conflict for references (a person in a
// missing org unit, deleting a unit that still has people). A failed call writes nothing.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "model/model.h"
#include "store/store.h"
#include "util/error.h"
#include "util/time.h"

namespace fw::service {

// Who makes a change, and when; written into the audit event.
struct Change {
  std::string actor;  // token name, "cli:import", "demo", "system"
  Time at{};
};

// The canonical OS families (model.h); device os_family must be one of them.
bool is_canonical_os_family(std::string_view family) noexcept;
// Ids are 1-128 characters of [A-Za-z0-9._:@-] (safe in URL paths).
Status validate_id(std::string_view id, std::string_view field = "id");

// Pure checks of one entity (no references); invalid_argument naming the field.
// normalize() fills defaults first: an org unit's id/name from its path, a device's
// first/last seen from `now` when unset.
void normalize(model::OrgUnit& u);
void normalize(model::Device& d, Time now);
Status validate(const model::OrgUnit& u);
Status validate(const model::Person& p);
Status validate(const model::Device& d);

enum class PutMode { create, replace, upsert };

// Tx-level operations: validate, check references, write, append the audit event.
// create: already_exists if the id is taken; replace: not_found if missing; upsert: either.
Result<model::OrgUnit> put_org_unit(store::Tx& tx, const Change& c, model::OrgUnit u, PutMode mode);
Result<model::Person> put_person(store::Tx& tx, const Change& c, model::Person p, PutMode mode);
Result<model::Device> put_device(store::Tx& tx, const Change& c, model::Device d, PutMode mode);
Status delete_org_unit(store::Tx& tx, const Change& c, std::string_view id);
Status delete_person(store::Tx& tx, const Change& c, std::string_view id);
Status delete_device(store::Tx& tx, const Change& c, std::string_view id);

// Generates an id for an entity created without one: "<prefix>-<16 hex>" (random).
std::string new_id(std::string_view prefix);

class Inventory {
 public:
  Inventory(store::Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  Result<store::Page<model::OrgUnit>> list_org_units(const store::OrgUnitFilter& f, const store::PageRequest& p);
  Result<model::OrgUnit> get_org_unit(std::string_view id);
  Result<model::OrgUnit> create_org_unit(std::string_view actor, model::OrgUnit u);
  // Reads the stored unit, lets `edit` change it, validates and writes it back (id fixed).
  Result<model::OrgUnit> update_org_unit(std::string_view actor, std::string_view id,
                                         const std::function<Status(model::OrgUnit&)>& edit);
  Status delete_org_unit(std::string_view actor, std::string_view id);

  Result<store::Page<model::Person>> list_people(const store::PersonFilter& f, const store::PageRequest& p);
  Result<model::Person> get_person(std::string_view id);
  Result<model::Person> create_person(std::string_view actor, model::Person p);
  Result<model::Person> update_person(std::string_view actor, std::string_view id,
                                      const std::function<Status(model::Person&)>& edit);
  Status delete_person(std::string_view actor, std::string_view id);

  Result<store::Page<model::Device>> list_devices(const store::DeviceFilter& f, const store::PageRequest& p);
  Result<model::Device> get_device(std::string_view id);
  Result<model::Device> create_device(std::string_view actor, model::Device d);
  Result<model::Device> update_device(std::string_view actor, std::string_view id,
                                      const std::function<Status(model::Device&)>& edit);
  Status delete_device(std::string_view actor, std::string_view id);

  Result<store::Page<model::AuditEvent>> list_audit(const store::PageRequest& p);

 private:
  Change change(std::string_view actor) const { return Change{std::string(actor), clock_.now()}; }

  store::Store& store_;
  const Clock& clock_;
};

}  // namespace fw::service
