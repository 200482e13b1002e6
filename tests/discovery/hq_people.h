// The small organisation the discovery tests attribute log lines to: the unit /hq and up to
// four people in it (p1 ipetrov, p2 osmirnova, p3 akuznetsova, p4 oorlov), each with the
// e-mail <login>@example.org. Header-only test code; runs inside the caller's transaction.
#pragma once

#include <iterator>
#include <string>
#include <tuple>

#include "service/inventory.h"
#include "service/service_test_util.h"
#include "store/store.h"

namespace fw::testing {

// Creates /hq and the first `people` (at most four) of the people above through the service
// layer; the first error.
inline Status put_hq_people(store::Tx& tx, const service::Change& c, size_t people) {
  FW_TRY_STATUS(put_org_units(tx, c, {"/hq"}));
  const std::tuple<const char*, const char*, const char*> all[] = {{"p1", "Ivan Petrov", "ipetrov"},
                                                                   {"p2", "Olga Smirnova", "osmirnova"},
                                                                   {"p3", "Anna Kuznetsova", "akuznetsova"},
                                                                   {"p4", "Oleg Orlov", "oorlov"}};
  for (size_t i = 0; i < people && i < std::size(all); ++i) {
    const auto& [id, name, login] = all[i];
    model::Person p;
    p.id = id;
    p.name = name;
    p.login = login;
    p.email = std::string(login) + "@example.org";
    p.org_unit_path = "/hq";
    FW_TRY_STATUS(service::put_person(tx, c, p, service::PutMode::create));
  }
  return {};
}

}  // namespace fw::testing
