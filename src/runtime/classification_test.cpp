#include "hdeploy/runtime/classification.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>

namespace hdeploy::runtime {
namespace {

TEST(Softmax, SumsToOneAndKeepsOrder) {
  const std::vector<float> logits = {1.0F, 2.0F, 3.0F, -1.0F};
  const auto p = softmax(logits);
  ASSERT_EQ(p.size(), 4U);
  EXPECT_NEAR(std::accumulate(p.begin(), p.end(), 0.0), 1.0, 1e-6);
  EXPECT_GT(p[2], p[1]);
  EXPECT_GT(p[1], p[0]);
  // exp(1)/sum by hand.
  const double sum = std::exp(1.0) + std::exp(2.0) + std::exp(3.0) + std::exp(-1.0);
  EXPECT_NEAR(p[0], std::exp(1.0) / sum, 1e-7);
}

TEST(Softmax, LargeLogitsAreStable) {
  const std::vector<float> logits = {1000.0F, 1001.0F, -1000.0F};
  const auto p = softmax(logits);
  for (float v : p) EXPECT_TRUE(std::isfinite(v));
  EXPECT_NEAR(p[1], 1.0 / (1.0 + std::exp(-1.0)), 1e-6);
  EXPECT_NEAR(p[0], std::exp(-1.0) / (1.0 + std::exp(-1.0)), 1e-6);
  EXPECT_EQ(p[2], 0.0F);
  const std::vector<float> negative = {-1e30F, -1e30F};
  const auto q = softmax(negative);
  EXPECT_FLOAT_EQ(q[0], 0.5F);
}

TEST(Softmax, EmptyIsEmpty) { EXPECT_TRUE(softmax({}).empty()); }

TEST(TopK, HighestFirstWithProbabilitiesAndLabels) {
  const std::vector<float> logits = {0.5F, 3.0F, -2.0F, 1.0F};
  const auto top = top_k(logits, 2, {"cat", "dog", "fish", "bird"});
  ASSERT_EQ(top.size(), 2U);
  EXPECT_EQ(top[0].index, 1);
  EXPECT_EQ(top[0].label, "dog");
  EXPECT_FLOAT_EQ(top[0].logit, 3.0F);
  EXPECT_FLOAT_EQ(top[0].probability, softmax(logits)[1]);
  EXPECT_EQ(top[1].index, 3);
  EXPECT_EQ(top[1].label, "bird");
}

TEST(TopK, TiesKeepTheLowerIndexFirst) {
  const std::vector<float> logits = {1.0F, 2.0F, 2.0F, 0.0F, 2.0F};
  const auto top = top_k(logits, 4);
  ASSERT_EQ(top.size(), 4U);
  EXPECT_EQ(top[0].index, 1);
  EXPECT_EQ(top[1].index, 2);
  EXPECT_EQ(top[2].index, 4);
  EXPECT_EQ(top[3].index, 0);
  EXPECT_TRUE(top[0].label.empty());
}

TEST(TopK, KLargerThanClassesAndMissingLabels) {
  const std::vector<float> logits = {0.0F, 1.0F, 2.0F};
  const auto top = top_k(logits, 10, {"a"});  // fewer labels than classes
  ASSERT_EQ(top.size(), 3U);
  EXPECT_EQ(top[2].index, 0);
  EXPECT_EQ(top[2].label, "a");
  EXPECT_TRUE(top[0].label.empty());
  EXPECT_TRUE(top_k(logits, 0).empty());
}

class LabelsFile : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("hdeploy_labels_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".txt");
  }
  void TearDown() override { std::filesystem::remove(path_); }
  void write(const std::string& text) { std::ofstream(path_, std::ios::binary) << text; }
  std::filesystem::path path_;
};

TEST_F(LabelsFile, OnePerLineStrippingCarriageReturns) {
  write("tench\r\ngoldfish\r\ngreat white shark\n\n\n");
  auto labels = load_labels(path_);
  ASSERT_TRUE(labels) << labels.error().message;
  EXPECT_EQ(*labels, (std::vector<std::string>{"tench", "goldfish", "great white shark"}));
}

TEST_F(LabelsFile, LastLineWithoutNewlineAndInnerBlankLineKept) {
  write("a\n\nc");
  auto labels = load_labels(path_);
  ASSERT_TRUE(labels);
  EXPECT_EQ(*labels, (std::vector<std::string>{"a", "", "c"}));  // indices stay aligned
}

TEST_F(LabelsFile, EmptyFileIsAnErrorNamingIt) {
  for (const char* text : {"", "\n\r\n\n"}) {
    write(text);
    auto labels = load_labels(path_);
    ASSERT_FALSE(labels);
    EXPECT_EQ(labels.error().code, ErrorCode::kInvalidFormat);
    EXPECT_NE(labels.error().message.find(path_.string()), std::string::npos);
  }
}

TEST(Labels, MissingFileIsNotFound) {
  auto labels = load_labels("/nonexistent/labels.txt");
  ASSERT_FALSE(labels);
  EXPECT_EQ(labels.error().code, ErrorCode::kNotFound);
  EXPECT_NE(labels.error().message.find("/nonexistent/labels.txt"), std::string::npos);
}

}  // namespace
}  // namespace hdeploy::runtime
