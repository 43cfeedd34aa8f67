#include "hdeploy/core/result.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace hdeploy {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return fail(ErrorCode::kInvalidArgument, "value {} is not positive", v);
  return v;
}

Result<int> doubled(int v) {
  HDEPLOY_ASSIGN_OR_RETURN(int x, parse_positive(v));
  return 2 * x;
}

Status check_positive(int v) {
  HDEPLOY_TRY(parse_positive(v));
  return {};
}

TEST(Result, HoldsValueOrError) {
  auto ok = parse_positive(3);
  ASSERT_TRUE(ok.has_value());
  EXPECT_TRUE(static_cast<bool>(ok));
  EXPECT_EQ(*ok, 3);
  EXPECT_EQ(ok.value_or(7), 3);

  auto bad = parse_positive(-1);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message, "value -1 is not positive");
  EXPECT_EQ(bad.value_or(7), 7);
}

TEST(Result, MacrosPropagate) {
  EXPECT_EQ(*doubled(4), 8);
  auto bad = doubled(0);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "value 0 is not positive");
  EXPECT_TRUE(check_positive(1));
  EXPECT_EQ(check_positive(-5).error().code, ErrorCode::kInvalidArgument);
}

TEST(Result, MoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 5);
}

TEST(Result, ErrorCodeNames) {
  EXPECT_STREQ(to_string(ErrorCode::kUsage), "usage error");
  EXPECT_STREQ(to_string(ErrorCode::kNotFound), "not found");
  EXPECT_STREQ(to_string(ErrorCode::kAlreadyExists), "already exists");
  EXPECT_EQ(make_error(ErrorCode::kIo, "{}-{}", 1, "x").message, "1-x");
}

}  // namespace
}  // namespace hdeploy
