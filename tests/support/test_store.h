// A real SQLite store for one test: a new database file in fresh_test_dir(prefix), closed
// and removed with its directory when the TestStore goes (or at close()). Used like the
// std::unique_ptr<store::Store> it replaces: store_->write(...), *store_. Header-only test
// code; one test thread owns it (the Store itself is thread-safe).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include "store/store.h"
#include "support/test_dir.h"
#include "util/error.h"

namespace fw::testing {

class TestStore {
 public:
  TestStore() = default;
  TestStore(const TestStore&) = delete;
  TestStore& operator=(const TestStore&) = delete;
  ~TestStore() { close(); }

  // Opens `file` in a new directory fresh_test_dir(prefix). The store's error when it cannot
  // be opened (then nothing is open; the directory is still removed by close()).
  Status open(const std::string& prefix, const std::string& file = "fleetward.db") {
    close();
    dir_ = fresh_test_dir(prefix);
    FW_TRY(store_, store::Store::open((dir_ / file).string()));
    return {};
  }
  // Closes the store and removes the directory. Idempotent.
  void close() {
    store_.reset();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
      dir_.clear();
    }
  }

  bool is_open() const { return store_ != nullptr; }
  store::Store& operator*() const { return *store_; }
  store::Store* operator->() const { return store_.get(); }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
};

}  // namespace fw::testing
