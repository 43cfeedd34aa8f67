#include "hdeploy/compile/verify.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "testing/hef_writer.hpp"
#include "testing/temp_dir.hpp"

namespace hdeploy::compile {
namespace {
namespace fs = std::filesystem;

// A Hailo-8 classifier made by the tests' HEF writer in the shape of a real one
// (../shared/hef/dbd_autoSkillCheck_model.hef): 224x224x3 in, 11 classes out, DFC 3.32.0.
class VerifyHefTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hailo8_classifier_ = dir_.path() / "hailo8-classifier.hef";
    hdeploy::testing::write_hef(hailo8_classifier_,
                                hdeploy::testing::named_test_hef("hailo8-classifier"));
  }
  hdeploy::testing::TempDir dir_;
  fs::path hailo8_classifier_;
};

OnnxIo io(std::int64_t h, std::int64_t w, std::int64_t classes) {
  return OnnxIo{"input", h, w, 3, classes};
}

TEST_F(VerifyHefTest, MatchingRequestPasses) {
  auto check = verify_hef_file(hailo8_classifier_, "hailo8", io(224, 224, 11));
  ASSERT_TRUE(check) << check.error().message;
  EXPECT_TRUE(check->ok) << (check->problems.empty() ? "" : check->problems[0]);
  EXPECT_EQ(check->arch, "HAILO8");
  EXPECT_EQ(check->compiler_version, "3.32.0");
  EXPECT_EQ(check->input, (std::array<std::int64_t, 3>{224, 224, 3}));
  EXPECT_EQ(check->output_classes, 11);
  EXPECT_TRUE(check->problems.empty());
}

TEST_F(VerifyHefTest, WrongArchNamesBoth) {
  auto check = verify_hef_file(hailo8_classifier_, "hailo8l", io(224, 224, 11));
  ASSERT_TRUE(check);
  EXPECT_FALSE(check->ok);
  ASSERT_EQ(check->problems.size(), 1U);
  EXPECT_NE(check->problems[0].find("HAILO8 "), std::string::npos) << check->problems[0];
  EXPECT_NE(check->problems[0].find("HAILO8L"), std::string::npos) << check->problems[0];
}

TEST_F(VerifyHefTest, WrongClassCountNamesBoth) {
  auto check = verify_hef_file(hailo8_classifier_, "hailo8", io(224, 224, 1000));
  ASSERT_TRUE(check);
  EXPECT_FALSE(check->ok);
  ASSERT_EQ(check->problems.size(), 1U);
  EXPECT_NE(check->problems[0].find("11 classes"), std::string::npos) << check->problems[0];
  EXPECT_NE(check->problems[0].find("1000"), std::string::npos) << check->problems[0];
}

TEST_F(VerifyHefTest, WrongInputSizeNamesBoth) {
  auto check = verify_hef_file(hailo8_classifier_, "hailo8", io(256, 256, 11));
  ASSERT_TRUE(check);
  EXPECT_FALSE(check->ok);
  ASSERT_EQ(check->problems.size(), 1U);
  EXPECT_NE(check->problems[0].find("224x224x3"), std::string::npos) << check->problems[0];
  EXPECT_NE(check->problems[0].find("1x3x256x256"), std::string::npos) << check->problems[0];
}

TEST_F(VerifyHefTest, EveryMismatchIsListed) {
  auto check = verify_hef_file(hailo8_classifier_, "hailo8l", io(160, 160, 5));
  ASSERT_TRUE(check);
  EXPECT_EQ(check->problems.size(), 3U);
}

TEST_F(VerifyHefTest, UnreadableHefIsAnError) {
  auto missing = verify_hef_file("/nonexistent/model.hef", "hailo8", io(224, 224, 11));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  // Cut short (as an interrupted download is): the reader refuses it.
  const fs::path truncated_path = dir_.path() / "truncated.hef";
  hdeploy::testing::write_hef(truncated_path, hdeploy::testing::named_test_hef("truncated"));
  auto truncated = verify_hef_file(truncated_path, "hailo8l", io(224, 224, 11));
  ASSERT_FALSE(truncated);
  EXPECT_NE(truncated.error().message.find("4096 bytes missing"), std::string::npos)
      << truncated.error().message;
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
