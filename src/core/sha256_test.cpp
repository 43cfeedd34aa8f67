#include "hdeploy/core/sha256.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string_view>

#include "hdeploy/core/file.hpp"

namespace hdeploy {
namespace {

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// FIPS 180-2 test vectors.
TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(bytes_of("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex(bytes_of("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, FileMatchesBufferAcrossChunks) {
  std::string big(200000, 'x');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  const auto path = std::filesystem::temp_directory_path() /
                    ("hdeploy_sha_" + std::to_string(::getpid()) + ".bin");
  ASSERT_TRUE(write_text_file_atomic(path, big, Overwrite::kAllow));
  auto file_hash = sha256_file_hex(path);
  ASSERT_TRUE(file_hash);
  EXPECT_EQ(*file_hash, sha256_hex(bytes_of(big)));
  std::filesystem::remove(path);
  EXPECT_EQ(sha256_file_hex(path).error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace hdeploy
