#include "hdeploy/hef/compatibility.hpp"

#include <gtest/gtest.h>

using namespace hdeploy::hef;

namespace {

HefReport report_for(const std::string& arch, std::uint32_t header_version) {
  HefReport r;
  HefHeader h;
  h.version = header_version;
  r.header = h;
  HefProtoHeader p;
  p.arch = arch;
  p.compiler_version = "3.30.0";
  r.proto_header = p;
  r.info = HefInfo{};
  return r;
}

bool has_reason(const CompatibilityVerdict& v, const std::string& text) {
  for (const auto& r : v.reasons) {
    if (r.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST(Compatibility, ParsesRuntimeVersions) {
  auto v = parse_runtime_version("4.20.0");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->to_string(), "4.20.0");
  EXPECT_TRUE(parse_runtime_version("4.21"));
  for (const char* bad : {"", "4", "x.y", "4.20.0.1", "4..0", "-4.2"}) {
    SCOPED_TRACE(bad);
    auto r = parse_runtime_version(bad);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, hdeploy::ErrorCode::kInvalidArgument);
  }
}

TEST(Compatibility, NormalizesDevices) {
  EXPECT_EQ(*normalize_device("Hailo-8L"), "hailo8l");
  EXPECT_EQ(*normalize_device("hailo8"), "hailo8");
  EXPECT_FALSE(normalize_device("hailo9"));
}

TEST(Compatibility, ArchVerdicts) {
  const RuntimeVersion rt{4, 20, 0};
  auto v = check_compatibility(report_for("HAILO8", 2), rt, "hailo8l");
  EXPECT_FALSE(v.ok);
  EXPECT_TRUE(has_reason(
      v, "will not run on Hailo-8L: compiled for HAILO8 — recompile with --hw-arch hailo8l"));
  EXPECT_TRUE(check_compatibility(report_for("HAILO8L", 2), rt, "hailo8l").ok);
  EXPECT_TRUE(check_compatibility(report_for("HAILO8L", 2), rt, "hailo8").ok);
  EXPECT_TRUE(check_compatibility(report_for("HAILO8", 0), rt, "hailo8").ok);
}

TEST(Compatibility, HeaderVersionThreeNeeds421) {
  auto v = check_compatibility(report_for("HAILO8L", 3), {4, 20, 0}, "hailo8l");
  EXPECT_FALSE(v.ok);
  EXPECT_TRUE(has_reason(v, "header version 3 needs HailoRT ≥ 4.21 (this target has 4.20.0)"));
  EXPECT_TRUE(check_compatibility(report_for("HAILO8L", 3), {4, 21, 0}, "hailo8l").ok);
}

TEST(Compatibility, ExtensionsUnknownTo420) {
  auto r = report_for("HAILO8L", 2);
  r.info->extensions.push_back({31, "EXTERNAL_RESOURCES", false});
  auto v = check_compatibility(r, {4, 20, 0}, "hailo8l");
  EXPECT_FALSE(v.ok);
  EXPECT_TRUE(has_reason(v, "EXTERNAL_RESOURCES"));
}

TEST(Compatibility, UnreadableFileIsAReason) {
  auto r = report_for("HAILO8L", 2);
  r.info.reset();
  r.error = hdeploy::Error{hdeploy::ErrorCode::kInvalidFormat, "truncated HEF"};
  auto v = check_compatibility(r, {4, 20, 0}, "hailo8l");
  EXPECT_FALSE(v.ok);
  EXPECT_TRUE(has_reason(v, "truncated HEF"));
}
