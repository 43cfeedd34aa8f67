#include "hdeploy/core/npy.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <string>

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

}  // namespace
}  // namespace hdeploy
