// write_file_atomic and read_file_limited on real files in a temporary directory.
#include "util/files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace fw {
namespace {

namespace fs = std::filesystem;

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("fw-files-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(FilesTest, WrittenWholeWithItsModeAndNoTemporaryLeft) {
  const auto path = (dir_ / "state.json").string();
  for (bool durable : {true, false}) {
    ASSERT_TRUE(write_file_atomic(path, "first", 0600, durable));
    ASSERT_TRUE(write_file_atomic(path, std::string(100000, 'x'), 0640, durable));
    auto got = read_file_limited(path, 1 << 20);
    ASSERT_TRUE(got) << got.error().to_string();
    EXPECT_EQ(*got, std::string(100000, 'x'));
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0640u);
  }
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir_)) files += e.path().filename() == "state.json" ? 1 : 100;
  EXPECT_EQ(files, 1u);  // no state.json.tmp.* left behind
}

// The temporary file is a fresh name: a link placed at the old fixed name (path.tmp) is
// neither followed nor written through.
TEST_F(FilesTest, ALinkAtTheOldTemporaryNameIsNotWrittenThrough) {
  const auto victim = (dir_ / "victim").string();
  std::ofstream(victim) << "keep";
  const auto path = (dir_ / "cache.bin").string();
  fs::create_symlink(victim, path + ".tmp");
  ASSERT_TRUE(write_file_atomic(path, "new", 0644, false));
  EXPECT_EQ(*read_file_limited(victim, 100), "keep");
  EXPECT_EQ(*read_file_limited(path, 100), "new");
}

// A write whose rename fails (path is a directory that is not empty) leaves what was at
// path as it was and no temporary file; one with no directory to write in names it.
TEST_F(FilesTest, AFailedWriteLeavesThePathAsItWasAndNoTemporary) {
  const auto path = dir_ / "taken";
  fs::create_directories(path / "inside");
  auto st = write_file_atomic(path.string(), "x", 0644, false);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::io_error);
  EXPECT_NE(st.error().message.find("rename"), std::string::npos) << st.error().to_string();
  EXPECT_TRUE(fs::is_directory(path / "inside"));
  size_t entries = 0;
  for (const auto& e : fs::directory_iterator(dir_)) entries += e.path() == path ? 0 : 1;
  EXPECT_EQ(entries, 0u);  // no taken.tmp.* left behind
  auto nodir = write_file_atomic((dir_ / "no-such-dir" / "f").string(), "x");
  ASSERT_FALSE(nodir);
  EXPECT_NE(nodir.error().to_string().find("no-such-dir"), std::string::npos) << nodir.error().to_string();
}

TEST_F(FilesTest, ReadRefusesLinksPipesDirectoriesAndTooLargeFiles) {
  const auto file = (dir_ / "f").string();
  std::ofstream(file) << "0123456789";
  EXPECT_EQ(*read_file_limited(file, 10), "0123456789");
  EXPECT_EQ(read_file_limited(file, 9).error().code, Errc::too_large);
  EXPECT_EQ(read_file_limited((dir_ / "missing").string(), 10).error().code, Errc::not_found);
  const auto link = (dir_ / "link").string();
  fs::create_symlink(file, link);
  EXPECT_EQ(read_file_limited(link, 100).error().code, Errc::invalid_argument);
  EXPECT_EQ(*read_file_limited(link, 100, /*follow_links=*/true), "0123456789");
  const auto fifo = (dir_ / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto pipe = read_file_limited(fifo, 100);  // no writer: would block without O_NONBLOCK
  ASSERT_FALSE(pipe);
  EXPECT_EQ(pipe.error().code, Errc::invalid_argument);
  EXPECT_EQ(read_file_limited(dir_.string(), 100).error().code, Errc::invalid_argument);
}

}  // namespace
}  // namespace fw
