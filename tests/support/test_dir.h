// A fresh, empty directory per test for the end-to-end tests: under the system temp
// directory, named by a prefix, the process id and the running test, so that parallel
// ctest runs and repeated tests never share files. fresh_test_dir() makes one; TestDir owns
// one (removed with its contents when it goes) and writes files into it. Header-only; call
// while a test runs (a fixture's SetUp or member, or a test body); one thread per TestDir.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace fw::testing {

inline std::filesystem::path fresh_test_dir(const std::string& prefix) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / (prefix + "-" + std::to_string(::getpid()) + "-" +
                                              ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

class TestDir {
 public:
  TestDir() = default;
  explicit TestDir(const std::string& prefix) { create(prefix); }
  TestDir(const TestDir&) = delete;
  TestDir& operator=(const TestDir&) = delete;
  ~TestDir() { remove(); }

  // Makes (again) a fresh_test_dir(prefix); the one held before is removed.
  void create(const std::string& prefix) {
    remove();
    dir_ = fresh_test_dir(prefix);
  }
  // Removes the directory and its contents. Idempotent.
  void remove() {
    if (dir_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    dir_.clear();
  }

  const std::filesystem::path& path() const { return dir_; }
  std::filesystem::path operator/(const std::string& name) const { return dir_ / name; }
  // The path of `name` in the directory, as text (nothing is made).
  std::string file(const std::string& name) const { return (dir_ / name).string(); }
  // Writes `text` as it is to `name` in the directory and returns its path; a failed write
  // fails the running test.
  std::string write(const std::string& name, const std::string& text) const {
    std::string p = file(name);
    std::ofstream f(p, std::ios::binary);
    f << text;
    f.close();
    EXPECT_TRUE(f.good()) << "cannot write " << p;
    return p;
  }

 private:
  std::filesystem::path dir_;
};

}  // namespace fw::testing
