#include "hdeploy/core/utc_time.hpp"

#include <gtest/gtest.h>

namespace hdeploy {
namespace {

// 1795676199 s after the epoch is 2026-11-26 06:56:39 UTC.
constexpr std::time_t kSample = 1795676199;

TEST(UtcTime, Iso8601) {
  EXPECT_EQ(format_utc_iso8601(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_utc_iso8601(kSample), "2026-11-26T06:56:39Z");
}

TEST(UtcTime, Compact) {
  EXPECT_EQ(format_utc_compact(0), "19700101T000000Z");
  EXPECT_EQ(format_utc_compact(kSample), "20261126T065639Z");
}

TEST(UtcTime, NowIsTodayInBothForms) {
  const std::string iso = utc_now_iso8601();
  const std::string compact = utc_now_compact();
  ASSERT_EQ(iso.size(), 20U);
  ASSERT_EQ(compact.size(), 16U);
  // Same date unless midnight falls between the two calls.
  const std::string iso_date = iso.substr(0, 4) + iso.substr(5, 2) + iso.substr(8, 2);
  EXPECT_TRUE(compact.starts_with(iso_date) || iso.substr(11, 8) == "23:59:59")
      << iso << " " << compact;
}

}  // namespace
}  // namespace hdeploy
