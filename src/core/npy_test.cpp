#include "hdeploy/core/npy.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "hdeploy/core/sha256.hpp"

namespace hdeploy {
namespace {

std::vector<std::uint8_t> raw(std::string_view header, std::size_t data_bytes) {
  std::string file = "\x93NUMPY";
  file += '\x01';
  file += '\x00';
  file += static_cast<char>(header.size());
  file += '\x00';
  file += header;
  file.append(data_bytes, '\0');
  return {file.begin(), file.end()};
}

TEST(Npy, FloatRoundTrip) {
  std::vector<float> values = {1.5F, -2.0F, 3.25F, 0.0F, 1e-7F, 42.0F};
  std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(values.data()),
                                      values.size() * sizeof(float));
  auto encoded = serialize_npy(DType::kFloat32, {1, 2, 3}, bytes);
  EXPECT_EQ((encoded.size() - bytes.size()) % 64, 0U);  // data aligned as numpy does
  auto parsed = parse_npy(encoded, "mem");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->dtype, DType::kFloat32);
  EXPECT_EQ(parsed->shape, (std::vector<std::int64_t>{1, 2, 3}));
  ASSERT_EQ(parsed->as_float().size(), values.size());
  for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(parsed->as_float()[i], values[i]);
}

TEST(Npy, Uint8And1DShapes) {
  std::vector<std::uint8_t> values = {0, 7, 255};
  auto parsed = parse_npy(serialize_npy(DType::kUint8, {3}, values), "mem");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->dtype, DType::kUint8);
  EXPECT_EQ(parsed->shape, (std::vector<std::int64_t>{3}));
  EXPECT_EQ(parsed->element_count(), 3U);
  EXPECT_EQ(parsed->as_uint8()[2], 255);
}

TEST(Npy, ReadsNumpyWrittenHeaders) {
  // Exactly what numpy 1.24 writes for np.zeros((2, 2), np.float32).
  auto parsed = parse_npy(
      raw("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }          \n", 16), "np");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->shape, (std::vector<std::int64_t>{2, 2}));
}

TEST(Npy, RejectsBadInput) {
  EXPECT_EQ(parse_npy(std::vector<std::uint8_t>{1, 2, 3}, "x").error().code,
            ErrorCode::kInvalidFormat);
  EXPECT_EQ(parse_npy(raw("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", 8), "x")
                .error()
                .code,
            ErrorCode::kUnsupported);
  EXPECT_EQ(parse_npy(raw("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", 4), "x")
                .error()
                .code,
            ErrorCode::kUnsupported);
  auto short_data =
      parse_npy(raw("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", 8), "short.npy");
  ASSERT_FALSE(short_data);
  EXPECT_EQ(short_data.error().code, ErrorCode::kInvalidFormat);
  EXPECT_NE(short_data.error().message.find("short.npy"), std::string::npos);
  auto huge = parse_npy(
      raw("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999,), }", 4), "x");
  EXPECT_FALSE(huge);
}

TEST(Npy, WriteAndReadFile) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("hdeploy_npy_" + std::to_string(::getpid()) + ".npy");
  std::filesystem::remove(path);
  std::vector<std::uint8_t> values(12, 9);
  ASSERT_TRUE(write_npy(path, DType::kUint8, {1, 2, 2, 3}, values, Overwrite::kRefuse));
  EXPECT_EQ(write_npy(path, DType::kUint8, {12}, values, Overwrite::kRefuse).error().code,
            ErrorCode::kAlreadyExists);
  auto back = read_npy(path);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->shape, (std::vector<std::int64_t>{1, 2, 2, 3}));
  EXPECT_EQ(back->data, values);
  std::filesystem::remove(path);
}

class NpyFileWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("hdeploy_npy_writer_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  // Everything in the test folder, so a leftover temporary file is seen.
  std::vector<std::string> files() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }
  static std::span<const std::uint8_t> bytes_of(const std::vector<float>& v) {
    return {reinterpret_cast<const std::uint8_t*>(v.data()), v.size() * sizeof(float)};
  }
  std::filesystem::path dir_;
};

TEST_F(NpyFileWriterTest, StreamedChunksEqualSerializeNpyAndHashTheFile) {
  const auto path = dir_ / "sub" / "calib.npy";  // the folder is created
  std::vector<float> all(std::size_t{2} * 3 * 2 * 3);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<float>(i) * 1.5F;
  auto writer = NpyFileWriter::create(path, DType::kFloat32, {2, 3, 2, 3}, Overwrite::kRefuse);
  ASSERT_TRUE(writer) << writer.error().message;
  EXPECT_EQ(writer->data_bytes_expected(), all.size() * sizeof(float));
  const auto bytes = bytes_of(all);
  ASSERT_TRUE(writer->append(bytes.subspan(0, 20)));
  ASSERT_TRUE(writer->append(bytes.subspan(20, 0)));
  ASSERT_TRUE(writer->append(bytes.subspan(20)));
  EXPECT_TRUE(writer->sha256().empty());
  EXPECT_FALSE(std::filesystem::exists(path));  // nothing under the real name before commit
  ASSERT_TRUE(writer->commit());

  auto back = read_npy(path);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->shape, (std::vector<std::int64_t>{2, 3, 2, 3}));
  ASSERT_EQ(back->as_float().size(), all.size());
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(back->as_float()[i], all[i]);
  // Byte for byte what the whole-array writer produces, and the digest is the file's.
  auto file = read_file(path);
  ASSERT_TRUE(file);
  EXPECT_EQ(*file, serialize_npy(DType::kFloat32, {2, 3, 2, 3}, bytes));
  EXPECT_EQ(writer->sha256(), sha256_hex(*file));
  EXPECT_EQ(std::vector<std::string>{"calib.npy"}, [&] {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir_ / "sub")) {
      names.push_back(e.path().filename().string());
    }
    return names;
  }());
}

TEST_F(NpyFileWriterTest, WrongByteCountIsRefusedAndLeavesNothing) {
  const auto path = dir_ / "short.npy";
  std::vector<std::uint8_t> six(6, 1);
  {
    auto writer = NpyFileWriter::create(path, DType::kUint8, {2, 4}, Overwrite::kRefuse);
    ASSERT_TRUE(writer);
    ASSERT_TRUE(writer->append(six));
    auto committed = writer->commit();
    ASSERT_FALSE(committed);
    EXPECT_EQ(committed.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(committed.error().message.find("short.npy"), std::string::npos);
    EXPECT_NE(committed.error().message.find("needs 8"), std::string::npos);
  }
  EXPECT_TRUE(files().empty());
  {
    auto writer = NpyFileWriter::create(path, DType::kUint8, {2, 2}, Overwrite::kRefuse);
    ASSERT_TRUE(writer);
    auto too_many = writer->append(six);
    ASSERT_FALSE(too_many);
    EXPECT_EQ(too_many.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(writer->data_bytes_written(), 0U);  // the refused chunk was not written
  }
  EXPECT_TRUE(files().empty());
}

TEST_F(NpyFileWriterTest, AbandonedWriterLeavesNothing) {
  const auto path = dir_ / "abandoned.npy";
  {
    auto writer = NpyFileWriter::create(path, DType::kUint8, {4}, Overwrite::kRefuse);
    ASSERT_TRUE(writer);
    EXPECT_EQ(files().size(), 1U);  // the temporary file, not the output
    EXPECT_FALSE(std::filesystem::exists(path));
    ASSERT_TRUE(writer->append(std::vector<std::uint8_t>{1, 2}));
    // Moving keeps one owner of the temporary file.
    NpyFileWriter moved = std::move(*writer);
    EXPECT_EQ(moved.data_bytes_written(), 2U);
  }
  EXPECT_TRUE(files().empty());
}

TEST_F(NpyFileWriterTest, RefusesAnExistingFileUnlessAllowed) {
  const auto path = dir_ / "exists.npy";
  ASSERT_TRUE(write_text_file_atomic(path, "keep me", Overwrite::kRefuse));
  auto refused = NpyFileWriter::create(path, DType::kUint8, {1}, Overwrite::kRefuse);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(refused.error().message.find("--force"), std::string::npos);
  EXPECT_EQ(*read_text_file(path), "keep me");

  // The file appears between create() and commit(): link() refuses to replace it.
  const auto late = dir_ / "late.npy";
  auto racing = NpyFileWriter::create(late, DType::kUint8, {1}, Overwrite::kRefuse);
  ASSERT_TRUE(racing);
  ASSERT_TRUE(racing->append(std::vector<std::uint8_t>{7}));
  ASSERT_TRUE(write_text_file_atomic(late, "first", Overwrite::kRefuse));
  auto lost = racing->commit();
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(*read_text_file(late), "first");

  auto allowed = NpyFileWriter::create(path, DType::kUint8, {1}, Overwrite::kAllow);
  ASSERT_TRUE(allowed);
  ASSERT_TRUE(allowed->append(std::vector<std::uint8_t>{42}));
  ASSERT_TRUE(allowed->commit());
  auto back = read_npy(path);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->as_uint8()[0], 42);
  EXPECT_EQ(files(), (std::vector<std::string>{"exists.npy", "late.npy"}));
}

TEST_F(NpyFileWriterTest, ShrinkingTheLeadingDimensionRewritesTheHeader) {
  const auto path = dir_ / "shrunk.npy";
  auto writer = NpyFileWriter::create(path, DType::kUint8, {1000, 2}, Overwrite::kRefuse);
  ASSERT_TRUE(writer);
  std::vector<std::uint8_t> rows = {1, 2, 3, 4, 5, 6};
  ASSERT_TRUE(writer->append(rows));
  EXPECT_EQ(writer->shrink_leading_dimension(1001).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(writer->shrink_leading_dimension(-1).error().code, ErrorCode::kInvalidArgument);
  ASSERT_TRUE(writer->shrink_leading_dimension(3));
  EXPECT_EQ(writer->shape(), (std::vector<std::int64_t>{3, 2}));
  EXPECT_EQ(writer->data_bytes_expected(), 6U);
  ASSERT_TRUE(writer->commit());
  auto back = read_npy(path);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->shape, (std::vector<std::int64_t>{3, 2}));
  EXPECT_EQ(back->data, rows);
  auto file = read_file(path);
  ASSERT_TRUE(file);
  EXPECT_EQ(writer->sha256(), sha256_hex(*file));
  EXPECT_EQ((file->size() - rows.size()) % 64, 0U);  // data still 64-byte aligned
}

TEST_F(NpyFileWriterTest, RejectsNegativeShapes) {
  auto writer = NpyFileWriter::create(dir_ / "neg.npy", DType::kUint8, {-1, 2}, Overwrite::kAllow);
  ASSERT_FALSE(writer);
  EXPECT_EQ(writer.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(files().empty());
}

}  // namespace
}  // namespace hdeploy
