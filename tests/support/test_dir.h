// A fresh, empty directory per test for the end-to-end tests: under the system temp
// directory, named by a prefix, the process id and the running test, so that parallel
// ctest runs and repeated tests never share files. Header-only; call from a fixture's SetUp.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace fw::testing {

inline std::filesystem::path fresh_test_dir(const std::string& prefix) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / (prefix + "-" + std::to_string(::getpid()) + "-" +
                                              ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

}  // namespace fw::testing
