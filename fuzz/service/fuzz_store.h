// A real SQLite store in a fresh temporary directory, opened once per fuzz process and
// removed at exit (the fuzz targets of src/service write through it). /dev/shm is used
// when present so that the store's fsyncs cost little. Not thread-safe: call from
// LLVMFuzzerTestOneInput / LLVMFuzzerInitialize only.
#pragma once

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "store/store.h"

namespace fw::fuzz {

inline std::string& fuzz_store_dir() {
  static std::string dir;
  return dir;
}

// Opens the store, or aborts with a message naming the directory (a broken set-up is not a
// finding of the target).
inline store::Store& fuzz_store() {
  static std::unique_ptr<store::Store> s = [] {
    std::string base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path().string();
    std::string tmpl = base + "/fw-fuzz-XXXXXX";
    if (!::mkdtemp(tmpl.data())) {
      std::perror(tmpl.c_str());
      std::abort();
    }
    fuzz_store_dir() = tmpl;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(fuzz_store_dir(), ec);
    });
    auto r = store::Store::open(tmpl + "/fw.db");
    if (!r) {
      std::fprintf(stderr, "fuzz store %s: %s\n", tmpl.c_str(), r.error().to_string().c_str());
      std::abort();
    }
    return std::move(*r);
  }();
  return *s;
}

}  // namespace fw::fuzz
