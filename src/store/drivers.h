// Private to store/: the two drivers' entry points, called by Store::open (store.cpp).
// Thread-safe (each call builds its own Store).
#pragma once

#include <memory>
#include <string_view>

#include "store/store.h"

namespace fw::store {

// SQLite at a file path (created if missing). `target_version` 0 = newest; tests pass k to
// stop after migration k.
Result<std::unique_ptr<Store>> open_sqlite(std::string_view path, int target_version = 0);
// PostgreSQL at a libpq URI ("postgresql://user@host:port/db?options=...").
Result<std::unique_ptr<Store>> open_postgres(std::string_view url, int target_version = 0);

}  // namespace fw::store
