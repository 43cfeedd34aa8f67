#include "hdeploy/core/aligned_buffer.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <utility>

namespace hdeploy {
namespace {

TEST(AlignedBuffer, PageAlignedAndRoundedUp) {
  const std::size_t page = page_size();
  EXPECT_EQ(page, static_cast<std::size_t>(sysconf(_SC_PAGESIZE)));
  AlignedBuffer buf(1000);
  EXPECT_EQ(buf.size(), 1000U);
  EXPECT_EQ(buf.capacity(), page);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(buf.data()) % page, 0U);
  for (std::size_t i = 0; i < buf.capacity(); ++i) ASSERT_EQ(buf.data()[i], 0);

  AlignedBuffer exact(page * 3);
  EXPECT_EQ(exact.capacity(), page * 3);
  AlignedBuffer over(page * 3 + 1);
  EXPECT_EQ(over.capacity(), page * 4);
}

TEST(AlignedBuffer, FollowsAnInjectedPageSize) {
  // The Pi 5 kernel's 16 KiB pages and arm64's 64 KiB, on whatever machine runs the test.
  for (const std::size_t page : {std::size_t{16384}, std::size_t{65536}}) {
    AlignedBuffer small(1000, page);
    EXPECT_EQ(small.capacity(), page);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(small.data()) % page, 0U);
    AlignedBuffer over(page + 1, page);
    EXPECT_EQ(over.size(), page + 1);
    EXPECT_EQ(over.capacity(), 2 * page);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(over.data()) % page, 0U);
    for (std::size_t i = 0; i < over.capacity(); ++i) ASSERT_EQ(over.data()[i], 0);
  }
  EXPECT_THROW(AlignedBuffer(10, 3000), std::invalid_argument);
  EXPECT_THROW(AlignedBuffer(10, 8), std::invalid_argument);
}

TEST(AlignedBuffer, MovesOwnership) {
  AlignedBuffer a(64);
  a.data()[5] = 42;
  std::uint8_t* p = a.data();
  AlignedBuffer b(std::move(a));
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(b.bytes()[5], 42);
  EXPECT_EQ(a.data(), nullptr);  // NOLINT(bugprone-use-after-move): moved-from state is defined
  EXPECT_EQ(a.size(), 0U);       // NOLINT(bugprone-use-after-move)
  AlignedBuffer c(8);
  c = std::move(b);
  EXPECT_EQ(c.data(), p);
  EXPECT_EQ(c.as<std::uint8_t>()[5], 42);
}

}  // namespace
}  // namespace hdeploy
