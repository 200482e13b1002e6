// The end-to-end tests of the CLI reading and seeding the database file the executable
// uses: each helper opens the file as a real store, reads or writes, and closes it again
// (so that the next command finds it free). Header-only test code; call from the test's
// thread.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "store/store.h"
#include "util/error.h"

namespace fw::testing {

// Opens the database file, runs `fn(store::Tx&) -> Status` in one write (or read)
// transaction, closes it; the error of either.
inline Status write_db(const std::string& db, const std::function<Status(store::Tx&)>& fn) {
  FW_TRY(auto s, store::Store::open(db));
  return s->write(fn);
}
inline Status read_db(const std::string& db, const std::function<Status(store::Tx&)>& fn) {
  FW_TRY(auto s, store::Store::open(db));
  return s->read(fn);
}

// The status ("fail", "exempt", ...) of `device`'s finding for `rule_key` ("policy/rule"),
// "" when the device has none.
inline std::string finding_status(const std::string& db, const std::string& device, const std::string& rule_key) {
  std::string out;
  auto st = read_db(db, [&](store::Tx& tx) {
    store::FindingFilter f;
    f.device_id = device;
    return tx.scan_findings(f, [&](const store::Finding& x) -> Status {
      if (x.rule_key == rule_key) out = std::string(store::to_string(x.status));
      return {};
    });
  });
  EXPECT_TRUE(st) << db << ": " << st.error().to_string();
  return out;
}

}  // namespace fw::testing
