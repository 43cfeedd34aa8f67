#include "hdeploy/core/file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace hdeploy {
namespace {
namespace fs = std::filesystem;

class FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hdeploy_file_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(FileTest, ReadMissingDirectoryAndTooLarge) {
  auto missing = read_file(dir_ / "nope.bin");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("nope.bin"), std::string::npos);

  auto dir = read_file(dir_);
  ASSERT_FALSE(dir);
  EXPECT_EQ(dir.error().code, ErrorCode::kInvalidFormat);
  EXPECT_NE(dir.error().message.find("is a directory"), std::string::npos);

  ASSERT_TRUE(write_text_file_atomic(dir_ / "big.txt", "0123456789", Overwrite::kRefuse));
  auto big = read_file(dir_ / "big.txt", 5);
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("larger than"), std::string::npos);
}

TEST_F(FileTest, AtomicWriteRoundTripsAndRefusesOverwrite) {
  const fs::path out = dir_ / "sub" / "deeper" / "out.txt";
  ASSERT_TRUE(write_text_file_atomic(out, "hello", Overwrite::kRefuse));
  EXPECT_EQ(*read_text_file(out), "hello");

  auto again = write_text_file_atomic(out, "other", Overwrite::kRefuse);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(again.error().message.find("--force"), std::string::npos);
  EXPECT_EQ(*read_text_file(out), "hello");

  ASSERT_TRUE(write_text_file_atomic(out, "replaced", Overwrite::kAllow));
  EXPECT_EQ(*read_text_file(out), "replaced");
  // No temporary files are left beside the output.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(out.parent_path())) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST_F(FileTest, WritableOutputChecks) {
  EXPECT_TRUE(check_writable_output(dir_ / "new.bin", Overwrite::kRefuse));
  auto is_dir = check_writable_output(dir_, Overwrite::kAllow);
  ASSERT_FALSE(is_dir);
  EXPECT_EQ(is_dir.error().code, ErrorCode::kInvalidFormat);
  // A path below a regular file can never be created.
  ASSERT_TRUE(write_text_file_atomic(dir_ / "file", "x", Overwrite::kRefuse));
  auto under_file = check_writable_output(dir_ / "file" / "out.bin", Overwrite::kRefuse);
  ASSERT_FALSE(under_file);
  EXPECT_EQ(under_file.error().code, ErrorCode::kIo);
  EXPECT_FALSE(write_text_file_atomic(dir_ / "file" / "out.bin", "x", Overwrite::kAllow));
}

TEST_F(FileTest, WritableOutputAcceptsRelativeFoldersThatDoNotExistYet) {
  // "runs/a/run.json" from the working folder: no ancestor exists, "." is the one to check.
  const fs::path cwd = fs::current_path();
  fs::current_path(dir_);
  const Status status = check_writable_output("runs/a/run.json", Overwrite::kRefuse);
  fs::current_path(cwd);
  EXPECT_TRUE(status) << status.error().message;
}

TEST_F(FileTest, CheckReadableFile) {
  EXPECT_EQ(check_readable_file(dir_ / "missing").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(check_readable_file(dir_).error().code, ErrorCode::kInvalidFormat);
  ASSERT_TRUE(write_text_file_atomic(dir_ / "f", "", Overwrite::kRefuse));
  EXPECT_TRUE(check_readable_file(dir_ / "f"));
  EXPECT_TRUE(read_file(dir_ / "f")->empty());
}

}  // namespace
}  // namespace hdeploy
