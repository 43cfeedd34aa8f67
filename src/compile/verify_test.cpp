#include "hdeploy/compile/verify.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace hdeploy::compile {
namespace {
namespace fs = std::filesystem;

// A real Hailo-8 MobileNetV2 classifier: 224x224x3 in, 11 classes out, DFC 3.32.0
// (../shared/hef/README.md).
const fs::path kHailo8Classifier =
    fs::path(HDEPLOY_SHARED_DIR) / "hef" / "dbd_autoSkillCheck_model.hef";

// The tests that read the shared HEF fail with this line, never pass vacuously, when it is absent.
class VerifyHefTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::error_code ec;
    ASSERT_TRUE(fs::is_regular_file(kHailo8Classifier, ec))
        << kHailo8Classifier.string()
        << " is missing: these tests read the real HEF files in ../shared/hef";
  }
};

OnnxIo io(std::int64_t h, std::int64_t w, std::int64_t classes) {
  return OnnxIo{"input", h, w, 3, classes};
}

TEST_F(VerifyHefTest, MatchingRequestPasses) {
  auto check = verify_hef_file(kHailo8Classifier, "hailo8", io(224, 224, 11));
  ASSERT_TRUE(check) << check.error().message;
  EXPECT_TRUE(check->ok) << (check->problems.empty() ? "" : check->problems[0]);
  EXPECT_EQ(check->arch, "HAILO8");
  EXPECT_EQ(check->compiler_version, "3.32.0");
  EXPECT_EQ(check->input, (std::array<std::int64_t, 3>{224, 224, 3}));
  EXPECT_EQ(check->output_classes, 11);
  EXPECT_TRUE(check->problems.empty());
}

TEST_F(VerifyHefTest, WrongArchNamesBoth) {
  auto check = verify_hef_file(kHailo8Classifier, "hailo8l", io(224, 224, 11));
  ASSERT_TRUE(check);
  EXPECT_FALSE(check->ok);
  ASSERT_EQ(check->problems.size(), 1U);
  EXPECT_NE(check->problems[0].find("HAILO8 "), std::string::npos) << check->problems[0];
  EXPECT_NE(check->problems[0].find("HAILO8L"), std::string::npos) << check->problems[0];
}

TEST_F(VerifyHefTest, WrongClassCountNamesBoth) {
  auto check = verify_hef_file(kHailo8Classifier, "hailo8", io(224, 224, 1000));
  ASSERT_TRUE(check);
  EXPECT_FALSE(check->ok);
  ASSERT_EQ(check->problems.size(), 1U);
  EXPECT_NE(check->problems[0].find("11 classes"), std::string::npos) << check->problems[0];
  EXPECT_NE(check->problems[0].find("1000"), std::string::npos) << check->problems[0];
}

TEST_F(VerifyHefTest, WrongInputSizeNamesBoth) {
  auto check = verify_hef_file(kHailo8Classifier, "hailo8", io(256, 256, 11));
  ASSERT_TRUE(check);
  EXPECT_FALSE(check->ok);
  ASSERT_EQ(check->problems.size(), 1U);
  EXPECT_NE(check->problems[0].find("224x224x3"), std::string::npos) << check->problems[0];
  EXPECT_NE(check->problems[0].find("1x3x256x256"), std::string::npos) << check->problems[0];
}

TEST_F(VerifyHefTest, EveryMismatchIsListed) {
  auto check = verify_hef_file(kHailo8Classifier, "hailo8l", io(160, 160, 5));
  ASSERT_TRUE(check);
  EXPECT_EQ(check->problems.size(), 3U);
}

TEST(VerifyHef, UnreadableHefIsAnError) {
  auto missing = verify_hef_file("/nonexistent/model.hef", "hailo8", io(224, 224, 11));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  // Truncated in its repository: the reader refuses it.
  auto truncated = verify_hef_file(fs::path(HDEPLOY_SHARED_DIR) / "hef" / "darrr05_New1.hef",
                                   "hailo8l", io(224, 224, 11));
  EXPECT_FALSE(truncated);
}

TEST(VerifyHef, ArchNames) {
  EXPECT_EQ(*hef_arch_for("hailo8"), "HAILO8");
  EXPECT_EQ(*hef_arch_for("hailo8l"), "HAILO8L");
  auto other = hef_arch_for("hailo15h");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(other.error().message.find("hailo8l"), std::string::npos);
}

}  // namespace
}  // namespace hdeploy::compile
