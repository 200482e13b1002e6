// Test helpers for the service tests and the end-to-end tests that seed a store through the
// service layer: org units by path, and every finding / finding change of a store. Header-only
// test code; call from the test's thread (each helper runs its own transaction, or inside
// the caller's Tx).
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string_view>
#include <vector>

#include "service/inventory.h"
#include "store/store.h"

namespace fw::testing {

// Creates an org unit for each path, in order (parents first), with the id and name that
// put_org_unit derives from the path. The first error, naming the unit's field.
inline Status put_org_units(store::Tx& tx, const service::Change& c, std::initializer_list<std::string_view> paths) {
  for (std::string_view path : paths) {
    model::OrgUnit u;
    u.path = std::string(path);
    FW_TRY_STATUS(service::put_org_unit(tx, c, std::move(u), service::PutMode::create));
  }
  return {};
}

// Every current finding, in the store's scan order.
inline std::vector<store::Finding> all_findings(store::Store& store) {
  std::vector<store::Finding> out;
  auto st = store.read([&](store::Tx& tx) {
    return tx.scan_findings({}, [&](const store::Finding& f) -> Status {
      out.push_back(f);
      return {};
    });
  });
  EXPECT_TRUE(st) << st.error().to_string();
  return out;
}

// Every finding change (the history), in the store's scan order.
inline std::vector<store::FindingChange> all_finding_changes(store::Store& store) {
  std::vector<store::FindingChange> out;
  auto st = store.read([&](store::Tx& tx) {
    return tx.scan_finding_changes("", [&](const store::FindingChange& c) -> Status {
      out.push_back(c);
      return {};
    });
  });
  EXPECT_TRUE(st) << st.error().to_string();
  return out;
}

}  // namespace fw::testing
